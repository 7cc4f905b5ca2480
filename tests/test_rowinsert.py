"""The written-out one-row INSERT stores what the ORM would and returns the saved row."""

from __future__ import annotations

import pytest
from django.utils import timezone

from doudesk.ledger.models import LogLeaf
from doudesk.orders import services
from doudesk.orders.models import OrderEvent
from doudesk.rowinsert import row_insert
from factories import VIDEO_URL, module_id

pytestmark = pytest.mark.django_db


def test_a_row_is_inserted_with_each_value_prepared_by_its_field(customer):
    order = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
    )
    now = timezone.now()
    data = {"note": "中文", "nested": {"n": [1, 2.5, None, True]}}
    event = row_insert(OrderEvent, order=order, kind="probe", to_status="pending", data=data)
    assert event.pk is not None
    assert not event._state.adding
    stored = OrderEvent.objects.get(pk=event.pk)
    assert (stored.order_id, stored.kind, stored.from_status, stored.to_status, stored.data) == (
        order.pk, "probe", "", "pending", data,
    )  # fmt: skip
    assert stored.created_at == event.created_at >= now  # auto_now_add, as create() sets it
    leaf = row_insert(LogLeaf, leaf="{}", leaf_hash=b"\x00\xff" * 16, order_id=order.pk)
    stored_leaf = LogLeaf.objects.get(pk=leaf.pk)
    assert bytes(stored_leaf.leaf_hash) == b"\x00\xff" * 16
    assert (stored_leaf.index, stored_leaf.order_id) == (None, order.pk)
    assert stored_leaf.created_at == leaf.created_at >= now  # auto_now_add, as create() sets it
