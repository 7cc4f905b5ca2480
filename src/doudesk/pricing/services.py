"""Pricing writes: quotes, publications of the engine's prices, demand observations, imports.

Design overview
---------------
* **Quotes.** :func:`quote_create` prices with the engine when the module is priced dynamically
  (it has a :class:`~doudesk.pricing.models.ModulePriceState` and pricing is enabled), else at the
  static list rate. Quoting only reads the published state: no lock, so orders of one module never
  queue behind each other. A module unavailable at a quantity (no offer meets the quality bar,
  floor above the market ceiling, capacity spent) is refused with a 4xx error on ``quantity`` and
  nothing is written. :func:`quote_take` checks a quote with the engine's ``validate_quote`` rules;
  a refused quote comes back with a fresh one.
* **Learning.** The quote and order rows are the demand observations. :func:`pricing_fold` feeds
  those written since the last fold into the engine (``observe_quote`` for each quote shown, a
  trial; ``observe_order`` for each order placed on an engine quote, a success and units against
  the day's provider capacity) under the state-row lock; the beat folds every minute and every
  publication folds first, so nothing is lost or counted twice.
* **Publications.** :func:`pricing_publish` runs the engine's ``publish`` for one module under the
  state-row lock and writes a :class:`~doudesk.pricing.models.PriceChange` with its reason; the
  beat runs :func:`pricing_publish_all` hourly, and operator edits republish at once. A placed
  order keeps its quote's total whatever prices do later.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from doudesk.accounts.models import Customer
from doudesk.catalog.models import ServiceModule
from doudesk.catalog.services import quantity_errors
from doudesk.errors import DomainError, FieldError
from doudesk.pricing import engine
from doudesk.pricing.error_codes import PricingErrorCode as Code
from doudesk.pricing.models import (
    ModulePriceState,
    ModulePricingConfig,
    PriceChange,
    ProviderOffer,
    Quote,
    QuoteSource,
    ReferencePrice,
    _quote_id,
)
from doudesk.pricing.selectors import (
    module_price_at,
    pricing_config,
    pricing_inputs,
    static_rate,
)
from doudesk.rowinsert import row_insert
from doudesk.wallet.money import charge_fen, rate_str, yuan_label, yuan_str

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------
# Quotes
# --------------------------------------------------------------------------------------------------


def module_unit_rate(*, module: ServiceModule, quantity: int) -> Decimal:
    """Today's rate per 1,000 units of ``module`` at ``quantity`` (yuan).

    The engine's rate for that quantity when the module is priced dynamically, else the static
    list rate. Raises :class:`DomainError` on ``quantity`` when unavailable at that quantity.
    """
    return module_price_at(module=module, quantity=quantity).unit_rate


def _state_locked(module_id: int) -> ModulePriceState | None:
    return ModulePriceState.objects.select_for_update().filter(module_id=module_id).first()


def _engine_quote(quote: Quote) -> engine.Quote:
    return engine.Quote(
        id=quote.pk,
        module_id=str(quote.module_id),
        customer_id=str(quote.customer_id),
        quantity=quote.quantity,
        unit_rate=quote.unit_rate,
        total_fen=quote.total_fen,
        created_at=quote.created_at,
        expires_at=quote.expires_at,
        floor=quote.floor if quote.floor is not None else quote.unit_rate,
        ceiling=quote.ceiling if quote.ceiling is not None else quote.unit_rate,
        reference_rate=quote.reference_rate,
        point=quote.point,
        grid_version=quote.grid_version,
        tier=quote.tier,
    )


def quote_create(*, customer: Customer, module: ServiceModule, quantity: int) -> Quote:
    """Price ``quantity`` units of ``module`` for ``customer`` and hold the price.

    Raises :class:`DomainError` (nothing written) when the quantity is invalid or the module is
    unavailable at it.
    """
    errors = quantity_errors(module, quantity)
    if errors:
        raise DomainError(*errors)
    now = timezone.now()
    inputs = pricing_inputs(module=module, now=now)
    if inputs.state is None or not inputs.dynamic:
        rate, _ = static_rate(module, quantity, inputs, now)
        return row_insert(
            Quote,
            customer=customer,
            module=module,
            quantity=quantity,
            unit_rate=rate,
            total_fen=charge_fen(quantity, rate),
            expires_at=now + timedelta(seconds=settings.QUOTE_TTL_SECONDS),
        )
    q = engine.quote(
        inputs.state,
        inputs.config,
        inputs.market,
        quantity=quantity,
        customer_id=str(customer.pk),
        now=now,
        quote_id=_quote_id(),
    )
    return row_insert(
        Quote,
        id=q.id,
        customer=customer,
        module=module,
        quantity=quantity,
        unit_rate=q.unit_rate,
        total_fen=q.total_fen,
        expires_at=q.expires_at,
        source=QuoteSource.ENGINE,
        floor=q.floor,
        ceiling=q.ceiling,
        reference_rate=q.reference_rate,
        point=q.point,
        grid_version=q.grid_version,
        tier=q.tier,
    )


def quote_take(*, customer: Customer, quote_id: str, module: ServiceModule, quantity: int) -> Quote:
    """Return a quote the customer may order against, or explain why not with a fresh quote.

    The engine's ``validate_quote`` rules apply (one order per quote, its own module and quantity,
    before it expires); each refusal is a 409 on ``quote_id`` whose body carries ``fresh_quote``.
    Another customer's quote is answered as unknown (``quote_not_found``), so quote ids of other
    accounts cannot be probed.
    """
    quote = Quote.objects.filter(pk=str(quote_id)[:24]).first()
    problem: tuple[str, str, str] | None = None
    if quote is None or quote.customer_id != customer.pk:
        problem = (Code.QUOTE_NOT_FOUND, "报价不存在", "Unknown quote")
    else:
        try:
            engine.validate_quote(
                _engine_quote(quote),
                now=timezone.now(),
                customer_id=str(customer.pk),
                module_id=str(module.pk),
                quantity=quantity,
                used=hasattr(quote, "order"),
            )
        except DomainError as exc:
            error = exc.errors[0]
            problem = (error.code, error.message_zh, error.message_en)
    if problem is None:
        assert quote is not None
        return quote
    fresh = quote_create(customer=customer, module=module, quantity=quantity)
    code, zh, en = problem
    error = DomainError.single(
        "quote_id",
        code,
        f"{zh}。新报价 {fresh.pk}：{yuan_label(fresh.total_fen)}",
        f"{en}. Fresh quote {fresh.pk}: {yuan_label(fresh.total_fen)}",
        status=409,
    )
    error.extra = {"fresh_quote": quote_as_dict(fresh)}
    raise error


def quote_as_dict(quote: Quote) -> dict:
    """Return the API shape of a quote."""
    return {
        "id": quote.pk,
        "service_id": quote.module_id,
        "quantity": quote.quantity,
        "unit_rate": rate_str(quote.unit_rate),
        "total": yuan_str(quote.total_fen),
        "currency": "CNY",
        "expires_at": quote.expires_at.isoformat(),
    }


def _fold_locked(row: ModulePriceState, state: engine.ModuleState, now: datetime) -> int:
    """Feed quotes and orders written since the last fold into ``state``; return their count.

    A quote repeating one its customer still holds is left out (:func:`_quotes_valid_at`).

    Orders are reached through their quote (``Quote.order``), so pricing never imports orders.
    """
    since = row.observed_through

    def window(field: str) -> Q:
        upto = Q(**{f"{field}__lte": now})
        return upto if since is None else upto & Q(**{f"{field}__gt": since})

    # A package's lines are sold at the package's price, not at their quotes': neither their
    # quote nor their order says anything of the demand at the module's own price.
    engine_quotes = Quote.objects.filter(
        module_id=row.module_id, source=QuoteSource.ENGINE
    ).exclude(order__group__kind="package")  # orders.services.package_order's kind
    shown = engine_quotes.filter(window("created_at")).order_by("created_at", "pk")
    # A growth plan's later days are ordered at once but run on their own days: each counts
    # against its day's capacity when that day comes, unless it was cancelled before it.
    ordered = (
        engine_quotes.annotate(ordered_at=Coalesce("order__scheduled_for", "order__created_at"))
        .filter(window("ordered_at"))
        .exclude(
            order__scheduled_for__isnull=False,
            order__status="canceled",  # OrderStatus.CANCELED (pricing does not import orders)
            order__external_id="",
        )
        .select_related("order")
        .order_by("ordered_at", "order__pk")
    )
    config = pricing_config(module=row.module)
    valid_until = _quotes_valid_at(engine_quotes, since)
    seen = 0
    for quote in shown:
        key = (quote.customer_id, quote.grid_version, quote.point, quote.tier)
        repeat = key in valid_until and quote.created_at < valid_until[key]
        valid_until[key] = max(valid_until.get(key, quote.expires_at), quote.expires_at)
        if repeat:
            continue
        engine.observe_quote(state, config, _engine_quote(quote))
        seen += 1
    for quote in ordered:
        engine.observe_order(state, config, _engine_quote(quote), quote.ordered_at)
        seen += 1
    row.observed_through = now
    return seen


QuoteKey = tuple[int, int, int | None, int]


def _quotes_valid_at(quotes: QuerySet[Quote], since: datetime | None) -> dict[QuoteKey, datetime]:
    """Return, per customer and price point, when their quotes shown before ``since`` expire.

    A quote repeating one the customer still holds (the same point of the same grid and tier)
    shows them nothing new: it is not another demand trial. Otherwise a customer, or a script,
    asking for quotes again and again would count as many customers turning the price down,
    and push it lower. Only quotes still valid at ``since`` matter.
    """
    if since is None:
        return {}
    valid: dict[QuoteKey, datetime] = {}
    rows = quotes.filter(created_at__lte=since, expires_at__gt=since).values_list(
        "customer_id", "grid_version", "point", "tier", "expires_at"
    )
    for customer_id, grid_version, point, tier, expires_at in rows:
        key = (customer_id, grid_version, point, tier)
        valid[key] = max(valid.get(key, expires_at), expires_at)
    return valid


def pricing_fold(*, module: ServiceModule, now: datetime | None = None) -> int:
    """Fold the module's new quotes and orders into its demand model; return how many."""
    now = now or timezone.now()
    with transaction.atomic():
        row = _state_locked(module.pk)
        if row is None:
            return 0
        state = engine.ModuleState.from_dict(row.state)
        seen = _fold_locked(row, state, now)
        row.state = state.to_dict()
        row.save(update_fields=["state", "observed_through", "updated_at"])
    return seen


