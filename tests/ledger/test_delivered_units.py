"""No unit sold twice: attribution, double-selling incidents, provider health, the order flow."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from doudesk.catalog.models import GrowthPlan
from doudesk.ledger import selectors, services
from doudesk.ledger.models import DeliveredUnit, DoubleSellingIncident, LogLeaf
from doudesk.orders import services as orders
from doudesk.orders.models import OrderStatus
from doudesk.providers.adapters.base import ProviderOrderStatus, ProviderStatus
from doudesk.wallet.models import AccountKind
from doudesk.wallet.selectors import journal_total_fen
from doudesk.wallet.services import platform_account
from factories import ACCOUNT_URL, VIDEO_URL, module_id

pytestmark = pytest.mark.django_db


def place(customer, quantity=1_000):
    """Place a plays order."""
    return orders.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=quantity
    )


def units(prefix: str, n: int) -> list[str]:
    """``n`` distinct unit hashes."""
    return [f"{prefix}{i:060d}" for i in range(n)]


def unit_leaves(order) -> list[dict]:
    """Return the order's delivered_units leaves."""
    rows = LogLeaf.objects.filter(order=order).order_by("pk").values_list("leaf", flat=True)
    return [e for e in map(json.loads, rows) if e["type"] == "delivered_units"]


def test_a_unit_already_sold_to_another_order_is_refused_and_recorded(customer, other_customer):
    first, second = place(customer), place(other_customer)
    provider = first.provider
    a = units("a", 3)
    assert services.ledger_units_attribute(order=first, provider=provider, unit_hashes=a) == 3
    reused = [a[2], *units("b", 2)]
    assert services.ledger_units_attribute(order=second, provider=provider, unit_hashes=reused) == 2
    assert DeliveredUnit.objects.get(unit_hash=a[2]).order == first
    incident = DoubleSellingIncident.objects.get()
    assert (incident.order, incident.other_order, incident.unit_hash) == (second, first, a[2])
    assert incident.provider == provider
    # A cumulative re-report changes nothing and records no second incident.
    assert services.ledger_units_attribute(order=second, provider=provider, unit_hashes=reused) == 2
    assert DoubleSellingIncident.objects.count() == 1
    leaves = unit_leaves(second)
    assert [(e["credited"], e["refused"]) for e in leaves] == [(2, 1)]
    assert len(leaves[0]["units"]) == 64
    health = selectors.provider_health(provider=provider)
    assert (health.units, health.incidents) == (5, 1)
    assert health.score == pytest.approx(5 / 6, abs=1e-4)


def test_units_are_cleaned_and_deduplicated(customer):
    order = place(customer)
    raw = [" u1 ", "u1", "", "u2", "x" * 500, "has space"]
    assert (
        services.ledger_units_attribute(order=order, provider=order.provider, unit_hashes=raw) == 4
    )
    stored = set(DeliveredUnit.objects.values_list("unit_hash", flat=True))
    assert {"u1", "u2"} < stored
    assert sum(u.startswith("sha256:") for u in stored) == 2


def test_a_provider_without_reports_is_healthy(customer):
    order = place(customer)
    assert selectors.provider_health(provider=order.provider).score == 1.0


def test_the_order_flow_credits_only_units_no_other_order_owns(customer, other_customer):
    """A provider that resells another order's followers is paid only for the fresh ones."""
    earlier, order = place(customer), place(other_customer)
    sold = units("c", 400)
    services.ledger_units_attribute(order=earlier, provider=earlier.provider, unit_hashes=sold)
    delivered = sold[:100] + units("d", 900)  # 100 resold, 900 fresh
    report = ProviderOrderStatus(
        external_id="X1",
        status=ProviderStatus.COMPLETED,
        remains=0,
        delivered_units=tuple(delivered),
    )
    orders.order_apply_provider_status(order_id=order.pk, report=report)
    order.refresh_from_db()
    assert (order.status, order.delivered) == (OrderStatus.PARTIAL, 900)
    assert order.refunded_fen == order.charge_fen // 10
    assert DoubleSellingIncident.objects.filter(order=order).count() == 100
    assert selectors.order_units_credited(order=order) == 900


def test_the_public_log_does_not_name_providers_or_their_order_numbers(customer, fake_adapter):
    # Dispatch leaves published "provider":"sandbox","provider_order":"10001": each supplier's
    # name and, by its sequential numbers, its volume. The admin keeps them.
    order = place(customer)
    orders.order_dispatch(order_id=order.pk)
    order.refresh_from_db()
    services.ledger_units_attribute(order=order, provider=order.provider, unit_hashes=units("m", 3))
    leaves = [
        json.loads(text)
        for text in LogLeaf.objects.filter(order=order).values_list("leaf", flat=True)
    ]
    assert {leaf["type"] for leaf in leaves} >= {"placed", "dispatched", "delivered_units"}
    for leaf in leaves:
        assert not {"provider", "provider_order", "error"} & set(leaf)
    assert order.external_id not in {str(value) for leaf in leaves for value in leaf.values()}
    dispatched = order.events.get(kind="dispatched").data
    assert dispatched == {"provider": order.provider.code, "provider_order": order.external_id}


