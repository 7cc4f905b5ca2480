"""Price engine (动态定价引擎): price components, demand learning and quotes, with no Django import.

Design overview
---------------
Money. Rates are ``Decimal`` yuan per 1,000 units with four decimals (``RATE_QUANTUM``, i.e. a
hundredth of a fen per 1,000 units); a quote total is integer fen, computed from the unit rate and
the quantity and rounded half-up exactly once (:func:`total_fen`). Floors are rounded up and
ceilings rounded down to the rate quantum, so rounding can never push a rate outside its bounds.

Components (:func:`components`). For one module and quantity: ``cost`` is the rate of the cheapest
provider offer that meets the module's quality bar (success rate, completion time) and covers the
quantity; ``floor = cost × (1 + min_margin)``; ``ceiling`` is the lowest non-expired market
reference price covering the quantity (without any reference the operator's
``max_markup_without_reference`` caps the price instead, and the result says so).
``floor > ceiling`` (or no offer) makes the module *unavailable at that quantity*: a result with a
reason, never a sale at a loss or above market.

Volume tiers. The engine publishes one *base* rate per module (for ``base_quantity``); the rate at a
quantity is ``base × (1 − tier discount)`` clamped into that quantity's ``[floor, ceiling]``, so
larger orders are cheaper per 1,000 and every rate still respects both bounds.

Demand learning (:func:`publish`). Following Ferreira, Simchi-Levi & Wang (2018), "Online Network
Revenue Management Using Thompson Sampling" (TS-update), adapted to one resource per module and to
profit instead of revenue:

1. a small grid of price points spans ``[floor, ceiling]``; each point has a Beta-Bernoulli
   conversion model (trial = a quote shown, success = an order placed) whose prior comes from the
   cost/reference structure (conversion ``prior_conversion_at_reference`` at the ceiling, constant
   elasticity below it, weight ``prior_strength`` pseudo-quotes);
2. each publication samples a conversion per point from the posterior and projects the sample onto
   non-increasing demand (weighted isotonic regression, weights = posterior precision), because
   demand never rises with price;
3. it solves the LP ``max Σ x_k θ_k m_k`` s.t. ``Σ x_k θ_k ū ≤ remaining capacity / expected
   remaining arrivals today`` and ``Σ x_k ≤ 1`` with ``scipy.optimize.linprog`` (``m_k`` = expected
   margin per quote, ``ū`` = mean units per quote, capacity = units per day of the cost offer). When
   the unconstrained best point already fits the capacity it *is* the LP optimum, and the LP call is
   skipped. The paper's leftover "shut-off price" mass is mapped to the highest feasible point: a
   quote platform shows its highest price rather than refusing; exhausted daily capacity still
   refuses quotes (:func:`quote`);
4. a point is drawn from the LP solution; the price moves towards it by at most ``step_per_hour ×
   hours since the last publication`` of the last published price. Floor and ceiling are hard and
   win over the step limit (a new cheaper competitor lowers the price at once).

Observations are attributed to the grid point nearest the published base rate. The grid stays fixed
while the bounds drift by less than one spacing; otherwise it is rebuilt over the new bounds and
counts are carried from old points within half a new spacing.

Kill switch. ``PricingConfig.kill_switch`` publishes ``cost × (1 + static_markup)`` clamped to
``[floor, ceiling]`` at once (an operator decision, so no step limit applies).

Every publication returns a :class:`PriceChange` with a reason code and reason text in English and
Chinese for the operator log. State (:class:`ModuleState`) round-trips through a JSON-safe dict.
Randomness comes from a generator seeded by ``(config.seed, module id, publication time)``, so a
publication is reproducible without storing generator state.

Functions named ``publish``/``observe_*`` mutate the :class:`ModuleState` they are given; all others
are pure.
"""

from __future__ import annotations

import math
import uuid
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from scipy.optimize import linprog

from doudesk.errors import DomainError

RATE_QUANTUM = Decimal("0.0001")
"""Rates (yuan per 1,000 units) carry four decimals."""

STATE_VERSION = 1

_ZERO = Decimal(0)
_ONE = Decimal(1)
_INF = float("inf")


# --------------------------------------------------------------------------------------------------
# Money helpers
# --------------------------------------------------------------------------------------------------


def _to_decimal(value: Decimal | float | int | str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(f"{value:.10f}")
    return Decimal(value)


def rate_up(value: Decimal | float) -> Decimal:
    """Round a rate up to the rate quantum (used for floors)."""
    return _to_decimal(value).quantize(RATE_QUANTUM, rounding=ROUND_CEILING)


def rate_down(value: Decimal | float) -> Decimal:
    """Round a rate down to the rate quantum (used for ceilings)."""
    return _to_decimal(value).quantize(RATE_QUANTUM, rounding=ROUND_FLOOR)


def rate_round(value: Decimal | float) -> Decimal:
    """Round a rate half-up to the rate quantum."""
    return _to_decimal(value).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)


def total_fen(unit_rate: Decimal, quantity: int) -> int:
    """Return the charge in integer fen for ``quantity`` units at ``unit_rate`` yuan per 1,000.

    ``unit_rate × quantity / 1000`` yuan is exact in ``Decimal``; it is rounded half-up to the fen
    once, here, and nowhere else.
    """
    fen = unit_rate * quantity / Decimal(10)
    return int(fen.quantize(_ONE, rounding=ROUND_HALF_UP))


