"""The manual adapter: an operator records delivery in the admin; the rest is refunded."""

from __future__ import annotations

import pytest
from django.urls import reverse

from doudesk.orders import services
from doudesk.orders.models import Order
from doudesk.wallet.selectors import journal_total_fen
from doudesk.wallet.services import provider_account
from factories import ACCOUNT_URL, module_id

pytestmark = pytest.mark.django_db


def test_an_operator_records_delivery_by_hand_and_the_rest_is_refunded(customer, admin_client):
    order = services.order_place(
        customer=customer, service_id=module_id("lbs-store-visit"), target=ACCOUNT_URL, quantity=3
    )
    assert services.order_dispatch(order_id=order.pk) == "dispatched"
    order.refresh_from_db()
    assert order.external_id.startswith("M-")
    deliver = reverse("admin:orders_order_deliver", args=[order.pk])

    assert admin_client.post(deliver, {"delivered": "2"}).status_code == 302
    order.refresh_from_db()
    assert (order.status, order.delivered) == ("in_progress", 2)

    # Delivered units are not taken back: a lower count is refused on the form.
    page = admin_client.post(deliver, {"delivered": "1", "final": "on"})
    assert page.status_code == 200
    assert "交付数量不能少于已记录的 2" in page.content.decode()
    order.refresh_from_db()
    assert (order.status, order.delivered) == ("in_progress", 2)

    over = admin_client.post(deliver, {"delivered": "5"})  # it used to be cut to 3 silently
    assert "交付数量不能超过订单数量 3" in over.content.decode()

    final = {"delivered": "2", "final": "on", "cost": "150.00"}
    assert admin_client.post(deliver, final).status_code == 302
    order = Order.objects.get(pk=order.pk)
    assert (order.status, order.delivered) == ("partial", 2)
    assert order.refunded_fen == order.charge_fen - order.charge_fen * 2 // 3
    assert order.provider_cost_fen == 15_000  # what the provider bills becomes its payable
    assert provider_account(order.provider).balance_fen == 15_000
    assert journal_total_fen() == 0

    again = admin_client.post(deliver, {"delivered": "3", "final": "on"})  # said "done" before
    assert "订单已结束，不能再记录交付" in again.content.decode()
    assert Order.objects.get(pk=order.pk).delivered == 2


def test_a_provider_cost_the_settlement_could_not_book_as_meant_is_refused(customer, admin_client):
    # Three store visits; the customer pays for two, less the guarantee fund's 1 %.
    order = services.order_place(
        customer=customer, service_id=module_id("lbs-store-visit"), target=ACCOUNT_URL, quantity=3
    )
    services.order_dispatch(order_id=order.pk)
    deliver = reverse("admin:orders_order_deliver", args=[order.pk])
    paid = order.charge_fen * 2 // 3  # whole yuan here, so no rounding
    most = paid - (paid + 50) // 100

    exponent = admin_client.post(deliver, {"delivered": "2", "final": "on", "cost": "1e2"})
    assert "最多两位小数" in exponent.content.decode()  # it was read as ¥100
    for typed in ("-5", "0.001"):
        refused = admin_client.post(deliver, {"delivered": "2", "final": "on", "cost": typed})
        assert "最多两位小数" in refused.content.decode()
    early = admin_client.post(deliver, {"delivered": "2", "cost": "10"})
    assert "服务商费用在交付结束时填写" in early.content.decode()  # it used to be dropped
    missing = admin_client.post(deliver, {"delivered": "2", "final": "on"})
    assert "请填写服务商费用（无费用填 0）" in missing.content.decode()  # booked ¥0 unseen
    over = {"delivered": "2", "final": "on", "cost": f"{(most + 1) / 100:.2f}"}
    page = admin_client.post(deliver, over).content.decode()
    assert f"服务商费用不能超过 ¥{most / 100:,.2f}" in page
    order.refresh_from_db()
    assert (order.status, order.delivered, order.provider_cost_fen) == ("pending", 0, 0)

    exact = {"delivered": "2", "final": "on", "cost": f"{most / 100:.2f}"}
    assert admin_client.post(deliver, exact).status_code == 302
    order.refresh_from_db()
    assert (order.status, order.provider_cost_fen) == ("partial", most)
    assert journal_total_fen() == 0


def test_a_final_delivery_of_nothing_needs_no_cost(customer, admin_client):
    order = services.order_place(
        customer=customer, service_id=module_id("lbs-store-visit"), target=ACCOUNT_URL, quantity=3
    )
    services.order_dispatch(order_id=order.pk)
    deliver = reverse("admin:orders_order_deliver", args=[order.pk])
    assert admin_client.post(deliver, {"delivered": "0", "final": "on"}).status_code == 302
    order.refresh_from_db()
    assert (order.status, order.refunded_fen) == ("canceled", order.charge_fen)
