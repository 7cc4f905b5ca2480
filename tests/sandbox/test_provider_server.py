"""The sandbox upstream provider, driven over real loopback HTTP.

Most tests give the server a fake clock, so delivery progress is exact and nothing sleeps; one
test runs on the real clock to show the server works unaided.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from doudesk.providers.adapters.base import ProviderError, ProviderRejected, ProviderStatus
from doudesk.providers.adapters.smm_v2 import SmmV2Adapter
from doudesk.sandbox.provider_server import (
    SANDBOX_LABEL,
    SERVICES,
    ProviderServer,
    build_parser,
    unit_id,
)

KEY = "sandbox-test-key"
LINK = "https://www.douyin.com/video/7312345678901234567"
PLAYS = "1"  # refill and cancel allowed, min 100
REPORT = "9"  # no cancel, no refill, quantity exactly 1
EDITING = "8"  # works from a brief: no link needed
PLAYS_RATE = Decimal("12.00")


class FakeClock:
    """A settable clock shared with the server thread."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


ServerFactory = Callable[..., ProviderServer]


@pytest.fixture
def make_server(tmp_path: Path, clock: FakeClock) -> Iterator[ServerFactory]:
    """Start servers on ephemeral ports with a temp db; all are stopped at teardown."""
    started: list[ProviderServer] = []

    def make(**overrides: Any) -> ProviderServer:
        options: dict[str, Any] = {
            "db_path": tmp_path / "provider.sqlite3",
            "key": KEY,
            "speed": 100.0,
            "pending_seconds": 1.0,
            "fail_after_seconds": 2.0,
            "seed": 7,
            "clock": clock,
        }
        options.update(overrides)
        server = ProviderServer(**options)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: ServerFactory) -> ProviderServer:
    return make_server()


@pytest.fixture
def adapter(server: ProviderServer) -> Iterator[SmmV2Adapter]:
    with SmmV2Adapter(server.url, KEY, timeout=5.0) as client:
        yield client


def post(server: ProviderServer, **fields: str) -> httpx.Response:
    """POST raw form fields (the key included unless given) and return the response."""
    fields.setdefault("key", KEY)
    return httpx.post(server.url, data=fields, timeout=5.0)


def expected_charge(rate: Decimal, delivered: int) -> Decimal:
    return (rate * delivered / 1000).quantize(Decimal("0.00001"))


# -- services ----------------------------------------------------------------------------------


def test_services_list_speaks_the_convention_and_is_labelled_sandbox(
    server: ProviderServer, adapter: SmmV2Adapter
) -> None:
    raw = post(server, action="services")
    assert raw.status_code == 200
    entries = raw.json()
    assert len(entries) == len(SERVICES) >= 9
    first = entries[0]
    assert set(first) == {
        "service", "name", "type", "category", "rate", "min", "max", "refill", "cancel",
    }  # fmt: skip
    assert isinstance(first["service"], int)
    assert isinstance(first["rate"], str)
    assert isinstance(first["min"], str)
    assert isinstance(first["refill"], bool)
    assert all(e["name"].startswith(SANDBOX_LABEL) for e in entries)
    assert all(SANDBOX_LABEL in e["category"] for e in entries)

    services = {s.service_id: s for s in adapter.services()}
    assert services[PLAYS].rate == PLAYS_RATE
    assert services[PLAYS].min_quantity == 100
    assert services[PLAYS].refill
    assert services[PLAYS].cancel
    assert not services[REPORT].cancel


# -- delivery ----------------------------------------------------------------------------------


def test_order_is_delivered_on_the_real_clock_until_completed(make_server: ServerFactory) -> None:
    server = make_server(clock=time.time, speed=1_000_000.0, pending_seconds=0.05)
    adapter = SmmV2Adapter(server.url, KEY, timeout=5.0)
    placed = adapter.place(service=PLAYS, link=LINK, quantity=1000, options={})
    deadline = time.monotonic() + 4.0
    status = adapter.status(placed.external_id)
    while not status.is_final and time.monotonic() < deadline:
        time.sleep(0.02)
        status = adapter.status(placed.external_id)
    assert status.status is ProviderStatus.COMPLETED
    assert status.remains == 0
    assert status.charge == expected_charge(PLAYS_RATE, 1000)
    assert status.currency == "CNY"