def fen_to_yuan(fen: int) -> Decimal:
    """Return integer fen as a ``Decimal`` yuan amount with two decimals (for the API)."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def _clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return max(low, min(high, value))


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("pricing needs timezone-aware datetimes")
    return now


# --------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityBar:
    """A module's minimum provider quality: success rate and completion time."""

    min_success_rate: float = 0.0
    max_completion_hours: float = _INF

    def admits(self, offer: ProviderOffer) -> bool:
        """Return whether ``offer`` meets this bar."""
        return (
            offer.success_rate >= self.min_success_rate
            and offer.completion_hours <= self.max_completion_hours
        )


@dataclass(frozen=True)
class ProviderOffer:
    """One provider's price for a module: ``rate`` yuan per 1,000 units, quality and capacity.

    ``capacity_per_day`` is the units the provider accepts per (Asia/Shanghai) day; ``None`` means
    unlimited. ``min_quantity``/``max_quantity`` bound the order sizes the offer covers.
    """

    provider_id: str
    rate: Decimal
    success_rate: float = 1.0
    completion_hours: float = 0.0
    capacity_per_day: int | None = None
    min_quantity: int = 1
    max_quantity: int | None = None

    def covers(self, quantity: int) -> bool:
        """Return whether the offer accepts an order of ``quantity`` units."""
        return quantity >= self.min_quantity and (
            self.max_quantity is None or quantity <= self.max_quantity
        )


@dataclass(frozen=True)
class ReferencePrice:
    """A market reference price for a module (yuan per 1,000), with its source and validity.

    A reference counts while ``now < expires_at``; it applies to quantities within
    ``[min_quantity, max_quantity]``.
    """

    source: str
    rate: Decimal
    observed_at: datetime
    expires_at: datetime
    min_quantity: int = 1
    max_quantity: int | None = None
    #: The source's name in English, when known (``source`` names it in Chinese).
    source_en: str = ""

    def applies(self, quantity: int, now: datetime) -> bool:
        """Return whether this reference is unexpired at ``now`` and covers ``quantity``."""
        return (
            now < self.expires_at
            and quantity >= self.min_quantity
            and (self.max_quantity is None or quantity <= self.max_quantity)
        )


@dataclass(frozen=True)
class VolumeTier:
    """From ``min_quantity`` units on, the base rate is reduced by the fraction ``discount``."""

    min_quantity: int
    discount: Decimal


DEFAULT_TIERS: tuple[VolumeTier, ...] = (
    VolumeTier(1, Decimal("0")),
    VolumeTier(5_000, Decimal("0.03")),
    VolumeTier(20_000, Decimal("0.06")),
)


@dataclass(frozen=True)
class PricingConfig:
    """Operator settings for one module (margins, step limit, kill switch, tiers, learning prior).

    ``step_per_hour`` is the largest fraction of the last published price by which the price may
    move per hour. ``kill_switch`` switches to static markup pricing. The prior settings shape the
    demand prior from the reference price: conversion ``prior_conversion_at_reference`` at the
    ceiling, rising as ``(ceiling / price) ** prior_elasticity`` below it, worth ``prior_strength``
    observed quotes.
    """

    min_margin: Decimal = Decimal("0.05")
    static_markup: Decimal = Decimal("0.30")
    max_markup_without_reference: Decimal = Decimal("1.00")
    step_per_hour: Decimal = Decimal("0.10")
    kill_switch: bool = False
    quality: QualityBar = field(default_factory=QualityBar)
    tiers: tuple[VolumeTier, ...] = DEFAULT_TIERS
    base_quantity: int = 1_000
    grid_size: int = 8
    quote_ttl_seconds: int = 600
    prior_conversion_at_reference: float = 0.5
    prior_elasticity: float = 2.0
    prior_strength: float = 2.0
    min_quotes_for_capacity: int = 5
    seed: int = 0
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if self.min_margin < 0 or self.static_markup < 0 or self.step_per_hour <= 0:
            raise ValueError("margins must be >= 0 and step_per_hour > 0")
        if self.grid_size < 2:
            raise ValueError("grid_size must be at least 2")
        if not self.tiers or any(not (0 <= t.discount < 1) for t in self.tiers):
            raise ValueError("tiers need discounts in [0, 1)")

    def tier_index(self, quantity: int) -> int:
        """Return the index into ``tiers`` (sorted by ``min_quantity``) that applies to quantity."""
        best = 0
        for i, tier in enumerate(sorted(self.tiers, key=lambda t: t.min_quantity)):
            if quantity >= tier.min_quantity:
                best = i
        return best

    def sorted_tiers(self) -> tuple[VolumeTier, ...]:
        """Return the tiers sorted by ``min_quantity``."""
        return tuple(sorted(self.tiers, key=lambda t: t.min_quantity))


@dataclass(frozen=True)
class MarketInputs:
    """What the engine knows about a module's market right now: provider offers and references."""

    offers: tuple[ProviderOffer, ...] = ()
    references: tuple[ReferencePrice, ...] = ()


