"""Orders: placement, dispatch, status sync, settlement, cancel and refill.

Design overview
---------------
* **Place.** Everything the customer sent is validated before any write (module, quantity, link,
  options, quote). Then one durable transaction creates the order, holds its charge
  (customer cash → customer hold) and records the ``placed`` event and log leaf. After commit a
  dispatch round is sent to the worker unless one is already waiting (it will see the order),
  so a burst of orders costs one task; a failed check writes nothing.
* **Dispatch.** A round sends every order due at that moment. A worker claims each order with a
  conditional update (so two workers never place it twice), calls the provider outside any
  transaction, and records the provider's id. An order the provider cannot take for now gets
  its own task, which retries with backoff; the sync re-dispatches any order left behind.
* **Sync.** The beat asks providers about open orders in batches; each answer is applied in its
  own transaction through the state machine in ``transitions``. Refills sent to a provider are
  asked about the same way until the provider says they are done, rejected or failed.
* **Settle.** A final status releases the hold in one balanced entry: the delivered units' price
  (``Order.units_charge_fen``: at the order's rate, half-up to the fen once) goes to the
  provider's payable, the guarantee fund and platform revenue; the undelivered remainder
  returns to the customer's cash.
  A final answer naming deliverables (files the provider hands over) sends a task that fetches
  and keeps them after the commit (``deliverables.order_provider_deliverables_fetch``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from doudesk.accounts.models import Customer
from doudesk.accounts.services import customer_require_verified
from doudesk.catalog import targets
from doudesk.catalog.models import GrowthPlan, Package, ServiceModule
from doudesk.catalog.selectors import bundle_get, module_get
from doudesk.catalog.services import order_request_validate
from doudesk.errors import DomainError, FieldError
from doudesk.ledger.services import ledger_units_attribute
from doudesk.oncommit import enqueue_on_commit, send_on_commit
from doudesk.orders.error_codes import OrderErrorCode as Code
from doudesk.orders.lock_objects import order_get_locked, order_qs_select_for_update
from doudesk.orders.models import (
    REFILL_INTERVAL,
    TERMINAL_STATUSES,
    DispatchRound,
    IdempotencyRecord,
    Order,
    OrderGroup,
    OrderStatus,
    Refill,
    RefillStatus,
)
from doudesk.orders.selectors import CLAIM_TTL, orders_dispatch_due, orders_waiting_for_their_day
from doudesk.orders.transitions import (
    CUSTOMER_STOPPED,
    PROVIDER_REJECTED,
    PROVIDER_STOPPED,
    StaleTransition,
    record_event,
    transition,
)
from doudesk.pricing.engine import rate_round
from doudesk.pricing.models import Quote
from doudesk.pricing.selectors import PRICING_RELATED
from doudesk.pricing.services import quote_create, quote_take
from doudesk.providers.adapters.base import (
    ProviderError,
    ProviderOrderStatus,
    ProviderRefillStatus,
    ProviderRejected,
    ProviderStatus,
)
from doudesk.providers.models import Provider
from doudesk.providers.registry import (
    OPERATOR_DRIVEN_ADAPTERS,
    adapter_for,
    is_operator_driven,
)
from doudesk.rowinsert import row_insert
from doudesk.rowselect import rows_select
from doudesk.wallet.models import AccountKind
from doudesk.wallet.money import (
    CURRENCY,
    prorate_fen,
    rate_str,
    yuan_label,
    yuan_str,
    yuan_to_fen,
)
from doudesk.wallet.services import (
    accounts_get,
    customer_accounts,
    customer_spec,
    journal_post,
    platform_spec,
    provider_spec,
)

logger = logging.getLogger(__name__)

# Orders not dispatched this long after placement are picked up again by the sync.
REDISPATCH_AFTER = timedelta(seconds=30)
# A dispatch round sent this long ago and not started is presumed lost: placements send another.
ROUND_LOST_AFTER = timedelta(seconds=10)
# Orders one dispatch round sends at most; when there are more, it sends another round first,
# so a burst is spread over the worker's threads (a slow provider's calls do not queue in one).
ROUND_SIZE = 10
# Seconds before an order a round could not send (a transient provider error) is tried again.
ROUND_RETRY_SECONDS = 2
# A round still sending this long after it claimed its orders gives the rest to another round:
# well within CLAIM_TTL, so no order is sent on a claim that may have expired meanwhile.
ROUND_SEND_WITHIN = CLAIM_TTL / 2
# Share of every delivered charge set aside for the guarantee fund, in percent.
GUARANTEE_PERCENT = 1
#: Refusal codes a customer is told (their link or quantity); the others (the provider's funds,
#: keys, services) are the platform's business, and the reason says only ``rejected``.
CUSTOMER_REFUSAL_CODES = frozenset({"invalid_link", "invalid_quantity"})
STATUS_BATCH = 100
# One refill request per order in this interval: the provider needs time to top the count up.

_PROVIDER_TO_REFILL = {
    ProviderRefillStatus.PENDING: RefillStatus.SENT,
    ProviderRefillStatus.IN_PROGRESS: RefillStatus.IN_PROGRESS,
    ProviderRefillStatus.COMPLETED: RefillStatus.COMPLETED,
    ProviderRefillStatus.REJECTED: RefillStatus.REJECTED,
    ProviderRefillStatus.ERROR: RefillStatus.ERROR,
}
#: Refill status changes that are events of the order (timeline and transparency log).
REFILL_EVENTS = {
    RefillStatus.COMPLETED: "refill_completed",
    RefillStatus.REJECTED: "refill_rejected",
    RefillStatus.ERROR: "refill_failed",
}

_PROVIDER_TO_ORDER = {
    ProviderStatus.PENDING: OrderStatus.PENDING,
    ProviderStatus.IN_PROGRESS: OrderStatus.IN_PROGRESS,
    ProviderStatus.PROCESSING: OrderStatus.PROCESSING,
    ProviderStatus.COMPLETED: OrderStatus.COMPLETED,
    ProviderStatus.PARTIAL: OrderStatus.PARTIAL,
    ProviderStatus.CANCELED: OrderStatus.CANCELED,
}


@dataclass
class OrderLine:
    """One validated order request, ready to be written."""

    module: ServiceModule
    target: targets.Target | None
    quantity: int
    options: dict[str, Any]
    quote: Quote | None = None
    charge_fen: int | None = None
    scheduled_for: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _order_not_found() -> DomainError:
    return DomainError.single("order", Code.NOT_FOUND, "订单不存在", "Order not found", status=404)


def order_ledger_salt(customer: Customer, order_id: int) -> str:
    """Return the salt of an order's public log leaves: the customer's secret salt and the order.

    Salted per order, the hashes that name the customer and the link differ from one order to
    the next, so the public log does not tie a customer's orders together; the customer's salt
    (disclosed in their own evidence bundle) opens each.
    """
    return f"{customer.ledger_salt}:{order_id}"


def customer_public_hash(customer: Customer, order_id: int) -> str:
    """Return the customer's id as it appears in an order's public log leaves."""
    salt = order_ledger_salt(customer, order_id)
    return hashlib.sha256(f"{salt}:{customer.pk}".encode()).hexdigest()


def order_line_prepare(
    *,
    customer: Customer,
    service_id: Any,
    target: Any,
    quantity: Any,
    quote_id: Any = None,
    options: Any = None,
) -> OrderLine:
    """Validate one order request without writing anything but, on a bad quote, a fresh quote."""
    module = module_get(module_id=service_id, related=PRICING_RELATED)
    parsed, normalized = order_request_validate(
        module=module, target=target, quantity=quantity, options=options
    )
    quote = None
    if quote_id not in (None, ""):
        quote = quote_take(
            customer=customer, quote_id=str(quote_id), module=module, quantity=quantity
        )
    return OrderLine(
        module=module, target=parsed, quantity=quantity, options=normalized, quote=quote
    )


def _order_create(customer: Customer, line: OrderLine, *, group: OrderGroup | None) -> Order:
    """Write one order and its ``placed`` event; the caller holds the funds."""
    quote = line.quote or quote_create(
        customer=customer, module=line.module, quantity=line.quantity
    )
    charge = quote.total_fen if line.charge_fen is None else line.charge_fen
    # A bundle's line is charged its share of the bundle's price: its rate is what that share
    # comes to, not the list price its quote shows.
    unit_rate = quote.unit_rate if charge == quote.total_fen else _rate_of(charge, line.quantity)
    target_url = line.target.url if line.target else ""
    order = row_insert(
        Order,
        customer=customer,
        module=line.module,
        group=group,
        quote=quote,
        target=target_url,
        target_kind=line.module.target_kind,
        quantity=line.quantity,
        unit_rate=unit_rate,
        charge_fen=charge,
        options=line.options,
        provider=line.module.provider,
        scheduled_for=line.scheduled_for,
        remains=line.quantity,
    )
    record_event(
        order,
        "placed",
        to_status=OrderStatus.PENDING,
        data={
            "customer": customer_public_hash(customer, order.pk),
            "service": line.module.pk,
            "target": (
                targets.target_hash(line.target, salt=order_ledger_salt(customer, order.pk))
                if line.target and line.target.url
                else ""
            ),
            "quantity": line.quantity,
            "price": yuan_str(charge),
            "unit_rate": rate_str(unit_rate),
            "quote": quote.pk,
            **({"group": group.pk} if group else {}),
            **({"scheduled_for": line.scheduled_for.isoformat()} if line.scheduled_for else {}),
        },
    )
    if line.scheduled_for is None or line.scheduled_for <= timezone.now():
        send_on_commit(order_dispatch_soon)
    return order


def _rate_of(charge_fen: int, quantity: int) -> Decimal:
    """Return the rate per 1,000 units (yuan, 4 places) of ``quantity`` units at ``charge_fen``."""
    return rate_round(Decimal(charge_fen) * 10 / quantity)


def _hold(
    customer: Customer, amount_fen: int, *, ref: str, memo: str, order_id: int | None
) -> None:
    cash, hold = customer_accounts(customer)
    journal_post(
        ref=ref,
        kind="order_hold",
        memo=memo,
        order_id=order_id,
        legs=[(cash, -amount_fen), (hold, amount_fen)],
    )


def _quote_conflict(exc: IntegrityError, line: OrderLine) -> DomainError:
    if line.quote is not None and Order.objects.filter(quote_id=line.quote.pk).exists():
        return DomainError.single(
            "quote_id", "quote_used", "报价已被使用", "Quote has already been used", status=409
        )
    raise exc


def order_place(
    *,
    customer: Customer,
    service_id: Any,
    target: Any,
    quantity: Any,
    quote_id: Any = None,
    options: Any = None,
    confirmed_total: Any = None,
    confirmation_required: bool = False,
) -> Order:
    """Place one order: validate, then create it and hold its charge in one transaction.

    ``confirmed_total`` (yuan) is the amount the customer was shown and confirmed; an order
    that would be charged anything else is refused (:func:`check_confirmed_total`), and with
    ``confirmation_required`` (a form) so is one whose amount was never shown.
    """
    customer_require_verified(customer)
    confirmed_fen = confirmed_total_fen(confirmed_total)
    line = order_line_prepare(
        customer=customer,
        service_id=service_id,
        target=target,
        quantity=quantity,
        quote_id=quote_id,
        options=options,
    )
    try:
        with transaction.atomic(durable=True):
            order = _order_place_line(customer, line)
            check_confirmed_total(confirmed_fen, order.charge_fen, required=confirmation_required)
            return order
    except IntegrityError as exc:
        raise _quote_conflict(exc, line) from exc


def confirmed_total_fen(value: Any) -> int | None:
    """Read the total a customer confirmed (yuan, as shown); None when none was given."""
    if value in (None, ""):
        return None
    try:
        return yuan_to_fen(str(value).strip())
    except ValueError:
        raise DomainError.single(
            "total", Code.PRICE_CHANGED, "金额无效，请刷新页面", "Invalid amount; reload the page"
        ) from None


def check_confirmed_total(
    confirmed_fen: int | None, charge_fen: int, *, required: bool = False
) -> None:
    """Refuse a charge other than the one the customer confirmed (its transaction rolls back).

    A form shows the price and places the order a moment later: a price published meanwhile,
    or a quantity changed after the price was shown, must not be charged unseen. With
    ``required``, neither is an amount never shown (the live price had not come back, or the
    quantity was refused when the form was sent).
    """
    if confirmed_fen is None and required:
        raise DomainError.single(
            "total",
            Code.PRICE_CHANGED,
            f"应付金额为 {yuan_label(charge_fen)}，请确认后再提交",
            f"The amount due is {yuan_label(charge_fen)}; confirm it and submit again",
            status=409,
        )
    if confirmed_fen is None or confirmed_fen == charge_fen:
        return
    raise DomainError.single(
        "total",
        Code.PRICE_CHANGED,
        f"应付金额现为 {yuan_label(charge_fen)}，与您确认的 {yuan_label(confirmed_fen)} 不同，"
        "请核对后再提交",
        f"The amount due is now {yuan_label(charge_fen)}, not the {yuan_label(confirmed_fen)} "
        "you confirmed; check it and submit again",
        status=409,
    )


def _order_place_line(customer: Customer, line: OrderLine) -> Order:
    order = _order_create(customer, line, group=None)
    _hold(
        customer,
        order.charge_fen,
        ref=f"order:{order.pk}:hold",
        memo=f"订单 #{order.pk} 冻结",
        order_id=order.pk,
    )
    return order


def request_fingerprint(params: dict[str, Any]) -> str:
    """Return a stable hash of a request's parameters (for Idempotency-Key comparison)."""
    text = json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> tuple[int, dict[str, Any]]:
    if record.request_hash != fingerprint:
        raise DomainError.single(
            "Idempotency-Key",
            Code.IDEMPOTENCY_MISMATCH,
            "该幂等键已用于参数不同的请求",
            "This Idempotency-Key was already used with different parameters",
            status=422,
        )
    return record.response_status, json.loads(record.response_body)  # keys in their first order


