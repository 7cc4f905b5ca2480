"""Reads of orders, always scoped to their customer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import (
    BigIntegerField,
    Count,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from doudesk.accounts.models import Customer
from doudesk.catalog.models import ServiceModule
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
from doudesk.wallet.selectors import wallet_order_money_by_day

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


# The customer's dashboard (数据看板) ------------------------------------------------------------

#: Days the dashboard looks back over, today included.
DASHBOARD_DAYS = 30
#: Orders begun and not finished, in the order an order passes through them.
UNDER_WAY = (OrderStatus.PENDING, OrderStatus.PROCESSING, OrderStatus.IN_PROGRESS)
OUTCOMES = (OrderStatus.COMPLETED, OrderStatus.PARTIAL, OrderStatus.CANCELED)
PIPELINE = (*UNDER_WAY, *OUTCOMES)


@dataclass(frozen=True)
class StatusCount:
    """How many orders are (or ended) in one status."""

    status: str
    count: int

    @property
    def label(self) -> str:
        """The status as the pages name it, in the active language."""
        return str(OrderStatus(self.status).label)


@dataclass(frozen=True)
class DashboardDay:
    """One (Beijing) day: units delivered, fen charged for orders and fen given back."""

    day: date
    units: int
    charged_fen: int
    refunded_fen: int


@dataclass(frozen=True)
class ModuleDelivery:
    """Units of one service delivered on each day of the dashboard (aligned with its days)."""

    module: ServiceModule
    per_day: tuple[int, ...]

    @property
    def units(self) -> int:
        return sum(self.per_day)


@dataclass(frozen=True)
class Dashboard:
    """A customer's orders from order to delivered result: now, and over the last days.

    ``pipeline`` counts every order in each status now, ``finished`` those that ended within
    the days shown; both as "my orders" lists them: a growth plan's days that have not begun
    are ``scheduled_days`` instead, and days cancelled before they began are not counted (their
    refund is, in the money).
    """

    days: tuple[DashboardDay, ...]
    pipeline: tuple[StatusCount, ...]
    finished: tuple[StatusCount, ...]
    scheduled_days: int
    modules: tuple[ModuleDelivery, ...]

    @property
    def first_day(self) -> date:
        return self.days[0].day

    @property
    def last_day(self) -> date:
        return self.days[-1].day

    @property
    def under_way(self) -> int:
        """Orders begun and not finished: waiting to be sent, being processed, in progress."""
        return sum(c.count for c in self.pipeline if c.status in UNDER_WAY)

    @property
    def has_orders(self) -> bool:
        """Whether the customer ever placed an order (a new customer sees a welcome instead)."""
        return self.scheduled_days > 0 or any(c.count for c in self.pipeline)

    @property
    def charged_fen(self) -> int:
        return sum(d.charged_fen for d in self.days)

    @property
    def refunded_fen(self) -> int:
        return sum(d.refunded_fen for d in self.days)

    @property
    def spent_fen(self) -> int:
        """What the orders cost over the days shown: charged less what came back."""
        return self.charged_fen - self.refunded_fen

    @property
    def units_delivered(self) -> int:
        return sum(d.units for d in self.days)

    @property
    def deliveries(self) -> list[tuple[date, ServiceModule, int]]:
        """Return each day's units per service, the days in order, leaving out nothing but 0."""
        return [
            (day.day, delivery.module, delivery.per_day[n])
            for n, day in enumerate(self.days)
            for delivery in self.modules
            if delivery.per_day[n]
        ]


def _delivered_of_event() -> Cast:
    """Return an event's ``data["delivered"]``: the order's delivered count at the time."""
    return Cast(KT("data__delivered"), BigIntegerField())


def _counting_events() -> QuerySet[OrderEvent]:
    """Events that record an order's delivered count (progress steps and the final status)."""
    return OrderEvent.objects.filter(data__has_key="delivered").order_by()


