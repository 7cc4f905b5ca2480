"""Plans for a live stream: live-room items scheduled for its start, the rest at once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from doudesk.catalog.promotion import duration_within
from doudesk.orders import services as order_services
from doudesk.orders.models import Order, OrderGroup, OrderStatus
from doudesk.orders.selectors import orders_dispatch_due
from doudesk.wallet.selectors import journal_total_fen
from factories import LIVE_URL, VIDEO_URL

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
EN = {"Accept-Language": "en-US,en;q=0.9"}


def post(client: Client, path: str, body: object, **headers: str):
    """POST ``body`` as JSON."""
    return client.post(
        V1 + path, data=json.dumps(body), content_type="application/json", headers=headers
    )


def live_start(days: int = 2, hour: int = 20) -> datetime:
    """Return a start ``days`` from today at ``hour`` o'clock, Beijing time."""
    day = timezone.localtime() + timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def items_of(sid, **quantities: int) -> list[dict]:
    return [{"service_id": sid(code), "quantity": q} for code, q in quantities.items()]


def test_plans_with_live_items_say_when_they_run(api, customer, sid):
    start = live_start()
    need = {"need": "直播间人气1000和视频播放5000，预算1000元", "live_starts_at": start.isoformat()}
    body = post(api, "/plans", need).json()
    assert body["understood"]["live_starts_at"] == start.isoformat()
    with_live = [
        p for p in body["plans"] if sid("live-viewers") in {i["service_id"] for i in p["items"]}
    ]
    assert with_live
    for plan in body["plans"]:
        if plan in with_live:
            assert plan["live_starts_at"] == start.isoformat()
            assert plan["schedule_note"].startswith("直播间人气将在 ")
            assert f"{start.month}月{start.day}日" in plan["schedule_note"]
            assert plan["schedule_note"].endswith("）20:00 开播时投放。")
        else:
            assert plan["live_starts_at"] is plan["schedule_note"] is None


def test_a_start_written_in_english_is_read_and_said_in_english(api, customer, sid):
    tomorrow_8pm = live_start(days=1)
    need = {"need": "going live tomorrow at 8pm, need 1000 live viewers, budget ¥300"}
    body = post(api, "/plans", {**need, "language": "en"}).json()
    assert body["understood"]["live_starts_at"] == tomorrow_8pm.isoformat()
    assert body["understood"]["quantities"] == {"live_viewers": 1000}
    plan = body["plans"][0]
    label = f"{tomorrow_8pm.day} {tomorrow_8pm:%b} 20:00"
    assert plan["schedule_note"].startswith("Live-room viewers will run from ")
    assert label in plan["schedule_note"]
    assert plan["schedule_note"].endswith(", when the stream starts.")


def test_the_field_overrides_a_start_in_the_text(api, customer):
    start = live_start(days=3, hour=19)
    need = {"need": "明天晚上8点开播，要直播间人气，预算300元", "live_starts_at": start.isoformat()}
    understood = post(api, "/plans", need).json()["understood"]
    assert understood["live_starts_at"] == start.isoformat()
    assert "live_start_field_overrides_text" in [n["code"] for n in understood["notes"]]


@pytest.mark.parametrize(
    ("value", "code"),
    [("next saturday", "invalid"), ("2020-01-01T20:00", "in_past"), (7, "invalid")],
)
@pytest.mark.parametrize("path", ["/plans", "/plans/order"])
def test_a_bad_live_start_is_a_field_error_and_writes_nothing(
    api, customer, sid, counts, value, code, path
):
    body = {"need": "直播间人气，预算300元", "items": items_of(sid, **{"live-viewers": 1000})}
    before = counts(customer)
    for headers, cjk in (({}, True), (EN, False)):
        r = post(api, path, {**body, "target": LIVE_URL, "live_starts_at": value}, **headers)
        assert r.status_code == 400, r.content
        (error,) = r.json()["errors"]
        assert (error["field"], error["code"]) == ("live_starts_at", code)
        assert (error["message"] == error["message_zh"]) is cjk
    far = (timezone.localtime() + timedelta(days=91)).isoformat()
    r = post(api, path, {**body, "target": LIVE_URL, "live_starts_at": far})
    assert r.json()["errors"][0]["code"] == "too_far"
    assert counts(customer) == before