def test_delivery_is_gradual_pending_then_in_progress_then_completed(
    server: ProviderServer, adapter: SmmV2Adapter, clock: FakeClock
) -> None:
    placed = adapter.place(service=PLAYS, link=LINK, quantity=1000, options={})
    assert placed.external_id == "10001"

    pending = adapter.status(placed.external_id)
    assert pending.status is ProviderStatus.PENDING
    assert pending.remains == 1000
    assert pending.charge == Decimal(0)
    assert pending.start_count is not None
    assert pending.start_count >= 0

    clock.advance(1.0 + 2.5)  # 2.5 s of delivery at 100 units/s
    running = adapter.status(placed.external_id)
    assert running.status is ProviderStatus.IN_PROGRESS
    assert running.remains == 1000 - 250
    assert running.charge == expected_charge(PLAYS_RATE, 250)
    assert running.start_count == pending.start_count

    clock.advance(10.0)
    done = adapter.status(placed.external_id)
    assert done.status is ProviderStatus.COMPLETED
    assert done.remains == 0
    assert done.charge == expected_charge(PLAYS_RATE, 1000)


def test_status_answer_keeps_the_standard_shape(server: ProviderServer, clock: FakeClock) -> None:
    order = post(server, action="add", service=PLAYS, link=LINK, quantity="200").json()["order"]
    assert isinstance(order, int)
    clock.advance(1.5)
    answer = post(server, action="status", order=str(order)).json()
    assert answer == {
        "charge": "0.60000",
        "start_count": answer["start_count"],
        "status": "In progress",
        "remains": "150",
        "currency": "CNY",
    }
    assert answer["start_count"].isdigit()


def test_partial_rate_one_ends_partial_with_consistent_remains_and_charge(
    make_server: ServerFactory, clock: FakeClock
) -> None:
    server = make_server(partial_rate=1.0)
    adapter = SmmV2Adapter(server.url, KEY)
    ids = [
        adapter.place(service=PLAYS, link=LINK, quantity=1000, options={}).external_id
        for _ in range(5)
    ]
    clock.advance(60.0)
    for status in adapter.status_many(ids).values():
        assert not isinstance(status, ProviderError)
        assert status.status is ProviderStatus.PARTIAL
        assert status.remains is not None
        delivered = 1000 - status.remains
        assert 200 <= delivered <= 900
        assert status.charge == expected_charge(PLAYS_RATE, delivered)


def test_fail_rate_one_ends_canceled_with_nothing_delivered(
    make_server: ServerFactory, clock: FakeClock
) -> None:
    server = make_server(fail_rate=1.0)
    adapter = SmmV2Adapter(server.url, KEY)
    placed = adapter.place(service=PLAYS, link=LINK, quantity=500, options={})
    clock.advance(1.5)
    assert not adapter.status(placed.external_id).is_final
    clock.advance(1.0)
    status = adapter.status(placed.external_id)
    assert status.status is ProviderStatus.CANCELED
    assert status.remains == 500
    assert status.charge == Decimal(0)


def test_same_seed_draws_the_same_fates(
    make_server: ServerFactory, tmp_path: Path, clock: FakeClock
) -> None:
    def fates(db: str) -> list[tuple[str, int | None, int | None]]:
        server = make_server(db_path=tmp_path / db, partial_rate=0.5, seed=42)
        adapter = SmmV2Adapter(server.url, KEY)
        ids = [
            adapter.place(service=PLAYS, link=LINK, quantity=1000, options={}).external_id
            for _ in range(8)
        ]
        clock.advance(3600)  # everything has finished
        answers = adapter.status_many(ids)
        return [
            (s.status.value, s.remains, s.start_count)
            for s in answers.values()
            if not isinstance(s, ProviderError)
        ]

    first = fates("a.sqlite3")
    assert first == fates("b.sqlite3")
    assert {f[0] for f in first} <= {"Completed", "Partial"}


def test_units_are_reported_only_when_asked(server: ProviderServer, clock: FakeClock) -> None:
    order = post(server, action="add", service=PLAYS, link=LINK, quantity="100").json()["order"]
    clock.advance(1.05)
    plain = post(server, action="status", order=str(order)).json()
    assert "units" not in plain
    with_units = post(server, action="status", order=str(order), units="1").json()
    delivered = 100 - int(with_units["remains"])
    assert delivered == 5
    assert with_units["units"] == [
        hashlib.sha256(f"sandbox:{order}:{n}".encode()).hexdigest() for n in range(1, 6)
    ]
    adapter = SmmV2Adapter(server.url, KEY, request_units=True)
    status = adapter.status(str(order))
    assert status.delivered_units == tuple(unit_id(order, n) for n in range(1, 6))


