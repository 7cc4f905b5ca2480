"""The order flow through the state machine: place, dispatch, sync, settle, cancel, refill."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from doudesk.catalog import selectors
from doudesk.catalog.models import GrowthPlan, Package, ServiceModule
from doudesk.errors import DomainError
from doudesk.ledger.models import LogLeaf
from doudesk.matching.services import plan_need
from doudesk.orders import services
from doudesk.orders.models import (
    DispatchRound,
    Order,
    OrderEvent,
    OrderStatus,
    Refill,
    RefillStatus,
)
from doudesk.orders.selectors import orders_dispatch_due
from doudesk.providers.adapters.base import (
    PlacedOrder,
    ProviderError,
    ProviderOrderStatus,
    ProviderRefillStatus,
    ProviderRejected,
    ProviderStatus,
)
from doudesk.wallet.models import AccountKind
from doudesk.wallet.selectors import journal_total_fen, wallet_balances
from doudesk.wallet.services import platform_account
from factories import ACCOUNT_URL, VIDEO_URL, module_id

pytestmark = pytest.mark.django_db


def place(customer, quantity=10_000, **kwargs) -> Order:
    """Order seeded plays (¥16.00 per 1,000, min 500, step 100) unless told otherwise."""
    return services.order_place(
        customer=customer, service_id=kwargs.pop("service_id", module_id("plays")),
        target=VIDEO_URL,
        quantity=quantity, **kwargs,
    )  # fmt: skip


def test_placing_holds_the_charge_and_records_the_event(customer):
    order = place(customer)
    assert order.charge_fen == 16_000
    assert wallet_balances(customer=customer) == {"available_fen": 84_000, "held_fen": 16_000}
    assert list(order.events.values_list("kind", flat=True)) == ["placed"]
    assert LogLeaf.objects.filter(order=order).count() == 1
    assert journal_total_fen() == 0


def test_placing_reads_the_module_and_its_pricing_rows_in_one_query(customer):
    plays = module_id("plays")
    with CaptureQueriesContext(connection) as queries:
        services.order_place(customer=customer, service_id=plays, target=VIDEO_URL, quantity=1_000)
    module_reads = [q for q in queries if 'FROM "catalog_servicemodule"' in q["sql"]]
    assert len(module_reads) == 1
    assert '"pricing_modulepricestate"' in module_reads[0]["sql"]


def test_dispatch_reads_the_order_module_and_provider_in_one_query(customer, fake_adapter):
    order = place(customer)
    with CaptureQueriesContext(connection) as queries:
        assert services.order_dispatch(order_id=order.pk) == "dispatched"
    assert len([q for q in queries if q["sql"].startswith("SELECT")]) == 1
    assert fake_adapter.placed[0]["quantity"] == 10_000


def test_completed_order_pays_the_provider_and_refunds_nothing(customer, fake_adapter):
    order = place(customer)
    assert services.order_dispatch(order_id=order.pk) == "dispatched"
    external = fake_adapter.placed[0]["id"]
    fake_adapter.report(external, ProviderStatus.IN_PROGRESS, remains=4_000)
    services.orders_sync()
    order.refresh_from_db()
    assert (order.status, order.delivered) == (OrderStatus.IN_PROGRESS, 6_000)
    fake_adapter.report(external, ProviderStatus.COMPLETED, remains=0, charge="120")
    services.orders_sync()
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.refunded_fen == 0
    assert order.provider_cost_fen == 12_000
    assert wallet_balances(customer=customer) == {"available_fen": 84_000, "held_fen": 0}
    assert journal_total_fen() == 0


@pytest.mark.parametrize(
    ("charge", "currency", "cost_fen", "claim"),
    [
        ("15.84", "CNY", 1_584, ""),  # the most it can be paid: ¥16.00 less the fund's 1 %
        ("500.00", "CNY", 1_584, "500.00 CNY"),  # over the cap: booked at the cap
        ("2.00", "USD", 0, "2.00 USD"),  # another currency: not booked as yuan
        ("1E+30", "cny", 1_584, f"1{'0' * 30} CNY"),
        ("2.00", "X" * 80, 0, "2.000e+0 " + "X" * 55),  # the bill kept, cut to the column
    ],
)
def test_a_provider_bill_is_booked_within_what_the_customer_pays(
    customer, fake_adapter, charge, currency, cost_fen, claim
):
    # A bill of ¥500 for a ¥16 order used to be booked whole: revenue -¥484.16.
    order = place(customer, quantity=1_000)
    services.order_dispatch(order_id=order.pk)
    external = fake_adapter.placed[0]["id"]
    fake_adapter.report(
        external, ProviderStatus.COMPLETED, remains=0, charge=charge, currency=currency
    )
    services.orders_sync()
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.provider_cost_fen == cost_fen
    assert (order.provider_claim, order.provider_claim_disputed) == (claim, bool(claim))
    revenue = platform_account(AccountKind.PLATFORM_REVENUE).balance_fen
    assert revenue == 1_600 - 16 - cost_fen
    assert journal_total_fen() == 0


def test_a_provider_billing_for_nothing_delivered_is_not_paid(customer, fake_adapter):
    order = place(customer, quantity=1_000)
    services.order_dispatch(order_id=order.pk)
    external = fake_adapter.placed[0]["id"]
    fake_adapter.report(external, ProviderStatus.CANCELED, remains=1_000, charge="3.00")
    services.orders_sync()
    order.refresh_from_db()
    assert (order.status, order.provider_cost_fen) == (OrderStatus.CANCELED, 0)
    assert (order.provider_claim, order.provider_claim_disputed) == ("3.00 CNY", True)
    assert order.refunded_fen == order.charge_fen


def test_a_repeated_report_writes_nothing_and_news_is_applied(
    customer, fake_adapter, django_assert_num_queries
):
    order = place(customer)
    services.order_dispatch(order_id=order.pk)
    external = fake_adapter.placed[0]["id"]
    fake_adapter.report(external, ProviderStatus.IN_PROGRESS, remains=4_000)
    services.orders_sync()
    before = OrderEvent.objects.count(), LogLeaf.objects.count()
    # Same answer again: two reads (stuck orders, open orders), no transaction, no event.
    with django_assert_num_queries(2):
        assert services.orders_sync()["applied"] == 0
    assert (OrderEvent.objects.count(), LogLeaf.objects.count()) == before
    fake_adapter.report(external, ProviderStatus.IN_PROGRESS, remains=3_000)
    assert services.orders_sync()["applied"] == 1
    order.refresh_from_db()
    assert (order.status, order.delivered, order.remains) == (OrderStatus.IN_PROGRESS, 7_000, 3_000)


def test_progress_within_a_tenth_is_recorded_without_an_event(customer, fake_adapter):
    order = place(customer)
    services.order_dispatch(order_id=order.pk)
    external = fake_adapter.placed[0]["id"]
    fake_adapter.report(external, ProviderStatus.IN_PROGRESS, remains=9_000)
    services.orders_sync()  # a status change, with its event
    events = order.events.count()
    fake_adapter.report(external, ProviderStatus.IN_PROGRESS, remains=8_500)  # 10 % → 15 %
    services.orders_sync()
    order.refresh_from_db()
    assert (order.delivered, order.remains, order.start_count) == (1_500, 8_500, 1000)
    assert order.events.count() == events
    fake_adapter.report(external, ProviderStatus.IN_PROGRESS, remains=7_900)  # crosses 20 %
    services.orders_sync()
    order.refresh_from_db()
    assert order.delivered == 2_100
    assert list(order.events.values_list("kind", flat=True))[events:] == ["progress"]


def test_progress_reaching_a_new_tenth_writes_its_event_and_leaf_without_a_row_lock(
    customer, fake_adapter
):
    order = place(customer)
    services.order_dispatch(order_id=order.pk)
    external = fake_adapter.placed[0]["id"]
    fake_adapter.report(external, ProviderStatus.IN_PROGRESS, remains=9_000)
    services.orders_sync()
    leaves = LogLeaf.objects.filter(order=order).count()
    fake_adapter.report(external, ProviderStatus.IN_PROGRESS, remains=6_800)  # 10 % → 32 %
    with CaptureQueriesContext(connection) as queries:
        services.orders_sync()
    order.refresh_from_db()
    assert (order.delivered, order.remains) == (3_200, 6_800)
    assert list(order.events.values_list("kind", flat=True))[-1] == "progress"
    assert order.events.last().data == {"delivered": 3_200}
    assert LogLeaf.objects.filter(order=order).count() == leaves + 1
    assert not [q for q in queries if "FOR UPDATE" in q["sql"]]


def test_work_starting_moves_the_order_in_progress_without_a_row_lock(customer, fake_adapter):
    order = place(customer)
    services.order_dispatch(order_id=order.pk)
    leaves = LogLeaf.objects.filter(order=order).count()
    fake_adapter.report(fake_adapter.placed[0]["id"], ProviderStatus.IN_PROGRESS, remains=8_800)
    with CaptureQueriesContext(connection) as queries:
        assert services.orders_sync()["applied"] == 1
    order.refresh_from_db()
    assert (order.status, order.delivered, order.remains) == (OrderStatus.IN_PROGRESS, 1_200, 8_800)
    last = order.events.last()
    assert (last.kind, last.from_status, last.to_status) == ("progress", "pending", "in_progress")
    assert last.data == {"delivered": 1_200}
    assert LogLeaf.objects.filter(order=order).count() == leaves + 1
    assert not [q for q in queries if "FOR UPDATE" in q["sql"]]
    by_id = f'"orders_order"."id" = {order.pk}'
    assert not [q for q in queries if q["sql"].startswith("SELECT") and by_id in q["sql"]]


def test_a_status_move_read_before_a_newer_count_keeps_the_newer_count(customer, fake_adapter):
    order = place(customer)
    services.order_dispatch(order_id=order.pk)
    seen = Order.objects.get(pk=order.pk)  # as the sync read it: pending, nothing delivered
    # Meanwhile another worker recorded more progress than the report below says.
    Order.objects.filter(pk=order.pk).update(delivered=5_000, remains=5_000)
    report = ProviderOrderStatus(
        external_id=seen.external_id,
        status=ProviderStatus.IN_PROGRESS,
        remains=7_000,
    )
    services.order_apply_provider_status(order_id=order.pk, report=report, seen=seen)
    order.refresh_from_db()
    assert (order.status, order.delivered, order.remains) == (OrderStatus.IN_PROGRESS, 5_000, 5_000)
    moves = order.events.filter(to_status=OrderStatus.IN_PROGRESS)
    assert [e.data for e in moves] == [{"delivered": 5_000}]


def test_partial_delivery_refunds_the_undelivered_remainder_to_the_fen(customer, fake_adapter):
    order = place(customer, quantity=1_300)  # ¥20.80
    services.order_dispatch(order_id=order.pk)
    fake_adapter.report(fake_adapter.placed[0]["id"], ProviderStatus.PARTIAL, remains=457)
    services.orders_sync()
    order.refresh_from_db()
    # Pays 843/1300 of 2,080 fen = 1348.8 → 1,349 fen; refund 731 fen.
    assert order.status == OrderStatus.PARTIAL
    assert (order.delivered, order.refunded_fen) == (843, 731)
    assert wallet_balances(customer=customer)["available_fen"] == 100_000 - 1_349
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds[-2:] == ["partial", "refunded"]
    assert journal_total_fen() == 0


def test_a_partial_charge_is_the_rate_times_the_units_rounded_once(customer, fake_adapter):
    ServiceModule.objects.filter(pk=module_id("plays")).update(rate_per_1000=Decimal("17.349"))
    order = place(customer, quantity=1_300)  # 22.5537 yuan: ¥22.55 held
    assert order.charge_fen == 2_255
    services.order_dispatch(order_id=order.pk)
    fake_adapter.report(fake_adapter.placed[0]["id"], ProviderStatus.PARTIAL, remains=1_234)
    services.orders_sync()
    order.refresh_from_db()
    # 66 plays at ¥17.349 per 1,000 are 114.5034 fen: 115. Prorating the rounded hold
    # (2,255 × 66 ÷ 1,300 = 114.48) rounded twice and charged 114.
    assert (order.delivered, order.paid_fen, order.refunded_fen) == (66, 115, 2_140)
    assert journal_total_fen() == 0


def test_provider_cancel_refunds_everything(customer, fake_adapter):
    order = place(customer)
    services.order_dispatch(order_id=order.pk)
    fake_adapter.report(fake_adapter.placed[0]["id"], ProviderStatus.CANCELED, remains=10_000)
    services.orders_sync()
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert order.refunded_fen == order.charge_fen
    assert wallet_balances(customer=customer) == {"available_fen": 100_000, "held_fen": 0}


def test_provider_rejection_cancels_with_a_full_refund(customer, fake_adapter):
    fake_adapter.place_error = ProviderRejected("Incorrect link", code="invalid_link")
    order = place(customer)
    assert services.order_dispatch(order_id=order.pk) == "rejected"
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert wallet_balances(customer=customer)["available_fen"] == 100_000


def test_transient_provider_error_releases_the_claim_for_a_retry(customer, fake_adapter):
    fake_adapter.place_error = ProviderError("connection refused")
    order = place(customer)
    with pytest.raises(ProviderError):
        services.order_dispatch(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.external_id, order.dispatch_claimed_at) == ("pending", "", None)
    fake_adapter.place_error = None
    assert services.order_dispatch(order_id=order.pk) == "dispatched"


def test_a_placement_the_provider_may_have_taken_is_never_sent_again_by_itself(
    customer, fake_adapter, django_capture_on_commit_callbacks
):
    # A timeout after sending: the provider may have the order. Sending it again would place it
    # twice (the convention has no idempotency key), so it waits for an operator's check.
    fake_adapter.place_error = ProviderError("read timeout", maybe_applied=True)
    order = place(customer)
    assert services.order_dispatch(order_id=order.pk) == "uncertain"
    order.refresh_from_db()
    assert order.dispatch_uncertain_at is not None
    assert order.events.filter(kind="dispatch_uncertain").exists()
    fake_adapter.place_error = None
    long_ago = timezone.now() - timedelta(hours=1)
    Order.objects.filter(pk=order.pk).update(dispatch_claimed_at=long_ago, created_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.orders_sync()["redispatched"] == 0
    assert services.order_dispatch(order_id=order.pk) == "skipped"
    assert fake_adapter.placed == []
    # A cancel is taken but waits: nothing is refunded while the provider may deliver.
    services.order_cancel(customer=customer, order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.refunded_fen) == ("pending", 0)
    assert order.cancel_requested_at is not None

    # The operator finds it at the provider: it is followed from there, not placed again, and
    # the provider is asked to stop it.
    with django_capture_on_commit_callbacks() as after_commit:
        services.order_dispatch_reconcile(order_id=order.pk, external_id="P-777")
    order.refresh_from_db()
    assert (order.external_id, order.dispatch_uncertain_at) == ("P-777", None)
    assert order.events.filter(kind="dispatched", data__reconciled=True).exists()
    assert len(after_commit) == 1  # the provider cancel, sent after commit
    assert services.order_provider_cancel(order_id=order.pk) is True
    assert fake_adapter.canceled == ["P-777"]
    with pytest.raises(DomainError):
        services.order_dispatch_reconcile(order_id=order.pk, external_id="P-778")


def test_an_uncertain_placement_the_provider_never_got_is_sent_again(
    customer, fake_adapter, django_capture_on_commit_callbacks, monkeypatch
):
    from doudesk.orders.tasks import order_dispatch_task

    sent: list[int] = []
    monkeypatch.setattr(order_dispatch_task, "apply_async", lambda args=(), **_: sent.extend(args))
    fake_adapter.place_error = ProviderError("read timeout", maybe_applied=True)
    order = place(customer)
    services.order_dispatch(order_id=order.pk)
    fake_adapter.place_error = None
    with django_capture_on_commit_callbacks(execute=True):
        services.order_dispatch_reconcile(order_id=order.pk)  # the provider has no such order
    assert sent == [order.pk]
    assert services.order_dispatch(order_id=order.pk) == "dispatched"
    order.refresh_from_db()
    assert len(fake_adapter.placed) == 1
    assert order.external_id == fake_adapter.placed[0]["id"]
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds[-3:] == ["dispatch_uncertain", "dispatch_retry", "dispatched"]


def test_a_cancel_during_an_uncertain_placement_the_provider_never_got_refunds_it_all(
    customer, fake_adapter, django_capture_on_commit_callbacks
):
    # The customer was told "try again in a moment" for as long as the check took.
    fake_adapter.place_error = ProviderError("read timeout", maybe_applied=True)
    order = place(customer)
    services.order_dispatch(order_id=order.pk)
    fake_adapter.place_error = None
    services.order_cancel(customer=customer, order_id=order.pk)
    services.order_cancel(customer=customer, order_id=order.pk)  # asked twice, recorded once
    assert order.events.filter(kind="cancel_requested").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.order_dispatch_reconcile(order_id=order.pk)  # the provider has no such order
    order.refresh_from_db()
    assert (order.status, order.refunded_fen, order.dispatch_uncertain_at) == (
        "canceled", order.charge_fen, None,
    )  # fmt: skip
    assert order.events.get(kind="canceled").data["reason"] == "customer"
    assert fake_adapter.placed == []  # not sent again
    assert wallet_balances(customer=customer) == {"available_fen": 100_000, "held_fen": 0}
    assert journal_total_fen() == 0


def _during_the_provider_call(fake_adapter, step) -> None:
    """Run ``step()`` once, while the provider call of the next placement is under way."""
    place_now = fake_adapter.place

    def slow_place(**kwargs):
        fake_adapter.place = place_now
        placed = place_now(**kwargs)
        step()
        return placed

    fake_adapter.place = slow_place


def _expire_claim(order: Order) -> None:
    stale = timezone.now() - services.CLAIM_TTL - timedelta(seconds=1)
    Order.objects.filter(pk=order.pk).update(dispatch_claimed_at=stale)


def test_a_provider_call_that_outlives_its_claim_does_not_revive_a_cancelled_order(
    customer, fake_adapter
):
    # The claim expired during a slow call and the customer cancelled (refunded in full): the
    # provider's late order is stopped and recorded, not followed as if it were the customer's.
    order = place(customer)

    def cancel_after_the_claim_expired() -> None:
        _expire_claim(order)
        services.order_cancel(customer=customer, order_id=order.pk)

    _during_the_provider_call(fake_adapter, cancel_after_the_claim_expired)
    assert services.order_dispatch(order_id=order.pk) == "orphaned"
    order.refresh_from_db()
    (late,) = fake_adapter.placed
    assert (order.status, order.external_id, order.refunded_fen) == ("canceled", "", 16_000)
    assert fake_adapter.canceled == [late["id"]]
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds == ["placed", "canceled", "refunded", "dispatch_orphaned"]
    assert order.events.get(kind="dispatch_orphaned").data == {
        "provider": order.provider.code,
        "provider_order": late["id"],
        "stopped": True,
    }
    assert journal_total_fen() == 0


def test_a_second_dispatch_after_the_claim_expired_leaves_one_provider_order_followed(
    customer, fake_adapter
):
    order = place(customer)

    def dispatch_again_after_the_claim_expired() -> None:
        _expire_claim(order)
        assert services.order_dispatch(order_id=order.pk) == "dispatched"

    _during_the_provider_call(fake_adapter, dispatch_again_after_the_claim_expired)
    assert services.order_dispatch(order_id=order.pk) == "orphaned"
    first, second = fake_adapter.placed
    order.refresh_from_db()
    assert order.external_id == second["id"]  # the dispatch that still held its claim
    assert fake_adapter.canceled == [first["id"]]  # the other is stopped, not left unpaid-for
    assert list(order.events.filter(kind="dispatched").values_list("data", flat=True)) == [
        {"provider": order.provider.code, "provider_order": second["id"]}
    ]


def test_one_provider_order_is_followed_by_one_order(customer, fake_adapter):
    first, second = place(customer), place(customer)
    services.order_dispatch(order_id=first.pk)
    first.refresh_from_db()
    # A provider that names an order of its own twice: the second customer order is not made to
    # follow the first one's delivery; an operator checks it with the provider.
    fake_adapter.place = lambda **_: PlacedOrder(first.external_id)
    assert services.order_dispatch(order_id=second.pk) == "uncertain"
    second.refresh_from_db()
    assert (second.external_id, second.events.last().kind) == ("", "dispatch_uncertain")
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=second.pk).update(external_id=first.external_id)


def test_cancelling_a_plan_skips_a_day_being_sent_and_cancels_the_rest(customer, fake_adapter):
    plan = GrowthPlan.objects.get(code="daily-followers")
    group = services.growth_plan_order(customer=customer, plan=plan, target=ACCOUNT_URL)
    days = list(group.orders.order_by("pk"))
    # Day 5 came due after the plan's days were listed and a dispatch round is sending it.
    Order.objects.filter(pk=days[4].pk).update(dispatch_claimed_at=timezone.now())
    cancelled = services.order_group_cancel_scheduled(customer=customer, group_id=group.pk)
    assert cancelled == 28  # days 2-30 but day 5; it used to stop at day 5 with an error
    statuses = list(group.orders.order_by("pk").values_list("status", flat=True))
    assert statuses == ["pending"] * 1 + ["canceled"] * 3 + ["pending"] + ["canceled"] * 25
    assert journal_total_fen() == 0


def test_dispatch_claims_only_a_due_order_nobody_holds(customer, fake_adapter):
    order = place(customer)
    now = timezone.now()
    rows = Order.objects.filter(pk=order.pk)
    # Another worker's live claim holds it; one older than the claim TTL is presumed dead.
    rows.update(dispatch_claimed_at=now - services.CLAIM_TTL + timedelta(seconds=5))
    assert services.order_dispatch(order_id=order.pk) == "skipped"
    rows.update(dispatch_claimed_at=now - services.CLAIM_TTL - timedelta(seconds=5))
    rows.update(cancel_requested_at=now)
    assert services.order_dispatch(order_id=order.pk) == "skipped"
    rows.update(cancel_requested_at=None, scheduled_for=now + timedelta(minutes=1))
    assert services.order_dispatch(order_id=order.pk) == "skipped"
    assert fake_adapter.placed == []
    rows.update(scheduled_for=now - timedelta(seconds=1))
    assert services.order_dispatch(order_id=order.pk) == "dispatched"
    order.refresh_from_db()
    assert order.dispatch_claimed_at > now - timedelta(seconds=5)
    (sent,) = fake_adapter.placed
    assert (sent["quantity"], sent["link"], sent["id"]) == (10_000, VIDEO_URL, order.external_id)
    assert sent["service"] == order.module.provider_service_id
    assert order.events.get(kind="dispatched").data == {
        "provider": order.provider.code,
        "provider_order": order.external_id,
    }


def test_the_dispatch_claim_takes_exactly_the_orders_the_due_look_up_lists(customer):
    # The claim's written-out conditions and orders_dispatch_due state one rule twice.
    now = timezone.now()
    ttl = services.CLAIM_TTL
    states = [
        {},
        {"dispatch_claimed_at": now - ttl + timedelta(seconds=5)},
        {"dispatch_claimed_at": now - ttl - timedelta(seconds=5)},
        {"cancel_requested_at": now},
        {"dispatch_uncertain_at": now},
        {"external_id": "sent-1"},
        {"status": "in_progress", "external_id": "sent-2"},
        {"scheduled_for": now + timedelta(minutes=1)},
        {"scheduled_for": now - timedelta(seconds=1)},
    ]
    orders = [place(customer, quantity=500) for _ in states]
    for order, state in zip(orders, states, strict=True):
        Order.objects.filter(pk=order.pk).update(**state)
    listed = set(orders_dispatch_due(now=now).values_list("pk", flat=True))
    claimed = {o.pk for o in orders if services._dispatch_claim(o.pk, now)}
    assert claimed == listed
    assert len(listed) == 3  # fresh, an expired claim, and a schedule that has come


@pytest.fixture
def sent_tasks(monkeypatch) -> dict[str, list]:
    """Dispatch rounds and single-order dispatches sent to the broker (not run)."""
    from doudesk.orders.tasks import order_dispatch_task, orders_dispatch_round_task

    sent: dict[str, list] = {"rounds": [], "orders": []}
    monkeypatch.setattr(
        orders_dispatch_round_task, "apply_async", lambda *_, **__: sent["rounds"].append(1)
    )
    monkeypatch.setattr(
        order_dispatch_task,
        "apply_async",
        lambda args=(), **options: sent["orders"].append((*args, options.get("countdown"))),
    )
    return sent


def test_a_burst_of_orders_sends_one_dispatch_round_after_commit_which_sends_them_all(
    customer, fake_adapter, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = place(customer, quantity=1_000)
        assert sent_tasks["rounds"] == []  # not before the commit
    assert len(sent_tasks["rounds"]) == 1
    with django_capture_on_commit_callbacks(execute=True):
        second = place(customer, quantity=1_000)
    assert len(sent_tasks["rounds"]) == 1  # the waiting round will see this one too
    assert services.orders_dispatch_round() == {"dispatched": 2}
    assert [o["quantity"] for o in fake_adapter.placed] == [1_000, 1_000]
    assert Order.objects.filter(pk__in=[first.pk, second.pk], external_id="").count() == 0
    # The round cleared its mark when it started: the next order sends a round again.
    with django_capture_on_commit_callbacks(execute=True):
        place(customer, quantity=1_000)
    assert len(sent_tasks["rounds"]) == 2
    # A round that never started (lost on the way) does not hold later orders back.
    lost = timezone.now() - services.ROUND_LOST_AFTER - timedelta(seconds=1)
    DispatchRound.objects.update(sent_at=lost)
    with django_capture_on_commit_callbacks(execute=True):
        place(customer, quantity=1_000)
    assert len(sent_tasks["rounds"]) == 3
    assert sent_tasks["orders"] == []


def test_a_round_the_broker_refused_is_sent_by_the_next_order(
    customer, fake_adapter, monkeypatch, django_capture_on_commit_callbacks
):
    from doudesk.orders.tasks import orders_dispatch_round_task

    def refuse(*_, **__) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(orders_dispatch_round_task, "apply_async", refuse)
    with pytest.raises(ConnectionError), django_capture_on_commit_callbacks(execute=True):
        place(customer, quantity=1_000)
    assert DispatchRound.objects.get().sent_at is None
    sent: list[int] = []
    monkeypatch.setattr(orders_dispatch_round_task, "apply_async", lambda *_, **__: sent.append(1))
    with django_capture_on_commit_callbacks(execute=True):
        place(customer, quantity=1_000)
    assert sent == [1]


def test_a_round_hands_an_order_the_provider_cannot_take_now_to_its_own_retrying_task(
    customer, fake_adapter, sent_tasks, monkeypatch
):
    busy, fine = place(customer, quantity=1_000), place(customer, quantity=1_000)
    place_now = fake_adapter.place

    def busy_once(**kwargs):
        if not sent_tasks["orders"]:
            raise ProviderError("busy, try later")
        return place_now(**kwargs)

    monkeypatch.setattr(fake_adapter, "place", busy_once)
    outcome = services.orders_dispatch_round()
    assert outcome == {"retrying": 1, "dispatched": 1}
    assert sent_tasks["orders"] == [(busy.pk, services.ROUND_RETRY_SECONDS)]
    busy.refresh_from_db()
    fine.refresh_from_db()
    assert (busy.external_id, busy.dispatch_claimed_at) == ("", None)  # free to try again
    assert fine.external_id == fake_adapter.placed[0]["id"]


def test_a_round_with_more_orders_due_than_it_takes_sends_another_first(
    customer, fake_adapter, sent_tasks, monkeypatch
):
    monkeypatch.setattr(services, "ROUND_SIZE", 1)
    orders = [place(customer, quantity=1_000) for _ in range(2)]
    assert services.orders_dispatch_round() == {"dispatched": 1}
    assert len(sent_tasks["rounds"]) == 1
    assert services.orders_dispatch_round() == {"dispatched": 1}
    assert len(sent_tasks["rounds"]) == 1  # nothing more was due
    assert {o["id"] for o in fake_adapter.placed} == {
        o.external_id for o in Order.objects.filter(pk__in=[o.pk for o in orders])
    }


def test_rounds_running_together_claim_different_orders_oldest_first(customer):
    orders = [place(customer, quantity=1_000) for _ in range(3)]
    now = timezone.now()
    first = services._dispatch_claim_due(now, 2)
    second = services._dispatch_claim_due(now, 2)
    assert first == [orders[0].pk, orders[1].pk]
    assert second == [orders[2].pk]
    assert services._dispatch_claim_due(now, 2) == []
    claimed = Order.objects.filter(pk__in=first + second)
    assert set(claimed.values_list("dispatch_claimed_at", flat=True)) == {now}
    # A claim past its TTL (the round's worker died) is taken again.
    later = now + services.CLAIM_TTL + timedelta(seconds=1)
    assert services._dispatch_claim_due(later, 10) == [o.pk for o in orders]


def test_a_round_slowed_past_its_claims_gives_the_rest_to_another_round(
    customer, fake_adapter, sent_tasks, monkeypatch
):
    orders = [place(customer, quantity=1_000) for _ in range(3)]
    clock = [timezone.now()]
    monkeypatch.setattr(services.timezone, "now", lambda: clock[0])
    place_now = fake_adapter.place

    def slow_place(**kwargs):
        clock[0] += services.ROUND_SEND_WITHIN + timedelta(seconds=1)  # a slow provider
        return place_now(**kwargs)

    monkeypatch.setattr(fake_adapter, "place", slow_place)
    assert services.orders_dispatch_round() == {"dispatched": 1, "handed_on": 2}
    assert len(fake_adapter.placed) == 1
    assert len(sent_tasks["rounds"]) == 1
    rest = Order.objects.filter(pk__in=[o.pk for o in orders[1:]])
    assert set(rest.values_list("external_id", "dispatch_claimed_at")) == {("", None)}
    assert set(orders_dispatch_due(now=clock[0]).values_list("pk", flat=True)) == {
        o.pk for o in orders[1:]
    }


def test_dispatch_twice_places_once(customer, fake_adapter):
    order = place(customer)
    assert services.order_dispatch(order_id=order.pk) == "dispatched"
    assert services.order_dispatch(order_id=order.pk) == "skipped"
    assert len(fake_adapter.placed) == 1


def test_a_final_status_applied_twice_settles_once(customer, fake_adapter):
    order = place(customer, quantity=1_000)
    services.order_dispatch(order_id=order.pk)
    report_id = fake_adapter.placed[0]["id"]
    fake_adapter.report(report_id, ProviderStatus.PARTIAL, remains=500)
    status = fake_adapter.statuses[report_id]
    services.order_apply_provider_status(order_id=order.pk, report=status)
    services.order_apply_provider_status(order_id=order.pk, report=status)
    order.refresh_from_db()
    assert order.refunded_fen == 800
    assert order.journal.filter(kind="order_settle").count() == 1
    assert wallet_balances(customer=customer)["available_fen"] == 100_000 - 800


def test_cancel_before_dispatch_refunds_at_once(customer):
    order = place(customer)
    services.order_cancel(customer=customer, order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert wallet_balances(customer=customer) == {"available_fen": 100_000, "held_fen": 0}


def test_cancel_after_dispatch_asks_the_provider_and_waits_for_its_count(customer, fake_adapter):
    order = place(customer)
    services.order_dispatch(order_id=order.pk)
    services.order_cancel(customer=customer, order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert order.cancel_requested_at is not None
    assert services.order_provider_cancel(order_id=order.pk) is True
    assert fake_adapter.canceled == [order.external_id]


def test_cancel_of_another_customers_order_is_not_found(customer, other_customer):
    order = place(customer)
    with pytest.raises(DomainError) as err:
        services.order_cancel(customer=other_customer, order_id=order.pk)
    assert err.value.status == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_finished_order_cannot_be_canceled(customer):
    order = place(customer)
    services.order_cancel(customer=customer, order_id=order.pk)
    with pytest.raises(DomainError) as err:
        services.order_cancel(customer=customer, order_id=order.pk)
    assert err.value.status == 409


def test_refill_only_for_refillable_finished_orders(customer, fake_adapter):
    order = place(customer, service_id=module_id("likes"), quantity=100)  # refill within 7 days
    with pytest.raises(DomainError):
        services.order_refill(customer=customer, order_id=order.pk)
    services.order_dispatch(order_id=order.pk)
    fake_adapter.report(fake_adapter.placed[0]["id"], ProviderStatus.COMPLETED, remains=0)
    services.orders_sync()
    refill = services.order_refill(customer=customer, order_id=order.pk)
    order.refresh_from_db()
    assert services.order_provider_refill(refill_id=refill.pk) == f"R{order.external_id}"
    with pytest.raises(DomainError) as again:  # one refill request a day
        services.order_refill(customer=customer, order_id=order.pk)
    assert again.value.status == 409
    assert again.value.errors[0].code == "refill_too_soon"
    assert order.refills.count() == 1
    Refill.objects.filter(pk=refill.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert services.order_refill(customer=customer, order_id=order.pk).pk != refill.pk
    plays_order = place(customer)
    with pytest.raises(DomainError):
        services.order_refill(customer=customer, order_id=plays_order.pk)


def finished_refill(customer, fake_adapter) -> Refill:
    """Complete a likes order (refillable), ask for a refill and send it to the provider."""
    order = place(customer, service_id=module_id("likes"), quantity=100)
    fake_adapter.deliver_in_full(order)
    refill = services.order_refill(customer=customer, order_id=order.pk)
    services.order_provider_refill(refill_id=refill.pk)
    refill.refresh_from_db()
    return refill


def test_refill_status_follows_the_provider_until_it_is_final(customer, fake_adapter):
    refill = finished_refill(customer, fake_adapter)
    assert (refill.status, refill.checked_at) == (RefillStatus.SENT, None)
    answers = fake_adapter.refill_statuses
    answers[refill.external_id] = ProviderRefillStatus.PENDING
    assert services.refills_sync() == {"polled": 1, "changed": 0, "errors": 0}
    answers[refill.external_id] = ProviderRefillStatus.IN_PROGRESS
    assert services.refills_sync()["changed"] == 1
    refill.refresh_from_db()
    assert refill.status == RefillStatus.IN_PROGRESS
    assert not refill.order.events.filter(kind__startswith="refill_c").exists()
    answers[refill.external_id] = ProviderRefillStatus.COMPLETED
    assert services.refills_sync()["changed"] == 1
    refill.refresh_from_db()
    assert refill.status == RefillStatus.COMPLETED
    assert refill.is_final
    event = refill.order.events.get(kind="refill_completed")
    assert event.data == {"refill": refill.pk}
    assert LogLeaf.objects.filter(order=refill.order).count() == refill.order.events.count()
    asked = len(fake_adapter.refill_asked)
    assert services.refills_sync()["polled"] == 0  # final: never asked again
    assert len(fake_adapter.refill_asked) == asked


@pytest.mark.parametrize(
    ("word", "status", "kind"),
    [
        (ProviderRefillStatus.REJECTED, RefillStatus.REJECTED, "refill_rejected"),
        (ProviderRefillStatus.ERROR, RefillStatus.ERROR, "refill_failed"),
    ],
)
def test_a_refused_refill_is_final_and_on_the_timeline(customer, fake_adapter, word, status, kind):
    refill = finished_refill(customer, fake_adapter)
    fake_adapter.refill_statuses[refill.external_id] = word
    services.refills_sync()
    refill.refresh_from_db()
    assert refill.status == status
    assert refill.is_final
    assert refill.order.events.filter(kind=kind).count() == 1


def test_a_refill_the_provider_does_not_know_stays_open_and_waits_its_turn(customer, fake_adapter):
    unknown = finished_refill(customer, fake_adapter)  # the fake knows no refill id yet
    assert services.refills_sync() == {"polled": 0, "changed": 0, "errors": 1}
    unknown.refresh_from_db()
    assert unknown.status == RefillStatus.SENT
    assert unknown.checked_at is not None
    other = finished_refill(customer, fake_adapter)
    fake_adapter.refill_statuses[other.external_id] = ProviderRefillStatus.COMPLETED
    fake_adapter.refill_asked.clear()
    services.refills_sync(limit=1)  # the refill never asked goes before the one just asked
    assert fake_adapter.refill_asked == [other.external_id]
    other.refresh_from_db()
    assert other.status == RefillStatus.COMPLETED


def test_every_transition_is_an_event(customer, fake_adapter):
    order = place(customer, quantity=1_000)
    services.order_dispatch(order_id=order.pk)
    fake_adapter.report(fake_adapter.placed[0]["id"], ProviderStatus.IN_PROGRESS, remains=900)
    services.orders_sync()
    fake_adapter.report(fake_adapter.placed[0]["id"], ProviderStatus.COMPLETED, remains=0)
    services.orders_sync()
    transitions = list(
        OrderEvent.objects.filter(order=order)
        .exclude(to_status="")
        .values_list("to_status", flat=True)
    )
    assert transitions == ["pending", "in_progress", "completed"]
    assert LogLeaf.objects.filter(order=order).count() == order.events.count()


def test_sync_rounds_in_one_worker_never_overlap(monkeypatch):
    from doudesk.orders import tasks

    calls = []
    monkeypatch.setattr(services, "orders_sync", lambda: calls.append(1) or {"polled": 0})
    with tasks._sync_round:  # a round in progress on another thread
        assert tasks.orders_sync_task() == {"skipped": 1}
    assert calls == []
    assert tasks.orders_sync_task() == {"polled": 0}
    assert calls == [1]


def test_an_order_without_a_link_logs_an_empty_target_not_the_hash_of_nothing(customer):
    order = services.order_place(
        customer=customer, service_id=module_id("video-edit"), target="", quantity=1
    )
    placed = order.events.get(kind="placed")
    assert placed.data["target"] == ""


def test_a_customer_s_orders_are_not_tied_together_in_the_public_log(customer):
    # The customer's hash was one per customer (and the link's one per link): anyone could
    # read a customer's whole history, quantities and prices, from the public entries.
    first, second = (
        services.order_place(
            customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=500
        )
        for _ in range(2)
    )
    one, two = (o.events.get(kind="placed").data for o in (first, second))
    assert one["customer"] != two["customer"]
    assert one["target"] != two["target"]
    salt = f"{customer.ledger_salt}:{second.pk}"
    assert two["customer"] == hashlib.sha256(f"{salt}:{customer.pk}".encode()).hexdigest()


def test_the_placed_leaf_names_the_target_by_a_hash_only_its_customer_can_link(customer):
    # An unsalted hash would let anyone who knows a video's link find its orders in the log.
    order = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=500
    )
    logged = order.events.get(kind="placed").data["target"]
    salt = f"{customer.ledger_salt}:{order.pk}"
    assert logged == hashlib.sha256(f"{salt}:{VIDEO_URL}".encode()).hexdigest()
    assert logged != hashlib.sha256(VIDEO_URL.encode()).hexdigest()
    leaf = LogLeaf.objects.filter(order=order).order_by("pk").first()
    assert VIDEO_URL not in leaf.leaf
    assert hashlib.sha256(VIDEO_URL.encode()).hexdigest() not in leaf.leaf


def test_a_demo_database_in_production_offers_none_of_the_sandbox_providers_services(
    customer, settings, api_key_for, counts
):
    # They used to be listed and taken, then cancelled with a half-English reason.
    settings.SANDBOX = False
    offered = {m.code for m in selectors.module_list()}
    assert offered == {"lbs-store-visit", "creator-seeding"}  # the manual provider's
    assert {m.code for c in selectors.category_list() for m in c.modules.all()} == offered
    assert list(selectors.package_list()) == list(selectors.growth_plan_list()) == []
    api = Client(headers={"Authorization": f"Bearer {api_key_for(customer)}"})
    assert {s["name"] for s in api.get("/api/v1/services").json()} == {
        "达人探店",
        "达人种草视频",
    }
    assert {
        int(s["service"])
        for s in api.post("/api/v2", {"key": api_key_for(customer), "action": "services"}).json()
    } == {module_id("lbs-store-visit"), module_id("creator-seeding")}
    plans = plan_need(need="达人探店，或者播放量，预算10000元")["plans"]
    assert {i["service_id"] for p in plans for i in p["items"]} <= {
        module_id("lbs-store-visit"),
        module_id("creator-seeding"),
    }
    before = counts(customer)
    with pytest.raises(DomainError) as refused:
        services.order_place(
            customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=500
        )
    assert (refused.value.errors[0].field, refused.value.status) == ("service_id", 404)
    with pytest.raises(DomainError) as off_sale:
        services.package_order(
            customer=customer, package=Package.objects.get(code="starter"), target=VIDEO_URL
        )
    assert off_sale.value.errors[0].code == "off_sale"
    assert counts(customer) == before


def test_a_sandbox_providers_order_in_production_is_cancelled_and_refunded_not_retried(
    customer, settings
):
    # A demo database switched to production: its sandbox provider is off, so the order is
    # refused for good (refunded in full) instead of failing every dispatch round.
    order = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=500
    )
    assert order.provider.is_sandbox
    sent = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=500
    )
    before = wallet_balances(customer=customer)
    settings.SANDBOX = False
    assert services.order_dispatch(order_id=order.pk) == "rejected"
    order.refresh_from_db()
    assert (order.status, order.refunded_fen) == ("canceled", order.charge_fen)
    assert wallet_balances(customer=customer) == {
        "available_fen": before["available_fen"] + order.charge_fen,
        "held_fen": before["held_fen"] - order.charge_fen,
    }
    assert journal_total_fen() == 0
    # An order sent before the switch is not followed (nor does it stop the sync for others).
    Order.objects.filter(pk=sent.pk).update(external_id="SB-1")
    assert services.orders_sync()["errors"] == 1
