"""Reads of pricing: engine inputs from the database, prices at a quantity, summaries and history.

Design overview
---------------
:func:`pricing_inputs` turns a module's rows (:class:`~doudesk.pricing.models.ModulePricingConfig`,
active :class:`~doudesk.pricing.models.ProviderOffer` rows, unexpired
:class:`~doudesk.pricing.models.ReferencePrice` rows) into the pure engine's ``PricingConfig`` and
``MarketInputs``; every read and write of pricing goes through it, so the web page, the API, the
quotes and the publications all price with the same inputs. Nothing here writes: the price at a
quantity (:func:`module_price_at`) is the engine's pure ``quote`` without recording it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from doudesk.catalog.models import GrowthPlan, ServiceModule
from doudesk.catalog.services import quantity_errors
from doudesk.errors import DomainError
from doudesk.languages import english_active
from doudesk.pricing import engine
from doudesk.pricing.models import (
    ModulePriceState,
    ModulePricingConfig,
    PriceChange,
    ProviderOffer,
    ReferencePrice,
)
from doudesk.providers.models import Provider
from doudesk.rowselect import rows_select
from doudesk.wallet.money import rate_str

HISTORY_DAYS = 30
HISTORY_MAX_POINTS = 24 * HISTORY_DAYS
DEFAULT_BASE_QUANTITY = 1_000


@dataclass(frozen=True)
class PricingInputs:
    """Everything the engine needs about one module now; ``dynamic`` says whether it is used."""

    module_id: int
    config: engine.PricingConfig
    market: engine.MarketInputs
    enabled: bool
    state: engine.ModuleState | None

    @property
    def dynamic(self) -> bool:
        """Return whether quotes of this module come from the engine."""
        return self.enabled and self.state is not None


@dataclass(frozen=True)
class PriceAt:
    """The price of ``quantity`` units now (not a quote: nothing is held or recorded)."""

    quantity: int
    unit_rate: Decimal
    total_fen: int
    reference_rate: Decimal | None
    saving_percent: Decimal | None
    dynamic: bool


@dataclass(frozen=True)
class PriceSummary:
    """Today's price of a module at its base quantity, the lowest reference and the tiers."""

    module_id: int
    dynamic: bool
    kill_switch: bool
    quantity: int
    unit_rate: Decimal | None
    reference_rate: Decimal | None
    reference_source: str
    saving_percent: Decimal | None
    available: bool
    reason_zh: str = ""
    reason_en: str = ""
    tiers: list[engine.TierPrice] = field(default_factory=list)
    reference_source_en: str = ""

    @property
    def reference_source_name(self) -> str:
        """Return the reference's source in the active language (Chinese when no English)."""
        if english_active() and self.reference_source_en:
            return self.reference_source_en
        return self.reference_source

    @property
    def saves(self) -> bool:
        """Return whether today's price is below the lowest market reference."""
        return self.saving_percent is not None and self.saving_percent > 0


def base_quantity(module: ServiceModule, row: ModulePricingConfig | None) -> int:
    """Return the quantity the module's base rate is published for (within its range)."""
    wanted = row.base_quantity if row is not None and row.base_quantity else DEFAULT_BASE_QUANTITY
    return max(module.min_quantity, min(module.max_quantity, wanted))


def parse_tiers(raw: Any) -> tuple[engine.VolumeTier, ...]:
    """Parse the config's JSON tiers; raise ``ValueError`` on a malformed list."""
    if not isinstance(raw, list) or not raw:
        raise ValueError("tiers must be a non-empty list")
    tiers = []
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("each tier is an object with min_quantity and discount")
        minimum = int(item["min_quantity"])
        discount = Decimal(str(item.get("discount", "0")))
        if minimum < 1 or not (0 <= discount < 1):
            raise ValueError("tier min_quantity >= 1 and discount in [0, 1)")
        tiers.append(engine.VolumeTier(minimum, discount))
    if all(t.min_quantity > 1 for t in tiers):
        tiers.append(engine.VolumeTier(1, Decimal(0)))
    return tuple(sorted(tiers, key=lambda t: t.min_quantity))


