"""The order state machine: the one place order statuses change.

A transition is a conditional ``UPDATE ... WHERE status = <from>``: if another process moved the
order first, nothing is written and :class:`StaleTransition` is raised. Every transition writes an
``OrderEvent`` and a transparency-log leaf in the caller's transaction.

    pending ──▶ in_progress ⇄ processing
       │             │             │
       └─────────────┴─────────────┴──▶ completed | partial | canceled   (final)
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone

from doudesk.ledger.services import ledger_record
from doudesk.orders.models import TERMINAL_STATUSES, Order, OrderEvent
from doudesk.orders.models import OrderStatus as S
from doudesk.rowinsert import row_insert

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.IN_PROGRESS, S.PROCESSING, S.COMPLETED, S.PARTIAL, S.CANCELED}),
    S.IN_PROGRESS: frozenset({S.PROCESSING, S.COMPLETED, S.PARTIAL, S.CANCELED}),
    S.PROCESSING: frozenset({S.IN_PROGRESS, S.COMPLETED, S.PARTIAL, S.CANCELED}),
    S.COMPLETED: frozenset(),
    S.PARTIAL: frozenset(),
    S.CANCELED: frozenset(),
}


#: Event data for operators only (the admin shows it; customers' API and the log do not):
#: which provider fulfils an order, the order's number there and the provider's own words.
#: In the public entries they told anyone each supplier's name and, by its numbers, its volume.
OPERATOR_ONLY = frozenset({"provider", "provider_order", "error"})
#: Event data kept out of the public log: the above; a deliverable's name, which is the
#: customer's business (the log keeps its file's hash); and the group (a package or plan) an
#: order belongs to and the day a plan's later order is scheduled for, which named the link
#: between one customer's orders outright. (Orders placed together still sit side by side in
#: the log, written in one transaction.)
KEPT_OUT_OF_LOG = OPERATOR_ONLY | {"deliverable", "group", "scheduled_for"}


#: ``reason`` of a final event when an order ends short: the customer cancelled it, or the
#: provider stopped, or the provider refused it (``rejected``, or ``rejected:<code>`` for the
#: codes a customer is told: ``orders.services.CUSTOMER_REFUSAL_CODES``; the provider's code
#: and words go under ``error``, for operators only). Any other reason is an older event's
#: refusal in the provider's own words.
CUSTOMER_STOPPED = "customer"
PROVIDER_STOPPED = "provider"
PROVIDER_REJECTED = "rejected"
_OWN_REASONS = (CUSTOMER_STOPPED, PROVIDER_STOPPED, PROVIDER_REJECTED)


def customer_event_data(data: dict[str, Any]) -> dict[str, Any]:
    """Return an event's data as its customer sees it: without :data:`OPERATOR_ONLY` keys.

    An older refusal's reason (the provider's own words) reads ``rejected``.
    """
    shown = {key: value for key, value in data.items() if key not in OPERATOR_ONLY}
    reason = shown.get("reason")
    if isinstance(reason, str) and reason.split(":", 1)[0] not in _OWN_REASONS:
        shown["reason"] = PROVIDER_REJECTED
    return shown


class StaleTransition(Exception):
    """The order was not in the expected status any more (someone else moved it)."""


def can_transition(from_status: str, to_status: str) -> bool:
    """Whether the table allows ``from_status`` → ``to_status``."""
    return to_status in TRANSITIONS.get(from_status, frozenset())


def record_event(
    order: Order,
    kind: str,
    *,
    from_status: str = "",
    to_status: str = "",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    """Write an ``OrderEvent`` and its transparency-log leaf."""
    data = data or {}
    event = row_insert(
        OrderEvent,
        order=order,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        data=data,
    )
    leaf: dict[str, Any] = {
        "type": kind,
        "order": order.pk,
        "event": event.pk,
        "time": event.created_at.isoformat(),
        **{key: value for key, value in data.items() if key not in KEPT_OUT_OF_LOG},
    }
    if to_status:
        leaf["status"] = to_status
    ledger_record(event=leaf, order_id=order.pk)
    return event


def _update_if_status(
    order_id: int, from_status: str, values: dict[str, Any], *, delivered: int | None = None
) -> bool:
    """Set the order's ``values`` (by field name) if it is still ``from_status``; whether it did.

    With ``delivered``, only if its delivered count is still that too. Written out (each value
    prepared by its field, as the ORM does) rather than built by the ORM: every order moves
    through several transitions, and compiling the queryset cost the worker several times the
    statement.
    """
    quote = connection.ops.quote_name
    fields = [Order._meta.get_field(name) for name in values]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    condition = "id = %s AND status = %s"
    conditions = [order_id, from_status]
    if delivered is not None:
        condition += " AND delivered = %s"
        conditions.append(delivered)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Order._meta.db_table)} SET {assignments} WHERE {condition}",
            [*params, *conditions],
        )
        return cursor.rowcount == 1


def transition(
    order: Order,
    to_status: str,
    *,
    kind: str,
    data: dict[str, Any] | None = None,
    unchanged_since_read: bool = False,
    **fields: Any,
) -> OrderEvent:
    """Move ``order`` to ``to_status`` (and set ``fields``) if it is still where we saw it.

    "Where we saw it" is its status; with ``unchanged_since_read`` also its delivered count, for
    a caller that read the order without a lock and sets a count derived from it.
    """
    from_status = order.status
    if not can_transition(from_status, to_status):
        raise StaleTransition(f"order {order.pk}: {from_status} → {to_status} not allowed")
    now = timezone.now()
    if to_status in TERMINAL_STATUSES:
        fields["finished_at"] = now
    if not _update_if_status(
        order.pk,
        from_status,
        {"status": to_status, "updated_at": now, **fields},
        delivered=order.delivered if unchanged_since_read else None,
    ):
        raise StaleTransition(f"order {order.pk} is no longer {from_status}")
    order.status = to_status
    for name, value in fields.items():
        setattr(order, name, value)
    return record_event(order, kind, from_status=from_status, to_status=to_status, data=data)
