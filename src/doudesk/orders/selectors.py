"""Reads of orders, always scoped to their customer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from doudesk.accounts.models import Customer
from doudesk.errors import DomainError
from doudesk.orders.error_codes import OrderErrorCode
from doudesk.orders.models import (
    GROUP_HOLD_REF,
    REFILL_INTERVAL,
    GuaranteePayout,
    Order,
    OrderEvent,
    OrderGroup,
    OrderStatus,
    Refill,
)

# A dispatch claim older than this is presumed dead (worker crashed mid-call) and may be retried.
CLAIM_TTL = timedelta(minutes=2)


def order_list(*, customer: Customer, status: str | None = None) -> QuerySet[Order]:
    """Return the customer's orders, newest first; ``status`` filters (a field error if unknown)."""
    if status and status not in OrderStatus.values:
        words = ", ".join(OrderStatus.values)
        raise DomainError.single(
            "status",
            OrderErrorCode.UNKNOWN_STATUS,
            f"未知的订单状态，可选：{words}",
            f"Unknown order status; use one of: {words}",
        )
    qs = Order.objects.filter(customer=customer).select_related("module", "group")
    return qs.filter(status=status) if status else qs


def order_get(*, customer: Customer, order_id: object) -> Order:
    """One of the customer's orders, or a 404 field error (also for other customers' orders)."""
    try:
        pk = int(str(order_id))
    except (TypeError, ValueError):
        pk = None
    order = (
        Order.objects.select_related("module", "customer", "group")
        .filter(pk=pk, customer=customer)
        .first()
        if pk is not None
        else None
    )
    if order is None:
        raise DomainError.single(
            "order", OrderErrorCode.NOT_FOUND, "订单不存在", "Order not found", status=404
        )
    return order


def orders_by_ids(*, customer: Customer, ids: Iterable[int]) -> dict[int, Order]:
    """Return the customer's orders among ``ids``, by id."""
    return {o.pk: o for o in Order.objects.filter(customer=customer, pk__in=list(ids))}


def order_refills(*, order: Order) -> QuerySet[Refill]:
    """Return the order's refill requests, oldest first."""
    return Refill.objects.filter(order=order).order_by("pk")


def order_guarantee_payouts(*, order: Order) -> QuerySet[GuaranteePayout]:
    """Return what the guarantee fund paid back for the order, oldest first."""
    return GuaranteePayout.objects.filter(order=order).order_by("pk")


def refill_next_at(*, refills: Sequence[Refill]) -> datetime | None:
    """Return when the order's next refill may be asked (one per 24 hours), or None if now.

    ``refills`` is the order's refills oldest first (:func:`order_refills`).
    """
    if not refills:
        return None
    next_at = refills[-1].created_at + REFILL_INTERVAL
    return next_at if next_at > timezone.now() else None


def refills_by_ids(*, customer: Customer, ids: Iterable[int]) -> dict[int, Refill]:
    """Return the customer's refills among ``ids``, by id."""
    refills = Refill.objects.filter(order__customer=customer, pk__in=list(ids))
    return {r.pk: r for r in refills}


def group_hold_labels_en(*, customer: Customer, refs: Iterable[str]) -> dict[str, str]:
    """Return the English label of the customer's groups whose holds are among journal ``refs``.

    Keyed by the hold's reference; one query, none when no ref is a group's hold.
    """
    ids = {int(match[1]) for ref in refs if (match := GROUP_HOLD_REF.fullmatch(ref))}
    if not ids:
        return {}
    groups = OrderGroup.objects.filter(customer=customer, pk__in=ids).exclude(label_en="")
    return {group.hold_ref: group.label_en for group in groups.only("pk", "label_en")}


def order_events(*, order: Order) -> QuerySet[OrderEvent]:
    """Return the order's timeline, oldest first."""
    return order.events.order_by("pk")


