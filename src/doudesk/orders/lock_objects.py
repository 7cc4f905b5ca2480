"""Row locks for the order flow, always taken in the same order (orders by pk)."""

from __future__ import annotations

from django.db.models import QuerySet

from doudesk.orders.models import Order


def order_qs_select_for_update() -> QuerySet[Order]:
    """Orders locked for update, in primary-key order."""
    return Order.objects.select_for_update().order_by("pk")