# -- deliverables ------------------------------------------------------------------------------


def test_a_finished_report_hands_over_a_labelled_sample_at_an_address_of_its_own(
    server: ProviderServer, clock: FakeClock
) -> None:
    order = post(server, action="add", service=REPORT, link=LINK, quantity="1").json()["order"]
    running = post(server, action="status", order=str(order)).json()
    assert "deliverables" not in running  # nothing to hand over before the work is done
    clock.advance(10)

    [offered] = post(server, action="status", order=str(order)).json()["deliverables"]
    assert offered["name"] == "沙盒样例：账号诊断报告 Sandbox sample: account diagnosis report"
    address = f"http://{server.host}:{server.port}{offered['url']}"
    fetched = httpx.get(address, timeout=5.0)
    assert fetched.status_code == 200
    assert fetched.headers["Content-Type"] == "text/plain; charset=utf-8"
    text = fetched.content.decode()
    assert text.startswith("# 沙盒样例：账号诊断报告")
    assert LINK in text
    assert "模拟" in text
    clock.advance(3600)
    assert httpx.get(address, timeout=5.0).content == fetched.content  # one file, one hash

    prefix, order_id, token, filename = offered["url"].rsplit("/", 3)
    assert (prefix, order_id, filename) == (
        "/deliverables",
        str(order),
        f"account-diagnosis-{order}.txt",
    )
    other = post(server, action="add", service=REPORT, link=LINK, quantity="1").json()["order"]
    clock.advance(10)
    base = f"http://{server.host}:{server.port}/deliverables"
    for wrong in (
        f"{base}/{order}/{'0' * 32}/{filename}",  # a guessed token
        f"{base}/{other}/{token}/account-diagnosis-{other}.txt",  # another order's
        f"{base}/{order}/{token}/video-editing-{order}.txt",
        f"{base}/{order}/{token}",
    ):
        assert httpx.get(wrong, timeout=5.0).status_code == 404, wrong


def test_only_work_delivered_as_a_file_is_handed_over(
    make_server: ServerFactory, clock: FakeClock
) -> None:
    server = make_server()
    plays = post(server, action="add", service=PLAYS, link=LINK, quantity="100").json()["order"]
    edit = post(server, action="add", service=EDITING, link="", quantity="2").json()["order"]
    clock.advance(60)
    answers = post(server, action="status", orders=f"{plays},{edit}").json()
    assert "deliverables" not in answers[str(plays)]  # counted work: the standard shape
    [note] = answers[str(edit)]["deliverables"]
    assert note["name"].startswith("沙盒样例：视频剪辑交付说明")

    failing = make_server(fail_rate=1.0, db_path=server.provider.db_path.with_name("f.sqlite3"))
    report = post(failing, action="add", service=REPORT, link=LINK, quantity="1").json()["order"]
    clock.advance(60)
    canceled = post(failing, action="status", order=str(report)).json()
    assert canceled["status"] == "Canceled"
    assert "deliverables" not in canceled  # nothing done, nothing to hand over


# -- multi-status, keys, errors ----------------------------------------------------------------


def test_multi_status_marks_unknown_ids_incorrect(
    server: ProviderServer, adapter: SmmV2Adapter
) -> None:
    placed = adapter.place(service=PLAYS, link=LINK, quantity=100, options={})
    raw = post(server, action="status", orders=f"{placed.external_id},10,abc").json()
    assert set(raw) == {placed.external_id, "10", "abc"}
    assert raw["10"] == {"error": "Incorrect order ID"}
    assert raw["abc"] == {"error": "Incorrect order ID"}
    assert raw[placed.external_id]["status"] == "Pending"

    result = adapter.status_many([placed.external_id, "10"])
    assert isinstance(result["10"], ProviderRejected)
    assert result["10"].code == "unknown_order"
    assert not isinstance(result[placed.external_id], ProviderError)