class AnswerRecord:
    """Records the answer to an ``Idempotency-Key`` request in the transaction that places it.

    Whatever places the request calls :meth:`save` with what it placed, inside its own
    transaction, so the answer is kept exactly when the placement is.
    """

    def __init__(
        self, customer: Customer, key: str, fingerprint: str, render: Callable[[Any], dict]
    ) -> None:
        self.customer, self.key, self.fingerprint, self.render = customer, key, fingerprint, render
        self.answer: tuple[int, dict[str, Any]] | None = None

    def save(self, placed: Any) -> None:
        """Render ``placed`` and record it as the answer (status 201) under the key."""
        body = self.render(placed)
        IdempotencyRecord.objects.create(
            customer=self.customer,
            key=self.key,
            request_hash=self.fingerprint,
            response_status=201,
            response_body=json.dumps(body, ensure_ascii=False),
        )
        self.answer = (201, body)


def place_idempotent(
    *,
    customer: Customer,
    idempotency_key: str,
    params: dict[str, Any],
    render: Callable[[Any], dict[str, Any]],
    place: Callable[[AnswerRecord], None],
) -> tuple[int, dict[str, Any]]:
    """Run ``place`` once per ``Idempotency-Key``: a retry gets the first answer unchanged.

    ``place`` places the request and calls the record's :meth:`~AnswerRecord.save` in its
    transaction. The same key with other ``params`` is refused (422) and creates nothing.
    """
    key = idempotency_key.strip()
    if not 1 <= len(key) <= 255:
        raise DomainError.single(
            "Idempotency-Key",
            Code.IDEMPOTENCY_KEY,
            "幂等键长度须为 1-255 个字符",
            "Idempotency-Key must be 1-255 characters",
        )
    fingerprint = request_fingerprint(params)
    answer = _recorded_answer(customer, key, fingerprint)
    if answer is not None:
        return answer
    customer_require_verified(customer)
    record = AnswerRecord(customer, key, fingerprint, render)
    try:
        place(record)
    except (DomainError, IntegrityError):
        # A retry sent while the first request was still running can be refused for what the
        # first one did (the balance it spent, the quote it took) or collide with its record:
        # it gets the first answer.
        answer = _recorded_answer(customer, key, fingerprint)
        if answer is not None:
            return answer
        raise
    assert record.answer is not None, "place() must save the record"
    return record.answer