# --------------------------------------------------------------------------------------------------
# Components
# --------------------------------------------------------------------------------------------------


def select_cost_offer(
    offers: Iterable[ProviderOffer], bar: QualityBar, quantity: int
) -> ProviderOffer | None:
    """Return the cheapest offer meeting ``bar`` that covers ``quantity`` (ties: provider id)."""
    eligible = [o for o in offers if bar.admits(o) and o.covers(quantity)]
    if not eligible:
        return None
    return min(eligible, key=lambda o: (o.rate, o.provider_id))


def lowest_reference(
    references: Iterable[ReferencePrice], quantity: int, now: datetime
) -> ReferencePrice | None:
    """Return the lowest unexpired reference covering ``quantity`` (ties: earliest source name)."""
    valid = [r for r in references if r.applies(quantity, now)]
    if not valid:
        return None
    return min(valid, key=lambda r: (r.rate, r.source))


@dataclass(frozen=True)
class Components:
    """Price components of one module at one quantity.

    ``available`` is false with ``reason_code`` ``no_offer`` (no offer meets the quality bar) or
    ``floor_above_ceiling`` (selling would be at a loss or above market). ``ceiling_source`` is
    ``reference`` or ``max_markup`` (no valid reference known).
    """

    quantity: int
    cost: Decimal | None
    floor: Decimal | None
    ceiling: Decimal | None
    offer: ProviderOffer | None
    reference: ReferencePrice | None
    ceiling_source: str
    available: bool
    reason_code: str = ""
    reason_en: str = ""
    reason_zh: str = ""


def components(
    config: PricingConfig, market: MarketInputs, quantity: int, now: datetime
) -> Components:
    """Compute cost, floor and ceiling of a module for ``quantity`` at ``now``."""
    _aware(now)
    offer = select_cost_offer(market.offers, config.quality, quantity)
    if offer is None:
        return Components(
            quantity,
            None,
            None,
            None,
            None,
            None,
            "",
            False,
            "no_offer",
            f"no provider offer meets the quality bar for {quantity} units",
            f"没有符合质量要求的服务商可承接 {quantity} 的数量",
        )
    cost = offer.rate
    floor = rate_up(cost * (1 + config.min_margin))
    reference = lowest_reference(market.references, quantity, now)
    if reference is not None:
        ceiling, source = rate_down(reference.rate), "reference"
    else:
        ceiling = rate_down(cost * (1 + config.max_markup_without_reference))
        source = "max_markup"
    if floor > ceiling:
        return Components(
            quantity,
            cost,
            floor,
            ceiling,
            offer,
            reference,
            source,
            False,
            "floor_above_ceiling",
            f"floor {floor} (cost {cost} + {config.min_margin:%} margin) is above the market "
            f"ceiling {ceiling}; unavailable at {quantity} units",
            f"底价 {floor}（成本 {cost} 加最低利润率）高于市场最低价 {ceiling}，该数量暂不可售",
        )
    return Components(quantity, cost, floor, ceiling, offer, reference, source, True)


def unit_rate_at(base_rate: Decimal, comps: Components, config: PricingConfig) -> Decimal | None:
    """Return the unit rate at ``comps.quantity`` for a published ``base_rate`` (tier-discounted).

    ``None`` when the module is unavailable at that quantity. The result always lies within
    ``[comps.floor, comps.ceiling]``.
    """
    if not comps.available or comps.floor is None or comps.ceiling is None:
        return None
    tier = config.sorted_tiers()[config.tier_index(comps.quantity)]
    return _clamp(rate_round(base_rate * (1 - tier.discount)), comps.floor, comps.ceiling)


def static_price(comps: Components, config: PricingConfig) -> Decimal | None:
    """Return the kill-switch price ``cost × (1 + static_markup)`` clamped to the bounds."""
    if not comps.available or comps.cost is None or comps.floor is None or comps.ceiling is None:
        return None
    return _clamp(rate_round(comps.cost * (1 + config.static_markup)), comps.floor, comps.ceiling)


def saving_percent(rate: Decimal, reference: Decimal | None) -> Decimal | None:
    """Return how much cheaper ``rate`` is than ``reference`` in percent (one decimal)."""
    if reference is None or reference <= 0:
        return None
    return ((reference - rate) * 100 / reference).quantize(Decimal("0.1"), rounding=ROUND_FLOOR)


# --------------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------------


