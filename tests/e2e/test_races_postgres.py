"""Races on one order or one request, on PostgreSQL (each thread on its own connection).

What two operators, two runs of a task or two retries at once leave behind.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from concurrency import (
    in_background,
    locked_elsewhere,
    postgres_only,
    run_concurrently,
    wait_for_a_lock_wait,
)
from doudesk.catalog.models import ServiceModule
from doudesk.errors import DomainError
from doudesk.orders import services
from doudesk.orders.lock_objects import order_get_locked
from doudesk.orders.models import IdempotencyRecord, Order
from doudesk.pricing.services import quote_create
from doudesk.providers.adapters.base import ProviderError, ProviderStatus
from doudesk.wallet.selectors import journal_total_fen, wallet_balances
from factories import ACCOUNT_URL, VIDEO_URL, fund_customer, make_verified_customer, module_id

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    postgres_only,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _nothing_sent_to_the_broker(monkeypatch) -> None:
    """Keep the orders' tasks off the broker: each race is run by the test's threads alone.

    These tests commit, so a placement would send a dispatch round that any worker on the
    broker could take and run against the test database in the middle of a race.
    """
    from doudesk.orders.tasks import (
        order_dispatch_task,
        order_refill_task,
        orders_dispatch_round_task,
    )

    for task in (orders_dispatch_round_task, order_dispatch_task, order_refill_task):
        monkeypatch.setattr(task, "apply_async", lambda *_, **__: None)


def test_postgres_a_manual_delivery_is_checked_against_a_count_recorded_meanwhile(customer):
    # Operator B saves "1 delivered, final" while operator A's save of 2 delivered is under
    # way: B must see A's count, not take back a unit A recorded (and refund it).
    order = services.order_place(
        customer=customer, service_id=module_id("lbs-store-visit"), target=ACCOUNT_URL, quantity=3
    )
    services.order_dispatch(order_id=order.pk)

    def operator_a_saving() -> None:
        order_get_locked(order.pk)
        Order.objects.filter(pk=order.pk).update(delivered=2, status="in_progress")

    with locked_elsewhere(operator_a_saving):
        operator_b = in_background(
            lambda: services.order_record_manual_delivery(
                order_id=order.pk, delivered=1, final=True, cost=Decimal("0")
            )
        )
        wait_for_a_lock_wait()
    refused = operator_b()

    assert isinstance(refused, DomainError), refused
    assert refused.errors[0].code == "delivered_decrease"
    order.refresh_from_db()
    assert (order.status, order.delivered, order.refunded_fen) == ("in_progress", 2, 0)


def test_postgres_two_reconciles_cannot_give_one_provider_order_two_orders(customer, fake_adapter):
    fake_adapter.place_error = ProviderError("read timeout", maybe_applied=True)
    orders = [
        services.order_place(
            customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=500
        )
        for _ in range(2)
    ]
    for order in orders:
        assert services.order_dispatch(order_id=order.pk) == "uncertain"

    results = run_concurrently(
        lambda i: services.order_dispatch_reconcile(order_id=orders[i].pk, external_id="P-1"), 2
    )

    reconciled = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert (len(reconciled), len(refused)) == (1, 1), results
    assert (refused[0].status, refused[0].errors[0].code) == (409, "provider_order_taken")
    assert Order.objects.filter(external_id="P-1").count() == 1

    # The provider's report settles the one order that follows P-1.
    fake_adapter.report("P-1", ProviderStatus.COMPLETED, remains=0)
    services.orders_sync()
    assert Order.objects.get(pk=reconciled[0].pk).status == "completed"


def test_postgres_retries_of_one_request_at_once_all_get_the_first_answer(seeded):
    # The wallet affords one order: the retries that lose the race must not be told
    # "insufficient balance" for the order their own first attempt placed.
    plays = ServiceModule.objects.get(code="plays")
    customer = make_verified_customer()
    fund_customer(customer, quote_create(customer=customer, module=plays, quantity=1_000).total_fen)
    params = {"service_id": plays.pk, "target": VIDEO_URL, "quantity": 1_000}

    results = run_concurrently(
        lambda _i: services.order_place_idempotent(
            customer=customer,
            idempotency_key="retry-1",
            params=params,
            render=lambda order: {"id": order.pk, "status": order.status},
        ),
        4,
    )

    (order,) = Order.objects.filter(customer=customer)
    assert results == [(201, {"id": order.pk, "status": "pending"})] * 4
    assert IdempotencyRecord.objects.filter(customer=customer).count() == 1
    assert wallet_balances(customer=customer)["available_fen"] == 0
    assert journal_total_fen() == 0


def test_postgres_retries_of_one_plan_order_at_once_place_it_once(seeded):
    from doudesk.matching.services import plan_order_idempotent
    from doudesk.orders.models import OrderGroup

    customer = make_verified_customer()
    items = [
        {"service_id": module_id("plays"), "quantity": 1_000},
        {"service_id": module_id("likes"), "quantity": 100},
    ]
    fund_customer(customer, 10_000)
    params = {"items": items, "target": VIDEO_URL}

    results = run_concurrently(
        lambda _i: plan_order_idempotent(
            customer=customer,
            idempotency_key="plan-retry",
            params=params,
            render=lambda group: {"group_id": group.pk, "total_fen": group.total_fen},
        ),
        4,
    )

    (group,) = OrderGroup.objects.filter(customer=customer)
    assert results == [(201, {"group_id": group.pk, "total_fen": group.total_fen})] * 4
    assert Order.objects.filter(customer=customer).count() == 2
    assert wallet_balances(customer=customer)["held_fen"] == group.total_fen
    assert journal_total_fen() == 0


def test_postgres_retries_of_one_package_order_at_once_place_it_once(seeded):
    # The wallet affords the package exactly once; the retries write its total four ways.
    from doudesk.catalog.models import Package
    from doudesk.orders.models import OrderGroup

    customer = make_verified_customer()
    starter = Package.objects.get(code="starter")
    fund_customer(customer, starter.price_fen)
    totals = ["168", 168, "168.00", 168.0]

    results = run_concurrently(
        lambda i: services.bundle_order_idempotent(
            customer=customer,
            idempotency_key="package-retry",
            kind="package",
            bundle_id=starter.pk,
            target=VIDEO_URL,
            confirmed_total=totals[i],
            render=lambda group: {"group_id": group.pk, "total_fen": group.total_fen},
        ),
        4,
    )

    (group,) = OrderGroup.objects.filter(customer=customer)
    assert results == [(201, {"group_id": group.pk, "total_fen": 16_800})] * 4
    assert Order.objects.filter(customer=customer).count() == starter.items.count()
    assert IdempotencyRecord.objects.filter(customer=customer).count() == 1
    assert wallet_balances(customer=customer) == {"available_fen": 0, "held_fen": 16_800}
    assert journal_total_fen() == 0


def test_postgres_two_reviewers_deciding_at_once_make_one_decision(seeded, settings):
    # Both used to succeed, the last writer winning (rejected with the approval's empty reason).
    from django.contrib.auth import get_user_model

    from doudesk.accounts.models import Verification
    from doudesk.accounts.services import verification_review, verification_submit
    from factories import CustomerFactory

    settings.SANDBOX = False
    pk = verification_submit(
        customer=CustomerFactory(), legal_name="张三", number="11010519491231002X"
    ).pk
    first, second = (get_user_model().objects.create_user(n, is_staff=True) for n in "ab")

    def review(reviewer, approve: bool) -> Verification:
        return verification_review(
            verification=Verification.objects.get(pk=pk),
            reviewer=reviewer,
            approve=approve,
            reason="照片模糊",
        )

    with locked_elsewhere(lambda: review(first, True)):
        rejecting = in_background(lambda: review(second, False))
        wait_for_a_lock_wait()
    refused = rejecting()

    assert isinstance(refused, DomainError)
    assert (refused.status, refused.errors[0].code) == (409, "already_reviewed")
    decided = Verification.objects.get(pk=pk)
    assert (decided.status, decided.reviewed_by, decided.reject_reason) == ("approved", first, "")


def test_postgres_two_runs_of_a_refill_task_send_one_refill(customer, fake_adapter):
    order = services.order_place(
        customer=customer, service_id=module_id("likes"), target=VIDEO_URL, quantity=100
    )
    services.order_dispatch(order_id=order.pk)
    order.refresh_from_db()
    fake_adapter.report(order.external_id, ProviderStatus.COMPLETED, remains=0)
    services.orders_sync()
    refill = services.order_refill(customer=customer, order_id=order.pk)
    refill_now = fake_adapter.refill

    def slow_refill(external_id: str):
        time.sleep(0.3)  # a provider taking its time, so the runs overlap
        return refill_now(external_id)

    fake_adapter.refill = slow_refill

    results = run_concurrently(lambda _i: services.order_provider_refill(refill_id=refill.pk), 2)

    assert sorted(results) == ["", f"R{order.external_id}"]
    assert fake_adapter.refills == [order.external_id]
    refill.refresh_from_db()
    assert (refill.external_id, refill.status) == (f"R{order.external_id}", "sent")
