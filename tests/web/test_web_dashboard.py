"""The dashboard page (数据看板): the customer's own figures, live while orders are under way."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from doudesk.orders import services
from factories import VIDEO_URL, html_text, in_english, module_id, order_history, staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_ticks(settings) -> None:
    settings.SSE_TICK_SECONDS = 0.01


def figure(page: str, element_id: str) -> str:
    """Return the text of the element with ``element_id`` (none of its tag nested in it)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, f"no #{element_id}"
    return html_text(match.group(2))


def chart_data(page: str) -> dict:
    match = re.search(r'<script id="dashboard-charts" type="application/json">(.*?)</script>', page)
    return json.loads(match.group(1))


def test_the_dashboard_needs_a_signed_in_customer(customer):
    response = Client().get("/dashboard/")
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/dashboard/")
    assert Client().get("/dashboard/stream/").status_code == 302
    # Staff without a customer profile have no dashboard of their own: the admin instead.
    staff = staff_client()
    assert staff.get("/dashboard/")["Location"] == "/admin/"


def test_the_navigation_links_the_dashboard_next_to_my_orders(web):
    page = web.get("/orders/").content.decode()
    assert re.search(r'href="/orders/">我的订单</a>\s*<a href="/dashboard/">数据看板</a>', page)


def test_the_page_shows_the_customers_figures_in_chinese(web, customer, fake_adapter):
    order_history(customer, fake_adapter)
    response = web.get("/dashboard/")
    assert response.status_code == 200
    page = response.content.decode()
    assert figure(page, "fig-under-way") == "2"
    assert figure(page, "fig-finished") == "已完成 1 部分完成 1 已取消 1"
    assert figure(page, "fig-spent") == "¥357.60"
    assert figure(page, "fig-refunded") == "¥11.40"
    assert figure(page, "fig-units") == "10,980"
    assert figure(page, "pipeline") == "1 等待中 0 处理中 1 进行中 2 已完成 1 部分完成 1 已取消"
    assert "扣款 ¥369.00，减去退款" in page
    assert figure(page, "money-summary") == "近 30 天扣款 ¥369.00，退款 ¥11.40，实际花费 ¥357.60。"
    assert "视频播放 <b>10,600</b> 次" in page
    assert "账号涨粉 <b>380</b> 个" in page
    # The pipeline does not link to my orders by status: that page has no status filter.
    assert "?status=" not in page
    # Each chart has a name and its summary as a description, and its figures in a table.
    assert 'role="img" aria-label="每日交付图" aria-describedby="delivery-summary"' in page
    assert 'role="img" aria-label="花费与退款图" aria-describedby="money-summary"' in page
    delivery_rows = re.findall(r"<tr><td>(\d\d-\d\d)</td><td>(.*?)</td>", page)
    assert [name for _day, name in delivery_rows] == [
        "视频播放",
        "视频播放",
        "视频播放",
        "账号涨粉",
        "账号涨粉",
    ]
    assert page.count('data-label="扣款"') == 4  # the four days money moved
    assert "vendor/echarts/echarts.min.js" in page
    data = chart_data(page)
    assert len(data["days"]) == 30
    assert [(m["name"], sum(m["units"])) for m in data["delivery"]] == [
        ("视频播放", 10_600),
        ("账号涨粉", 380),
    ]
    assert sum(data["charged_fen"]) == 36_900
    assert sum(data["refunded_fen"]) == 1_140
    # Orders are under way: the figures follow them.
    assert 'sse-connect="/dashboard/stream/"' in page
    assert 'sse-swap="dashboard"' in page