def order_place_idempotent(
    *,
    customer: Customer,
    idempotency_key: str,
    params: dict[str, Any],
    render: Callable[[Order], dict[str, Any]],
) -> tuple[int, dict[str, Any]]:
    """Place an order once per ``Idempotency-Key`` (see :func:`place_idempotent`)."""

    def place(record: AnswerRecord) -> None:
        line = order_line_prepare(customer=customer, **params)
        try:
            with transaction.atomic(durable=True):
                record.save(_order_place_line(customer, line))
        except IntegrityError as exc:
            raise _quote_conflict(exc, line) from exc

    return place_idempotent(
        customer=customer,
        idempotency_key=idempotency_key,
        params=params,
        render=render,
        place=place,
    )


def _recorded_answer(
    customer: Customer, key: str, fingerprint: str
) -> tuple[int, dict[str, Any]] | None:
    """Return the answer recorded under ``key`` (see :func:`_replay`), or None if there is none."""
    existing = IdempotencyRecord.objects.filter(customer=customer, key=key).first()
    return None if existing is None else _replay(existing, fingerprint)


def _allocate(total_fen: int, weights: Sequence[int]) -> list[int]:
    """Split ``total_fen`` by ``weights`` so the parts sum exactly (largest remainder)."""
    whole = sum(weights)
    if whole <= 0:
        return [total_fen // len(weights)] * len(weights)
    shares = [total_fen * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: -((total_fen * weights[i]) % whole))
    for i in order[: total_fen - sum(shares)]:
        shares[i] += 1
    return shares


def order_group_place(
    *,
    customer: Customer,
    kind: str,
    label: str,
    label_en: str = "",
    lines: Sequence[OrderLine],
    total_fen: int | None = None,
    record: AnswerRecord | None = None,
    confirmed_fen: int | None = None,
    confirmation_required: bool = False,
) -> OrderGroup:
    """Place several orders in one transaction with one hold (a package, plan or matched plan).

    With ``total_fen`` (a bundle price) the total is split across the lines in proportion to their
    list prices; otherwise each line is charged its own quote. ``record`` (an ``Idempotency-Key``
    request's) keeps the answer in the same transaction. ``confirmed_fen``: the total the
    customer confirmed (:func:`check_confirmed_total`).
    """
    customer_require_verified(customer)
    if not lines:
        raise DomainError.single("items", Code.EMPTY_GROUP, "没有可下单的项目", "Nothing to order")
    with transaction.atomic(durable=True):
        # Quotes are made in module order: a fixed order, so that rows quoting may ever lock
        # are taken alike by concurrent group orders (it takes no lock today).
        for line in sorted(lines, key=lambda line: line.module.pk):
            if line.quote is None:
                line.quote = quote_create(
                    customer=customer, module=line.module, quantity=line.quantity
                )
        quotes = [line.quote for line in lines]
        charges = (
            _allocate(total_fen, [q.total_fen for q in quotes])
            if total_fen is not None
            else [
                line.charge_fen if line.charge_fen is not None else q.total_fen
                for line, q in zip(lines, quotes, strict=True)
            ]
        )
        group = OrderGroup.objects.create(
            customer=customer,
            kind=kind,
            label=label[:100],
            label_en=label_en[:100],
            total_fen=sum(charges),
        )
        for line, quote, charge in zip(lines, quotes, charges, strict=True):
            line.quote, line.charge_fen = quote, charge
            _order_create(customer, line, group=group)
        _hold(
            customer,
            group.total_fen,
            ref=group.hold_ref,
            memo=f"{label} 冻结",
            order_id=None,
        )
        check_confirmed_total(confirmed_fen, group.total_fen, required=confirmation_required)
        if record is not None:
            record.save(group)
    return group


def package_order(
    *,
    customer: Customer,
    package: Package,
    target: Any,
    confirmed_total: Any = None,
    confirmation_required: bool = False,
    record: AnswerRecord | None = None,
) -> OrderGroup:
    """Order a package for one target at its bundle price (confirmed as one order's is).

    ``record``: an ``Idempotency-Key`` request's, saved in the same transaction.
    """
    confirmed_fen = confirmed_total_fen(confirmed_total)
    lines = []
    errors: list[FieldError] = []
    for item in package.items.select_related("module"):
        try:
            parsed, options = order_request_validate(
                module=item.module, target=target, quantity=item.quantity, options=None
            )
        except DomainError as exc:
            errors.extend(e for e in exc.errors if e not in errors)
            continue
        lines.append(
            OrderLine(module=item.module, target=parsed, quantity=item.quantity, options=options)
        )
    if errors:
        raise DomainError(*errors)
    return order_group_place(
        customer=customer,
        kind="package",
        label=package.name_zh,
        label_en=package.name_en,
        lines=lines,
        total_fen=package.price_fen,
        confirmed_fen=confirmed_fen,
        confirmation_required=confirmation_required,
        record=record,
    )


def growth_plan_order(
    *,
    customer: Customer,
    plan: GrowthPlan,
    target: Any,
    confirmed_total: Any = None,
    confirmation_required: bool = False,
    record: AnswerRecord | None = None,
) -> OrderGroup:
    """Order a daily growth plan: one order a day, the first at once, all funds held now.

    ``confirmed_total`` (yuan): the plan's price the customer confirmed, as for one order.
    ``record``: an ``Idempotency-Key`` request's, saved in the same transaction.
    """
    confirmed_fen = confirmed_total_fen(confirmed_total)
    parsed, options = order_request_validate(
        module=plan.module, target=target, quantity=plan.daily_quantity, options=None
    )
    start = timezone.now()
    lines = [
        OrderLine(
            module=plan.module,
            target=parsed,
            quantity=plan.daily_quantity,
            options=options,
            scheduled_for=None if day == 0 else start + timedelta(days=day),
        )
        for day in range(plan.days)
    ]
    return order_group_place(
        customer=customer,
        kind="growth_plan",
        label=plan.name_zh,
        label_en=plan.name_en,
        lines=lines,
        confirmed_fen=confirmed_fen,
        confirmation_required=confirmation_required,
        record=record,
    )


def bundle_order(
    *,
    customer: Customer,
    bundle: Package | GrowthPlan,
    target: Any,
    confirmed_total: Any = None,
    confirmation_required: bool = False,
    record: AnswerRecord | None = None,
) -> OrderGroup:
    """Order a package (:func:`package_order`) or a growth plan (:func:`growth_plan_order`)."""
    common = {
        "customer": customer,
        "target": target,
        "confirmed_total": confirmed_total,
        "confirmation_required": confirmation_required,
        "record": record,
    }
    if isinstance(bundle, Package):
        return package_order(package=bundle, **common)
    return growth_plan_order(plan=bundle, **common)


def bundle_order_idempotent(
    *,
    customer: Customer,
    idempotency_key: str,
    kind: Literal["package", "growth_plan"],
    bundle_id: int,
    target: Any,
    confirmed_total: Any,
    render: Callable[[OrderGroup], dict[str, Any]],
) -> tuple[int, dict[str, Any]]:
    """Order package or growth plan ``bundle_id`` once per ``Idempotency-Key``.

    ``kind`` is ``"package"`` or ``"growth_plan"``. The bundle is looked up only when the key
    has no answer yet (as :func:`order_place_idempotent` looks up the service): a retry gets the
    first answer even if the bundle has left sale since (see :func:`place_idempotent`). The total
    is compared in fen, so a retry writing the same amount another way ("50", 50.0) is the same
    request.
    """
    params = {
        "endpoint": "packages/order" if kind == "package" else "growth-plans/order",
        "id": bundle_id,
        "target": target,
        "total": confirmed_total_fen(confirmed_total),
    }

    def place(record: AnswerRecord) -> None:
        bundle_order(
            customer=customer,
            bundle=bundle_get(kind=kind, bundle_id=bundle_id),
            target=target,
            confirmed_total=confirmed_total,
            record=record,
        )

    return place_idempotent(
        customer=customer,
        idempotency_key=idempotency_key,
        params=params,
        render=render,
        place=place,
    )


def _dispatch_claim(order_id: int, now: datetime) -> bool:
    """Claim a due pending order for dispatch with one conditional ``UPDATE``; whether it did.

    The claim is refused when the order was sent, cancelled, marked uncertain, is not due yet,
    or another claim younger than :data:`CLAIM_TTL` holds it: the conditions of
    :func:`~doudesk.orders.selectors.orders_dispatch_due`, which rounds and the sync look up
    orders with (a test holds the two to the same orders). Written out rather than built by
    the ORM, as the read after it: every order runs both once, and compiling them cost the
    worker more than running them.
    """
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Order._meta.db_table)}"
            " SET dispatch_claimed_at = %s"
            " WHERE id = %s AND status = %s AND external_id = %s"
            " AND cancel_requested_at IS NULL AND dispatch_uncertain_at IS NULL"
            " AND (dispatch_claimed_at IS NULL OR dispatch_claimed_at < %s)"
            " AND (scheduled_for IS NULL OR scheduled_for <= %s)",
            [
                adapt(now),
                order_id,
                OrderStatus.PENDING.value,
                "",
                adapt(now - CLAIM_TTL),
                adapt(now),
            ],
        )
        return cursor.rowcount == 1


