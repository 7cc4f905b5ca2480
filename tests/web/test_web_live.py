"""Live pages: order, my orders and wallet follow changes over Server-Sent Events."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient, Client

from doudesk.orders import services
from doudesk.orders.models import Order, OrderStatus
from doudesk.sandbox.payment import sandbox_notify_params
from doudesk.wallet.services import topup_create, topup_notify_apply
from doudesk.web.sse import encode_event
from factories import VIDEO_URL, in_english

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_ticks(settings) -> None:
    settings.SSE_TICK_SECONDS = 0.01


def messages(chunks: Iterator[bytes]) -> Iterator[tuple[str, str]]:
    """Parse an event stream into (event, data) pairs; comments come as ("comment", text)."""
    buffer = ""
    for chunk in chunks:
        buffer += chunk.decode()
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            yield parse_block(block)


def parse_block(block: str) -> tuple[str, str]:
    if block.startswith(":"):
        return "comment", block[1:].strip()
    fields = [line.split(": ", 1) if ": " in line else [line, ""] for line in block.split("\n")]
    event = next((value for key, value in fields if key in ("event", "retry")), "")
    if block.startswith("retry"):
        return "retry", event
    return event, "\n".join(value for key, value in fields if key == "data")


@pytest.fixture
def open_order(customer, sid) -> Order:
    return services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )


def test_an_event_carries_each_line_of_its_html_as_a_data_line() -> None:
    message = encode_event("order", "<p>\n已完成</p>")
    assert message == "event: order\ndata: <p>\ndata: 已完成</p>\n\n"
    assert encode_event("done", "") == "event: done\ndata: \n\n"


def test_an_open_order_page_connects_to_its_stream_and_a_final_one_does_not(web, open_order):
    page = web.get(f"/orders/{open_order.pk}/").content.decode()
    assert f'sse-connect="/orders/{open_order.pk}/stream/"' in page
    assert 'sse-swap="order"' in page
    assert "hx-trigger" not in page  # no polling
    services.order_cancel(customer=open_order.customer, order_id=open_order.pk)
    assert "sse-connect" not in web.get(f"/orders/{open_order.pk}/").content.decode()


def test_the_order_stream_sends_each_change_and_ends_when_the_order_is_final(web, open_order):
    response = web.get(f"/orders/{open_order.pk}/stream/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    stream = messages(response.streaming_content)
    assert next(stream) == ("retry", "2000")
    event, html = next(stream)
    assert event == "order"
    assert "等待中" in html
    assert "0/500" in html
    assert "取消订单" in html
    assert "<footer" not in html

    Order.objects.filter(pk=open_order.pk).update(status=OrderStatus.IN_PROGRESS, delivered=200)
    event, html = next(stream)
    assert event == "order"
    assert "进行中" in html
    assert "200/500" in html

    services.order_cancel(customer=open_order.customer, order_id=open_order.pk)
    event, html = next(stream)
    assert event == "order"
    assert "已取消" in html
    assert "未交付部分已退款" in html
    assert "取消订单" not in html
    assert next(stream) == ("done", "")
    assert list(stream) == []


class TickClock:
    """Stands in for the stream's ``time``: the clock moves only when the stream sleeps.

    A stream timed on the wall clock sends a keep-alive only if a render (tens of milliseconds,
    far more on a loaded machine) leaves room for one before it expires; on this clock every
    tick takes exactly ``SSE_TICK_SECONDS``, however slow the renders.
    """

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_an_unchanged_order_sends_nothing_but_a_keep_alive_and_the_stream_expires(
    web, open_order, settings, monkeypatch
):
    monkeypatch.setattr("doudesk.web.sse.time", TickClock())
    settings.SSE_HEARTBEAT_SECONDS = 0.02
    settings.SSE_MAX_SECONDS = 0.2
    stream = messages(web.get(f"/orders/{open_order.pk}/stream/"))
    kinds = [event for event, _ in itertools.islice(stream, 100)]  # a stream that never expires
    assert len(kinds) < 100  # fails here instead of hanging
    assert kinds[:2] == ["retry", "order"]
    assert set(kinds[2:]) == {"comment"}  # keep-alives only: the fragment did not change
    assert "done" not in kinds  # it expired; the browser reconnects by itself


class PauseClock(TickClock):
    """A :class:`TickClock` that lists the pauses the stream took between its renders."""

    def __init__(self) -> None:
        super().__init__()
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        super().sleep(seconds)


def test_a_fragment_unchanged_for_a_while_is_rendered_less_often_until_it_changes(
    web, open_order, settings, monkeypatch
):
    # An order an operator delivers by hand stays open for days with nothing to send.
    clock = PauseClock()
    monkeypatch.setattr("doudesk.web.sse.time", clock)
    # Binary fractions, so that the clock's sums are exact.
    settings.SSE_TICK_SECONDS = 0.125
    settings.SSE_IDLE_AFTER_SECONDS = 0.5
    settings.SSE_IDLE_TICK_SECONDS = 0.5
    settings.SSE_HEARTBEAT_SECONDS = 2.0
    stream = messages(web.get(f"/orders/{open_order.pk}/stream/"))
    assert [event for event, _ in itertools.islice(stream, 2)] == ["retry", "order"]
    assert next(stream)[0] == "comment"  # 2 s of nothing new
    assert clock.pauses[:4] == [0.125] * 4  # a tick while the fragment may still change
    assert set(clock.pauses[4:]) == {0.5}  # then the idle tick
    idle = len(clock.pauses)

    Order.objects.filter(pk=open_order.pk).update(status=OrderStatus.IN_PROGRESS, delivered=200)
    event, html = next(stream)
    assert (event, "200/500" in html) == ("order", True)
    assert clock.pauses[idle:] == [0.5]  # the change was seen at the next idle render ...
    Order.objects.filter(pk=open_order.pk).update(delivered=300)
    assert "300/500" in next(stream)[1]
    assert clock.pauses[idle + 1 :] == [0.125]  # ... and from it on, a tick apart again


def test_the_order_stream_speaks_the_pages_language(web, open_order):
    stream = messages(in_english(web).get(f"/orders/{open_order.pk}/stream/").streaming_content)
    next(stream)
    _, html = next(stream)
    assert "Timeline" in html
    assert "Cancel order" in html


def test_another_customers_order_stream_is_a_404_and_anonymous_visitors_log_in(
    open_order, other_customer
):
    intruder = Client()
    intruder.force_login(other_customer.user)
    assert intruder.get(f"/orders/{open_order.pk}/stream/").status_code == 404
    anonymous = Client().get(f"/orders/{open_order.pk}/stream/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")


def test_my_orders_stream_until_no_order_on_the_page_is_open(web, open_order):
    page = web.get("/orders/").content.decode()
    assert 'sse-connect="/orders/stream/?page=1"' in page
    stream = messages(web.get("/orders/stream/?page=1").streaming_content)
    next(stream)
    event, html = next(stream)
    assert event == "orders"
    assert f"/orders/{open_order.pk}/" in html
    assert "等待中" in html
    services.order_cancel(customer=open_order.customer, order_id=open_order.pk)
    event, html = next(stream)
    assert "已取消" in html
    assert "退" in html
    assert next(stream) == ("done", "")
    assert "sse-connect" not in web.get("/orders/").content.decode()


def test_the_wallet_streams_after_a_payment_until_the_callback_credits_it(web, customer):
    topup = topup_create(customer=customer, amount_fen=5_000)
    page = web.get(f"/wallet/?paid={topup.out_trade_no}").content.decode()
    assert f'sse-connect="/wallet/stream/?paid={topup.out_trade_no}"' in page
    assert "sse-connect" not in web.get("/wallet/").content.decode()
    topup_create(customer=customer, amount_fen=7_000)  # left unpaid: the stream does not wait
    stream = messages(web.get(f"/wallet/stream/?paid={topup.out_trade_no}").streaming_content)
    next(stream)
    event, html = next(stream)
    assert event == "wallet"
    assert 'id="balance">¥1,000.00' in html
    assert "待支付" in html
    topup_notify_apply(params=sandbox_notify_params(topup=topup))
    event, html = next(stream)
    assert 'id="balance">¥1,050.00' in html
    assert "已到账" in html
    assert next(stream) == ("done", "")


def test_under_asgi_the_stream_is_asynchronous_and_follows_the_order(customer, open_order):
    async def scenario() -> list[tuple[str, str]]:
        client = AsyncClient()
        await client.aforce_login(customer.user)
        response = await client.get(f"/orders/{open_order.pk}/stream/")
        assert response.is_async
        chunks: AsyncIterator[bytes] = response.streaming_content
        seen: list[tuple[str, str]] = []
        buffer = ""
        async for chunk in chunks:
            buffer += chunk.decode()
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                seen.append(parse_block(block))
                if len(seen) == 2:  # retry, then the open order: now cancel it
                    await sync_to_async(services.order_cancel)(
                        customer=customer, order_id=open_order.pk
                    )
        return seen

    seen = async_to_sync(scenario)()
    assert [event for event, _ in seen] == ["retry", "order", "order", "done"]
    assert "等待中" in seen[1][1]
    assert "已取消" in seen[2][1]


def test_the_cancel_form_in_a_streamed_fragment_passes_the_csrf_check(customer, open_order):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(customer.user)
    browser.get(f"/orders/{open_order.pk}/")  # sets the CSRF cookie, as a page view does
    stream = messages(browser.get(f"/orders/{open_order.pk}/stream/").streaming_content)
    next(stream)
    _, html = next(stream)
    token = html.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    cancel = browser.post(f"/orders/{open_order.pk}/cancel/", {"csrfmiddlewaretoken": token})
    assert cancel.status_code == 302
    open_order.refresh_from_db()
    assert open_order.status == OrderStatus.CANCELED