def test_the_page_reads_in_english(web, customer, fake_adapter):
    order_history(customer, fake_adapter)
    page = in_english(web).get("/dashboard/").content.decode()
    assert '<html lang="en">' in page
    text = html_text(page)
    assert "Dashboard" in text
    assert "Orders under way 2" in text
    assert "Orders finished in the last 30 days Completed 1 Partial 1 Canceled 1" in text
    assert "Spent in the last 30 days ¥357.60 ¥369.00 charged, less refunds" in text
    assert "Refunded in the last 30 days ¥11.40" in text
    assert "Units delivered in the last 30 days 10,980" in text
    assert "10,980 units delivered in the last 30 days:" in text
    assert "Video plays 10,600 plays" in text
    assert "Account followers 380 followers" in text
    assert "In the last 30 days ¥369.00 was charged and ¥11.40 refunded: ¥357.60 spent." in text
    assert 'aria-label="Chart of units delivered each day"' in page
    assert [m["name"] for m in chart_data(page)["delivery"]] == ["Video plays", "Account followers"]
    main = page[page.index('<main id="main"') : page.index("</main>")]
    assert not re.search(r"[\u4e00-\u9fff]", html_text(main)), html_text(main)


def test_another_customers_orders_never_show(customer, other_customer, fake_adapter):
    order_history(customer, fake_adapter)
    theirs = services.order_place(
        customer=other_customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
    )
    fake_adapter.deliver_in_full(theirs)
    client = Client()
    client.force_login(other_customer.user)
    page = client.get("/dashboard/").content.decode()
    assert figure(page, "fig-under-way") == "0"
    assert figure(page, "fig-units") == "1,000"
    assert figure(page, "fig-spent") == "¥16.00"
    assert figure(page, "pipeline") == "0 等待中 0 处理中 0 进行中 1 已完成 0 部分完成 0 已取消"
    assert "账号涨粉" not in page
    # Nothing under way: the page does not stream.
    assert "sse-connect" not in page


def test_a_new_customer_sees_a_welcome_not_empty_charts(web):
    page = web.get("/dashboard/").content.decode()
    assert "您还没有订单。" in page
    assert 'href="/">去下单</a>' in page
    assert "echarts" not in page
    assert 'role="img"' not in page
    assert "sse-connect" not in page
    assert "¥0.00" not in page
    english = html_text(in_english(web).get("/dashboard/").content.decode())
    assert "You have no orders yet." in english


def test_orders_without_delivery_or_money_in_the_month_say_so(web, customer, fake_adapter):
    from factories import happened

    with happened(days_ago=45):
        old = services.order_place(
            customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
        )
        fake_adapter.deliver_in_full(old)
    page = web.get("/dashboard/").content.decode()
    assert figure(page, "pipeline").startswith("0 等待中 0 处理中 0 进行中 1 已完成")
    assert "近 30 天还没有交付。" in page
    assert "近 30 天没有扣款或退款。" in page
    assert 'role="img"' not in page
    assert "echarts" not in page


def messages(response) -> list[tuple[str, str]]:
    """Read a finished event stream as (event, data) pairs."""
    body = b"".join(response.streaming_content).decode()
    out = []
    for block in body.split("\n\n"):
        if not block or block.startswith(("retry", ":")):
            continue
        lines = block.split("\n")
        event = lines[0].removeprefix("event: ")
        out.append((event, "\n".join(line.removeprefix("data: ") for line in lines[1:])))
    return out


def test_the_stream_follows_orders_under_way_and_ends_when_none_is(web, customer, sid):
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )
    stream = iter(web.get("/dashboard/stream/").streaming_content)
    assert next(stream).decode().startswith("retry:")
    first = next(stream).decode()
    assert first.startswith("event: dashboard\n")
    assert 'id="fig-under-way">1</b>' in first
    assert "<footer" not in first

    services.order_cancel(customer=customer, order_id=order.pk)
    rest = b"".join(stream).decode()
    assert 'id="fig-under-way">0</b>' in rest
    assert "¥8.00" in rest  # charged and refunded in full
    assert rest.endswith("event: done\ndata: \n\n")


def test_the_stream_ends_at_once_when_nothing_is_under_way(web, customer, fake_adapter):
    order = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
    )
    fake_adapter.deliver_in_full(order)
    sent = messages(web.get("/dashboard/stream/"))
    assert [event for event, _html in sent] == ["dashboard", "done"]
    assert 'id="fig-units">1,000</b>' in sent[0][1]