def _dispatch_read(order_id: int) -> tuple[Order, str, Provider]:
    """Return the order, its provider service id and the provider's fields the call needs.

    One written-out statement (``rows_select``): every order is sent once, and reading three
    whole rows through the ORM cost the worker more than the call itself.
    """
    quote = connection.ops.quote_name
    rows = rows_select(
        Order,
        f"INNER JOIN {quote(ServiceModule._meta.db_table)} m ON m.id = t0.module_id"
        f" INNER JOIN {quote(Provider._meta.db_table)} p ON p.id = t0.provider_id"
        " WHERE t0.id = %s",
        [order_id],
        extra={
            "dispatch_service": "m.provider_service_id",
            "dispatch_code": "p.code",
            "dispatch_adapter": "p.adapter",
            "dispatch_is_sandbox": "p.is_sandbox",
            "dispatch_api_url": "p.api_url",
            "dispatch_api_key": "p.api_key",
        },
    )
    order = rows[0]
    provider = Provider(
        id=order.provider_id,
        code=order.dispatch_code,
        adapter=order.dispatch_adapter,
        is_sandbox=bool(order.dispatch_is_sandbox),
        api_url=order.dispatch_api_url,
        api_key=order.dispatch_api_key,
    )
    return order, order.dispatch_service, provider


def order_dispatch_soon() -> None:
    """Have the worker dispatch the orders due now: send a dispatch round unless one is waiting.

    Called after the commit of orders due now. A round sent and not started yet will see them
    (it clears its mark before it looks for orders), so a burst of orders sends one task, not one
    each. The mark is read first (one cheap statement); only when no round is waiting is it set,
    by one conditional upsert that a single one of racing callers wins, and a round sent. A round
    waiting longer than :data:`ROUND_LOST_AFTER` is presumed lost and does not hold others back.
    """
    from doudesk.orders.tasks import orders_dispatch_round_task

    now = timezone.now()
    table = connection.ops.quote_name(DispatchRound._meta.db_table)
    fresh = connection.ops.adapt_datetimefield_value(now - ROUND_LOST_AFTER)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = 1 AND sent_at >= %s", [fresh])
        if cursor.fetchone() is not None:
            return
        cursor.execute(
            f"INSERT INTO {table} (id, sent_at) VALUES (1, %s) ON CONFLICT (id) DO UPDATE"
            f" SET sent_at = excluded.sent_at WHERE {table}.sent_at IS NULL"
            f" OR {table}.sent_at < %s",
            [connection.ops.adapt_datetimefield_value(now), fresh],
        )
        if cursor.rowcount != 1:
            return  # another caller sent the round
    try:
        orders_dispatch_round_task.apply_async()
    except Exception:
        _dispatch_round_clear()  # nothing was sent: let the next placement try again
        raise


def _dispatch_round_clear() -> None:
    """Clear the mark of a waiting dispatch round."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(DispatchRound._meta.db_table)}"
            " SET sent_at = NULL WHERE id = 1"
        )


def orders_dispatch_round() -> dict[str, int]:
    """One dispatch round: send the orders due now to their providers, oldest first.

    The round first clears its mark, so an order committed from then on sends another round.
    It then claims up to :data:`ROUND_SIZE` due orders at once (:func:`_dispatch_claim_due`),
    so rounds running on the worker's other threads take other orders instead of racing for
    the same ones, and sends each as :func:`order_dispatch` does; one the provider could not
    take for now (a transient error) is handed to its own task, which retries it with backoff.
    When more are due than it took, it sends another round first, which the worker's other
    threads take in parallel. A round still sending when its claims are
    :data:`ROUND_SEND_WITHIN` old (a slow provider) gives the rest back to another round
    rather than send on claims near their expiry.
    """
    from doudesk.orders.tasks import order_dispatch_task

    _dispatch_round_clear()
    claimed_at = timezone.now()
    claimed = _dispatch_claim_due(claimed_at, ROUND_SIZE)
    if len(claimed) == ROUND_SIZE and orders_dispatch_due(now=claimed_at).exists():
        order_dispatch_soon()
    counts: dict[str, int] = {}
    for position, order_id in enumerate(claimed):
        if timezone.now() - claimed_at > ROUND_SEND_WITHIN:
            _dispatch_release(claimed[position:], claimed_at)
            order_dispatch_soon()
            counts["handed_on"] = len(claimed) - position
            break
        try:
            outcome = _dispatch_claimed(order_id, claimed_at)
        except ProviderError:
            order_dispatch_task.apply_async((order_id,), countdown=ROUND_RETRY_SECONDS)
            outcome = "retrying"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _dispatch_claim_due(now: datetime, limit: int) -> list[int]:
    """Claim up to ``limit`` orders due now, oldest first, in one transaction; their ids.

    The orders are those of :func:`~doudesk.orders.selectors.orders_dispatch_due`. On
    PostgreSQL the look-up skips rows another round is claiming right now (``SKIP LOCKED``)
    and re-reads the rest once locked, so two rounds never claim one order; on SQLite the
    transaction holds the database's write lock throughout.
    """
    with transaction.atomic(durable=True):
        ids = list(
            orders_dispatch_due(now=now)
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Order.objects.filter(pk__in=ids).update(dispatch_claimed_at=now)
    return ids


def _dispatch_release(order_ids: Sequence[int], claimed_at: datetime) -> None:
    """Give back this round's claims on orders it did not send."""
    Order.objects.filter(pk__in=order_ids, external_id="", dispatch_claimed_at=claimed_at).update(
        dispatch_claimed_at=None
    )


def order_dispatch(*, order_id: int) -> str:
    """Send a pending order to its provider once; returns what happened.

    Raises :class:`ProviderError` for transient failures so the task retries.
    """
    claimed_at = timezone.now()
    if not _dispatch_claim(order_id, claimed_at):
        return "skipped"
    return _dispatch_claimed(order_id, claimed_at)