@dataclass
class ModuleState:
    """Learned and published pricing state of one module; persist with :meth:`to_dict`.

    ``price`` is the last published base rate (``None`` before the first publication or while the
    module is unavailable). ``trials``/``successes`` count quotes shown and orders placed per grid
    point; ``prior_a``/``prior_b`` are the Beta prior per point.
    """

    module_id: str
    created_at: datetime
    grid: list[Decimal] = field(default_factory=list)
    prior_a: list[float] = field(default_factory=list)
    prior_b: list[float] = field(default_factory=list)
    trials: list[float] = field(default_factory=list)
    successes: list[float] = field(default_factory=list)
    grid_version: int = 0
    price: Decimal | None = None
    point: int | None = None
    published_at: datetime | None = None
    available: bool = False
    quotes_total: int = 0
    orders_total: int = 0
    tier_quotes: list[int] = field(default_factory=list)
    tier_units: list[int] = field(default_factory=list)
    day: str = ""
    units_sold_today: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (Decimals and datetimes as strings)."""
        return {
            "version": STATE_VERSION,
            "module_id": self.module_id,
            "created_at": self.created_at.isoformat(),
            "grid": [str(p) for p in self.grid],
            "prior_a": list(self.prior_a),
            "prior_b": list(self.prior_b),
            "trials": list(self.trials),
            "successes": list(self.successes),
            "grid_version": self.grid_version,
            "price": None if self.price is None else str(self.price),
            "point": self.point,
            "published_at": None if self.published_at is None else self.published_at.isoformat(),
            "available": self.available,
            "quotes_total": self.quotes_total,
            "orders_total": self.orders_total,
            "tier_quotes": list(self.tier_quotes),
            "tier_units": list(self.tier_units),
            "day": self.day,
            "units_sold_today": self.units_sold_today,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModuleState:
        """Rebuild a state from :meth:`to_dict` output."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported pricing state version {data.get('version')!r}")
        published = data["published_at"]
        return cls(
            module_id=data["module_id"],
            created_at=datetime.fromisoformat(data["created_at"]),
            grid=[Decimal(p) for p in data["grid"]],
            prior_a=[float(x) for x in data["prior_a"]],
            prior_b=[float(x) for x in data["prior_b"]],
            trials=[float(x) for x in data["trials"]],
            successes=[float(x) for x in data["successes"]],
            grid_version=int(data["grid_version"]),
            price=None if data["price"] is None else Decimal(data["price"]),
            point=data["point"],
            published_at=None if published is None else datetime.fromisoformat(published),
            available=bool(data["available"]),
            quotes_total=int(data["quotes_total"]),
            orders_total=int(data["orders_total"]),
            tier_quotes=[int(x) for x in data["tier_quotes"]],
            tier_units=[int(x) for x in data["tier_units"]],
            day=data["day"],
            units_sold_today=int(data["units_sold_today"]),
        )


def new_state(module_id: str, now: datetime) -> ModuleState:
    """Return an empty state for a module; the first :func:`publish` builds its grid."""
    return ModuleState(module_id=module_id, created_at=_aware(now))


def _day_key(config: PricingConfig, now: datetime) -> str:
    return now.astimezone(ZoneInfo(config.timezone)).date().isoformat()


def _hours_left_in_day(config: PricingConfig, now: datetime) -> float:
    local = now.astimezone(ZoneInfo(config.timezone))
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max((midnight - local).total_seconds() / 3600.0, 1.0)


def _roll_day(state: ModuleState, config: PricingConfig, now: datetime) -> None:
    key = _day_key(config, now)
    if state.day != key:
        state.day = key
        state.units_sold_today = 0


def units_sold_today(state: ModuleState, config: PricingConfig, now: datetime) -> int:
    """Return the units ordered in the module's current (local) day as of ``now``."""
    return state.units_sold_today if state.day == _day_key(config, now) else 0


def _prior(grid: Sequence[Decimal], ceiling: Decimal, config: PricingConfig) -> list[float]:
    means = []
    for p in grid:
        ratio = float(ceiling) / max(float(p), 1e-12)
        mean = config.prior_conversion_at_reference * ratio**config.prior_elasticity
        means.append(min(max(mean, 0.02), 0.98))
    return means


def _build_grid(
    state: ModuleState, floor: Decimal, ceiling: Decimal, config: PricingConfig
) -> None:
    n = config.grid_size
    raw = [floor + (ceiling - floor) * Decimal(i) / Decimal(n - 1) for i in range(n)]
    points = sorted({_clamp(rate_round(p), floor, ceiling) for p in raw})
    old = list(zip(state.grid, state.trials, state.successes, strict=True))
    spacing = (ceiling - floor) / Decimal(max(len(points) - 1, 1))
    trials, successes = [], []
    for p in points:
        near = [(t, s) for q, t, s in old if abs(q - p) <= spacing / 2]
        trials.append(float(sum(t for t, _ in near)))
        successes.append(float(sum(s for _, s in near)))
    means = _prior(points, ceiling, config)
    state.grid = points
    state.prior_a = [m * config.prior_strength for m in means]
    state.prior_b = [(1 - m) * config.prior_strength for m in means]
    state.trials = trials
    state.successes = successes
    state.grid_version += 1


def _grid_needs_rebuild(state: ModuleState, floor: Decimal, ceiling: Decimal) -> bool:
    if not state.grid:
        return True
    if len(state.grid) == 1:
        return state.grid[0] != floor or state.grid[0] != ceiling
    spacing = (state.grid[-1] - state.grid[0]) / (len(state.grid) - 1)
    feasible = sum(1 for p in state.grid if floor <= p <= ceiling)
    return (
        feasible < math.ceil(len(state.grid) / 2)
        or ceiling - state.grid[-1] > spacing
        or state.grid[0] - floor > spacing
    )