def _waiting_for_their_day() -> Q:
    """Orders scheduled for a later day and not sent yet (the rest of a growth plan)."""
    return Q(status=OrderStatus.PENDING, external_id="", scheduled_for__gt=timezone.now())


def orders_waiting_for_their_day(*, group_id: int) -> QuerySet[Order]:
    """Return the orders of a group scheduled for a later day and not sent yet (a plan's rest)."""
    return Order.objects.filter(_waiting_for_their_day(), group_id=group_id)


def _canceled_before_their_day() -> Q:
    """Days of a plan cancelled before they began: never sent, refunded in full."""
    return Q(
        status=OrderStatus.CANCELED,
        external_id="",
        delivered=0,
        group__isnull=False,
        scheduled_for__isnull=False,
    )


def order_list_under_way(*, customer: Customer) -> QuerySet[Order]:
    """Return the customer's orders, newest first, but a plan's days that have not begun.

    A 30-day growth plan places 30 orders at once; "my orders" lists the days that have begun
    and sums up the rest per plan (:func:`plans_later_days`), and likewise the days cancelled
    before they began (:func:`plans_canceled_days`).
    """
    return (
        order_list(customer=customer)
        .exclude(_waiting_for_their_day())
        .exclude(_canceled_before_their_day())
    )


@dataclass(frozen=True)
class PlanDays:
    """Some days of a plan: how many, from and to which day, at what charge in all."""

    group: OrderGroup
    first_order_id: int
    count: int
    first_day: datetime
    last_day: datetime
    charge_fen: int


def plans_later_days(*, customer: Customer) -> list[PlanDays]:
    """Return, per group of the customer's, its orders waiting for a later day; newest first.

    ``first_order_id`` is the group's first order, whose page cancels the rest of the plan.
    """
    return _plan_days(customer, _waiting_for_their_day())


def plans_canceled_days(*, customer: Customer) -> list[PlanDays]:
    """Return, per group of the customer's, its days cancelled before they began; newest first.

    Their charge was refunded in full (nothing was sent).
    """
    return _plan_days(customer, _canceled_before_their_day())


def _plan_days(customer: Customer, days: Q) -> list[PlanDays]:
    rows = list(
        Order.objects.filter(days, customer=customer, group__isnull=False)
        .values("group_id")
        .annotate(
            count=Count("pk"),
            first_day=Min("scheduled_for"),
            last_day=Max("scheduled_for"),
            charge_fen=Sum("charge_fen"),
        )
        .order_by("-group_id")
    )
    groups = OrderGroup.objects.in_bulk([r["group_id"] for r in rows])
    first_orders = dict(
        Order.objects.filter(group_id__in=groups)
        .values("group_id")
        .annotate(first=Min("pk"))
        .values_list("group_id", "first")
    )
    return [
        PlanDays(
            group=groups[r["group_id"]],
            first_order_id=first_orders[r["group_id"]],
            count=r["count"],
            first_day=r["first_day"],
            last_day=r["last_day"],
            charge_fen=r["charge_fen"],
        )
        for r in rows
    ]


def scheduled_in_group(*, order: Order) -> int:
    """Count the orders of ``order``'s group still waiting for their day (0 without a group)."""
    if order.group_id is None:
        return 0
    return orders_waiting_for_their_day(group_id=order.group_id).count()


def orders_dispatch_due(*, now: datetime | None = None) -> QuerySet[Order]:
    """Return the orders to send to their provider now: pending, unsent, unclaimed, due."""
    now = now or timezone.now()
    return (
        Order.objects.filter(
            status=OrderStatus.PENDING,
            external_id="",
            cancel_requested_at__isnull=True,
            dispatch_uncertain_at__isnull=True,
        )
        .filter(Q(dispatch_claimed_at__isnull=True) | Q(dispatch_claimed_at__lt=now - CLAIM_TTL))
        .filter(Q(scheduled_for__isnull=True) | Q(scheduled_for__lte=now))
    )