def order_delivery_by_day(*, customer: Customer, since: datetime) -> dict[tuple[int, date], int]:
    """Return the units of the customer's orders delivered per (module id, local day).

    From the orders' own record of progress, not their end: each event that records the
    delivered count (a progress step at every tenth of the quantity, the final status)
    delivered what it adds to the order's previous such event, on the day it was written. An
    open order's units counted since its last event (progress between the tenths is written
    without one) are added on the day the count was last written. So an order delivered over
    a week shows over that week, a finished order's days add up to what it delivered, and a
    final count below the progress reported takes the difference back on its last day.

    Two queries, each summed in the database (an event's previous count is a subquery on the
    order's events).
    """
    previous = Subquery(
        _counting_events()
        .filter(order_id=OuterRef("order_id"), pk__lt=OuterRef("pk"))
        .order_by("-pk")
        .values(units=_delivered_of_event())[:1]
    )
    steps = (
        _counting_events()
        .filter(order__customer=customer, created_at__gte=since)
        .annotate(day=TruncDate("created_at"), gained=_delivered_of_event() - Coalesce(previous, 0))
        .values("day", "order__module_id")
        .annotate(units=Sum("gained"))
    )
    last_recorded = Subquery(
        _counting_events()
        .filter(order_id=OuterRef("pk"))
        .order_by("-pk")
        .values(units=_delivered_of_event())[:1]
    )
    since_last_step = (
        Order.objects.filter(
            customer=customer,
            status__in=UNDER_WAY,
            updated_at__gte=since,
        )
        .order_by()
        .annotate(day=TruncDate("updated_at"), gained=F("delivered") - Coalesce(last_recorded, 0))
        .filter(gained__gt=0)
        .values("day", "module_id")
        .annotate(units=Sum("gained"))
    )
    delivered: dict[tuple[int, date], int] = {}
    for row in steps:
        key = (row["order__module_id"], row["day"])
        delivered[key] = delivered.get(key, 0) + row["units"]
    for row in since_last_step:
        key = (row["module_id"], row["day"])
        delivered[key] = delivered.get(key, 0) + row["units"]
    return {key: units for key, units in delivered.items() if units}


def order_status_counts(
    *, customer: Customer, finished_since: datetime
) -> tuple[dict[str, int], dict[str, int], int]:
    """Return the customer's orders per status, finished ones per outcome, and later plan days.

    The second counts the orders finished since ``finished_since``; the third a growth plan's
    days waiting for their day. Counted as "my orders" lists them (:func:`order_list_under_way`),
    in one query.
    """
    waiting, canceled_unbegun = _waiting_for_their_day(), _canceled_before_their_day()
    rows = (
        Order.objects.filter(customer=customer)
        .order_by()
        .values("status")
        .annotate(
            listed=Count("pk", filter=~waiting & ~canceled_unbegun),
            finished=Count(
                "pk",
                filter=Q(status__in=OUTCOMES, finished_at__gte=finished_since) & ~canceled_unbegun,
            ),
            later=Count("pk", filter=waiting),
        )
    )
    listed: dict[str, int] = {}
    finished: dict[str, int] = {}
    later = 0
    for row in rows:
        listed[row["status"]] = row["listed"]
        finished[row["status"]] = row["finished"]
        later += row["later"]
    return listed, finished, later


def dashboard_get(*, customer: Customer, now: datetime | None = None) -> Dashboard:
    """Return the customer's dashboard: their orders now and over the last 30 Beijing days.

    The days run from midnight 29 days ago to today, in the site's zone (Asia/Shanghai), as
    every page shows times; the database groups by that zone's day. Delivery comes from each
    order's progress events (:func:`order_delivery_by_day`), money from the wallet's journal
    (:func:`doudesk.wallet.selectors.wallet_order_money_by_day`). A bounded number of queries
    (four, and one for the names of the services delivered), whatever the number of orders.
    """
    today = timezone.localdate(now or timezone.now())
    first_day = today - timedelta(days=DASHBOARD_DAYS - 1)
    since = timezone.make_aware(datetime.combine(first_day, time()))
    listed, finished, later = order_status_counts(customer=customer, finished_since=since)
    money = wallet_order_money_by_day(customer=customer, since=since)
    delivered = order_delivery_by_day(customer=customer, since=since)
    days = [first_day + timedelta(days=n) for n in range(DASHBOARD_DAYS)]
    units_per_day = {day: 0 for day in days}
    for (_module_id, day), units in delivered.items():
        if day in units_per_day:
            units_per_day[day] += units
    # In the catalogue's order; no query when nothing was delivered.
    delivered_modules = {module_id for module_id, _day in delivered}
    modules = list(ServiceModule.objects.filter(pk__in=delivered_modules)) if delivered else []
    return Dashboard(
        days=tuple(
            DashboardDay(
                day=day,
                units=units_per_day[day],
                charged_fen=money.get(day, (0, 0))[0],
                refunded_fen=money.get(day, (0, 0))[1],
            )
            for day in days
        ),
        pipeline=tuple(StatusCount(s, listed.get(s, 0)) for s in PIPELINE),
        finished=tuple(StatusCount(s, finished.get(s, 0)) for s in OUTCOMES),
        scheduled_days=later,
        modules=tuple(
            ModuleDelivery(module, tuple(delivered.get((module.pk, day), 0) for day in days))
            for module in modules
        ),
    )
