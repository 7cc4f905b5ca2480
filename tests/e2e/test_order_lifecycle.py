"""An order placed over real HTTP, driven by a real Celery worker through the sandbox provider.

Each test starts the sandbox provider on loopback with its own knobs, a Celery worker with beat
as a subprocess on the test database, and talks to ``live_server`` with httpx only; the money is
then checked against the database: the customer pays exactly for what was delivered, to the fen,
and every journal entry balances.
"""

from __future__ import annotations

import hashlib
import json
import time
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db.models import Sum

from doudesk.catalog.models import ServiceModule
from doudesk.ledger.models import DeliveredUnit, DoubleSellingIncident, LogLeaf
from doudesk.orders.models import Order
from doudesk.providers.models import Provider
from doudesk.wallet.models import JournalEntry, Leg
from doudesk.wallet.selectors import journal_total_fen, wallet_balances
from factories import ACCOUNT_URL, VIDEO_URL

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

START_FEN = 100_000  # the ``customer`` fixture's balance


def fen(yuan: str) -> int:
    """Parse an API amount (yuan, two places) into fen."""
    return int(Decimal(yuan) * 100)


def half_up_prorate(total_fen: int, part: int, whole: int) -> int:
    """``total × part ÷ whole`` rounded half-up to the fen, computed independently in Decimal."""
    exact = Decimal(total_fen) * part / whole
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def plays_id() -> int:
    """Return the seeded "video plays" module (¥16 per 1,000, min 500, step 100)."""
    return ServiceModule.objects.get(code="plays").pk


def assert_every_entry_balances() -> None:
    """Check that the journal as a whole and each of its entries sum to zero."""
    assert journal_total_fen() == 0
    unbalanced = (
        Leg.objects.values("entry").annotate(total=Sum("amount_fen")).exclude(total=0).count()
    )
    assert unbalanced == 0
    assert JournalEntry.objects.exists()


def place(client, quantity: int) -> dict:
    """``POST /api/v1/orders`` for the plays module; returns the 201 body."""
    response = client.post(
        "/api/v1/orders",
        json={"service_id": plays_id(), "target": VIDEO_URL, "quantity": quantity},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_an_order_placed_over_http_is_delivered_to_completed(platform, customer, api_key_for):
    plat = platform()
    client = plat.client(api_key_for(customer))
    placed = place(client, 1_000)
    assert placed["status"] == "pending"
    charge = fen(placed["charge"])
    assert charge == 1_600

    final = plat.wait_until_final(client, placed["id"])

    assert final["status"] == "completed"
    assert final["delivered"] == final["quantity"] == 1_000
    assert final["remains"] == 0
    assert fen(final["charge"]) == charge
    assert fen(final["refunded"]) == 0
    order = Order.objects.get(pk=placed["id"])
    assert order.external_id  # placed with the sandbox provider over HTTP
    assert list(order.events.values_list("kind", flat=True))[:2] == ["placed", "dispatched"]
    assert wallet_balances(customer=customer) == {
        "available_fen": START_FEN - charge,
        "held_fen": 0,
    }
    wallet = client.get("/api/v1/wallet").json()
    assert (fen(wallet["balance"]), fen(wallet["held"])) == (START_FEN - charge, 0)
    assert_every_entry_balances()


def test_a_partial_delivery_refunds_the_undelivered_remainder_to_the_fen(
    platform, customer, api_key_for
):
    plat = platform(partial_rate=1.0)
    key = api_key_for(customer)
    client = plat.client(key)
    quantity = 1_300  # ¥20.80: most partial counts leave a fraction of a fen to round
    placed = place(client, quantity)
    charge = fen(placed["held"])
    assert charge == 2_080

    final = plat.wait_until_final(client, placed["id"])

    assert final["status"] == "partial"
    delivered = final["delivered"]
    assert 0 < delivered < quantity
    paid = half_up_prorate(charge, delivered, quantity)
    refund = charge - paid
    assert fen(final["refunded"]) == refund
    assert fen(final["charge"]) == paid
    assert final["remains"] == quantity - delivered
    assert wallet_balances(customer=customer) == {"available_fen": START_FEN - paid, "held_fen": 0}
    order = Order.objects.get(pk=placed["id"])
    assert order.refunded_fen == refund
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds[-2:] == ["partial", "refunded"]

    v2 = client.post("/api/v2", data={"key": key, "action": "status", "order": placed["id"]})
    assert v2.status_code == 200
    assert v2.json() == {
        "charge": final["charge"],
        "start_count": str(final["start_count"]),
        "status": "Partial",
        "remains": str(quantity - delivered),
        "currency": "CNY",
    }
    assert_every_entry_balances()


def test_a_failed_delivery_is_canceled_with_a_full_refund(platform, customer, api_key_for):
    plat = platform(fail_rate=1.0)
    client = plat.client(api_key_for(customer))
    placed = place(client, 500)

    final = plat.wait_until_final(client, placed["id"])

    assert final["status"] == "canceled"
    assert final["delivered"] == 0
    assert final["refunded"] == final["held"] == placed["held"]
    assert fen(final["charge"]) == 0
    assert wallet_balances(customer=customer) == {"available_fen": START_FEN, "held_fen": 0}
    assert_every_entry_balances()


def test_a_provider_reporting_units_has_each_delivered_unit_attributed_once(
    platform, customer, api_key_for
):
    # With the provider's unit reports switched on, the live platform (not only the tests'
    # adapter) attributes every delivered unit to the order and commits to them in the log.
    Provider.objects.filter(is_sandbox=True).update(reports_units=True)
    plat = platform()
    client = plat.client(api_key_for(customer))
    placed = place(client, 1_000)

    final = plat.wait_until_final(client, placed["id"])

    assert (final["status"], final["delivered"]) == ("completed", 1_000)
    order = Order.objects.get(pk=placed["id"])
    assert DeliveredUnit.objects.filter(order=order).count() == 1_000
    assert not DoubleSellingIncident.objects.exists()
    leaves = [
        json.loads(text)
        for text in LogLeaf.objects.filter(order=order).values_list("leaf", flat=True)
    ]
    credited = [leaf["credited"] for leaf in leaves if leaf["type"] == "delivered_units"]
    assert sum(credited) == 1_000
    assert_every_entry_balances()


def test_a_sandbox_report_ends_with_its_sample_file_for_the_customer(
    platform, customer, api_key_for, settings, tmp_path
):
    # The worker keeps files under its own data directory; the live server serves them there.
    settings.MEDIA_ROOT = tmp_path / "worker-data" / "uploads"
    plat = platform()
    client = plat.client(api_key_for(customer))
    report = ServiceModule.objects.get(code="account-report").pk
    response = client.post(
        "/api/v1/orders", json={"service_id": report, "target": ACCOUNT_URL, "quantity": 1}
    )
    assert response.status_code == 201, response.text
    order_id = response.json()["id"]

    assert plat.wait_until_final(client, order_id)["status"] == "completed"
    deadline = time.monotonic() + 30  # the fetch task runs once the order settled
    while not (listed := client.get(f"/api/v1/orders/{order_id}/deliverables").json()):
        assert time.monotonic() < deadline, plat.worker_log()
        time.sleep(0.2)

    [sample] = listed
    assert sample["name"].startswith("沙盒样例：账号诊断报告")
    content = client.get(sample["download"]).content
    assert hashlib.sha256(content).hexdigest() == sample["sha256"]
    assert ACCOUNT_URL in content.decode()