def nearest_point(state: ModuleState, rate: Decimal) -> int | None:
    """Return the grid point nearest ``rate``, or ``None`` when none is within half a spacing.

    Quotes at a rate far from every point (e.g. under the kill switch) teach the model nothing.
    """
    if not state.grid:
        return None
    best = min(range(len(state.grid)), key=lambda i: (abs(state.grid[i] - rate), i))
    if len(state.grid) > 1:
        spacing = (state.grid[-1] - state.grid[0]) / (len(state.grid) - 1)
        if abs(state.grid[best] - rate) > spacing / 2:
            return None
    elif state.grid[0] != rate:
        return None
    return best


# --------------------------------------------------------------------------------------------------
# Thompson sampling with the capacity LP
# --------------------------------------------------------------------------------------------------


def _rng(config: PricingConfig, module_id: str, now: datetime) -> np.random.Generator:
    stamp = int(now.timestamp() * 1000)
    return np.random.default_rng([config.seed, zlib.crc32(module_id.encode()), stamp])


def isotonic_decreasing(values: Sequence[float], weights: Sequence[float]) -> list[float]:
    """Project ``values`` onto non-increasing sequences (weighted least squares, pool adjacent).

    Used on each posterior sample so demand never rises with price; weighting by posterior
    precision makes an unexplored point yield to a well-measured neighbour rather than the reverse.
    """
    blocks: list[list[float]] = []  # [weighted mean, weight, count]
    for v, w in zip(values, weights, strict=True):
        blocks.append([float(v), float(w), 1.0])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    out: list[float] = []
    for v, _, n in blocks:
        out.extend([v] * int(n))
    return out


def solve_capacity_lp(
    conversion: Sequence[float],
    margin: Sequence[float],
    units_per_order: float,
    capacity_per_arrival: float | None,
) -> list[float]:
    """Solve Ferreira et al.'s per-period LP over price-point probabilities.

    Maximise ``Σ x_k · conversion_k · margin_k`` subject to ``Σ x_k · conversion_k ·
    units_per_order ≤ capacity_per_arrival`` (skipped when ``None``), ``Σ x_k ≤ 1`` and ``x ≥ 0``.
    Returns ``x`` (its sum may be below 1: the rest is the paper's shut-off mass).
    """
    k = len(conversion)
    if k == 0:
        return []
    objective = [c * m for c, m in zip(conversion, margin, strict=True)]
    best = max(range(k), key=lambda i: objective[i])
    if objective[best] <= 0:
        return [0.0] * k
    use = [c * units_per_order for c in conversion]
    if capacity_per_arrival is None or use[best] <= capacity_per_arrival:
        # The unconstrained optimum is feasible, hence optimal: no solver call needed.
        x = [0.0] * k
        x[best] = 1.0
        return x
    result = linprog(
        c=[-v for v in objective],
        A_ub=[use, [1.0] * k],
        b_ub=[max(capacity_per_arrival, 0.0), 1.0],
        bounds=[(0.0, None)] * k,
        method="highs",
    )
    if not result.success:  # pragma: no cover - the LP is always feasible (x = 0)
        return [0.0] * k
    return [max(float(v), 0.0) for v in result.x]


def _mean_margin_per_quote(
    state: ModuleState, price: Decimal, comps: Components, config: PricingConfig
) -> float:
    """Return the expected margin (yuan) per quote at base ``price`` over the observed tier mix."""
    assert comps.cost is not None
    assert comps.floor is not None
    assert comps.ceiling is not None
    tiers = config.sorted_tiers()
    total = sum(state.tier_quotes)
    if total == 0 or len(state.tier_units) != len(tiers):
        return float(price - comps.cost) * config.base_quantity / 1000.0
    margin = 0.0
    for tier, units in zip(tiers, state.tier_units, strict=True):
        rate = _clamp(price * (1 - tier.discount), comps.floor, comps.ceiling)
        margin += float(rate - comps.cost) * units / 1000.0
    return margin / total


@dataclass(frozen=True)
class PriceChange:
    """The outcome of one publication, for the price history and the operator change log.

    ``code`` is one of ``initial``, ``thompson``, ``step_limited``, ``floor``, ``ceiling``,
    ``kill_switch``, ``unavailable``. ``changed`` says whether the published price moved.
    """

    module_id: str
    at: datetime
    old_price: Decimal | None
    new_price: Decimal | None
    changed: bool
    code: str
    reason_en: str
    reason_zh: str
    floor: Decimal | None
    ceiling: Decimal | None
    cost: Decimal | None
    target: Decimal | None = None
    point: int | None = None