def test_the_public_log_does_not_tie_a_plans_orders_together(customer):
    # Each placed leaf carried "group": the plan's 30 orders were one customer's for anyone to
    # see, and so were their scheduled days, 24 hours apart to the microsecond.
    plan = GrowthPlan.objects.get(code="daily-followers")
    group = orders.growth_plan_order(customer=customer, plan=plan, target=ACCOUNT_URL)
    leaves = [
        json.loads(text)
        for text in LogLeaf.objects.filter(order__group=group).values_list("leaf", flat=True)
    ]
    assert len(leaves) == 30
    for leaf in leaves:
        assert leaf["type"] == "placed"
        assert not {"group", "scheduled_for"} & set(leaf)
    later = group.orders.order_by("pk").last().events.get(kind="placed").data
    assert later["group"] == group.pk  # the order's own events keep them
    assert "scheduled_for" in later


def test_a_provider_s_refusal_reaches_neither_the_log_nor_the_customer_s_api_in_its_words(
    customer, fake_adapter, api_key_for
):
    from django.test import Client

    from doudesk.providers.adapters.base import ProviderRejected

    order = place(customer)
    fake_adapter.place_error = ProviderRejected(
        "SuperPanel: no funds (acct 88231)", code="insufficient_funds"
    )
    orders.order_dispatch(order_id=order.pk)
    leaves = LogLeaf.objects.filter(order=order).values_list("leaf", flat=True)
    # Neither its words nor its code: that the platform's provider account ran dry is no one's
    # business outside.
    assert not [text for text in leaves if "88231" in text or "insufficient" in text]
    key = api_key_for(customer)

    def canceled_data() -> dict:
        events = (
            Client()
            .get(f"/api/v1/orders/{order.pk}/events", HTTP_AUTHORIZATION=f"Bearer {key}")
            .json()
        )
        return next(e for e in events if e["kind"] == "canceled")["data"]

    assert canceled_data()["reason"] == "rejected"
    assert "error" not in canceled_data()
    event = order.events.get(kind="canceled")
    assert event.data["error"] == "insufficient_funds: SuperPanel: no funds (acct 88231)"
    # An older refusal kept the provider's words as its reason: the customer's API hides them.
    event.data = {**event.data, "reason": "Incorrect link (acct 77)"}
    event.save(update_fields=["data"])
    assert canceled_data()["reason"] == "rejected"


@pytest.mark.parametrize(("resold", "cost_fen"), [(100, 1_080), (900, 120)])
def test_a_provider_is_not_paid_for_units_it_resold(customer, other_customer, resold, cost_fen):
    # Its whole bill (¥12 for 1,000 units) used to be booked: at 900 resold units the
    # platform's revenue on the order was -¥10.42.
    earlier, order = place(customer), place(other_customer)
    sold = units("g", resold)
    services.ledger_units_attribute(order=earlier, provider=earlier.provider, unit_hashes=sold)
    report = ProviderOrderStatus(
        external_id="X3",
        status=ProviderStatus.COMPLETED,
        remains=0,
        charge=Decimal("12.00000"),
        currency="CNY",
        delivered_units=tuple(sold + units("h", 1_000 - resold)),
    )
    orders.order_apply_provider_status(order_id=order.pk, report=report)
    order.refresh_from_db()
    assert order.delivered == 1_000 - resold
    assert order.provider_cost_fen == cost_fen  # prorated to the units credited
    assert (order.provider_claim, order.provider_claim_disputed) == ("12.00000 CNY", True)
    assert journal_total_fen() == 0
    assert platform_account(AccountKind.PLATFORM_REVENUE).balance_fen >= 0


@pytest.mark.parametrize("status", [ProviderStatus.IN_PROGRESS, ProviderStatus.COMPLETED])
def test_a_provider_that_reports_units_is_not_paid_for_an_answer_without_them(customer, status):
    # A provider switched to reporting units was paid in full when its answer left them out.
    order = place(customer)
    order.provider.reports_units = True
    order.provider.save(update_fields=["reports_units"])
    owned = units("k", 300)
    services.ledger_units_attribute(order=order, provider=order.provider, unit_hashes=owned)
    report = ProviderOrderStatus(
        external_id="X4", status=status, remains=0, charge=Decimal("12.00"), currency="CNY"
    )
    orders.order_apply_provider_status(order_id=order.pk, report=report, seen=order)
    order.refresh_from_db()
    assert order.delivered == 300  # the units it named before, not the count it claims
    if status == ProviderStatus.COMPLETED:
        assert (order.status, order.refunded_fen) == (OrderStatus.PARTIAL, 1_120)
        assert order.provider_cost_fen == 360  # the bill prorated to 300 of 1,000 units


def test_progress_reports_with_units_cap_the_delivered_count(customer, other_customer):
    earlier, order = place(customer), place(other_customer)
    services.ledger_units_attribute(
        order=earlier, provider=earlier.provider, unit_hashes=units("e", 50)
    )
    report = ProviderOrderStatus(
        external_id="X2",
        status=ProviderStatus.IN_PROGRESS,
        remains=700,
        delivered_units=tuple(units("e", 50) + units("f", 250)),
    )
    orders.order_apply_provider_status(order_id=order.pk, report=report)
    order.refresh_from_db()
    assert (order.status, order.delivered) == (OrderStatus.IN_PROGRESS, 250)
