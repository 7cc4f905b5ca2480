"""Concurrency: 50 orders on a wallet that can afford exactly 20; many orders claiming one unit.

The wallet debits the customer's cash with a conditional ``UPDATE ... WHERE balance_fen >= amount``
(accounts updated in primary-key order) inside the order's durable transaction, so on PostgreSQL
exactly 20 orders go through and the other 30 are refused with ``insufficient_balance`` (402
over HTTP); nothing is left half-written, the balance never goes below zero and the journal stays
balanced. The SQLite variant runs the same scenario: there IMMEDIATE transactions serialise the
writers on the database lock. Both run once through the service in 50 threads (each with its own
database connection) and once over real HTTP against ``live_server``.

Delivered units: several orders attributing the same units at the same moment end with each unit
owned by exactly one order and every other claim recorded once as a double-selling incident.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from django.db import OperationalError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from concurrency import locked_elsewhere, postgres_only, run_concurrently, sqlite_only
from doudesk.accounts.models import Customer
from doudesk.accounts.services import api_key_create
from doudesk.catalog.models import ServiceModule
from doudesk.errors import DomainError
from doudesk.ledger.models import DeliveredUnit, DoubleSellingIncident
from doudesk.ledger.services import ledger_units_attribute
from doudesk.orders import services as order_services
from doudesk.orders.lock_objects import order_get_locked, order_qs_select_for_update
from doudesk.orders.models import Order
from doudesk.orders.services import order_place
from doudesk.pricing.services import quote_create
from doudesk.providers.models import Provider
from doudesk.wallet.models import JournalEntry, Leg
from doudesk.wallet.selectors import journal_total_fen, wallet_balances
from factories import VIDEO_URL, fund_customer, make_verified_customer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

THREADS = 50
AFFORDABLE = 20
QUANTITY = 1_000


def _customer_for_twenty_orders() -> tuple[Customer, int, int]:
    """Make a customer funded for exactly ``AFFORDABLE`` orders: (customer, module, charge)."""
    module = ServiceModule.objects.get(code="plays")
    customer = make_verified_customer()
    charge = quote_create(customer=customer, module=module, quantity=QUANTITY).total_fen
    fund_customer(customer, AFFORDABLE * charge)
    return customer, module.pk, charge


def _assert_books(customer: Customer, charge: int) -> None:
    assert wallet_balances(customer=customer) == {
        "available_fen": 0,
        "held_fen": AFFORDABLE * charge,
    }
    assert Order.objects.filter(customer=customer).count() == AFFORDABLE
    holds = JournalEntry.objects.filter(kind="order_hold", order__customer=customer)
    assert holds.count() == AFFORDABLE
    assert journal_total_fen() == 0
    assert not Leg.objects.values("entry").annotate(total=Sum("amount_fen")).exclude(total=0)


def _through_the_service(seeded: None) -> None:
    customer, module_id, charge = _customer_for_twenty_orders()

    def attempt(_i: int) -> int:
        own = Customer.objects.get(pk=customer.pk)
        order = order_place(customer=own, service_id=module_id, target=VIDEO_URL, quantity=QUANTITY)
        return order.pk

    results = run_concurrently(attempt, THREADS)

    placed = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, DomainError)]
    others = [r for r in results if not isinstance(r, int | DomainError)]
    assert others == []
    assert len(placed) == AFFORDABLE
    assert len(set(placed)) == AFFORDABLE
    assert len(refused) == THREADS - AFFORDABLE
    for error in refused:
        assert error.status == 402
        assert [(e.field, e.code) for e in error.errors] == [("balance", "insufficient_balance")]
        assert "余额不足" in error.errors[0].message_zh
        assert "Insufficient balance" in error.errors[0].message_en
    _assert_books(customer, charge)


def _over_http(seeded: None, live_server: Any) -> None:
    customer, module_id, charge = _customer_for_twenty_orders()
    _, key = api_key_create(customer=customer)
    body = {"service_id": module_id, "target": VIDEO_URL, "quantity": QUANTITY}

    def attempt(i: int) -> httpx.Response:
        # The test server's listen backlog is small, so a burst of 50 connections may see a
        # reset; the client retries under its Idempotency-Key, as a real client would, and a
        # retry of an order that did go through gets the first answer back.
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"burst-{i}"}
        for retry in range(5):
            try:
                with httpx.Client(base_url=live_server.url, timeout=60) as client:
                    return client.post("/api/v1/orders", json=body, headers=headers)
            except httpx.TransportError:
                if retry == 4:
                    raise
                time.sleep(0.2 * (retry + 1))
        raise AssertionError("unreachable")

    results = run_concurrently(attempt, THREADS)

    assert all(isinstance(r, httpx.Response) for r in results), results
    codes = sorted(r.status_code for r in results)
    assert codes == [201] * AFFORDABLE + [402] * (THREADS - AFFORDABLE)
    for response in results:
        if response.status_code == 402:
            fields = [e["field"] for e in response.json()["errors"]]
            assert fields == ["balance"]
    _assert_books(customer, charge)


@pytest.mark.postgres
@postgres_only
def test_postgres_50_concurrent_orders_exactly_20_succeed_through_the_service(seeded):
    _through_the_service(seeded)


@pytest.mark.postgres
@postgres_only
def test_postgres_50_concurrent_orders_exactly_20_succeed_over_http(seeded, live_server):
    _over_http(seeded, live_server)


@sqlite_only
def test_sqlite_50_concurrent_orders_exactly_20_succeed_through_the_service(seeded):
    _through_the_service(seeded)


@sqlite_only
def test_sqlite_50_concurrent_orders_exactly_20_succeed_over_http(seeded, live_server):
    _over_http(seeded, live_server)


LOCKS_OF_AN_ORDER_WITH_ITS_RELATIONS = {
    "queryset": lambda pk: (
        order_qs_select_for_update().select_related("customer", "provider", "module").get(pk=pk)
    ),
    "written_out": lambda pk: order_get_locked(pk, related=("customer", "provider", "module")),
}


@pytest.mark.postgres
@postgres_only
@pytest.mark.parametrize("lock", LOCKS_OF_AN_ORDER_WITH_ITS_RELATIONS)
def test_postgres_locking_an_order_leaves_its_customer_provider_and_module_unlocked(seeded, lock):
    # A status sync locks the order it settles; had it also locked the joined customer and the
    # shared provider row, every new order's foreign-key check would queue behind it and
    # deadlock with the wallet's account locks.
    customer, module_id, _charge = _customer_for_twenty_orders()
    order = order_place(
        customer=customer, service_id=module_id, target=VIDEO_URL, quantity=QUANTITY
    )

    with locked_elsewhere(lambda: LOCKS_OF_AN_ORDER_WITH_ITS_RELATIONS[lock](order.pk)):
        with connection.cursor() as cursor:
            for table, pk in (
                (Customer._meta.db_table, customer.pk),
                (Provider._meta.db_table, order.provider_id),
                (ServiceModule._meta.db_table, module_id),
            ):
                cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE NOWAIT", [pk])
            with pytest.raises(OperationalError):
                cursor.execute(
                    f"SELECT 1 FROM {Order._meta.db_table} WHERE id = %s FOR UPDATE NOWAIT",
                    [order.pk],
                )


@pytest.mark.postgres
@postgres_only
def test_postgres_a_dispatch_round_skips_the_orders_another_round_is_claiming(seeded):
    # Rounds run on the worker's threads at once: one does not wait for, nor take, an order
    # whose row another round's claim holds locked; it claims the next ones.
    customer, module_id, _charge = _customer_for_twenty_orders()
    orders = [
        order_place(customer=customer, service_id=module_id, target=VIDEO_URL, quantity=QUANTITY)
        for _ in range(3)
    ]
    with locked_elsewhere(lambda: Order.objects.select_for_update().get(pk=orders[0].pk)):
        claimed = order_services._dispatch_claim_due(timezone.now(), 10)
    assert claimed == [orders[1].pk, orders[2].pk]
    assert Order.objects.get(pk=orders[0].pk).dispatch_claimed_at is None


CLAIMANTS = 6
SHARED_UNITS = 3_000  # enough for the claims to overlap (300 seldom did)


def _concurrent_unit_claims(seeded: None) -> None:
    customer, module_id, _charge = _customer_for_twenty_orders()
    orders = [
        order_place(customer=customer, service_id=module_id, target=VIDEO_URL, quantity=QUANTITY)
        for _ in range(CLAIMANTS)
    ]
    provider = orders[0].provider
    shared = [f"u{i:063d}" for i in range(SHARED_UNITS)]

    def claim(i: int) -> int:
        mine = shared[i * 7 :] + shared[: i * 7]  # each claimant reports them in its own order
        with transaction.atomic(durable=True):
            return ledger_units_attribute(order=orders[i], provider=provider, unit_hashes=mine)

    results = run_concurrently(claim, threads=CLAIMANTS)

    assert all(isinstance(r, int) for r in results), results
    assert DeliveredUnit.objects.count() == SHARED_UNITS  # every unit sold once
    owned = {o.pk: DeliveredUnit.objects.filter(order=o).count() for o in orders}
    assert results == [owned[o.pk] for o in orders]  # each claimant is told what it owns
    assert sum(owned.values()) == SHARED_UNITS
    incidents = DoubleSellingIncident.objects.all()
    assert incidents.count() == SHARED_UNITS * (CLAIMANTS - 1)  # every losing claim, once
    owner_of = dict(DeliveredUnit.objects.values_list("unit_hash", "order_id"))
    for unit, claimant, owner in incidents.values_list("unit_hash", "order_id", "other_order_id"):
        assert owner == owner_of[unit] != claimant


@pytest.mark.postgres
@postgres_only
def test_postgres_orders_claiming_the_same_units_at_once_each_get_a_unit_once(seeded):
    _concurrent_unit_claims(seeded)


@sqlite_only
def test_sqlite_orders_claiming_the_same_units_at_once_each_get_a_unit_once(seeded):
    _concurrent_unit_claims(seeded)
