"""Row locks for the order flow, always taken in the same order (orders by pk).

Only the order rows themselves are locked (``FOR UPDATE OF`` the order table), even when the
query joins the customer, provider or module with ``select_related``: a plain
``select_for_update()`` would lock those joined rows too, so a status sync holding a customer or
the (shared) provider row would block every new order's foreign-key check on them at commit and,
with the wallet's account locks, deadlock against order placement on PostgreSQL.
"""

from __future__ import annotations

from django.db.models import QuerySet

from doudesk.orders.models import Order


def order_qs_select_for_update() -> QuerySet[Order]:
    """Orders locked for update (their rows only, not joined ones), in primary-key order."""
    return Order.objects.select_for_update(of=("self",)).order_by("pk")