def _dispatch_claimed(order_id: int, claimed_at: datetime) -> str:
    """Send an order this caller claimed at ``claimed_at`` to its provider; what happened.

    Raises :class:`ProviderError` for transient failures, after giving the claim back.
    """
    order, service, provider = _dispatch_read(order_id)
    try:
        placed = adapter_for(provider).place(
            service=service, link=order.target, quantity=order.quantity, options=order.options
        )
    except ProviderRejected as exc:
        with transaction.atomic(durable=True):
            order = order_qs_select_for_update().get(pk=order_id)
            if order.status == OrderStatus.PENDING and not order.external_id:
                _settle(
                    order,
                    OrderStatus.CANCELED,
                    delivered=0,
                    cost_fen=0,
                    reason=_refusal_reason(exc),
                    error=f"{exc.code}: {exc}"[:200],
                )
        return "rejected"
    except ProviderError as exc:
        if exc.maybe_applied:
            # Sending it again could place it twice (the SMM convention has no idempotency key).
            _dispatch_uncertain(order_id, str(exc))
            return "uncertain"
        Order.objects.filter(pk=order_id, external_id="").update(dispatch_claimed_at=None)
        raise
    try:
        with transaction.atomic(durable=True):
            if not _dispatch_record_sent(order_id, claimed_at, placed.external_id):
                raise _ClaimLost
            order.external_id = placed.external_id
            record_event(
                order,
                "dispatched",
                data={"provider": provider.code, "provider_order": placed.external_id},
            )
    except _ClaimLost:
        _dispatch_orphaned(order, provider, placed.external_id)
        return "orphaned"
    except IntegrityError:
        # The provider named an order of its own that another order already follows.
        _dispatch_uncertain(order_id, f"provider order {placed.external_id} is taken")
        return "uncertain"
    return "dispatched"


class _ClaimLost(Exception):
    """The order changed hands while its provider call ran (see :func:`_dispatch_record_sent`)."""