def config_from_row(module: ServiceModule, row: ModulePricingConfig | None) -> engine.PricingConfig:
    """Return the engine config for a module (the model defaults when it has no row).

    Raises ``ValueError`` when the row holds values the engine refuses.
    """
    row = row or ModulePricingConfig(module=module)
    hours = row.max_completion_hours
    return engine.PricingConfig(
        min_margin=row.min_margin,
        static_markup=row.static_markup,
        max_markup_without_reference=row.max_markup_without_reference,
        step_per_hour=row.step_per_hour,
        kill_switch=row.kill_switch,
        quality=engine.QualityBar(
            float(row.min_success_rate), float("inf") if hours is None else float(hours)
        ),
        tiers=parse_tiers(row.tiers),
        base_quantity=base_quantity(module, row),
        grid_size=row.grid_size,
        quote_ttl_seconds=settings.QUOTE_TTL_SECONDS,
        seed=module.pk,
        timezone=settings.TIME_ZONE,
    )


def _offer(row: ProviderOffer) -> engine.ProviderOffer:
    return engine.ProviderOffer(
        provider_id=str(row.provider_id),
        rate=row.rate,
        success_rate=float(row.success_rate),
        completion_hours=float(row.completion_hours),
        capacity_per_day=row.capacity_per_day,
        min_quantity=row.min_quantity,
        max_quantity=row.max_quantity,
    )


def _reference(row: ReferencePrice) -> engine.ReferencePrice:
    return engine.ReferencePrice(
        source=row.source,
        rate=row.rate,
        observed_at=row.observed_at,
        expires_at=row.expires_at,
        min_quantity=row.min_quantity,
        max_quantity=row.max_quantity,
        source_en=row.source_en,
    )


def pricing_inputs_many(
    *, modules: Sequence[ServiceModule], now: datetime | None = None
) -> dict[int, PricingInputs]:
    """Return the engine inputs of several modules in four queries, keyed by module id."""
    now = now or timezone.now()
    ids = [m.pk for m in modules]
    configs = {c.module_id: c for c in ModulePricingConfig.objects.filter(module_id__in=ids)}
    states = {s.module_id: s for s in ModulePriceState.objects.filter(module_id__in=ids)}
    markets = _markets(ids, now)
    return {
        module.pk: _inputs(module, configs.get(module.pk), states.get(module.pk), markets)
        for module in modules
    }


#: The module's pricing rows: read with the module (``module_get(related=PRICING_RELATED)``),
#: :func:`pricing_inputs` needs no query of its own for them.
PRICING_RELATED = ("pricing_config", "price_state")


def pricing_inputs(*, module: ServiceModule, now: datetime | None = None) -> PricingInputs:
    """Return the engine inputs of one module (config, market, learned state) in three queries.

    Two when the module was read with ``PRICING_RELATED``.
    """
    now = now or timezone.now()
    rows = module
    if not all(getattr(ServiceModule, name).is_cached(module) for name in PRICING_RELATED):
        rows = ServiceModule.objects.select_related(*PRICING_RELATED).get(pk=module.pk)
    config_row = getattr(rows, "pricing_config", None)
    state_row = getattr(rows, "price_state", None)
    return _inputs(module, config_row, state_row, _markets([module.pk], now))