def pricing_fold_all(*, now: datetime | None = None) -> int:
    """Fold new observations of every dynamically priced module (the beat runs this)."""
    now = now or timezone.now()
    modules = ServiceModule.objects.filter(price_state__isnull=False).order_by("pk")
    return sum(pricing_fold(module=module, now=now) for module in modules)


# --------------------------------------------------------------------------------------------------
# Publications
# --------------------------------------------------------------------------------------------------


def pricing_publish(*, module: ServiceModule, now: datetime | None = None) -> PriceChange:
    """Publish the module's base rate now and log the result with its reason.

    Creates the module's pricing state on first use. The state row is locked for the whole
    publication, so concurrent quotes and orders wait and none of their observations is lost.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ModulePriceState.objects.get_or_create(
            module=module,
            defaults={"state": engine.new_state(str(module.pk), now).to_dict()},
        )
        row = _state_locked(module.pk)
        assert row is not None
        inputs = pricing_inputs(module=module, now=now)
        state = engine.ModuleState.from_dict(row.state)
        _fold_locked(row, state, now)
        result = engine.publish(state, inputs.config, inputs.market, now)
        ref = engine.lowest_reference(inputs.market.references, inputs.config.base_quantity, now)
        row.state = state.to_dict()
        row.price = state.price
        row.available = state.available
        row.published_at = now
        row.save()
        change = PriceChange.objects.create(
            module=module,
            at=now,
            old_price=result.old_price,
            new_price=result.new_price,
            changed=result.changed,
            code=result.code,
            reason_zh=result.reason_zh,
            reason_en=result.reason_en,
            floor=result.floor,
            ceiling=result.ceiling,
            cost=result.cost,
            target=result.target,
            reference_rate=None if ref is None else engine.rate_down(ref.rate),
        )
    if result.changed:
        logger.info(
            "price of module %s: %s -> %s (%s)",
            module.pk,
            result.old_price,
            result.new_price,
            result.code,
        )
    return change


def pricing_modules() -> list[ServiceModule]:
    """Return the modules the hourly publication covers.

    Active modules with an active provider offer or an existing pricing state, except those whose
    operator switched dynamic pricing off.
    """
    disabled = ModulePricingConfig.objects.filter(enabled=False).values("module_id")
    return list(
        ServiceModule.objects.filter(active=True)
        .filter(
            Q(pk__in=ProviderOffer.objects.filter(active=True).values("module_id"))
            | Q(price_state__isnull=False)
        )
        .exclude(pk__in=disabled)
        .order_by("pk")
        .distinct()
    )


def pricing_publish_all(
    *, now: datetime | None = None, min_age_seconds: float = 0
) -> dict[str, int]:
    """Publish every priced module (each in its own transaction); returns counts.

    Modules published less than ``min_age_seconds`` ago are skipped, so a retried or doubled
    hourly run does not publish twice. One module's failure is logged and does not stop the rest.
    """
    now = now or timezone.now()
    counts = {"published": 0, "changed": 0, "unavailable": 0, "skipped": 0, "failed": 0}
    recent = set()
    if min_age_seconds > 0:
        recent = set(
            ModulePriceState.objects.filter(
                published_at__gt=now - timedelta(seconds=min_age_seconds)
            ).values_list("module_id", flat=True)
        )
    for module in pricing_modules():
        if module.pk in recent:
            counts["skipped"] += 1
            continue
        try:
            change = pricing_publish(module=module, now=now)
        except Exception:
            logger.exception("publishing the price of module %s failed", module.pk)
            counts["failed"] += 1
            continue
        counts["published"] += 1
        counts["changed"] += int(change.changed)
        counts["unavailable"] += int(change.new_price is None)
    return counts


# --------------------------------------------------------------------------------------------------
# Reference prices import
# --------------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "module",
    "source",
    "rate",
    "observed_at",
    "expires_at",
    "min_quantity",
    "max_quantity",
    "note",
    "source_en",
)
"""Columns of a reference-price CSV; ``module`` is a module code or id; the last four optional.

