"""Order form, live price check, packages and growth plans on the web."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from doudesk.catalog.models import GrowthPlan, Package, ServiceModule
from doudesk.errors import DomainError
from doudesk.orders import services
from doudesk.orders.models import Order, OrderGroup
from doudesk.orders.selectors import orders_dispatch_due
from doudesk.orders.tasks import order_dispatch_task, orders_dispatch_round_task
from doudesk.providers.adapters.base import ProviderRefillStatus, ProviderRejected, ProviderStatus
from doudesk.wallet.models import JournalEntry
from doudesk.wallet.selectors import journal_total_fen, wallet_balances
from factories import (
    ACCOUNT_URL,
    VIDEO_URL,
    CustomerFactory,
    fund_customer,
    html_text,
    in_english,
)

pytestmark = pytest.mark.django_db

#: The bundle forms as a customer sends them, with the price they were shown.
STARTER = {"target": VIDEO_URL, "confirmed_total": "168.00"}
DAILY = {"target": ACCOUNT_URL, "confirmed_total": "540.00"}


@pytest.fixture
def dispatched(monkeypatch) -> list[int]:
    """Order ids that tasks sent to the broker would dispatch, each once.

    A dispatch round sends the orders due when it runs: here at once, as a worker would.
    """
    sent: list[int] = []

    def dispatch_round(*_, **__) -> None:
        services._dispatch_round_clear()
        due = orders_dispatch_due().order_by("pk").values_list("pk", flat=True)
        sent.extend(pk for pk in due if pk not in sent)

    monkeypatch.setattr(orders_dispatch_round_task, "apply_async", dispatch_round)
    monkeypatch.setattr(
        order_dispatch_task, "apply_async", lambda args=(), kwargs=None, **_: sent.append(args[0])
    )
    return sent


def test_the_order_form_shows_the_service_and_its_limits(web, sid):
    page = web.get(f"/services/{sid('plays')}/order/").content.decode()
    assert "视频播放" in page
    assert 'min="500"' in page
    assert 'step="100"' in page
    assert "下单前请先完成实名认证" not in page


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("plays", "数量 500–1,000,000，步长 100"),
        ("video-edit", "数量 1–20<"),
        ("account-report", "数量 1<"),
    ],
)
def test_the_order_form_states_the_quantities_a_service_takes_plainly(web, sid, code, said):
    # A one-off report read "数量 1–1，步长 1".
    page = web.get(f"/services/{sid(code)}/order/").content.decode()
    assert said in page
    assert "1–1" not in page


def test_the_live_price_check_sends_only_the_quantity_and_the_link(web, sid):
    # htmx sent every field of the form, the CSRF token too, in the check's URL (and so logs).
    page = web.get(f"/services/{sid('plays')}/order/").content.decode()
    [form] = re.findall(r'<form method="post" novalidate id="order-form"[^>]*>', page)
    assert 'hx-params="quantity,target"' in form


def test_the_order_form_is_refused_before_verification(seeded, sid, counts):
    customer = CustomerFactory()
    fund_customer(customer, 100_000)
    client = Client()
    client.force_login(customer.user)
    assert (
        "下单前请先完成实名认证" in client.get(f"/services/{sid('plays')}/order/").content.decode()
    )
    before = counts(customer)
    response = client.post(
        f"/services/{sid('plays')}/order/", {"target": VIDEO_URL, "quantity": "1000"}
    )
    assert response.status_code == 400
    assert "请先完成实名认证后再下单" in response.content.decode()
    assert counts(customer) == before


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"target": "https://example.com/video/1"}, "target", "只接受抖音"),
        ({"target": ACCOUNT_URL}, "target", "此服务需要视频链接"),
        ({"target": ""}, "target", "请填写链接"),
        ({"quantity": "100"}, "quantity", "数量须在 500 至 1,000,000 之间"),
        ({"quantity": "1050"}, "quantity", "以 100 递增"),
        ({"quantity": "一千"}, "quantity", "数量须为整数"),
        ({"quantity": "-500"}, "quantity", "数量须在 500 至 1,000,000 之间"),  # a range, not a type
        ({"quantity": "²"}, "quantity", "数量须为整数"),
        ({"quantity": "١٠٠٠"}, "quantity", "数量须为整数"),
        ({"audience": "auto", "duration_hours": "5"}, "options", "投放时长"),
        ({"audience": "auto", "duration_hours": "²"}, "options", "投放时长"),
        ({"audience": "custom", "ages": ["10-17"]}, "options", "年龄段"),
        ({"audience": "custom", "regions": "成都，火星"}, "options", "不支持的地域：火星"),
    ],
    ids=[
        "foreign-link",
        "account-link",
        "no-link",
        "too-few",
        "off-step",
        "chinese-number",
        "negative",
        "superscript-digit",
        "arabic-indic-digits",
        "duration-5h",
        "duration-superscript",
        "age-band",
        "unknown-region",
    ],
)
def test_order_form_errors_are_shown_and_nothing_is_written(
    web, customer, sid, counts, form, field, message
):
    before = counts(customer)
    response = web.post(
        f"/services/{sid('plays')}/order/", {"target": VIDEO_URL, "quantity": "1000"} | form
    )
    assert response.status_code == 400
    errors = response.context["errors"][field]
    assert any(message in e for e in errors), errors
    assert errors[0] in response.content.decode()
    assert counts(customer) == before


def test_a_refused_order_form_shows_each_error_once(web, sid):
    # The live price check runs on load only when the form has no quantity or link error: it
    # would show the same message again above the button.
    url = f"/services/{sid('plays')}/order/"
    fresh = web.get(url).content.decode()
    assert 'from:#target, load"' in fresh
    refused = web.post(url, {"target": VIDEO_URL, "quantity": "7"}).content.decode()
    assert 'from:#target"' in refused
    assert refused.count("数量须在 500 至 1,000,000 之间") == 1


@pytest.mark.parametrize(
    ("code", "posted", "field"),
    [
        ("video-edit", {"target": VIDEO_URL}, "target"),  # the form has no link to fix
        ("account-report", {"audience": "custom"}, "options"),  # nor any targeting
    ],
)
def test_a_refusal_of_a_field_the_form_does_not_show_is_still_shown(
    web, sid, counts, customer, code, posted, field
):
    before = counts(customer)
    response = web.post(f"/services/{sid(code)}/order/", {"quantity": "1", **posted})
    assert response.status_code == 400
    [message] = response.context["errors"][field]
    assert message in response.content.decode()
    assert counts(customer) == before


def test_a_refused_link_keeps_the_price_of_the_quantity_in_view(web, sid):
    url = f"/services/{sid('plays')}/order/"
    live = web.get(f"/services/{sid('plays')}/price/", {"quantity": "10000"})
    [price] = re.findall(r'id="live-price">([^<]+)<', live.content.decode())
    refused = web.post(url, {"target": "https://www.example.com/foo", "quantity": "10000"})
    page = refused.content.decode()
    assert re.findall(r'id="live-price">([^<]+)<', page) == [price]
    assert page.count("只接受抖音") == 1  # the link's message stays by its field only
    off_step = web.post(url, {"target": "https://www.example.com/foo", "quantity": "10050"})
    assert 'id="live-price"' not in off_step.content.decode()


def test_an_order_is_charged_only_the_total_the_customer_was_shown(web, customer, sid, counts):
    url = f"/services/{sid('plays')}/order/"
    live = web.get(f"/services/{sid('plays')}/price/", {"quantity": "10000"}).content.decode()
    assert '<input type="hidden" name="confirmed_total" value="160.00">' in live
    # The price moves between the page showing it and the customer's click.
    ServiceModule.objects.filter(pk=sid("plays")).update(rate_per_1000=Decimal("18.00"))
    before = counts(customer)
    form = {"target": VIDEO_URL, "quantity": "10000", "confirmed_total": "160.00"}
    refused = web.post(url, form)
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "应付金额现为 ¥180.00，与您确认的 ¥160.00 不同，请核对后再提交" in page
    assert '<input type="hidden" name="confirmed_total" value="180.00">' in page  # to confirm
    assert counts(customer) == before  # its quote went with the refusal
    assert web.post(url, form | {"confirmed_total": "180.00"}).status_code == 302
    assert Order.objects.get(customer=customer).charge_fen == 18_000
    tampered = web.post(url, form | {"confirmed_total": "lots"})
    assert tampered.status_code == 400
    assert "金额无效，请刷新页面" in tampered.content.decode()


def test_an_order_sent_before_its_price_was_shown_asks_to_confirm_it(web, customer, sid, counts):
    # Sent before the live price came back (or after a refused quantity), it was charged
    # an amount never shown.
    url = f"/services/{sid('plays')}/order/"
    before = counts(customer)
    refused = web.post(url, {"target": VIDEO_URL, "quantity": "10000"})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "应付金额为 ¥160.00，请确认后再提交" in page
    assert '<input type="hidden" name="confirmed_total" value="160.00">' in page
    assert counts(customer) == before
    form = {"target": VIDEO_URL, "quantity": "10000", "confirmed_total": "160.00"}
    assert web.post(url, form).status_code == 302


def test_a_package_is_charged_only_the_price_the_customer_was_shown(web, customer, counts):
    package = Package.objects.get(code="starter")
    url = f"/bundles/package/{package.pk}/order/"
    assert 'name="confirmed_total" value="168.00"' in web.get(url).content.decode()
    Package.objects.filter(pk=package.pk).update(price_fen=19_000)  # an operator's edit
    before = counts(customer)
    refused = web.post(url, STARTER)
    assert "应付金额现为 ¥190.00，与您确认的 ¥168.00 不同" in refused.content.decode()
    assert counts(customer) == before
    unshown = web.post(url, {"target": VIDEO_URL}).content.decode()
    assert "应付金额为 ¥190.00，请确认后再提交" in unshown
    assert web.post(url, STARTER | {"confirmed_total": "190.00"}).status_code == 302
    assert OrderGroup.objects.get(customer=customer).total_fen == 19_000


def test_a_growth_plan_is_charged_only_the_price_the_customer_was_shown(web, customer, counts):
    plan = GrowthPlan.objects.get(code="daily-followers")
    url = f"/bundles/plan/{plan.pk}/order/"
    assert 'name="confirmed_total" value="540.00"' in web.get(url).content.decode()
    ServiceModule.objects.filter(pk=plan.module_id).update(
        rate_per_1000=plan.module.rate_per_1000 / 2  # a price cut is confirmed too
    )
    before = counts(customer)
    refused = web.post(url, {"target": ACCOUNT_URL, "confirmed_total": "540.00"})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "应付金额现为 ¥270.00" in page
    assert 'name="confirmed_total" value="270.00"' in page
    assert counts(customer) == before  # the plan's 30 quotes went with the refusal
    confirmed = web.post(url, {"target": ACCOUNT_URL, "confirmed_total": "270.00"})
    assert confirmed.status_code == 302
    assert OrderGroup.objects.get(customer=customer).total_fen == 27_000


@pytest.mark.parametrize("quantity", [500, 10_000, 123_400])
def test_the_live_rate_multiplies_out_to_the_live_total(web, sid, quantity):
    ServiceModule.objects.filter(pk=sid("plays")).update(rate_per_1000=Decimal("17.349"))
    page = web.get(f"/services/{sid('plays')}/price/", {"quantity": str(quantity)})
    text = page.content.decode()
    [total] = re.findall(r'id="live-price">[^¥]*¥([\d,.]+)<', text)
    [rate] = re.findall(r'id="live-rate">[^¥]*¥([\d,.]+) <small>/ 1,000', text)
    charged = (Decimal(rate.replace(",", "")) * quantity / 1000).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    assert charged == Decimal(total.replace(",", ""))


def test_the_order_page_says_what_the_start_count_is(web, customer, sid):
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )
    assert "开始交付时目标已有的数量" in web.get(f"/orders/{order.pk}/").content.decode()
    english = in_english(web).get(f"/orders/{order.pk}/").content.decode()
    assert "The count the target already had when delivery began" in english


def test_order_form_errors_speak_english_when_asked(web, customer, sid, counts):
    before = counts(customer)
    response = in_english(web).post(
        f"/services/{sid('plays')}/order/",
        {"target": "hello", "quantity": "1050"},
    )
    assert response.status_code == 400
    assert set(response.context["errors"]) == {"target", "quantity"}
    page = response.content.decode()
    assert "Quantity must be 500 plus a multiple of 100" in page
    assert counts(customer) == before


def test_an_order_beyond_the_balance_shows_the_balance_error(seeded, sid, counts):
    from factories import make_verified_customer

    customer = make_verified_customer()
    fund_customer(customer, 500)
    client = Client()
    client.force_login(customer.user)
    before = counts(customer)
    response = client.post(
        f"/services/{sid('plays')}/order/", {"target": VIDEO_URL, "quantity": "1000"}
    )
    assert response.status_code == 400
    assert "余额不足" in response.content.decode()
    assert 'href="/wallet/" id="topup-link"' in response.content.decode()  # a way to top up
    assert counts(customer) == before


def test_a_good_order_redirects_to_its_page_with_the_timeline(
    web, customer, sid, dispatched, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(
            f"/services/{sid('plays')}/order/",
            {
                "target": f"看看这个 {VIDEO_URL} 复制打开抖音",
                "quantity": "10,000",
                "audience": "custom",
                "gender": "female",
                "ages": ["18-23", "24-30"],
                "regions": "成都，重庆",
                "duration_hours": "48",
                "confirmed_total": "160.00",
            },
        )
    order = Order.objects.get(customer=customer)
    assert (response.status_code, response["Location"]) == (302, f"/orders/{order.pk}/")
    assert (order.quantity, order.charge_fen, order.target) == (10_000, 16_000, VIDEO_URL)
    assert order.options == {
        "audience": "custom",
        "gender": "female",
        "ages": ["18-23", "24-30"],
        "regions": ["chengdu", "chongqing"],
        "duration_hours": 48,
    }
    assert dispatched == [order.pk]
    page = web.get(response["Location"]).content.decode()
    assert f"#{order.pk}" in page
    assert "时间线" in page
    assert "已下单，资金已冻结" in page
    assert "¥160.00" in page
    settings_shown = html_text(page[page.index('id="order-options"') :])
    assert (
        "人群 自定义定向 性别 女 年龄 18-23、24-30 地域 成都、重庆 投放时长 48 小时"
        in settings_shown
    )
    english = in_english(web).get(response["Location"]).content.decode()
    assert "Order placed, funds held" in english
    settings_en = html_text(english[english.index('id="order-options"') :])
    assert "Gender Female Age 18-23, 24-30 Regions Chengdu, Chongqing Duration 48 h" in settings_en
    assert wallet_balances(customer=customer) == {"available_fen": 84_000, "held_fen": 16_000}


def test_the_order_page_cancels_an_open_order_once(web, customer, sid):
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )
    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert "取消订单" in page
    assert "window.confirm('确定取消此订单吗？未交付的部分将自动退款。')" in page  # asks first
    assert "冻结金额" in page
    response = web.post(f"/orders/{order.pk}/cancel/")
    assert response.status_code == 302
    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert "已取消" in page
    assert "未交付部分已退款" in page
    assert "冻结金额" not in page  # nothing is held any more: what was paid, and the refund
    assert 'id="order-paid">¥0.00' in page
    assert 'id="order-refund">¥8.00' in page
    wallet = web.get("/wallet/").content.decode()
    # Named for what happened, not "paid ¥0.00", and linked to the order (a plan's days are
    # not listed on their own in my orders).
    assert f'<a href="/orders/{order.pk}/">订单 #{order.pk} 已取消：全额退款 ¥8.00</a>' in wallet
    again = web.post(f"/orders/{order.pk}/cancel/")
    assert again.status_code == 409
    assert "订单已结束" in again.content.decode()
    english = in_english(web).get("/wallet/").content.decode()
    assert f"Order #{order.pk} canceled: refunded in full ¥8.00" in english


def test_the_order_page_says_who_stopped_an_order_short(web, customer, sid, fake_adapter):
    def order() -> Order:
        return services.order_place(
            customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
        )

    def timeline(o: Order, client: Client = web) -> str:
        return client.get(f"/orders/{o.pk}/").content.decode()

    mine = order()
    services.order_cancel(customer=customer, order_id=mine.pk)
    assert "应您的要求取消" in timeline(mine)
    refused = order()
    fake_adapter.place_error = ProviderRejected("Incorrect link", code="invalid_link")
    services.order_dispatch(order_id=refused.pk)
    # In the customer's language, not the provider's words (which operators still see).
    assert "服务商未接受此订单（链接无效），已全额退款" in timeline(refused)
    assert "Incorrect link" not in timeline(refused)
    assert refused.events.get(kind="canceled").data["error"] == "invalid_link: Incorrect link"
    broke = order()
    fake_adapter.place_error = ProviderRejected(
        "not enough funds (acct 88)", code="insufficient_funds"
    )
    services.order_dispatch(order_id=broke.pk)
    assert "服务商未接受此订单，已全额退款" in timeline(broke)
    assert "acct 88" not in timeline(broke)
    fake_adapter.place_error = None
    short = order()
    services.order_dispatch(order_id=short.pk)
    fake_adapter.report(fake_adapter.placed[-1]["id"], ProviderStatus.PARTIAL, remains=200)
    services.orders_sync()
    page = timeline(short)
    assert "部分完成" in page
    assert "服务商未能交付全部数量" in page
    assert "The provider could not deliver it all" in timeline(short, in_english(web))
    assert "应您的要求取消" not in page


def test_the_timeline_ends_with_the_latest_count_between_tenths(web, customer, sid, fake_adapter):
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=10_000
    )
    services.order_dispatch(order_id=order.pk)
    external_id = fake_adapter.placed[-1]["id"]

    def page() -> str:
        return web.get(f"/orders/{order.pk}/").content.decode()

    fake_adapter.report(external_id, ProviderStatus.IN_PROGRESS, remains=8_800)
    services.orders_sync()
    assert "已交付 1,200" in page()  # the progress event at the first tenth
    assert "最新进度" not in page()  # nothing newer than the timeline yet
    fake_adapter.report(external_id, ProviderStatus.IN_PROGRESS, remains=8_300)
    services.orders_sync()
    assert Order.objects.get(pk=order.pk).delivered == 1_700
    assert "<b>最新进度</b> · 已交付 1,700" in page()  # not a tenth, so no event; still shown
    assert (
        "<b>Latest progress</b> · delivered 1,700"
        in in_english(web).get(f"/orders/{order.pk}/").content.decode()
    )
    fake_adapter.report(external_id, ProviderStatus.COMPLETED, remains=0)
    services.orders_sync()
    assert "最新进度" not in page()  # a finished order's timeline ends with its settlement


def test_the_latest_count_closes_the_timeline_in_time_order(web, customer, sid, fake_adapter):
    # After a cancel request the line kept the count's own (earlier) time, below the request.
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=10_000
    )
    services.order_dispatch(order_id=order.pk)
    for remains in (8_800, 8_300):  # the second is not a new tenth: no event
        fake_adapter.report(
            fake_adapter.placed[-1]["id"], ProviderStatus.IN_PROGRESS, remains=remains
        )
        services.orders_sync()
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    services.order_cancel(customer=customer, order_id=order.pk)
    page = web.get(f"/orders/{order.pk}/").content.decode()
    times = re.findall(r"<time>([^<]+)</time>", page.split('class="timeline"')[1])
    assert "最新进度" in page
    assert times == sorted(times)


def test_evidence_asked_for_before_the_log_has_it_says_why_on_the_order_page(web, customer, sid):
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )
    link = f'href="/orders/{order.pk}/evidence.json"'
    page = web.get(f"/orders/{order.pk}/").content.decode()
    # A download link would make the browser drop the explanation below as a failed download.
    assert f"{link}>" in page
    early = web.get(f"/orders/{order.pk}/evidence.json")
    assert early.status_code == 409
    assert "Content-Disposition" not in early
    assert "尚未写入已签名的日志" in early.content.decode()


def test_the_price_check_partial_prices_and_checks_the_link(seeded, sid, counts):
    before = counts()
    client = Client()
    ok = client.get(f"/services/{sid('plays')}/price/", {"quantity": "10000", "target": VIDEO_URL})
    page = ok.content.decode()
    assert "应付 ¥160.00" in page
    assert "链接有效" in page
    assert "<html" not in page
    bad = client.get(f"/services/{sid('plays')}/price/", {"quantity": "550", "target": ACCOUNT_URL})
    page = bad.content.decode()
    assert "以 100 递增" in page
    assert "此服务需要视频链接" in page
    assert "应付" not in page
    english = in_english(client).get(f"/services/{sid('plays')}/price/", {"quantity": "x"})
    assert "Quantity must be an integer" in english.content.decode()
    superscript = Client().get(f"/services/{sid('plays')}/price/", {"quantity": "²"})
    assert "数量须为整数" in superscript.content.decode()
    assert (
        "单价 ¥16.00 <small>/ 1,000 次</small>"
        in Client().get(f"/services/{sid('plays')}/price/", {"quantity": "1000"}).content.decode()
    )
    by_the_piece = Client().get(f"/services/{sid('video-edit')}/price/", {"quantity": "3"})
    assert "单价 ¥199.00 <small>/ 条</small>" in by_the_piece.content.decode()  # not per 1000
    assert counts() == before


def test_a_package_is_ordered_at_its_bundle_price_with_one_hold(
    web, customer, sid, dispatched, django_capture_on_commit_callbacks
):
    package = Package.objects.get(code="starter")
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(f"/bundles/package/{package.pk}/order/", STARTER)
    assert (response.status_code, response["Location"]) == (302, "/orders/")
    group = OrderGroup.objects.get(customer=customer)
    orders = list(group.orders.order_by("pk"))
    assert [(o.module.code, o.quantity) for o in orders] == [
        ("plays", 10_000),
        ("likes", 300),
        ("comments", 20),
    ]
    assert sum(o.charge_fen for o in orders) == group.total_fen == 16_800
    assert JournalEntry.objects.filter(kind="order_hold").count() == 1
    assert wallet_balances(customer=customer) == {"available_fen": 83_200, "held_fen": 16_800}
    assert sorted(dispatched) == [o.pk for o in orders]
    assert journal_total_fen() == 0
    # My orders says which package each of its orders belongs to, in the page's language.
    listing = web.get("/orders/").content.decode()
    assert listing.count(f'<small class="muted group-label">{group.label}</small>') == 3
    english = in_english(web).get("/orders/").content.decode()
    assert english.count(f'<small class="muted group-label">{group.label_en}</small>') == 3


def test_the_wallet_names_a_package_hold_in_the_page_language(web, customer, dispatched):
    package = Package.objects.get(code="starter")
    web.post(f"/bundles/package/{package.pk}/order/", STARTER)
    assert OrderGroup.objects.get(customer=customer).label_en == package.name_en
    assert f"{package.name_zh} 冻结" in web.get("/wallet/").content.decode()
    english = in_english(web).get("/wallet/").content.decode()
    assert f"Hold for {package.name_en}" in english
    assert package.name_zh not in english


def test_a_package_with_the_wrong_kind_of_link_orders_nothing(web, customer, counts):
    package = Package.objects.get(code="grow")  # followers + report: needs an account link
    before = counts(customer)
    response = web.post(f"/bundles/package/{package.pk}/order/", STARTER)
    assert response.status_code == 400
    assert "此服务需要账号主页链接" in response.content.decode()
    assert counts(customer) == before


def test_a_module_taken_off_sale_is_not_sold_in_a_package_or_a_growth_plan(web, customer, counts):
    ServiceModule.objects.filter(code__in=["comments", "followers"]).update(active=False)
    package = Package.objects.get(code="starter")  # plays + likes + comments
    plan = GrowthPlan.objects.get(code="daily-followers")
    catalogue = web.get("/").content.decode()
    assert package.name_zh not in catalogue
    assert plan.name_zh not in catalogue
    before = counts(customer)
    assert web.post(f"/bundles/package/{package.pk}/order/", STARTER).status_code == 404
    assert web.post(f"/bundles/plan/{plan.pk}/order/", DAILY).status_code == 404
    assert counts(customer) == before
    # An order in flight through the service (a page opened before the change) is refused too.
    with pytest.raises(DomainError) as refused:
        services.package_order(customer=customer, package=package, target=VIDEO_URL)
    assert [(e.field, e.code) for e in refused.value.errors] == [("service_id", "off_sale")]
    assert counts(customer) == before


def test_every_refusal_of_a_package_order_is_shown_on_its_form(web, customer, counts):
    package = Package.objects.get(code="starter")
    package.items.all().delete()  # an operator saved a package with no items
    before = counts(customer)
    response = web.post(f"/bundles/package/{package.pk}/order/", STARTER)
    assert response.status_code == 400
    assert "没有可下单的项目" in response.content.decode()
    assert counts(customer) == before


def test_a_growth_plan_places_thirty_orders_dispatches_the_first_and_holds_once(
    web, customer, dispatched, django_capture_on_commit_callbacks
):
    plan = GrowthPlan.objects.get(code="daily-followers")
    form = web.get(f"/bundles/plan/{plan.pk}/order/").content.decode()
    assert "¥540.00" in form  # what the order below holds, shown before ordering
    assert "抖音账号主页链接" in form  # followers grow an account, not a video
    assert "¥540.00" in web.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(f"/bundles/plan/{plan.pk}/order/", DAILY)
    assert response.status_code == 302
    group = OrderGroup.objects.get(customer=customer, kind="growth_plan")
    orders = list(group.orders.order_by("pk"))
    assert len(orders) == 30
    assert {o.quantity for o in orders} == {100}
    first, later = orders[0], orders[1:]
    assert first.scheduled_for is None
    assert all(o.scheduled_for is not None for o in later)
    assert [o.scheduled_for.date() for o in later] == sorted(o.scheduled_for.date() for o in later)
    assert dispatched == [first.pk]
    assert services.order_dispatch(order_id=later[0].pk) == "skipped"
    holds = JournalEntry.objects.filter(kind="order_hold")
    assert holds.count() == 1
    assert holds.get().ref == f"group:{group.pk}:hold"
    assert group.total_fen == 30 * 1_800
    assert wallet_balances(customer=customer) == {"available_fen": 46_000, "held_fen": 54_000}


def test_a_growth_plan_beyond_the_balance_orders_nothing(seeded, counts):
    from factories import make_verified_customer

    customer = make_verified_customer()
    fund_customer(customer, 10_000)  # ¥100 < ¥540
    client = Client()
    client.force_login(customer.user)
    plan = GrowthPlan.objects.get(code="daily-followers")
    before = counts(customer)
    response = client.post(f"/bundles/plan/{plan.pk}/order/", {"target": ACCOUNT_URL})
    assert response.status_code == 400
    assert "余额不足" in response.content.decode()
    assert 'href="/wallet/" id="topup-link"' in response.content.decode()  # a way to top up
    assert counts(customer) == before


def test_my_orders_lists_the_customers_orders(web, customer, sid):
    order = services.order_place(
        customer=customer, service_id=sid("likes"), target=VIDEO_URL, quantity=100
    )
    page = web.get("/orders/").content.decode()
    assert f"/orders/{order.pk}/" in page
    assert "视频点赞" in page


def test_my_orders_come_a_page_at_a_time(web, customer, sid):
    placed = [
        services.order_place(
            customer=customer, service_id=sid("likes"), target=VIDEO_URL, quantity=50
        ).pk
        for _ in range(51)
    ]
    first = web.get("/orders/").content.decode()
    assert f"/orders/{placed[-1]}/" in first  # newest first
    assert f"/orders/{placed[0]}/" not in first
    assert "?page=2" in first
    second = web.get("/orders/?page=2").content.decode()
    assert f"/orders/{placed[0]}/" in second
    assert web.get("/orders/?page=junk").status_code == 200


TZ = ZoneInfo("Asia/Shanghai")


def test_a_growth_plan_shows_each_days_start_and_cancels_the_days_not_started(
    web, customer, dispatched, django_capture_on_commit_callbacks
):
    plan = GrowthPlan.objects.get(code="daily-followers")
    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"/bundles/plan/{plan.pk}/order/", DAILY)
    group = OrderGroup.objects.get(customer=customer, kind="growth_plan")
    first, second, *_, last = group.orders.order_by("pk")
    # "My orders" lists the day under way and sums up the 29 to come in one line.
    listing = web.get("/orders/").content.decode()
    assert re.findall(r'href="/orders/(\d+)/">\1<', listing) == [str(first.pk)]
    days = (
        f"{second.scheduled_for.astimezone(TZ):%m-%d} 至 {last.scheduled_for.astimezone(TZ):%m-%d}"
    )
    summary = f"{group.name}</a> · 还有 29 天待执行（{days}，共 ¥{29 * 18}.00），每天自动下单"
    assert summary in listing
    assert f'href="/orders/{first.pk}/">{group.name}</a>' in listing  # its page cancels the rest
    english = in_english(Client())
    english.force_login(customer.user)
    assert "29 more days to come (" in english.get("/orders/").content.decode()
    assert web.get("/api/v1/orders").json()["count"] == 30  # the API lists every order
    page = web.get(f"/orders/{second.pk}/").content.decode()
    assert f'id="order-scheduled">{second.scheduled_for.astimezone(TZ):%Y-%m-%d}' in page
    assert f'id="order-group">{group.name}' in page
    assert "取消计划剩余的 29 天" in page
    english = Client()
    english.force_login(customer.user)
    assert "Cancel the remaining 29 days" in (
        in_english(english).get(f"/orders/{second.pk}/").content.decode()
    )
    held = wallet_balances(customer=customer)["held_fen"]
    response = web.post(f"/orders/{second.pk}/cancel-scheduled/")
    assert response.status_code == 302
    statuses = list(group.orders.order_by("pk").values_list("status", flat=True))
    assert statuses == ["pending"] + ["canceled"] * 29  # day 1 was sent already
    assert wallet_balances(customer=customer)["held_fen"] == held - 29 * second.charge_fen
    assert journal_total_fen() == 0
    after = web.get(f"/orders/{second.pk}/").content.decode()
    assert "已取消计划剩余的 29 天，金额已全额退回钱包" in after  # it used to say nothing
    assert 'id="cancel-rest"' not in web.get(f"/orders/{first.pk}/").content.decode()
    # "My orders" sums up the cancelled days in one line too, instead of 29 "canceled" rows.
    listing = web.get("/orders/").content.decode()
    assert re.findall(r'href="/orders/(\d+)/">\1<', listing) == [str(first.pk)]
    assert f"{group.name}</a> · 29 天未开始即已取消（{days}），¥{29 * 18}.00 已全额退款" in listing
    english = in_english(Client())
    english.force_login(customer.user)
    assert "29 days canceled before they began (" in english.get("/orders/").content.decode()


def test_the_cancel_address_opened_again_shows_the_order_and_a_requested_cancel_says_so(
    web, customer, sid, fake_adapter
):
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )
    back = web.get(f"/orders/{order.pk}/cancel/")
    assert (back.status_code, back["Location"]) == (302, f"/orders/{order.pk}/")
    services.order_dispatch(order_id=order.pk)
    web.post(f"/orders/{order.pk}/cancel/")  # sent already: the provider is asked to stop
    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert "已申请取消，等待服务商确认" in page
    assert "取消订单" not in page  # no second request
    assert web.get("/logout/").status_code == 302  # a bare GET neither fails nor logs out
    assert web.get("/orders/").status_code == 200


def test_a_finished_order_with_a_refill_guarantee_asks_for_a_refill_from_its_page(
    web, customer, sid, fake_adapter
):
    order = services.order_place(
        customer=customer, service_id=sid("followers"), target=ACCOUNT_URL, quantity=100
    )
    assert 'id="refill"' not in web.get(f"/orders/{order.pk}/").content.decode()  # still open
    services.order_dispatch(order_id=order.pk)
    fake_adapter.report(fake_adapter.placed[-1]["id"], ProviderStatus.COMPLETED, remains=0)
    services.orders_sync()
    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert "申请补量（完成后 30 天内）" in page
    assert web.post(f"/orders/{order.pk}/refill/").status_code == 302
    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert f"补量 #{order.refills.get().pk}" in page
    # The button waits out the 24 hours instead of offering a refill it would refuse.
    assert 'id="refill"' not in page
    next_at = order.refills.get().created_at + timedelta(hours=24)
    assert f"下次可于 {next_at.astimezone(TZ):%Y-%m-%d %H:%M} 后申请" in page
    again = web.post(f"/orders/{order.pk}/refill/")
    assert again.status_code == 409
    assert "24 小时内已申请过补量" in again.content.decode()
    assert order.refills.count() == 1
    assert "已申请，等待提交服务商" in page
    refill = order.refills.get()
    external = services.order_provider_refill(refill_id=refill.pk)
    fake_adapter.refill_statuses[external] = ProviderRefillStatus.COMPLETED
    services.refills_sync()
    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert "已补足" in page
    assert "补量已完成" in page  # on the timeline too


def test_an_unknown_region_on_the_order_form_is_shown_in_english_too(web, customer, sid, counts):
    before = counts(customer)
    response = in_english(web).post(
        f"/services/{sid('plays')}/order/",
        {"target": VIDEO_URL, "quantity": "1000", "audience": "custom", "regions": "Atlantis"},
    )
    assert response.status_code == 400
    assert "Unknown region(s): Atlantis (e.g. beijing" in response.content.decode()
    assert counts(customer) == before


def test_a_refused_order_form_keeps_the_targeting_as_the_customer_set_it(web, customer, sid):
    response = web.post(
        f"/services/{sid('plays')}/order/",
        {
            "target": VIDEO_URL,
            "quantity": "1000",
            "audience": "custom",
            "gender": "female",
            "ages": ["24-30", "41-49"],
            "regions": "Atlantis",
            "duration_hours": "72",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(r'<option value="female"\s+selected>', page)
    checked = re.findall(r'name="ages" value="([^"]+)"\s+checked', page)
    assert checked == ["24-30", "41-49"]
    assert re.search(r'<option value="72"\s+selected>', page)
    assert 'value="Atlantis"' in page


def test_the_order_form_hides_targeting_under_the_automatic_audience(web, sid):
    # Under "automatic" the service takes no targeting; the form must not collect it unseen.
    page = web.get(f"/services/{sid('plays')}/order/").content.decode()
    hidden = page[page.index('class="custom-audience"') : page.index('name="duration_hours"')]
    assert all(f'name="{field}"' in hidden for field in ("gender", "ages", "regions"))
    assert "选择“自定义定向”可设置性别、年龄和地域" in page
    css = Path(finders.find("web/site.css")).read_text(encoding="utf-8")
    assert '.options:has(#audience option[value="auto"]:checked) .custom-audience' in css


def test_the_link_placeholder_matches_the_kind_of_link_the_service_takes(web, sid):
    followers = web.get(f"/services/{sid('followers')}/order/").content.decode()
    assert 'placeholder="https://www.douyin.com/user/…"' in followers
    plays = web.get(f"/services/{sid('plays')}/order/").content.decode()
    assert 'placeholder="https://www.douyin.com/video/…"' in plays


def test_the_order_form_ties_each_error_to_its_field_for_screen_readers(web, customer, sid):
    url = f"/services/{sid('plays')}/order/"
    page = web.get(url).content.decode()
    assert '<a class="skip-link" href="#main">跳到主要内容</a>' in page
    assert '<main id="main"' in page
    [target] = re.findall(r'<input id="target"[^>]*>', page)
    assert 'aria-describedby="target-errors"' in target
    assert "aria-invalid" not in target
    refused = web.post(url, {"target": "https://www.example.com/x", "quantity": "10050"})
    text = refused.content.decode()
    [target] = re.findall(r'<input id="target"[^>]*>', text)
    [quantity] = re.findall(r'<input id="quantity"[^>]*>', text)
    assert 'aria-invalid="true"' in target
    assert 'aria-invalid="true"' in quantity
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=1_000
    )
    listing = web.get("/orders/").content.decode()
    assert 'aria-label="进度 0/1000"' in listing
    assert 'aria-label="进度 0/1000"' in web.get(f"/orders/{order.pk}/").content.decode()