def _markets(ids: Sequence[int], now: datetime) -> dict[int, engine.MarketInputs]:
    """Active offers and unexpired references of the modules ``ids`` (two queries).

    The statements are written out (``rows_select``, which converts each column as the ORM
    does) because every quote, and so every order, runs them: building them with the ORM cost
    the web process about three times what running them did.
    """
    if not ids:
        return {}
    offers: dict[int, list[engine.ProviderOffer]] = defaultdict(list)
    references: dict[int, list[engine.ReferencePrice]] = defaultdict(list)
    quote = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(ids))
    offer_rows = rows_select(
        ProviderOffer,
        f"INNER JOIN {quote(Provider._meta.db_table)} p ON p.id = t0.provider_id"
        f" WHERE t0.module_id IN ({marks}) AND t0.active = %s AND p.active = %s ORDER BY t0.id",
        [*ids, True, True],
    )
    for offer in offer_rows:
        offers[offer.module_id].append(_offer(offer))
    reference_rows = rows_select(
        ReferencePrice,
        f"WHERE t0.module_id IN ({marks}) AND t0.expires_at > %s ORDER BY t0.id",
        [*ids, connection.ops.adapt_datetimefield_value(now)],
    )
    for ref in reference_rows:
        references[ref.module_id].append(_reference(ref))
    return {pk: engine.MarketInputs(tuple(offers[pk]), tuple(references[pk])) for pk in ids}


def _inputs(
    module: ServiceModule,
    config_row: ModulePricingConfig | None,
    state_row: ModulePriceState | None,
    markets: dict[int, engine.MarketInputs],
) -> PricingInputs:
    return PricingInputs(
        module_id=module.pk,
        config=config_from_row(module, config_row),
        market=markets[module.pk],
        enabled=config_row.enabled if config_row is not None else True,
        state=None if state_row is None else engine.ModuleState.from_dict(state_row.state),
    )


def pricing_config(*, module: ServiceModule) -> engine.PricingConfig:
    """Return the module's engine config alone (one query)."""
    return config_from_row(module, ModulePricingConfig.objects.filter(module=module).first())


def static_rate(
    module: ServiceModule, quantity: int, inputs: PricingInputs, now: datetime
) -> tuple[Decimal, Decimal | None]:
    """Return the fixed price of ``quantity`` units and the lowest market reference rate.

    The list rate, but never above the lowest reference: the catalogue's promise holds for
    modules priced by hand too (and for any module whose dynamic pricing is switched off).
    """
    ref = engine.lowest_reference(inputs.market.references, quantity, now)
    ref_rate = None if ref is None else engine.rate_down(ref.rate)
    rate = module.rate_per_1000 if ref_rate is None else min(module.rate_per_1000, ref_rate)
    return rate, ref_rate


def _static_price(
    module: ServiceModule, quantity: int, inputs: PricingInputs, now: datetime
) -> PriceAt:
    rate, ref_rate = static_rate(module, quantity, inputs, now)
    return PriceAt(
        quantity,
        rate,
        engine.total_fen(rate, quantity),
        ref_rate,
        engine.saving_percent(rate, ref_rate),
        dynamic=False,
    )


def price_from_inputs(
    *, module: ServiceModule, quantity: int, inputs: PricingInputs, now: datetime
) -> PriceAt:
    """Price ``quantity`` units with given inputs; raises :class:`DomainError` when unavailable."""
    if not inputs.dynamic:
        return _static_price(module, quantity, inputs, now)
    assert inputs.state is not None
    q = engine.quote(
        inputs.state, inputs.config, inputs.market, quantity=quantity, customer_id="", now=now
    )
    return PriceAt(
        quantity, q.unit_rate, q.total_fen, q.reference_rate, q.saving_percent, dynamic=True
    )


def module_price_at(
    *, module: ServiceModule, quantity: int, now: datetime | None = None
) -> PriceAt:
    """Return today's price of ``quantity`` units of ``module`` without holding it.

    The engine's price when the module is priced dynamically, else the static list rate. Raises
    :class:`DomainError` on ``quantity`` when the module is unavailable at that quantity.
    """
    now = now or timezone.now()
    inputs = pricing_inputs(module=module, now=now)
    return price_from_inputs(module=module, quantity=quantity, inputs=inputs, now=now)


def growth_plan_price_fen(*, plan: GrowthPlan, now: datetime | None = None) -> int | None:
    """Return what ordering ``plan`` holds today (its daily order at today's price × its days).

    None when the module cannot be sold at the daily quantity now: not priced at it, or no
    longer taking it (its range or step changed since the plan was made).
    """
    return growth_plan_prices_fen(plans=[plan], now=now)[plan.pk]


