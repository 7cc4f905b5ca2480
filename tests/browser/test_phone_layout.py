"""Pages on a 375 px phone in Chromium: nothing spills sideways; a fixed field loses its error."""

from __future__ import annotations

from typing import Any

import pytest

from factories import VIDEO_URL, fund_customer, make_verified_customer

PAGE_FITS = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def phone(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.mark.usefixtures("transactional_db")
def test_a_phone_sees_forms_and_tables_without_sideways_scrolling(
    live_server, phone, log_in
) -> None:
    from playwright.sync_api import expect

    from doudesk.catalog.models import ServiceModule
    from doudesk.catalog.seed import seed_demo
    from doudesk.orders import services

    seed_demo()
    customer = make_verified_customer()
    fund_customer(customer, 100_000)
    plays = ServiceModule.objects.get(code="plays")
    for _ in range(3):
        services.order_place(customer=customer, service_id=plays.pk, target=VIDEO_URL, quantity=500)
    log_in(phone, customer)

    # A refused quantity: its message shows once, and goes when the field is edited.
    phone.goto(f"{live_server.url}/services/{plays.pk}/order/")
    phone.locator("#target").fill(VIDEO_URL)
    phone.locator("#quantity").fill("-5")
    phone.locator("#place-order").click()
    expect(phone.locator("#quantity-errors")).to_contain_text("数量须在 500 至 1,000,000 之间")
    phone.locator("#quantity").fill("1000")
    expect(phone.locator("#quantity-errors .field-error")).to_have_count(0)
    expect(phone.locator("#price-check")).to_contain_text(f"链接有效：{VIDEO_URL}")
    assert phone.evaluate(PAGE_FITS), "the order form scrolls sideways"

    # Tables scroll inside their panel; their cells do not break words apart.
    for path in ("/orders/", "/wallet/", f"/orders/{customer.orders.first().pk}/"):
        phone.goto(live_server.url + path)
        assert phone.evaluate(PAGE_FITS), f"{path} scrolls sideways"
    # Lists of rows need no sideways scrolling at all: status and amounts are in view.
    for path, table in (("/orders/", "table.orders"), ("/wallet/", "#journal")):
        phone.goto(live_server.url + path)
        widths = phone.evaluate(
            f"() => {{ const t = document.querySelector('{table}');"
            " return [t.scrollWidth, t.clientWidth]; }"
        )
        assert widths[0] <= widths[1], f"{path} {table} scrolls sideways: {widths}"
    phone.goto(live_server.url + "/orders/")
    # No word or amount is broken across lines: each piece of text in the first row is one
    # line box ("已完成", not "已/完成"; "¥8.00", not "¥8/.00").
    # Measured in one script run: the live table (server-sent events) may swap its rows in
    # between a locator's look-up and its evaluation, leaving a detached row with no boxes.
    lines = phone.evaluate(
        """() => {
            const tr = document.querySelector("table.orders tbody tr");
            const walker = document.createTreeWalker(tr, NodeFilter.SHOW_TEXT);
            const counts = [];
            while (walker.nextNode()) {
                if (!walker.currentNode.textContent.trim()) continue;
                const range = document.createRange();
                range.selectNodeContents(walker.currentNode);
                counts.push(range.getClientRects().length);
            }
            return counts;
        }"""
    )
    assert max(lines) == 1, lines


@pytest.mark.usefixtures("transactional_db")
def test_a_phone_sees_the_price_tiers_whole_in_english(live_server, phone) -> None:
    """The four columns fit a phone: their English headers wrap instead of pushing it wider."""
    from doudesk.catalog.models import ServiceModule
    from doudesk.catalog.seed import seed_demo

    seed_demo()
    plays = ServiceModule.objects.get(code="plays")
    phone.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    phone.goto(f"{live_server.url}/services/{plays.pk}/pricing/")
    assert phone.locator("#price-tiers th").first.inner_text() == "Quantity"
    widths = phone.evaluate(
        "() => { const t = document.querySelector('#price-tiers');"
        " return [t.scrollWidth, t.clientWidth]; }"
    )
    assert widths[0] <= widths[1], f"the price tiers scroll sideways: {widths}"


CHARTS_DRAWN = """() => ["delivery-chart", "money-chart"].every(
    (id) => window.echarts && echarts.getInstanceByDom(document.getElementById(id)))"""
CHART_STATE = """() => ["delivery-chart", "money-chart"].map((id) => {
    const el = document.getElementById(id);
    const option = echarts.getInstanceByDom(el).getOption();
    return {
        days: option.xAxis[0].data.length,
        series: option.series.map((s) => s.name),
        inside: el.getBoundingClientRect().right <= document.documentElement.clientWidth,
        canvas: el.querySelector("canvas").width > 0,
    };
})"""


@pytest.mark.usefixtures("transactional_db")
def test_a_phone_sees_the_dashboard_whole_with_its_charts(
    live_server, phone, log_in, fake_adapter
) -> None:
    """Figures, pipeline, both charts and their tables fit 375 px, in Chinese and English."""
    from playwright.sync_api import expect

    from doudesk.catalog.seed import seed_demo
    from factories import order_history

    seed_demo()
    customer = make_verified_customer()
    fund_customer(customer, 100_000)
    order_history(customer, fake_adapter)
    log_in(phone, customer)

    phone.goto(live_server.url + "/dashboard/")
    expect(phone.locator("#fig-units")).to_have_text("10,980")
    phone.wait_for_function(CHARTS_DRAWN)
    assert phone.evaluate(CHART_STATE) == [
        {"days": 30, "series": ["视频播放", "账号涨粉"], "inside": True, "canvas": True},
        {"days": 30, "series": ["扣款", "退款"], "inside": True, "canvas": True},
    ]
    assert phone.evaluate(PAGE_FITS), "the dashboard scrolls sideways"
    for summary in phone.locator("details summary").all():
        summary.click()
    expect(phone.locator("#delivery-table")).to_be_visible()
    expect(phone.locator("#money-table")).to_be_visible()
    assert phone.evaluate(PAGE_FITS), "the dashboard's tables scroll sideways"

    phone.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    phone.goto(live_server.url + "/dashboard/")
    expect(phone.locator("h1")).to_have_text("Dashboard")
    phone.wait_for_function(CHARTS_DRAWN)
    assert phone.evaluate(PAGE_FITS), "the English dashboard scrolls sideways"