def test_multi_status_refuses_more_than_100_ids(server: ProviderServer) -> None:
    ids = ",".join(str(10001 + i) for i in range(101))
    answer = post(server, action="status", orders=ids)
    assert answer.status_code == 200
    assert "error" in answer.json()


def test_unknown_single_order_is_rejected(adapter: SmmV2Adapter) -> None:
    with pytest.raises(ProviderRejected) as caught:
        adapter.status("99999")
    assert caught.value.code == "unknown_order"


def test_wrong_or_missing_key_is_rejected(server: ProviderServer) -> None:
    with pytest.raises(ProviderRejected) as caught:
        SmmV2Adapter(server.url, "wrong-key").balance()
    assert caught.value.code == "invalid_key"
    missing = httpx.post(server.url, data={"action": "balance"})
    assert missing.status_code == 200
    assert missing.json() == {"error": "Invalid API key"}


def test_a_service_that_needs_no_link_takes_an_order_without_one(adapter: SmmV2Adapter) -> None:
    # The platform sends an empty link for modules that take none (video production); the
    # sandbox refused it, so every such order was canceled and refunded.
    placed = adapter.place(service=EDITING, link="", quantity=2, options={})
    assert adapter.status(placed.external_id).status in {"Pending", "In progress", "Completed"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"service": PLAYS, "link": LINK}, "Incorrect quantity"),
        ({"service": PLAYS, "link": LINK, "quantity": "abc"}, "Incorrect quantity"),
        ({"service": PLAYS, "link": LINK, "quantity": "1.5"}, "Incorrect quantity"),
        ({"service": PLAYS, "link": LINK, "quantity": "-100"}, "Incorrect quantity"),
        ({"service": PLAYS, "link": LINK, "quantity": ""}, "Incorrect quantity"),
        ({"service": PLAYS, "link": LINK, "quantity": "99"}, "Quantity less than minimal 100"),
        (
            {"service": PLAYS, "link": LINK, "quantity": "1000001"},
            "Quantity more than maximal 1000000",
        ),
        ({"service": PLAYS, "quantity": "100"}, "Incorrect link"),
        ({"service": EDITING, "link": "not a link", "quantity": "1"}, "Incorrect link"),
        ({"service": PLAYS, "link": "not a link", "quantity": "100"}, "Incorrect link"),
        ({"service": PLAYS, "link": "ftp://douyin.com/x", "quantity": "100"}, "Incorrect link"),
        ({"link": LINK, "quantity": "100"}, "Incorrect service ID"),
        ({"service": "999", "link": LINK, "quantity": "100"}, "Incorrect service ID"),
        ({"service": "plays", "link": LINK, "quantity": "100"}, "Incorrect service ID"),
    ],
)
def test_malformed_add_gets_an_error_with_http_200_and_writes_nothing(
    server: ProviderServer, fields: dict[str, str], message: str
) -> None:
    answer = post(server, action="add", **fields)
    assert answer.status_code == 200
    assert answer.json() == {"error": message}
    assert post(server, action="balance").json()["balance"] == "1000000.00000"
    assert post(server, action="status", order="10001").json() == {"error": "Incorrect order ID"}


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"action": "launch"},
        {"action": "status"},
        {"action": "status", "orders": ""},
        {"action": "cancel"},
        {"action": "refill"},
        {"action": "refill_status"},
    ],
)
def test_malformed_requests_get_an_error_with_http_200(
    server: ProviderServer, fields: dict[str, str]
) -> None:
    answer = post(server, **fields)
    assert answer.status_code == 200
    assert answer.json() == {"error": "Incorrect request"}


