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