def publish(
    state: ModuleState, config: PricingConfig, market: MarketInputs, now: datetime
) -> PriceChange:
    """Choose and publish the module's base rate at ``now`` (mutates ``state``).

    Call it periodically (hourly) and whenever operator settings or market inputs change. The
    first publication, and the first after a spell of unavailability, is not step-limited.
    """
    _aware(now)
    _roll_day(state, config, now)
    old = state.price
    comps = components(config, market, config.base_quantity, now)
    if not comps.available:
        state.available = False
        state.price = None
        state.point = None
        state.published_at = now
        return PriceChange(
            state.module_id,
            now,
            old,
            None,
            old is not None,
            "unavailable",
            comps.reason_en,
            comps.reason_zh,
            comps.floor,
            comps.ceiling,
            comps.cost,
        )
    assert comps.floor is not None
    assert comps.ceiling is not None
    assert comps.cost is not None
    floor, ceiling = comps.floor, comps.ceiling
    bounds_en = f"floor {floor}, ceiling {ceiling} ({comps.ceiling_source})"
    bounds_zh = f"底价 {floor}，上限 {ceiling}"

    if config.kill_switch:
        price = static_price(comps, config)
        assert price is not None
        return _commit(
            state,
            now,
            old,
            price,
            comps,
            "kill_switch",
            f"kill switch: static markup {config.static_markup:%} on cost {comps.cost} "
            f"-> {price}; {bounds_en}",
            f"紧急开关：成本 {comps.cost} 固定加价 {config.static_markup:%} -> {price}；"
            f"{bounds_zh}",
            target=price,
        )

    rebuilt = ""
    if _grid_needs_rebuild(state, floor, ceiling):
        _build_grid(state, floor, ceiling, config)
        rebuilt = f"grid rebuilt over [{floor}, {ceiling}]; "
    target_point, detail_en, detail_zh = _thompson_choice(state, comps, config, now)
    target = state.grid[target_point]

    if old is None or state.published_at is None:
        price, code = _clamp(target, floor, ceiling), "initial"
        lo = hi = price
    else:
        hours = max((now - state.published_at).total_seconds() / 3600.0, 0.0)
        allowed = old * config.step_per_hour * _to_decimal(hours)
        lo, hi = rate_up(old - allowed), rate_down(old + allowed)
        stepped = _clamp(target, lo, hi) if lo <= hi else old
        price = _clamp(stepped, floor, ceiling)
        if price != stepped:
            code = "floor" if price == floor else "ceiling"
        elif stepped != target:
            code = "step_limited"
        else:
            code = "thompson"
    step_en = {
        "initial": "first publication",
        "thompson": "within the step limit",
        "step_limited": f"step limit {config.step_per_hour:%}/h held the price within [{lo}, {hi}]",
        "floor": f"the floor overrides the step limit (allowed [{lo}, {hi}])",
        "ceiling": f"the market ceiling overrides the step limit (allowed [{lo}, {hi}])",
    }[code]
    step_zh = {
        "initial": "首次发布",
        "thompson": "在调价幅度限制内",
        "step_limited": f"每小时调价上限 {config.step_per_hour:%}，价格限制在 [{lo}, {hi}]",
        "floor": "底价优先于调价幅度限制",
        "ceiling": "市场最低价优先于调价幅度限制",
    }[code]
    return _commit(
        state,
        now,
        old,
        price,
        comps,
        code,
        f"{rebuilt}Thompson sampling target {target} ({detail_en}); {step_en}; {bounds_en}",
        f"汤普森采样目标价 {target}（{detail_zh}）；{step_zh}；{bounds_zh}",
        target=target,
    )


def _commit(
    state: ModuleState,
    now: datetime,
    old: Decimal | None,
    price: Decimal,
    comps: Components,
    code: str,
    reason_en: str,
    reason_zh: str,
    *,
    target: Decimal,
) -> PriceChange:
    state.available = True
    state.price = price
    state.point = nearest_point(state, price)
    state.published_at = now
    return PriceChange(
        state.module_id,
        now,
        old,
        price,
        old != price,
        code,
        reason_en,
        reason_zh,
        comps.floor,
        comps.ceiling,
        comps.cost,
        target,
        state.point,
    )


def _thompson_choice(
    state: ModuleState, comps: Components, config: PricingConfig, now: datetime
) -> tuple[int, str, str]:
    assert comps.floor is not None
    assert comps.ceiling is not None
    assert comps.offer is not None
    rng = _rng(config, state.module_id, now)
    feasible = [i for i, p in enumerate(state.grid) if comps.floor <= p <= comps.ceiling]
    a = np.array([state.prior_a[i] + state.successes[i] for i in feasible])
    b = np.array(
        [max(state.prior_b[i] + state.trials[i] - state.successes[i], 1e-6) for i in feasible]
    )
    sample = isotonic_decreasing(list(rng.beta(a, b)), list(a + b))
    margin = [_mean_margin_per_quote(state, state.grid[i], comps, config) for i in feasible]
    units = (sum(state.tier_units) / state.quotes_total) if state.quotes_total else 0.0
    capacity = comps.offer.capacity_per_day
    cap_per_arrival: float | None = None
    if capacity is not None and state.quotes_total >= config.min_quotes_for_capacity:
        hours = max((now - state.created_at).total_seconds() / 3600.0, 1.0)
        arrivals = state.quotes_total / hours * _hours_left_in_day(config, now)
        remaining = max(capacity - units_sold_today(state, config, now), 0)
        cap_per_arrival = remaining / max(arrivals, 1e-9)
    x = solve_capacity_lp(list(sample), margin, units, cap_per_arrival)
    leftover = max(1.0 - sum(x), 0.0)
    probs = np.array(x[:-1] + [x[-1] + leftover]) if x else np.array([1.0])
    probs = probs / probs.sum()
    pick = int(rng.choice(len(feasible), p=probs))
    chosen = feasible[pick]
    binding = cap_per_arrival is not None and max(x, default=0.0) < 1.0
    detail_en = (
        f"point {chosen + 1}/{len(state.grid)}, sampled conversion {sample[pick]:.0%}, "
        f"expected margin {margin[pick]:.2f} yuan/quote"
        + (", capacity LP binding" if binding else "")
    )
    detail_zh = (
        f"第 {chosen + 1}/{len(state.grid)} 档，采样转化率 {sample[pick]:.0%}，"
        f"预期每次报价毛利 {margin[pick]:.2f} 元" + ("，产能约束生效" if binding else "")
    )
    return chosen, detail_en, detail_zh