``source_en`` names the source in English for the English pages (``source`` is Chinese).

``observed_at``/``expires_at`` are ISO dates or datetimes (Asia/Shanghai unless they carry an
offset); instead of ``expires_at`` a ``valid_days`` column may give the validity in days.
"""


def _when(raw: str, *, end_of_day: bool = False) -> datetime:
    text = raw.strip()
    value = datetime.fromisoformat(text)
    if len(text) == 10 and end_of_day:
        value = datetime.combine(value.date(), time(23, 59, 59))
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    return value


def _row_error(n: int, column: str, zh: str, en: str) -> FieldError:
    return FieldError(
        f"row {n}.{column}", "invalid", f"第 {n} 行 {column}：{zh}", f"row {n} {column}: {en}"
    )


def _parse_reference_row(
    n: int, raw: dict[str, Any], modules: dict[str, ServiceModule]
) -> ReferencePrice | FieldError:
    row = {str(k).strip().lower(): ("" if v is None else str(v).strip()) for k, v in raw.items()}
    module = modules.get(row.get("module", ""))
    if module is None:
        return _row_error(n, "module", "未知服务模块", "unknown module")
    if not row.get("source"):
        return _row_error(n, "source", "须填写来源", "source is required")
    try:
        rate = Decimal(row.get("rate", ""))
        if not rate.is_finite() or rate <= 0:
            raise InvalidOperation
    except InvalidOperation:
        return _row_error(n, "rate", "须为正数（元/千）", "must be a positive yuan rate per 1,000")
    try:
        observed = _when(row.get("observed_at", ""))
    except ValueError:
        return _row_error(n, "observed_at", "日期格式应为 YYYY-MM-DD", "date must be YYYY-MM-DD")
    try:
        if row.get("expires_at"):
            expires = _when(row["expires_at"], end_of_day=True)
        else:
            expires = observed + timedelta(days=int(row.get("valid_days", "")))
    except ValueError:
        return _row_error(
            n, "expires_at", "须填写失效日期或有效天数", "give expires_at or valid_days"
        )
    if expires <= observed:
        return _row_error(n, "expires_at", "须晚于采集时间", "must be after observed_at")
    try:
        low = int(row.get("min_quantity") or 1)
        high = int(row["max_quantity"]) if row.get("max_quantity") else None
        if low < 1 or (high is not None and high < low):
            raise ValueError
    except ValueError:
        return _row_error(n, "min_quantity", "数量范围无效", "invalid quantity range")
    return ReferencePrice(
        module=module,
        source=row["source"][:100],
        source_en=row.get("source_en", "")[:100],
        rate=rate,
        observed_at=observed,
        expires_at=expires,
        min_quantity=low,
        max_quantity=high,
        note=row.get("note", "")[:200],
    )


def reference_prices_import(
    *, rows: Iterable[dict[str, Any]], republish: bool = True
) -> list[ReferencePrice]:
    """Add market reference prices from CSV-like rows (see :data:`CSV_COLUMNS`); all or nothing.

    Every row is checked first; any bad row raises :class:`DomainError` naming each bad row and
    nothing is written. The affected modules are republished at once, so a cheaper competitor
    lowers the ceiling without waiting for the hourly run.
    """
    modules: dict[str, ServiceModule] = {}
    for module in ServiceModule.objects.all():
        modules[module.code] = modules[str(module.pk)] = module
    parsed: list[ReferencePrice] = []
    errors: list[FieldError] = []
    for n, raw in enumerate(rows, start=1):
        result = _parse_reference_row(n, raw, modules)
        (errors if isinstance(result, FieldError) else parsed).append(result)  # type: ignore[arg-type]
    if errors:
        raise DomainError(*errors)
    if not parsed:
        raise DomainError.single(
            "rows", "empty", "没有可导入的参考价", "No reference prices to import"
        )
    with transaction.atomic():
        created = ReferencePrice.objects.bulk_create(parsed)
        if republish:
            priced = set(pricing_modules())
            for module in sorted({r.module for r in parsed}, key=lambda m: m.pk):
                if module in priced:
                    pricing_publish(module=module)
    return created


def reference_prices_import_csv(*, text: str, republish: bool = True) -> list[ReferencePrice]:
    """Import reference prices from CSV text with a header row (see :data:`CSV_COLUMNS`)."""
    return reference_prices_import(rows=csv.DictReader(io.StringIO(text)), republish=republish)