def test_body_that_is_not_a_form_gets_an_error(server: ProviderServer) -> None:
    bad_utf8 = httpx.post(
        server.url,
        content=b"key=\xff\xfe&action=balance",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad_utf8.status_code == 200
    assert "error" in bad_utf8.json()
    bad_json = httpx.post(
        server.url, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 200
    assert bad_json.json() == {"error": "Incorrect request"}


def test_json_body_is_accepted_too(server: ProviderServer) -> None:
    answer = httpx.post(server.url, json={"key": KEY, "action": "balance"})
    assert answer.json() == {"balance": "1000000.00000", "currency": "CNY"}


def test_other_paths_and_methods(server: ProviderServer) -> None:
    base = server.url.removesuffix("/api/v2")
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert httpx.get(server.url).status_code == 405
    assert httpx.post(f"{base}/api/v1", data={"key": KEY}).status_code == 404


# -- money -------------------------------------------------------------------------------------


def test_balance_holds_the_full_price_while_running_then_keeps_only_the_charge(
    make_server: ServerFactory, clock: FakeClock
) -> None:
    server = make_server(partial_rate=1.0)
    adapter = SmmV2Adapter(server.url, KEY)
    assert adapter.balance() == Decimal("1000000")
    placed = adapter.place(service=PLAYS, link=LINK, quantity=10_000, options={})
    assert adapter.balance() == Decimal("1000000") - expected_charge(PLAYS_RATE, 10_000)
    clock.advance(3600)
    status = adapter.status(placed.external_id)
    assert status.status is ProviderStatus.PARTIAL
    assert status.charge is not None
    assert adapter.balance() == Decimal("1000000") - status.charge


def test_balance_charges_each_order_at_its_own_rate_rounded_on_its_own(
    make_server: ServerFactory, clock: FakeClock, tmp_path: Path
) -> None:
    server = make_server(partial_rate=0.5)
    adapter = SmmV2Adapter(server.url, KEY)
    for service, quantity in ((PLAYS, 10_000), ("2", 333), (PLAYS, 777), ("3", 5), ("5", 1_234)):
        adapter.place(service=service, link=LINK, quantity=quantity, options={})
        clock.advance(20.0)  # the earlier ones finish, some of them part-way
    running = adapter.place(service=PLAYS, link=LINK, quantity=5_000, options={}).external_id
    clock.advance(3.0)
    canceled = post(server, action="cancel", orders=running).json()
    assert canceled == [{"order": int(running), "cancel": 1}]
    adapter.place(service="2", link=LINK, quantity=50, options={})  # still running
    # Orders an earlier version placed at a rate finer than a cent: three 1-unit orders at
    # ¥0.33333 per 1,000 cost ¥0.00033 each, ¥0.00099 together, not the ¥0.00100 of 3 units.
    db = sqlite3.connect(tmp_path / "provider.sqlite3")
    try:
        with db:
            for _ in range(3):
                db.execute(
                    "INSERT INTO orders (service, link, quantity, extras, rate, start_count,"
                    " created_at, pending_s, speed, fate, target, finish_at, final_delivered)"
                    " VALUES (1, ?, 1, '{}', '0.33333', 0, 0, 0, 1, 'complete', 1, 0, 1)",
                    (LINK,),
                )
        rows = db.execute(
            "SELECT rate, quantity, finish_at, final_delivered FROM orders"
        ).fetchall()
    finally:
        db.close()
    now = clock()
    spent = sum(
        (expected_charge(Decimal(rate), final if now >= finish_at else quantity)
         for rate, quantity, finish_at, final in rows),
        Decimal(0),
    )  # fmt: skip
    assert len({rate for rate, *_ in rows}) == 5
    assert any(now < finish_at for _, _, finish_at, _ in rows)  # one still holds its full price
    assert any(now >= finish_at and final < quantity for _, quantity, finish_at, final in rows)
    assert adapter.balance() == Decimal("1000000") - spent


def test_balance_is_kept_across_a_restart_and_settles_what_ended_meanwhile(
    make_server: ServerFactory, clock: FakeClock
) -> None:
    first = make_server(partial_rate=1.0)
    adapter = SmmV2Adapter(first.url, KEY)
    ended = adapter.place(service=PLAYS, link=LINK, quantity=10_000, options={}).external_id
    clock.advance(3600)
    running = adapter.place(service="2", link=LINK, quantity=1_000, options={}).external_id
    before = adapter.balance()
    first.stop()
    again = SmmV2Adapter(make_server(partial_rate=1.0).url, KEY)
    assert again.balance() == before
    clock.advance(3600)  # the second order ends part-way while nobody asks
    charges = [again.status(ended).charge, again.status(running).charge]
    assert None not in charges
    assert again.balance() == Decimal("1000000") - sum(charges, Decimal(0))


def test_a_file_of_an_earlier_version_is_counted_in_full(
    make_server: ServerFactory, clock: FakeClock, tmp_path: Path
) -> None:
    # The schema before the running sum: no ``settled`` column and no ``spending`` row.
    db = sqlite3.connect(tmp_path / "provider.sqlite3")
    with db:
        db.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, service INTEGER NOT NULL,"
            " link TEXT NOT NULL, quantity INTEGER NOT NULL, extras TEXT NOT NULL,"
            " rate TEXT NOT NULL, start_count INTEGER NOT NULL, created_at REAL NOT NULL,"
            " pending_s REAL NOT NULL, speed REAL NOT NULL, fate TEXT NOT NULL,"
            " target INTEGER NOT NULL, finish_at REAL NOT NULL,"
            " final_delivered INTEGER NOT NULL, canceled_at REAL)"
        )
        now = clock()
        for quantity, finish_at, final in ((10_000, now - 60, 4_000), (2_000, now + 60, 2_000)):
            db.execute(
                "INSERT INTO orders (service, link, quantity, extras, rate, start_count,"
                " created_at, pending_s, speed, fate, target, finish_at, final_delivered)"
                " VALUES (1, ?, ?, '{}', '12.00', 0, ?, 0, 100, 'partial', ?, ?, ?)",
                (LINK, quantity, now - 600, final, finish_at, final),
            )
    db.close()
    adapter = SmmV2Adapter(make_server().url, KEY)
    ended_charge = expected_charge(PLAYS_RATE, 4_000)  # the first ended at 4,000 units
    running_price = expected_charge(PLAYS_RATE, 2_000)  # the second still holds its price
    assert adapter.balance() == Decimal("1000000") - ended_charge - running_price
    clock.advance(120)
    assert adapter.balance() == Decimal("1000000") - ended_charge - running_price  # delivered all
    placed = adapter.place(service=PLAYS, link=LINK, quantity=1_000, options={})
    assert int(placed.external_id) > 2  # new orders follow the old ones
    assert adapter.balance() == (
        Decimal("1000000") - ended_charge - running_price - expected_charge(PLAYS_RATE, 1_000)
    )


def test_order_beyond_the_balance_is_refused(make_server: ServerFactory) -> None:
    server = make_server(initial_balance=Decimal("5.00"))
    adapter = SmmV2Adapter(server.url, KEY)
    with pytest.raises(ProviderRejected) as caught:
        adapter.place(service=PLAYS, link=LINK, quantity=1000, options={})
    assert caught.value.code == "insufficient_funds"
    assert adapter.place(service=PLAYS, link=LINK, quantity=100, options={}).external_id


# -- cancel and refill -------------------------------------------------------------------------


def test_cancel_stops_delivery_and_leaves_the_rest_as_remains(
    server: ProviderServer, adapter: SmmV2Adapter, clock: FakeClock
) -> None:
    running = adapter.place(service=PLAYS, link=LINK, quantity=1000, options={}).external_id
    clock.advance(1.0 + 3.0)  # 300 delivered
    pending_id = adapter.place(service=PLAYS, link=LINK, quantity=1000, options={}).external_id
    raw = post(server, action="cancel", orders=f"{running},{pending_id},424242").json()
    assert raw == [
        {"order": int(running), "cancel": 1},
        {"order": int(pending_id), "cancel": 1},
        {"order": 424242, "cancel": {"error": "Incorrect order ID"}},
    ]
    clock.advance(3600)
    stopped = adapter.status(running)
    assert stopped.status is ProviderStatus.PARTIAL
    assert stopped.remains == 700
    assert stopped.charge == expected_charge(PLAYS_RATE, 300)
    never_started = adapter.status(pending_id)
    assert never_started.status is ProviderStatus.CANCELED
    assert never_started.remains == 1000
    assert never_started.charge == Decimal(0)
    # Final orders (and services without cancel) cannot be canceled again.
    report = adapter.place(service=REPORT, link=LINK, quantity=1, options={}).external_id
    assert adapter.cancel([running, report, "424242"]) == {
        running: False,
        report: False,
        "424242": False,
    }


def test_refill_is_accepted_for_completed_orders_only(
    server: ProviderServer, adapter: SmmV2Adapter, clock: FakeClock
) -> None:
    order = adapter.place(service=PLAYS, link=LINK, quantity=100, options={}).external_id
    with pytest.raises(ProviderRejected) as early:
        adapter.refill(order)
    assert early.value.code == "not_refillable"
    clock.advance(10)
    refill = adapter.refill(order)
    assert refill.refill_id.isdigit()
    assert post(server, action="refill", order=order).json() == {"refill": "2"}
    assert adapter.refill_status(refill.refill_id) == "Pending"
    clock.advance(5)
    assert adapter.refill_status(refill.refill_id) == "Completed"
    with pytest.raises(ProviderRejected) as unknown:
        adapter.refill_status("999")
    assert unknown.value.code == "unknown_refill"

    report = adapter.place(service=REPORT, link=LINK, quantity=1, options={}).external_id
    clock.advance(10)
    rows = post(server, action="refill", orders=f"{order},{report},77").json()
    assert rows[0] == {"order": int(order), "refill": 3}
    assert rows[1] == {
        "order": int(report),
        "refill": {"error": "Order is not eligible for refill"},
    }
    assert rows[2] == {"order": 77, "refill": {"error": "Incorrect order ID"}}


# -- persistence and command line -------------------------------------------------------------


def test_orders_survive_a_restart_and_keep_progressing(
    make_server: ServerFactory, clock: FakeClock
) -> None:
    first = make_server()
    adapter = SmmV2Adapter(first.url, KEY)
    order = adapter.place(service=PLAYS, link=LINK, quantity=1000, options={}).external_id
    clock.advance(2.0)
    before = adapter.status(order)
    first.stop()
    with pytest.raises(ProviderError):
        adapter.status(order)

    second = make_server()
    adapter = SmmV2Adapter(second.url, KEY)
    after = adapter.status(order)
    assert after.status is ProviderStatus.IN_PROGRESS
    assert after.remains == before.remains == 900
    assert after.start_count == before.start_count
    clock.advance(60)
    assert adapter.status(order).status is ProviderStatus.COMPLETED
    assert int(adapter.place(service=PLAYS, link=LINK, quantity=100, options={}).external_id) > int(
        order
    )


def test_command_line_defaults_come_from_the_environment() -> None:
    env = {
        "DOUDESK_SANDBOX_SPEED": "250",
        "DOUDESK_SANDBOX_PARTIAL_RATE": "0.2",
        "DOUDESK_SANDBOX_FAIL_RATE": "0.1",
        "DOUDESK_SANDBOX_KEY": "from-env",
        "DOUDESK_DATA_DIR": "/data",
    }
    args = build_parser(env).parse_args([])
    assert (args.speed, args.partial_rate, args.fail_rate) == (250.0, 0.2, 0.1)
    assert args.key == "from-env"
    assert args.db == "/data/sandbox_provider.sqlite3"
    assert (args.host, args.port) == ("127.0.0.1", 8765)
    override = build_parser(env).parse_args(["--speed", "5", "--key", "k", "--port", "9"])
    assert (override.speed, override.key, override.port) == (5.0, "k", 9)


@pytest.mark.parametrize(
    "env",
    [{"DOUDESK_SANDBOX_FAIL_RATE": "1.5"}, {"DOUDESK_SANDBOX_SPEED": "0"}, {}],
)
def test_command_line_refuses_bad_knobs_or_a_missing_key(env: dict[str, str]) -> None:
    env = {"DOUDESK_SANDBOX_KEY": "k", **env} if env else {}
    with pytest.raises(SystemExit):
        build_parser(env).parse_args([])


def test_constructor_refuses_impossible_rates(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must not exceed 1"):
        ProviderServer(db_path=tmp_path / "x.db", key=KEY, partial_rate=0.6, fail_rate=0.6)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_module_runs_as_a_program_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    src = Path(__file__).resolve().parents[2] / "src"
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "doudesk.sandbox.provider_server", "--host", "127.0.0.1",
            "--port", str(port), "--db", str(tmp_path / "cli.sqlite3"), "--key", "cli-key",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/api/v2"
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = httpx.post(url, data={"key": "cli-key", "action": "balance"})
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        assert answer.json()["currency"] == "CNY"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_concurrent_placements_all_succeed_with_distinct_ids(
    server: ProviderServer, clock: FakeClock
) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def place() -> None:
        try:
            with SmmV2Adapter(server.url, KEY, timeout=10.0) as adapter:
                for _ in range(5):
                    placed = adapter.place(service=PLAYS, link=LINK, quantity=100, options={})
                    results.append(placed.external_id)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=place) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == len(set(results)) == 40
    held = expected_charge(PLAYS_RATE, 100) * 40
    assert SmmV2Adapter(server.url, KEY).balance() == Decimal(1_000_000) - held