def test_ordering_schedules_the_live_items_for_the_start_and_places_the_rest_now(
    api, customer, sid, counts
):
    start = live_start()
    before = counts(customer)
    r = post(
        api,
        "/plans/order",
        {
            "items": items_of(sid, **{"live-viewers": 1000, "plays": 2000}),
            "targets": {"live": LIVE_URL, "video": VIDEO_URL},
            "live_starts_at": start.isoformat(),
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    group = OrderGroup.objects.get(pk=body["group_id"])
    live = Order.objects.get(group=group, module_id=sid("live-viewers"))
    plays = Order.objects.get(group=group, module_id=sid("plays"))
    assert live.scheduled_for == start
    assert plays.scheduled_for is None
    shown = {o["id"]: o["scheduled_for"] for o in body["orders"]}
    assert datetime.fromisoformat(shown[live.pk]) == start
    assert shown[plays.pk] is None
    # Only the plays are sent now; the live-room viewers wait for the stream.
    assert set(orders_dispatch_due().filter(group=group)) == {plays}
    assert set(orders_dispatch_due(now=start).filter(group=group)) == {live, plays}
    assert live.events.get(kind="placed").data["scheduled_for"] == start.isoformat()
    after = counts(customer)
    total = live.charge_fen + plays.charge_fen
    assert f"{Decimal(total) / 100:.2f}" == body["total"]
    assert after["entries"] - before["entries"] == 1  # one hold of the whole plan
    assert before["balance0"] - after["balance0"] == total
    assert after["held0"] - before["held0"] == total
    assert journal_total_fen() == 0

    # The live item can be stopped until the stream starts: its whole charge comes back.
    r = api.post(f"{V1}/orders/{live.pk}/cancel")
    assert r.status_code == 200, r.content
    live.refresh_from_db()
    assert (live.status, live.refunded_fen) == (OrderStatus.CANCELED, live.charge_fen)
    cancelled = counts(customer)
    assert cancelled["balance0"] - after["balance0"] == live.charge_fen
    assert after["held0"] - cancelled["held0"] == live.charge_fen
    plays.refresh_from_db()
    assert plays.status == OrderStatus.PENDING
    assert journal_total_fen() == 0


def test_the_plans_waiting_live_items_are_cancelled_as_a_growth_plans_days_are(
    api, customer, sid, counts
):
    r = post(
        api,
        "/plans/order",
        {
            "items": items_of(sid, **{"live-viewers": 500, "plays": 1000}),
            "targets": {"live": LIVE_URL, "video": VIDEO_URL},
            "live_starts_at": live_start(days=1).isoformat(),
        },
    )
    group = r.json()["group_id"]
    before = counts(customer)
    assert order_services.order_group_cancel_scheduled(customer=customer, group_id=group) == 1
    live = Order.objects.get(group_id=group, module_id=sid("live-viewers"))
    assert live.status == OrderStatus.CANCELED
    assert counts(customer)["balance0"] - before["balance0"] == live.charge_fen
    assert Order.objects.get(group_id=group, module_id=sid("plays")).status == OrderStatus.PENDING
    assert journal_total_fen() == 0


def test_without_a_start_live_items_are_placed_at_once(api, customer, sid):
    r = post(
        api,
        "/plans/order",
        {"items": items_of(sid, **{"live-viewers": 500}), "target": LIVE_URL},
    )
    assert r.status_code == 201, r.content
    assert r.json()["orders"][0]["scheduled_for"] is None


def test_a_live_items_promotion_ends_within_the_deadline_counted_from_the_start(api, customer, sid):
    # The stream starts in 20 h and the plan is due in 30: the live promotion runs in the
    # 10 h left after the start (the channel's longest within it: 6 h), the plays in 24 h.
    start = timezone.localtime() + timedelta(hours=20)
    r = post(
        api,
        "/plans/order",
        {
            "items": items_of(sid, **{"live-viewers": 500, "plays": 1000}),
            "targets": {"live": LIVE_URL, "video": VIDEO_URL},
            "live_starts_at": start.isoformat(),
            "deadline_hours": 30,
        },
    )
    assert r.status_code == 201, r.content
    orders = {o["service_id"]: o["options"]["duration_hours"] for o in r.json()["orders"]}
    assert orders == {sid("live-viewers"): duration_within(10 - 0.01), sid("plays"): 24}
    assert orders[sid("live-viewers")] == 6


def test_a_deadline_too_close_after_the_start_leaves_live_items_out_and_says_so(api, customer, sid):
    # Live-room viewers take about 2 h; the stream starts 23 h from now, the deadline is 24 h.
    start = timezone.localtime() + timedelta(hours=23)
    need = {
        "need": "直播间人气和视频播放，预算500元",
        "deadline_hours": 24,
        "live_starts_at": start.isoformat(),
    }
    body = post(api, "/plans", need).json()
    assert body["plans"]
    for plan in body["plans"]:
        assert sid("live-viewers") not in {i["service_id"] for i in plan["items"]}
    codes = [n["code"] for n in body["understood"]["notes"]]
    assert "live_too_close_to_deadline" in codes


def test_a_stream_after_the_deadline_is_planned_and_the_deadline_binds_the_rest(api, customer, sid):
    start = live_start(days=3)
    need = {
        "need": "直播间人气1000，预算300元",
        "deadline_hours": 24,
        "live_starts_at": start.isoformat(),
    }
    body = post(api, "/plans", need).json()
    assert sid("live-viewers") in {i["service_id"] for i in body["plans"][0]["items"]}
    assert body["plans"][0]["live_starts_at"] == start.isoformat()
    notes = {n["code"]: n for n in body["understood"]["notes"]}
    assert "时限只适用于其他服务" in notes["live_after_deadline"]["message_zh"]