def growth_plan_prices_fen(
    *, plans: Iterable[GrowthPlan], now: datetime | None = None
) -> dict[int, int | None]:
    """Return :func:`growth_plan_price_fen` of many plans in a constant number of queries, by id."""
    now = now or timezone.now()
    plans = list(plans)
    modules = list({p.module_id: p.module for p in plans}.values())
    inputs = pricing_inputs_many(modules=modules, now=now)
    return {p.pk: _plan_price_fen(p, inputs[p.module_id], now) for p in plans}


def _plan_price_fen(plan: GrowthPlan, inputs: PricingInputs, now: datetime) -> int | None:
    if quantity_errors(plan.module, plan.daily_quantity):
        return None
    try:
        daily = price_from_inputs(
            module=plan.module, quantity=plan.daily_quantity, inputs=inputs, now=now
        )
    except DomainError:
        return None
    return daily.total_fen * plan.days


def _tier_rows(
    module: ServiceModule, inputs: PricingInputs, now: datetime
) -> list[engine.TierPrice]:
    if inputs.dynamic:
        assert inputs.state is not None
        return engine.tier_prices(
            inputs.state,
            inputs.config,
            inputs.market,
            now,
            min_quantity=module.min_quantity,
            max_quantity=module.max_quantity,
        )
    # Static list prices have no volume tiers: the first tier alone, at the list rate.
    rows = []
    for tier in inputs.config.sorted_tiers():
        if tier.min_quantity > module.max_quantity or tier.min_quantity > 1:
            continue
        qty = max(tier.min_quantity, module.min_quantity)
        static = _static_price(module, qty, inputs, now)
        rows.append(
            engine.TierPrice(
                min_quantity=tier.min_quantity,
                discount=Decimal(0),
                quantity=qty,
                unit_rate=static.unit_rate,
                reference_rate=static.reference_rate,
                saving_percent=static.saving_percent,
                available=True,
            )
        )
    return rows


def summary_from_inputs(
    *, module: ServiceModule, inputs: PricingInputs, now: datetime
) -> PriceSummary:
    """Return today's price summary of a module from already loaded inputs."""
    qty = inputs.config.base_quantity
    ref = engine.lowest_reference(inputs.market.references, qty, now)
    ref_rate = None if ref is None else engine.rate_down(ref.rate)
    source = "" if ref is None else ref.source
    source_en = "" if ref is None else ref.source_en
    tiers = _tier_rows(module, inputs, now)
    kill = inputs.dynamic and inputs.config.kill_switch
    if not inputs.dynamic:
        rate, _ = static_rate(module, qty, inputs, now)
        return PriceSummary(
            module.pk, False, False, qty, rate, ref_rate, source,
            engine.saving_percent(rate, ref_rate), True, tiers=tiers, reference_source_en=source_en,
        )  # fmt: skip
    try:
        price = price_from_inputs(module=module, quantity=qty, inputs=inputs, now=now)
    except DomainError as exc:
        error = exc.errors[0]
        return PriceSummary(
            module.pk, True, kill, qty, None, ref_rate, source, None, False,
            error.message_zh, error.message_en, tiers, source_en,
        )  # fmt: skip
    return PriceSummary(
        module.pk, True, kill, qty, price.unit_rate, ref_rate, source, price.saving_percent, True,
        tiers=tiers, reference_source_en=source_en,
    )  # fmt: skip


def module_price_summary(*, module: ServiceModule, now: datetime | None = None) -> PriceSummary:
    """Return today's price of a module next to the lowest market reference, with its tiers."""
    now = now or timezone.now()
    inputs = pricing_inputs(module=module, now=now)
    return summary_from_inputs(module=module, inputs=inputs, now=now)


def module_price_summaries(
    *, modules: Iterable[ServiceModule], now: datetime | None = None
) -> dict[int, PriceSummary]:
    """Return :func:`module_price_summary` for many modules in a constant number of queries."""
    now = now or timezone.now()
    modules = list(modules)
    inputs = pricing_inputs_many(modules=modules, now=now)
    return {m.pk: summary_from_inputs(module=m, inputs=inputs[m.pk], now=now) for m in modules}