def _dispatch_record_sent(order_id: int, claimed_at: datetime, external_id: str) -> bool:
    """Record the provider's order id if the order is still pending under this claim.

    A provider call can outlive its claim (:data:`CLAIM_TTL`): the customer may then have
    cancelled the order (refunded in full), or another dispatch sent it again. Written out, as
    the claim is; returns whether the row was written.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Order._meta.db_table)} SET external_id = %s"
            " WHERE id = %s AND status = %s AND external_id = %s AND dispatch_claimed_at = %s",
            [
                external_id,
                order_id,
                OrderStatus.PENDING.value,
                "",
                connection.ops.adapt_datetimefield_value(claimed_at),
            ],
        )
        return cursor.rowcount == 1


def _dispatch_orphaned(order: Order, provider: Provider, external_id: str) -> None:
    """Ask the provider to stop an order it took under a lost claim, and record it for operators.

    Nothing follows that provider order, so whatever it delivered would be paid to the provider
    and charged to nobody.
    """
    try:
        stopped = bool(adapter_for(provider).cancel([external_id]).get(external_id))
    except ProviderError:
        stopped = False
    logger.warning(
        "order %s: provider %s took order %s under a lost claim (cancel accepted: %s)",
        order.pk, provider.code, external_id, stopped,
    )  # fmt: skip
    with transaction.atomic(durable=True):
        record_event(
            order,
            "dispatch_orphaned",
            data={"provider": provider.code, "provider_order": external_id, "stopped": stopped},
        )


def _dispatch_uncertain(order_id: int, error: str) -> None:
    """Mark an order the provider may have taken without answering; an operator reconciles it."""
    with transaction.atomic(durable=True):
        order = order_qs_select_for_update().get(pk=order_id)
        if order.external_id or order.dispatch_uncertain_at is not None:
            return
        order.dispatch_uncertain_at = timezone.now()
        Order.objects.filter(pk=order_id).update(dispatch_uncertain_at=order.dispatch_uncertain_at)
        record_event(
            order,
            "dispatch_uncertain",
            data={"provider": order.provider.code, "error": error[:200]},
        )


def order_dispatch_reconcile(*, order_id: int, external_id: str = "") -> Order:
    """Settle an uncertain dispatch with what the provider says (an operator, from the admin).

    With the provider's order id the order is followed as placed; without one (the provider has
    no such order) it is sent again. A cancel the customer asked for meanwhile is carried out:
    the provider is asked to stop the order it took, or an order it never took is cancelled
    with its whole charge refunded.
    """
    from doudesk.orders.tasks import order_dispatch_task, order_provider_cancel_task

    external_id = external_id.strip()
    with transaction.atomic(durable=True):
        order = order_qs_select_for_update().get(pk=order_id)
        if order.dispatch_uncertain_at is None or order.external_id or order.is_finished:
            raise DomainError.single(
                "order",
                Code.NOT_UNCERTAIN,
                "此订单没有待核实的提交",
                "This order has no dispatch waiting to be reconciled",
                status=409,
            )
        if external_id:
            _check_provider_order_free(order, external_id)
            try:
                with transaction.atomic():
                    Order.objects.filter(pk=order_id).update(
                        external_id=external_id, dispatch_uncertain_at=None
                    )
            except IntegrityError:
                # Another order took it since the check (two reconciles at once).
                _check_provider_order_free(order, external_id)
                raise
            order.external_id = external_id
            record_event(
                order,
                "dispatched",
                data={
                    "provider": order.provider.code,
                    "provider_order": external_id,
                    "reconciled": True,
                },
            )
            if order.cancel_requested_at is not None:
                enqueue_on_commit(order_provider_cancel_task, order.pk)
        elif order.cancel_requested_at is not None:
            Order.objects.filter(pk=order_id).update(dispatch_uncertain_at=None)
            _settle(order, OrderStatus.CANCELED, delivered=0, cost_fen=0, reason=CUSTOMER_STOPPED)
        else:
            Order.objects.filter(pk=order_id).update(
                dispatch_uncertain_at=None, dispatch_claimed_at=None
            )
            record_event(order, "dispatch_retry")
            enqueue_on_commit(order_dispatch_task, order_id)
        order.dispatch_uncertain_at = None
        return order


def _check_provider_order_free(order: Order, external_id: str) -> None:
    """Refuse a provider order id another order already follows: one delivery would settle two.

    The constraint ``order_one_per_provider_order`` holds it when two take it at once; this
    check names the order that has it.
    """
    taken = (
        Order.objects.filter(provider_id=order.provider_id, external_id=external_id)
        .exclude(pk=order.pk)
        .values_list("pk", flat=True)
        .first()
    )
    if taken is not None:
        raise DomainError.single(
            "external_id",
            Code.EXTERNAL_ID_TAKEN,
            f"服务商订单号 {external_id} 已属于订单 #{taken}",
            f"Provider order {external_id} already belongs to order #{taken}",
            status=409,
        )


def _settle(
    order: Order,
    final: str,
    *,
    delivered: int,
    cost_fen: int,
    start_count: int | None = None,
    reason: str = "",
    claim: str = "",
    error: str = "",
) -> None:
    """Finish ``order`` (locked) and release its hold in one balanced entry.

    ``claim`` is the provider's bill when ``cost_fen`` books it otherwise (:func:`_provider_bill`).
    """
    delivered = max(0, min(delivered, order.quantity))
    if final == OrderStatus.COMPLETED and delivered < order.quantity:
        final = OrderStatus.PARTIAL
    if final in (OrderStatus.PARTIAL, OrderStatus.CANCELED):
        final = OrderStatus.CANCELED if delivered == 0 else OrderStatus.PARTIAL
        if delivered == order.quantity:
            final = OrderStatus.COMPLETED
    payable = order.units_charge_fen(delivered)
    refund = order.charge_fen - payable
    cost_fen = max(0, cost_fen) if delivered else 0
    guarantee = prorate_fen(payable, GUARANTEE_PERCENT, 100)
    fields: dict[str, Any] = {
        "delivered": delivered,
        "remains": order.quantity - delivered,
        "refunded_fen": refund,
        "provider_cost_fen": cost_fen,
    }
    if claim:
        fields |= {"provider_claim": claim, "provider_claim_disputed": True}
    if start_count is not None:
        fields["start_count"] = start_count
    data: dict[str, Any] = {"delivered": delivered, "charged": yuan_str(payable)}
    if reason:
        data["reason"] = reason
    if error:
        data["error"] = error
    transition(order, final, kind=final, data=data, **fields)
    if refund:
        record_event(order, "refunded", data={"amount": yuan_str(refund), "currency": "CNY"})
    # Money moves last: the customer's balance rows, which every new order of theirs updates,
    # stay locked only for these updates and the commit.
    hold, cash, payable_to, fund, revenue = accounts_get(
        [
            customer_spec(order.customer, AccountKind.CUSTOMER_HOLD),
            customer_spec(order.customer),
            provider_spec(order.provider),
            platform_spec(AccountKind.GUARANTEE_FUND),
            platform_spec(AccountKind.PLATFORM_REVENUE),
        ]
    )
    journal_post(
        ref=f"order:{order.pk}:settle",
        kind="order_settle",
        memo=f"订单 #{order.pk} 结算",
        order_id=order.pk,
        legs=[
            (hold, -order.charge_fen),
            (cash, refund),
            (payable_to, cost_fen),
            (fund, guarantee),
            (revenue, payable - cost_fen - guarantee),
        ],
    )


def _refusal_reason(exc: ProviderRejected) -> str:
    """Return the public ``reason`` of a refusal: its code when the customer may know it."""
    if exc.code in CUSTOMER_REFUSAL_CODES:
        return f"{PROVIDER_REJECTED}:{exc.code}"
    return PROVIDER_REJECTED


def provider_cost_cap(order: Order, delivered: int) -> int:
    """Return the most a provider is paid for ``delivered`` units of ``order`` (fen).

    What the customer pays for them less the guarantee fund's share: more would make the
    platform's revenue on the order negative.
    """
    paid = order.units_charge_fen(delivered)
    return paid - prorate_fen(paid, GUARANTEE_PERCENT, 100)


def _provider_bill(
    order: Order, report: ProviderOrderStatus, *, delivered: int, reported: int
) -> tuple[int, str]:
    """Return (the provider cost to book, the provider's bill when booked otherwise, or "").

    The bill is booked as it is when it is in yuan and within :func:`provider_cost_cap`. Units
    refused as sold twice (``delivered`` below the ``reported`` count) are not paid: the bill
    is prorated to the units credited. A bill over the cap is booked at the cap, one in another
    currency not at all; the bill is then kept for an operator to take up with the provider.
    """
    if report.charge is None:
        return 0, ""
    currency = (report.currency or CURRENCY).strip().upper()
    claim = f"{report.charge:f} {currency}"
    longest = Order._meta.get_field("provider_claim").max_length
    if len(claim) > longest:  # a number of many digits, or a currency no code is this long
        claim = f"{report.charge:.3e} {currency}"[:longest]
    if currency != CURRENCY:
        return 0, claim
    cap = provider_cost_cap(order, delivered) if delivered else 0
    try:
        claimed = max(0, yuan_to_fen(report.charge))
    except ValueError:  # more digits than an amount has (1E+30): over the cap
        return cap, claim
    cost = prorate_fen(claimed, delivered, reported) if 0 < delivered < reported else claimed
    cost = min(cost, cap)
    return cost, "" if cost == claimed else claim


def _delivered_from(order: Order, report: ProviderOrderStatus, status: str) -> int:
    """Units delivered according to ``report`` (before unit attribution)."""
    if report.remains is not None:
        return order.quantity - max(0, min(report.remains, order.quantity))
    if status == OrderStatus.COMPLETED:
        return order.quantity
    return order.delivered


def _tenth(order: Order, delivered: int) -> int:
    """Return the tenth of the quantity ``delivered`` reaches (the timeline's progress steps)."""
    return (10 * delivered) // order.quantity


def _start_count_news(order: Order, report: ProviderOrderStatus) -> bool:
    return report.start_count is not None and report.start_count != order.start_count


def _progress_fields(order: Order, report: ProviderOrderStatus, delivered: int) -> dict[str, Any]:
    """Return the order fields a non-final report sets."""
    fields: dict[str, Any] = {"delivered": delivered, "remains": order.quantity - delivered}
    if report.start_count is not None:
        fields["start_count"] = report.start_count
    return fields


def _report_is_news(order: Order, report: ProviderOrderStatus) -> bool:
    """Whether applying ``report`` to ``order`` as last read would change anything.

    The sync polls every open order every round; most answers repeat what is already recorded,
    and skipping those spares a locked transaction per open order and round.
    """
    status = _PROVIDER_TO_ORDER[report.status]
    if status in TERMINAL_STATUSES or _start_count_news(order, report):
        return True
    if report.delivered_units or (status != order.status and status != OrderStatus.PENDING):
        return True
    return _delivered_from(order, report, status) > order.delivered


def _progress_optimistically(order: Order, report: ProviderOrderStatus) -> bool:
    """Record plain progress without a lock, and its event if due; whether it did.

    Applies when the report names no units, from a provider that does not report them, and
    keeps the order open: the same status (or the provider's ``Pending``), or a move between
    the open statuses, such as the first report of work started. Each write is conditional on
    the status and count last read, so it needs no lock: a concurrent change makes it write
    nothing and sends the report down the locked path instead. A move of status writes its
    event through the state machine; progress that reaches a new tenth of the quantity (the
    timeline's progress steps) writes its ``progress`` event; either in the same transaction
    as the count.
    """
    status = _PROVIDER_TO_ORDER[report.status]
    if report.delivered_units or order.provider.reports_units or status in TERMINAL_STATUSES:
        return False
    delivered = max(_delivered_from(order, report, status), order.delivered)
    fields = _progress_fields(order, report, delivered)
    if status not in (order.status, OrderStatus.PENDING):
        try:
            with transaction.atomic(durable=True):
                transition(
                    order,
                    status,
                    kind="progress",
                    data={"delivered": delivered},
                    unchanged_since_read=True,
                    **fields,
                )
        except StaleTransition:
            return False
        return True
    new_tenth = _tenth(order, delivered) != _tenth(order, order.delivered)
    with transaction.atomic(durable=True) if new_tenth else nullcontext():
        return _progress_write(order, fields, unchanged_since_read=True)


def _progress_write(order: Order, fields: dict[str, Any], *, unchanged_since_read: bool) -> bool:
    """Write progress ``fields`` to ``order`` and, at a new tenth, its ``progress`` event.

    With ``unchanged_since_read`` the write applies only if the order still has the status and
    count it was read with. Returns whether it was written; ``order`` then holds the new fields.
    """
    rows = Order.objects.filter(pk=order.pk)
    if unchanged_since_read:
        rows = rows.filter(status=order.status, delivered=order.delivered)
    if not rows.update(updated_at=timezone.now(), **fields):
        return False
    delivered = fields["delivered"]
    if _tenth(order, delivered) != _tenth(order, order.delivered):
        record_event(order, "progress", data={"delivered": delivered})
    for name, value in fields.items():
        setattr(order, name, value)
    return True


def order_apply_provider_status(
    *, order_id: int, report: ProviderOrderStatus, seen: Order | None = None
) -> Order:
    """Apply a provider's status report to an order through the state machine.

    ``seen`` is the order as the caller last read it: plain progress is then recorded without a
    lock (see :func:`_progress_optimistically`).
    """
    if seen is not None and not seen.is_finished and _progress_optimistically(seen, report):
        return seen
    with transaction.atomic(durable=True):
        order = order_get_locked(order_id, related=("customer", "provider"))
        return _apply_provider_status_locked(order, report)


def _apply_provider_status_locked(order: Order, report: ProviderOrderStatus) -> Order:
    """Apply ``report`` to ``order``, which the caller's transaction holds locked."""
    if order.is_finished:
        return order
    status = _PROVIDER_TO_ORDER[report.status]
    reported = delivered = _delivered_from(order, report, status)
    # No unit sold twice (issue 3): where the provider names the delivered units, only units
    # attributed to this order alone are credited; duplicates become incidents, never pay. A
    # provider that reports units is held to them: an answer naming none credits none.
    if report.delivered_units or order.provider.reports_units:
        credited = ledger_units_attribute(
            order=order, provider=order.provider, unit_hashes=report.delivered_units
        )
        delivered = min(delivered, credited)
    if status in TERMINAL_STATUSES:
        delivered = max(0, min(delivered, order.quantity))
        cost, claim = _provider_bill(order, report, delivered=delivered, reported=reported)
        # Who stopped it short: the customer's cancel, or the provider (the page says so).
        stopper = CUSTOMER_STOPPED if order.cancel_requested_at else PROVIDER_STOPPED
        _settle(
            order,
            status,
            delivered=delivered,
            cost_fen=cost,
            start_count=report.start_count,
            reason="" if delivered >= order.quantity else stopper,
            claim=claim,
        )
        if report.deliverables and delivered:
            from doudesk.orders.tasks import order_provider_deliverables_task

            # Fetched after the commit, outside the lock: a file can take seconds to arrive.
            enqueue_on_commit(order_provider_deliverables_task, order.pk)
        return order
    delivered = max(delivered, order.delivered)
    fields = _progress_fields(order, report, delivered)
    if status != order.status and status != OrderStatus.PENDING:
        transition(order, status, kind="progress", data={"delivered": delivered}, **fields)
    elif delivered != order.delivered or _start_count_news(order, report):
        _progress_write(order, fields, unchanged_since_read=False)
    return order


def orders_sync(*, limit: int = 1000) -> dict[str, int]:
    """One round of the beat: re-dispatch stuck or due orders and poll providers for the rest."""
    from doudesk.orders.tasks import order_dispatch_task

    now = timezone.now()
    counts = {"redispatched": 0, "polled": 0, "applied": 0, "errors": 0}
    stuck = (
        orders_dispatch_due(now=now)
        .filter(
            Q(scheduled_for__isnull=True, created_at__lt=now - REDISPATCH_AFTER)
            | Q(scheduled_for__lte=now)
        )
        .values_list("pk", flat=True)[:limit]
    )
    for pk in stuck:
        order_dispatch_task.delay(pk)
        counts["redispatched"] += 1
    open_orders = (
        Order.objects.filter(
            status__in=[OrderStatus.PENDING, OrderStatus.IN_PROGRESS, OrderStatus.PROCESSING]
        )
        .exclude(external_id="")
        .select_related("provider")
        .order_by("updated_at")[:limit]
    )
    by_provider: dict[int, list[Order]] = {}
    for order in open_orders:
        if not is_operator_driven(order.provider):
            by_provider.setdefault(order.provider_id, []).append(order)
    for orders in by_provider.values():
        try:
            adapter = adapter_for(orders[0].provider)
        except ProviderError:  # e.g. a sandbox provider's orders after a switch to production
            counts["errors"] += 1
            continue
        for start in range(0, len(orders), STATUS_BATCH):
            chunk = {o.external_id: o for o in orders[start : start + STATUS_BATCH]}
            try:
                reports = adapter.status_many(list(chunk))
            except ProviderError:
                counts["errors"] += 1
                continue
            counts["polled"] += len(chunk)
            for external_id, report in reports.items():
                if isinstance(report, ProviderError) or external_id not in chunk:
                    counts["errors"] += 1
                    continue
                if not _report_is_news(chunk[external_id], report):
                    continue
                try:
                    seen = chunk[external_id]
                    order_apply_provider_status(order_id=seen.pk, report=report, seen=seen)
                    counts["applied"] += 1
                except StaleTransition:
                    counts["errors"] += 1
    return counts


def order_group_cancel_scheduled(*, customer: Customer, group_id: int) -> int:
    """Cancel every order of a customer's group that is scheduled and not started; return how many.

    A growth plan places one order a day, each waiting for its day: this stops the rest of the
    plan at once. Each order is cancelled (and refunded in full) as :func:`order_cancel` does.
    """
    if not OrderGroup.objects.filter(pk=group_id, customer=customer).exists():
        raise DomainError.single(
            "group", Code.NOT_FOUND, "订单组不存在", "No such order group", status=404
        )
    waiting = orders_waiting_for_their_day(group_id=group_id).order_by("pk")
    count = 0
    for order_id in waiting.values_list("pk", flat=True):
        try:
            order_cancel(customer=customer, order_id=order_id)
        except DomainError as exc:
            # A day that came due meanwhile and is being sent (or ended) has begun: it is not
            # one of the days this stops, and the rest are still cancelled.
            if exc.errors[0].code not in (Code.DISPATCHING, Code.ALREADY_FINISHED):
                raise
            continue
        count += 1
    return count


def order_cancel(*, customer: Customer, order_id: int) -> Order:
    """Cancel an order for its customer.

    Before dispatch the whole charge returns at once; after dispatch the provider is asked to stop
    and the undelivered remainder is refunded when it reports the final count.
    """
    from doudesk.orders.tasks import order_provider_cancel_task

    with transaction.atomic(durable=True):
        order = (
            order_qs_select_for_update()
            .select_related("module", "customer", "provider")
            .filter(pk=order_id, customer=customer)
            .first()
        )
        if order is None:
            raise _order_not_found()
        if not order.module.cancel_allowed:
            raise DomainError.single(
                "order",
                Code.CANCEL_NOT_ALLOWED,
                "该服务不支持取消",
                "This service cannot be canceled",
            )
        if order.is_finished:
            raise DomainError.single(
                "order",
                Code.ALREADY_FINISHED,
                "订单已结束",
                "The order has already finished",
                status=409,
            )
        now = timezone.now()
        claim_live = order.dispatch_claimed_at and order.dispatch_claimed_at >= now - CLAIM_TTL
        uncertain = order.dispatch_uncertain_at is not None
        if not order.external_id and not claim_live and not uncertain:
            _settle(order, OrderStatus.CANCELED, delivered=0, cost_fen=0, reason=CUSTOMER_STOPPED)
            return order
        if uncertain and not order.external_id:
            # Whether the provider took the order is being checked: the cancel waits for the
            # answer (order_dispatch_reconcile), which stops the order either way.
            if order.cancel_requested_at is None:
                Order.objects.filter(pk=order.pk).update(cancel_requested_at=now)
                order.cancel_requested_at = now
                record_event(order, "cancel_requested")
            return order
        if not order.external_id:
            raise DomainError.single(
                "order",
                Code.DISPATCHING,
                "订单正在提交给服务商，请稍后再试",
                "The order is being sent to the provider; try again in a moment",
                status=409,
            )
        if order.cancel_requested_at is None:
            Order.objects.filter(pk=order.pk).update(cancel_requested_at=now)
            order.cancel_requested_at = now
            record_event(order, "cancel_requested")
            enqueue_on_commit(order_provider_cancel_task, order.pk)
        return order


def order_provider_cancel(*, order_id: int) -> bool:
    """Ask the provider to stop an order whose cancel was requested."""
    order = Order.objects.select_related("provider").get(pk=order_id)
    if order.is_finished or not order.external_id:
        return False
    result = adapter_for(order.provider).cancel([order.external_id])
    return bool(result.get(order.external_id))


def order_refill(*, customer: Customer, order_id: int) -> Refill:
    """Request a refill of a finished order within its guarantee period, once per 24 hours."""
    from doudesk.orders.tasks import order_refill_task

    with transaction.atomic(durable=True):
        order = (
            order_qs_select_for_update()
            .select_related("module")
            .filter(pk=order_id, customer=customer)
            .first()
        )
        if order is None:
            raise _order_not_found()
        module = order.module
        if not module.refill_allowed:
            raise DomainError.single(
                "order",
                Code.REFILL_NOT_ALLOWED,
                "该服务不支持补量",
                "This service has no refill guarantee",
            )
        if not order.refill_open:
            raise DomainError.single(
                "order",
                Code.REFILL_NOT_ALLOWED,
                f"仅支持补量的服务在完成后 {module.refill_days} 天内可申请补量",
                f"Refills are available for refillable services within {module.refill_days} "
                "days of completion",
            )
        last = order.refills.filter(created_at__gt=timezone.now() - REFILL_INTERVAL).first()
        if last is not None:
            raise DomainError.single(
                "order",
                Code.REFILL_TOO_SOON,
                f"该订单 24 小时内已申请过补量（补量 #{last.pk}），请稍后再试",
                f"A refill of this order was requested in the last 24 hours (refill #{last.pk}); "
                "please try again later",
                status=409,
            )
        refill = Refill.objects.create(order=order)
        record_event(order, "refill_requested", data={"refill": refill.pk})
        enqueue_on_commit(order_refill_task, refill.pk)
        return refill


def order_provider_refill(*, refill_id: int) -> str:
    """Send a refill request to the provider once; the provider's refill id ("" if not sent).

    The run claims the refill first, as dispatch claims an order, so a second run at the same
    time (a retried task) sends nothing; a failed call gives the claim back for the retry.
    """
    refill = Refill.objects.select_related("order__provider").get(pk=refill_id)
    if refill.external_id:
        return refill.external_id
    claimed_at = timezone.now()
    unsent = Refill.objects.filter(pk=refill_id, external_id="")
    claimed = unsent.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=claimed_at - CLAIM_TTL)
    ).update(claimed_at=claimed_at)
    if not claimed:
        return ""
    try:
        result = adapter_for(refill.order.provider).refill(refill.order.external_id)
    except Exception:
        unsent.filter(claimed_at=claimed_at).update(claimed_at=None)
        raise
    unsent.update(external_id=result.refill_id, status=RefillStatus.SENT)
    return result.refill_id