# --------------------------------------------------------------------------------------------------
# Quotes
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """A price shown to a customer: valid until ``expires_at``; an order is charged ``total_fen``.

    ``point``/``grid_version`` tie the quote to the demand model's price point for learning.
    """

    id: str
    module_id: str
    customer_id: str
    quantity: int
    unit_rate: Decimal
    total_fen: int
    created_at: datetime
    expires_at: datetime
    floor: Decimal
    ceiling: Decimal
    reference_rate: Decimal | None
    point: int | None
    grid_version: int
    tier: int
    currency: str = "CNY"

    @property
    def total(self) -> Decimal:
        """Return the total in yuan (two decimals)."""
        return fen_to_yuan(self.total_fen)

    @property
    def saving_percent(self) -> Decimal | None:
        """Return the saving against the lowest market reference, in percent."""
        return saving_percent(self.unit_rate, self.reference_rate)


#: What customers are told about a price, or about why there is none, by reason code. The
#: reason texts of :class:`PriceChange` and :class:`Components` are for operators: they give
#: the provider's cost, the floor and the expected margin, which customers must not see.
PUBLIC_REASONS = {
    "initial": ("首次定价", "First price"),
    "thompson": ("按需求调整", "Adjusted to demand"),
    "step_limited": (
        "按需求调整，受每小时调价幅度限制",
        "Adjusted to demand, within the hourly step limit",
    ),
    "floor": ("已是可售的最低价", "At the lowest price we can sell at"),
    "ceiling": ("不高于市场最低价", "Capped at the lowest market price"),
    "kill_switch": ("固定加价（动态定价暂停）", "Fixed markup (dynamic pricing paused)"),
    "unavailable": ("暂不可售", "Unavailable"),
    "no_offer": ("暂无服务商可承接此数量", "No provider can take this quantity at the moment"),
    "floor_above_ceiling": (
        "此数量下无法以低于市场最低价的价格供货",
        "Not available below the lowest market price at this quantity",
    ),
}


def public_reason(code: str) -> tuple[str, str]:
    """Return the customer-facing reason ``(中文, English)`` for a price or reason code."""
    return PUBLIC_REASONS.get(code, ("价格已更新", "Price updated"))


def _unavailable(comps: Components) -> DomainError:
    zh, en = public_reason(comps.reason_code or "unavailable")
    return DomainError.single(
        "quantity",
        comps.reason_code or "unavailable",
        f"该服务在此数量下暂不可售：{zh}",
        f"This service is unavailable at this quantity: {en}",
        status=409,
    )


def quote(
    state: ModuleState,
    config: PricingConfig,
    market: MarketInputs,
    *,
    quantity: int,
    customer_id: str,
    now: datetime,
    quote_id: str | None = None,
) -> Quote:
    """Price ``quantity`` units for a customer at the published rate; pure (no state change).

    Raises :class:`DomainError` on ``quantity`` when the quantity is not a positive integer
    (``invalid_quantity``), when the module is unavailable at it (``no_offer``,
    ``floor_above_ceiling``, ``unpublished``), or when today's provider capacity cannot take it
    (``capacity_exhausted``). Components are recomputed at ``now``, so a reference that expired or
    dropped since the last publication still bounds the rate.
    """
    _aware(now)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise DomainError.single(
            "quantity",
            "invalid_quantity",
            "数量必须是正整数",
            "Quantity must be a positive integer",
        )
    comps = components(config, market, quantity, now)
    if not comps.available:
        raise _unavailable(comps)
    assert comps.floor is not None
    assert comps.ceiling is not None
    assert comps.offer is not None
    if state.price is None:
        raise DomainError.single(
            "service_id",
            "unpublished",
            "该服务当前没有有效价格，请稍后再试",
            "This service has no current price; try again shortly",
            status=409,
        )
    capacity = comps.offer.capacity_per_day
    if capacity is not None and units_sold_today(state, config, now) + quantity > capacity:
        raise DomainError.single(
            "quantity",
            "capacity_exhausted",
            "今日产能不足以承接该数量，请减少数量或明天再试",
            "Today's capacity cannot take this quantity; order less or try again tomorrow",
            status=409,
        )
    rate = unit_rate_at(state.price, comps, config)
    assert rate is not None
    return Quote(
        id=quote_id or uuid.uuid4().hex,
        module_id=state.module_id,
        customer_id=customer_id,
        quantity=quantity,
        unit_rate=rate,
        total_fen=total_fen(rate, quantity),
        created_at=now,
        expires_at=now + timedelta(seconds=config.quote_ttl_seconds),
        floor=comps.floor,
        ceiling=comps.ceiling,
        reference_rate=None if comps.reference is None else rate_down(comps.reference.rate),
        point=state.point,
        grid_version=state.grid_version,
        tier=config.tier_index(quantity),
    )


