"""A customer's first order, in Chromium: sign up, verify, top up, order, watch it complete.

Everything goes through the pages a customer uses. Celery runs eagerly (see ``conftest``), so the
sandbox gateway's callback and the order's dispatch happen over real HTTP inside the live server;
status sync is driven from the test with ``orders_sync()`` in place of the beat. Screenshots of
the key steps land in the test's ``tmp_path``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from factories import VIDEO_URL, valid_resident_id

pytestmark = pytest.mark.browser

ORDER_TIMEOUT = 30.0


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def _sync_until_final(order_id: int) -> str:
    """Run status-sync rounds (as the beat would) until the order is final; its status."""
    from doudesk.orders.models import Order
    from doudesk.orders.services import orders_sync

    deadline = time.monotonic() + ORDER_TIMEOUT
    while time.monotonic() < deadline:
        orders_sync()
        status = Order.objects.get(pk=order_id).status
        if status in {"completed", "partial", "canceled"}:
            return status
        time.sleep(0.3)
    pytest.fail(f"order {order_id} not final after {ORDER_TIMEOUT:.0f} s")


@pytest.mark.usefixtures("transactional_db", "eager_tasks")
def test_customer_signs_up_verifies_tops_up_and_orders_plays_to_completion(
    live_server: Any, page: Any, sandbox_provider: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    from doudesk.catalog.models import ServiceModule
    from doudesk.catalog.seed import seed_demo
    from doudesk.orders.models import Order

    seed_demo()
    plays = ServiceModule.objects.get(code="plays")

    # The catalogue, in Chinese.
    page.goto(live_server.url + "/")
    expect(page.locator("h1")).to_have_text("抖音推广、内容与数据服务，在线自助下单")
    expect(page.locator(f'article[data-module="{plays.pk}"] h3')).to_have_text("视频播放")
    _shot(page, tmp_path, "01-catalog")

    # Sign up as an individual with an email address.
    page.locator("header").get_by_role("link", name="注册").click()
    page.get_by_label("邮箱或手机号").fill("browser-buyer@example.com")
    page.get_by_label("密码").fill("correct-horse-battery-9")
    page.get_by_label("个人").check()
    page.locator("form").get_by_role("button", name="注册").click()
    expect(page).to_have_url(re.compile(r"/verify/$"))

    # Verify: legal name and a valid resident ID; the sandbox approves at once.
    page.get_by_label("真实姓名").fill("张三")
    page.get_by_label("身份证号（18 位）").fill(valid_resident_id())
    page.get_by_role("button", name="提交认证").click()
    expect(page.locator("#verified")).to_contain_text("张三")
    expect(page.locator("#verified")).to_contain_text("*")
    _shot(page, tmp_path, "02-verified")

    # Top up ¥200 through the sandbox gateway's cashier page.
    page.get_by_role("link", name="去充值").click()
    expect(page.locator("#balance")).to_have_text("¥0.00")
    page.locator("#topup-amount").fill("200")
    page.locator("#topup-submit").click()
    expect(page).to_have_url(re.compile(r"/sandbox/pay/"))
    expect(page.locator(".price")).to_have_text("¥200.00")
    _shot(page, tmp_path, "03-cashier")
    page.get_by_role("button", name="模拟支付成功").click()
    expect(page).to_have_url(re.compile(r"/wallet/\?paid="))
    expect(page.locator("#balance")).to_have_text("¥200.00")
    expect(page.locator(".topup-status").first).to_have_text("已到账")
    _shot(page, tmp_path, "04-wallet")

    # Order 10,000 plays for a video from the catalogue; the live price is ¥160.00.
    page.locator("header").get_by_role("link", name="服务目录").click()
    page.locator(f'article[data-module="{plays.pk}"]').get_by_role("link", name="下单").click()
    expect(page.locator("h1")).to_have_text("视频播放")
    page.locator("#target").fill(VIDEO_URL)
    page.locator("#quantity").fill("10000")
    expect(page.locator("#live-price")).to_have_text("应付 ¥160.00")
    expect(page.locator("#price-check")).to_contain_text(f"链接有效：{VIDEO_URL}")
    gender = page.locator('select[name="gender"]')
    expect(gender).to_be_hidden()  # targeting applies to the custom audience only
    page.locator("#audience").select_option("custom")
    expect(gender).to_be_visible()
    page.locator("#audience").select_option("auto")
    expect(gender).to_be_hidden()
    _shot(page, tmp_path, "05-order-form")
    page.locator("#place-order").click()

    # The order page: status, amount held and the timeline.
    expect(page).to_have_url(re.compile(r"/orders/\d+/$"))
    order_id = int(re.search(r"/orders/(\d+)/$", page.url).group(1))
    expect(page.locator("h1")).to_contain_text(f"订单 #{order_id}")
    expect(page.locator("h1")).to_contain_text("视频播放")
    expect(page.locator("#order-status")).to_have_text(re.compile("等待中|进行中|处理中|已完成"))
    expect(page.locator(".timeline li").first).to_contain_text("已下单，资金已冻结")
    expect(page.locator("#order-live")).to_contain_text("¥160.00")
    order = Order.objects.get(pk=order_id)
    assert order.quantity == 10_000
    assert order.charge_fen == 16_000
    assert order.external_id, "the dispatch reached the sandbox provider"
    _shot(page, tmp_path, "06-order-placed")

    # Status sync (the beat's job) until the provider reports the order delivered; the open
    # page follows it live (Server-Sent Events), without a reload.
    assert _sync_until_final(order_id) == "completed"
    expect(page.locator("#order-status")).to_have_text("已完成")
    expect(page.locator(".timeline")).to_contain_text("已完成")
    expect(page.locator("#order-live")).to_contain_text("10,000/10,000")
    _shot(page, tmp_path, "07-order-completed")

    # The wallet shows what is left; then the same order page in English.
    page.locator("header").get_by_role("link", name="钱包").click()
    expect(page.locator("#balance")).to_have_text("¥40.00")
    page.goto(f"{live_server.url}/orders/{order_id}/")
    page.locator("header").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#order-status")).to_have_text("Completed")
    expect(page.locator("#order-live h2")).to_have_text("Timeline")
    expect(page.locator("h1")).to_contain_text("Video plays")
    expect(page.locator(".timeline li").first).to_contain_text("Order placed, funds held")
    _shot(page, tmp_path, "08-order-english")

    # The wallet and the catalogue stay in English, journal lines included.
    page.locator("header").get_by_role("link", name="Wallet").click()
    expect(page.locator("#balance")).to_have_text("¥40.00")
    expect(page.locator("#wallet-body")).to_contain_text(f"Hold for order #{order_id}")
    expect(page.locator("#wallet-body")).to_contain_text("Top-up T")
    _shot(page, tmp_path, "09-wallet-english")
    page.locator("header").get_by_role("link", name="Services").click()
    expect(page.locator(f'article[data-module="{plays.pk}"] h3')).to_have_text("Video plays")
    _shot(page, tmp_path, "10-catalog-english")