def refills_sync(*, limit: int = 200) -> dict[str, int]:
    """One round of the beat: ask providers about refills they have not finished.

    The refills asked least recently go first, so a provider that stays silent about some
    cannot starve the others. A final answer (completed, rejected, error) is recorded as an
    event of the order; an unknown refill id or a transient failure only marks the refill asked.
    """
    now = timezone.now()
    counts = {"polled": 0, "changed": 0, "errors": 0}
    open_refills = (
        Refill.objects.filter(status__in=[RefillStatus.SENT, RefillStatus.IN_PROGRESS])
        .exclude(external_id="")
        .exclude(order__provider__adapter__in=OPERATOR_DRIVEN_ADAPTERS)
        .select_related("order__provider")
        .order_by(F("checked_at").asc(nulls_first=True), "pk")[:limit]
    )
    for refill in open_refills:
        try:
            word = adapter_for(refill.order.provider).refill_status(refill.external_id)
        except ProviderError:
            counts["errors"] += 1
            Refill.objects.filter(pk=refill.pk).update(checked_at=now)
            continue
        counts["polled"] += 1
        if refill_apply_provider_status(refill_id=refill.pk, word=word, checked_at=now):
            counts["changed"] += 1
    return counts


def refill_apply_provider_status(
    *, refill_id: int, word: ProviderRefillStatus, checked_at: datetime
) -> bool:
    """Record a provider's answer about a refill; return True when its status changed."""
    status = _PROVIDER_TO_REFILL[word]
    with transaction.atomic():
        refill = Refill.objects.select_for_update().select_related("order").get(pk=refill_id)
        if refill.is_final or refill.status == status:
            Refill.objects.filter(pk=refill_id).update(checked_at=checked_at)
            return False
        Refill.objects.filter(pk=refill_id).update(status=status, checked_at=checked_at)
        if status in REFILL_EVENTS:
            record_event(refill.order, REFILL_EVENTS[status], data={"refill": refill.pk})
        return True


