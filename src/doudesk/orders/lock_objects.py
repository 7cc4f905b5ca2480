"""Row locks for the order flow, always taken in the same order (orders by pk).

Only the order rows themselves are locked (``FOR UPDATE OF`` the order table), even when the
query joins the customer, provider or module with ``select_related``: a plain
``select_for_update()`` would lock those joined rows too, so a status sync holding a customer or
the (shared) provider row would block every new order's foreign-key check on them at commit and,
with the wallet's account locks, deadlock against order placement on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from doudesk.orders.models import Order
from doudesk.rowselect import row_get


def order_qs_select_for_update() -> QuerySet[Order]:
    """Orders locked for update (their rows only, not joined ones), in primary-key order."""
    return Order.objects.select_for_update(of=("self",)).order_by("pk")


def order_get_locked(order_id: int, *, related: Sequence[str] = ()) -> Order:
    """Return the order ``order_id`` locked for update (its row only) with ``related`` read in.

    The statement is written out (``row_get``): every status report that changes an order
    beyond plain progress, its completion included, runs it. Raises ``Order.DoesNotExist``.
    """
    order = row_get(Order, order_id, related=related, lock=True)
    if order is None:
        raise Order.DoesNotExist(f"no order {order_id}")
    return order