def validate_quote(
    q: Quote,
    *,
    now: datetime,
    customer_id: str,
    module_id: str | None = None,
    quantity: int | None = None,
    used: bool = False,
) -> None:
    """Check that an order may use quote ``q``; raise :class:`DomainError` on ``quote_id`` if not.

    Rules, checked in this order: the quote must belong to ``customer_id`` (``quote_foreign``,
    403); it must not have been used by another order (``quote_used``, 409: one quote, one order);
    ``now`` must be before ``expires_at`` (``quote_expired``, 409: ask for a fresh quote); and when
    given, ``module_id``/``quantity`` must match the quote (``quote_mismatch``, 400). A valid quote
    is charged exactly ``q.total_fen`` regardless of later price changes.
    """
    _aware(now)
    if q.customer_id != customer_id:
        raise DomainError.single(
            "quote_id",
            "quote_foreign",
            "该报价不属于当前账户，请重新获取报价",
            "This quote belongs to another account; request a new quote",
            status=403,
        )
    if used:
        raise DomainError.single(
            "quote_id",
            "quote_used",
            "该报价已用于其他订单，请重新获取报价",
            "This quote was already used for an order; request a new quote",
            status=409,
        )
    if now >= q.expires_at:
        raise DomainError.single(
            "quote_id",
            "quote_expired",
            "报价已过期（有效期 10 分钟），请重新获取报价",
            "This quote has expired (quotes last 10 minutes); request a new quote",
            status=409,
        )
    if (module_id is not None and module_id != q.module_id) or (
        quantity is not None and quantity != q.quantity
    ):
        raise DomainError.single(
            "quote_id",
            "quote_mismatch",
            "报价与订单的服务或数量不一致",
            "The quote is for a different service or quantity than the order",
        )


def is_valid(
    q: Quote,
    *,
    now: datetime,
    customer_id: str,
    module_id: str | None = None,
    quantity: int | None = None,
    used: bool = False,
) -> bool:
    """Return whether :func:`validate_quote` would accept the quote (no exception)."""
    try:
        validate_quote(
            q, now=now, customer_id=customer_id, module_id=module_id, quantity=quantity, used=used
        )
    except DomainError:
        return False
    return True


def observe_quote(state: ModuleState, config: PricingConfig, q: Quote) -> None:
    """Record that quote ``q`` was shown (a demand trial); mutates ``state``.

    Count each quote a customer actually sees once; a repeat of the same price to the same
    customer within its validity need not be recorded again.
    """
    state.quotes_total += 1
    tiers = len(config.tiers)
    if len(state.tier_quotes) != tiers:
        state.tier_quotes = [0] * tiers
        state.tier_units = [0] * tiers
    state.tier_quotes[q.tier] += 1
    state.tier_units[q.tier] += q.quantity
    if q.point is not None and q.grid_version == state.grid_version:
        state.trials[q.point] += 1.0


def observe_order(state: ModuleState, config: PricingConfig, q: Quote, now: datetime) -> None:
    """Record that an order was placed on quote ``q`` (a demand success); mutates ``state``.

    Also counts the units against today's provider capacity.
    """
    _aware(now)
    _roll_day(state, config, now)
    state.orders_total += 1
    state.units_sold_today += q.quantity
    if q.point is not None and q.grid_version == state.grid_version:
        # A success is only meaningful against a recorded trial at the same point.
        state.successes[q.point] = min(state.successes[q.point] + 1.0, state.trials[q.point])


# --------------------------------------------------------------------------------------------------
# Transparency
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierPrice:
    """The rate of one volume tier at its first orderable ``quantity`` (``None`` if unavailable)."""

    min_quantity: int
    discount: Decimal
    quantity: int
    unit_rate: Decimal | None
    reference_rate: Decimal | None
    saving_percent: Decimal | None
    available: bool
    reason_zh: str = ""
    reason_en: str = ""


def tier_prices(
    state: ModuleState,
    config: PricingConfig,
    market: MarketInputs,
    now: datetime,
    *,
    min_quantity: int = 1,
    max_quantity: int | None = None,
) -> list[TierPrice]:
    """Return today's rate per volume tier next to the lowest reference and the saving.

    Each tier is priced at its first quantity within ``min_quantity``..``max_quantity`` (the
    module's range); tiers starting above ``max_quantity`` are left out.
    """
    rows = []
    for tier in config.sorted_tiers():
        if max_quantity is not None and tier.min_quantity > max_quantity:
            continue
        qty = max(tier.min_quantity, min_quantity, 1)
        comps = components(config, market, qty, now)
        rate = None if state.price is None else unit_rate_at(state.price, comps, config)
        ref = None if comps.reference is None else rate_down(comps.reference.rate)
        reason_zh, reason_en = public_reason(comps.reason_code) if comps.reason_code else ("", "")
        if rate is None and comps.available:
            reason_zh, reason_en = "暂无有效价格", "no current price"
        rows.append(
            TierPrice(
                min_quantity=tier.min_quantity,
                discount=tier.discount,
                quantity=qty,
                unit_rate=rate,
                reference_rate=ref,
                saving_percent=None if rate is None else saving_percent(rate, ref),
                available=rate is not None,
                reason_zh=reason_zh,
                reason_en=reason_en,
            )
        )
    return rows