def order_record_manual_delivery(
    *, order_id: int, delivered: int, final: bool, cost: Decimal | None = None
) -> Order:
    """Record what a manual provider delivered (an operator, from the admin).

    A count below what is already recorded, or above the quantity, is a field error (delivered
    units are not taken back), and a finished order takes no more. ``cost`` (yuan, when the
    delivery ends) is what the provider bills: it becomes the provider's payable. The checks and
    the delivery run under the order's lock, so two operators recording at once cannot take back
    units the other has just recorded.
    """
    with transaction.atomic(durable=True):
        order = order_get_locked(order_id, related=("customer", "provider"))
        _check_manual_delivery(order, delivered=delivered, final=final, cost=cost)
        remains = max(0, order.quantity - delivered)
        if final:
            status = ProviderStatus.COMPLETED if remains == 0 else ProviderStatus.PARTIAL
        else:
            status = ProviderStatus.IN_PROGRESS
        report = ProviderOrderStatus(
            external_id=order.external_id,
            status=status,
            remains=remains,
            charge=cost if final else None,
        )
        return _apply_provider_status_locked(order, report)


def _check_manual_delivery(
    order: Order, *, delivered: int, final: bool, cost: Decimal | None
) -> None:
    """Refuse a manual delivery the order cannot take (see :func:`order_record_manual_delivery`)."""
    if order.is_finished:
        raise DomainError.single(
            "delivered",
            Code.ALREADY_FINISHED,
            "订单已结束，不能再记录交付",
            "The order has finished; no more delivery can be recorded",
            status=409,
        )
    if delivered > order.quantity:
        raise DomainError.single(
            "delivered",
            Code.DELIVERED_OVER_QUANTITY,
            f"交付数量不能超过订单数量 {order.quantity:,}",
            f"Cannot record more than the {order.quantity:,} ordered",
        )
    if delivered < order.delivered:
        raise DomainError.single(
            "delivered",
            Code.DELIVERED_DECREASE,
            f"交付数量不能少于已记录的 {order.delivered}",
            f"Cannot record fewer than the {order.delivered} already delivered",
        )
    _check_manual_cost(order, delivered=delivered, final=final, cost=cost)


def _check_manual_cost(order: Order, *, delivered: int, final: bool, cost: Decimal | None) -> None:
    """Refuse a provider cost the settlement could not book as the operator meant it.

    A cost is billed when the delivery ends, so one typed earlier would be lost; a final
    delivery of any units needs one (0 when the provider charges nothing), so an empty field
    does not book a free delivery unseen; and it cannot exceed what the customer pays for the
    delivered units less the guarantee fund's share, or the platform's revenue would go
    negative (a mistyped ¥100,000 for ¥100).
    """
    if cost is not None and not final:
        raise DomainError.single(
            "cost",
            Code.COST_NOT_FINAL,
            "服务商费用在交付结束时填写",
            "Enter the provider's cost with the final delivery",
        )
    if not final:
        return
    if cost is None:
        if delivered == 0:
            return  # nothing delivered: nothing to bill
        raise DomainError.single(
            "cost",
            Code.COST_MISSING,
            "请填写服务商费用（无费用填 0）",
            "Enter the provider's cost (0 if none)",
        )
    paid = order.units_charge_fen(delivered)
    most = provider_cost_cap(order, delivered)
    if yuan_to_fen(cost) > most:
        raise DomainError.single(
            "cost",
            Code.COST_ABOVE_PAID,
            f"服务商费用不能超过 {yuan_label(most)}（客户为已交付部分支付的 {yuan_label(paid)}，"
            f"扣除保障金）",
            f"The provider's cost cannot exceed {yuan_label(most)} (the {yuan_label(paid)} "
            f"the customer pays for the delivered units, less the guarantee fund's share)",
        )