def module_rates_today(
    *, modules: Iterable[ServiceModule], now: datetime | None = None
) -> dict[int, Decimal]:
    """Return each module's price per 1,000 units as the catalogue shows it today, by id.

    The engine's rate at the module's base quantity when it is priced dynamically (larger
    orders may get volume discounts), else the list rate capped at the lowest reference
    (:func:`static_rate`); the list rate while the engine cannot price the module (orders then
    get the reason).
    """
    now = now or timezone.now()
    modules = list(modules)
    inputs = pricing_inputs_many(modules=modules, now=now)
    return {m.pk: _rate_today(m, inputs[m.pk], now) for m in modules}


def _rate_today(module: ServiceModule, inputs: PricingInputs, now: datetime) -> Decimal:
    """Return the rate a listing shows: the base quantity's, as :func:`summary_from_inputs` has it.

    Only that one price is computed (no volume tiers, no market comparison).
    """
    quantity = inputs.config.base_quantity
    if not inputs.dynamic:
        return static_rate(module, quantity, inputs, now)[0]
    try:
        return price_from_inputs(module=module, quantity=quantity, inputs=inputs, now=now).unit_rate
    except DomainError:
        return module.rate_per_1000


def price_history(
    *, module: ServiceModule, now: datetime | None = None, days: int = HISTORY_DAYS
) -> list[PriceChange]:
    """Return the module's publications of the last ``days`` days, oldest first."""
    now = now or timezone.now()
    rows = PriceChange.objects.filter(module=module, at__gte=now - timedelta(days=days)).order_by(
        "-at", "-pk"
    )[:HISTORY_MAX_POINTS]
    return list(reversed(rows))


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else rate_str(value)


def _percent(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def tier_dict(tier: engine.TierPrice) -> dict[str, Any]:
    """Return the API shape of one volume tier."""
    return {
        "min_quantity": tier.min_quantity,
        "quantity": tier.quantity,
        "discount_percent": _percent((tier.discount * 100).normalize()),
        "unit_rate": _rate(tier.unit_rate),
        "reference_rate": _rate(tier.reference_rate),
        "saving_percent": _percent(tier.saving_percent),
        "available": tier.available,
        "reason": (tier.reason_en if english_active() else tier.reason_zh)
        if not tier.available
        else "",
    }


def point_dict(change: PriceChange) -> dict[str, Any]:
    """Return the API shape of one price-history point.

    For customers: the price, the market ceiling and reference, and why the price is what it
    is in their words. ``floor`` stays in the shape but is always null: it is the provider's
    cost plus the minimum margin, which the operator's reason texts (admin only) also give.
    """
    reason_zh, reason_en = engine.public_reason(change.code)
    return {
        "at": change.at.isoformat(),
        "unit_rate": _rate(change.new_price),
        "floor": None,
        "ceiling": _rate(change.ceiling),
        "reference": _rate(change.reference_rate),
        "code": change.code,
        "reason": reason_en if english_active() else reason_zh,
    }


def price_history_dict(
    *, module: ServiceModule, now: datetime | None = None, summary: PriceSummary | None = None
) -> dict[str, Any]:
    """Return the ``GET /api/v1/services/{id}/price-history`` body for a module."""
    now = now or timezone.now()
    summary = summary or module_price_summary(module=module, now=now)
    return {
        "service_id": module.pk,
        "currency": "CNY",
        "points": [point_dict(c) for c in price_history(module=module, now=now)],
        "today": {
            "quantity": summary.quantity,
            "unit_rate": _rate(summary.unit_rate),
            "reference_rate": _rate(summary.reference_rate),
            "reference_source": summary.reference_source,
            "saving_percent": _percent(summary.saving_percent),
            "available": summary.available,
            "dynamic": summary.dynamic,
        },
        "tiers": [tier_dict(t) for t in summary.tiers],
    }
