"""Market simulator for the price engine (定价市场模拟器), with no Django import.

Design overview
---------------
:class:`Market` draws, from one seed, a set of service modules, each with

* provider offers: one that meets the quality bar (its rate is the true cost, its daily capacity
  the hard capacity), one cheaper that fails the success-rate bar and one cheaper that is too slow;
* a *hidden* demand curve: a customer shown unit rate ``r`` buys with logit probability
  ``1 / (1 + exp((r − wtp) / scale))``, with per-module willingness to pay ``wtp`` and ``scale``;
* two or three competitor reference sources whose prices follow mean-reverting log random walks
  (drift over days); each source is re-observed at local midnight on most days and its
  observations expire after ``reference_ttl_days``, so sources drop out now and then;
* a popularity (Zipf) share of arrivals, a log-normal order-size distribution and, for some
  modules, a provider capacity per day below what the unconstrained optimum would sell.

Customers arrive uniformly over the simulated days; each asks one module for a quote of a given
quantity and buys when a pre-drawn uniform number is below the buy probability (common random
numbers, so policies are compared on identical customers).

:func:`run` plays a :class:`Policy` against the market hour by hour: publish every module's price,
then serve the hour's customers; it enforces the true capacity, counts ceiling/floor violations
against the references it generated itself, and records realised profit and, per customer, the
expected profit of the rate shown (zero when capacity could not have delivered the order).
Three policies: :class:`EnginePolicy` (the engine, or with ``kill_switch`` the static cost-plus
markup) and :class:`OraclePolicy` (knows the hidden curves, arrival rates and capacities and picks
the best base rate each day under the same floor, ceiling, tiers and capacity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Protocol

import numpy as np

from doudesk.errors import DomainError
from doudesk.pricing import engine
from doudesk.pricing.engine import (
    MarketInputs,
    PricingConfig,
    ProviderOffer,
    QualityBar,
    ReferencePrice,
)

SHANGHAI = timezone(timedelta(hours=8))
DEFAULT_START = datetime(2025, 3, 1, tzinfo=SHANGHAI)
QUALITY_BAR = QualityBar(min_success_rate=0.9, max_completion_hours=48.0)


@dataclass(frozen=True)
class SimModule:
    """One simulated module; ``wtp``, ``scale``, ``arrivals_per_day`` are hidden from the engine."""

    module_id: str
    cost: float
    offers: tuple[ProviderOffer, ...]
    wtp: float
    scale: float
    capacity_per_day: int | None
    arrivals_per_day: float
    qty_median: float
    qty_sigma: float
    reference_level: float


@dataclass(frozen=True)
class Customer:
    """One arrival: when, which module, how many units, and the uniform that decides a purchase."""

    index: int
    at: datetime
    module: int
    quantity: int
    u: float


def _quantity(rng: np.random.Generator, median: float, sigma: float, size: int) -> np.ndarray:
    raw = median * np.exp(sigma * rng.standard_normal(size))
    return np.clip(np.round(raw / 100.0) * 100, 100, 100_000).astype(int)


def buy_probability(module: SimModule, rate: float) -> float:
    """Return the hidden probability that a customer of ``module`` buys at unit ``rate``."""
    z = (rate - module.wtp) / module.scale
    return 1.0 / (1.0 + math.exp(min(z, 50.0)))


class Market:
    """A seeded market of ``n_modules`` modules and ``n_customers`` customers over ``days`` days.

    Each module's reference level is 1.5–2.5 × its cost; its willingness to pay is the level times
    a uniform draw from ``wtp_range`` and its logit scale 0.12–0.25 × the level.
    """

    def __init__(
        self,
        *,
        n_modules: int = 20,
        n_customers: int = 10_000,
        days: int = 30,
        seed: int = 7,
        start: datetime = DEFAULT_START,
        reference_ttl_days: int = 3,
        capacity_share: float = 0.3,
        wtp_range: tuple[float, float] = (0.8, 1.2),
        config: PricingConfig | None = None,
    ) -> None:
        self.days = days
        self.start = start
        self.config = config or PricingConfig(quality=QUALITY_BAR)
        self.reference_ttl = timedelta(days=reference_ttl_days)
        self._market_cache: dict[tuple[int, int], MarketInputs] = {}
        rng = np.random.default_rng(seed)
        weights = (np.arange(n_modules) + 1.0) ** -0.8
        weights = rng.permutation(weights / weights.sum())
        self.modules: list[SimModule] = []
        self._ref_paths: list[list[tuple[str, list[float | None]]]] = []
        for m in range(n_modules):
            cost = float(round(math.exp(rng.uniform(math.log(0.5), math.log(30.0))), 4))
            level = cost * rng.uniform(1.5, 2.5)
            offers = (
                ProviderOffer(f"p{m}-cheap", engine.rate_round(cost * 0.8), 0.7, 12.0, None),
                ProviderOffer(f"p{m}-slow", engine.rate_round(cost * 0.85), 0.97, 96.0, None),
                ProviderOffer(f"p{m}-main", engine.rate_round(cost), 0.95, 24.0, None),
            )
            module = SimModule(
                module_id=f"m{m:02d}",
                cost=cost,
                offers=offers,
                wtp=level * rng.uniform(*wtp_range),
                scale=level * rng.uniform(0.12, 0.25),
                capacity_per_day=None,
                arrivals_per_day=n_customers * float(weights[m]) / days,
                qty_median=float(rng.uniform(1_000, 4_000)),
                qty_sigma=0.8,
                reference_level=level,
            )
            paths = []
            for s in range(int(rng.integers(2, 4))):
                premium = rng.uniform(0.0, 0.25) if s else 0.0
                x, path = 0.0, []
                for _ in range(days + 1):
                    observed = s == 0 or rng.random() < 0.85
                    path.append(level * (1 + premium) * math.exp(x) if observed else None)
                    x += -0.1 * x + 0.02 * rng.standard_normal()
                paths.append((f"source-{s}", path))
            self._ref_paths.append(paths)
            self.modules.append(module)
        self._qty_samples = [
            _quantity(np.random.default_rng([seed, 1, m]), mod.qty_median, mod.qty_sigma, 400)
            for m, mod in enumerate(self.modules)
        ]
        # Some modules get a provider capacity below what the unconstrained optimum would sell.
        limited = rng.random(n_modules) < capacity_share
        for m, mod in enumerate(self.modules):
            if limited[m]:
                base = self.oracle_base_rate(m, self.start, capacity=False)
                units = self._expected_units(m, base, self.start) * mod.arrivals_per_day
                cap = int(max(units * rng.uniform(0.6, 0.85), 5_000))
                main = replace(mod.offers[2], capacity_per_day=cap)
                self.modules[m] = replace(mod, capacity_per_day=cap, offers=(*mod.offers[:2], main))
        self._market_cache.clear()  # offers changed
        crng = np.random.default_rng([seed, 2])
        module_of = crng.choice(n_modules, size=n_customers, p=weights)
        seconds = np.sort(crng.uniform(0, days * 86_400, size=n_customers))
        self.customers: list[Customer] = []
        for i in range(n_customers):
            m = int(module_of[i])
            mod = self.modules[m]
            qty = int(_quantity(crng, mod.qty_median, mod.qty_sigma, 1)[0])
            self.customers.append(
                Customer(i, start + timedelta(seconds=float(seconds[i])), m, qty, crng.random())
            )

    def day_of(self, now: datetime) -> int:
        """Return the simulated day number (0-based) of ``now``."""
        return int((now - self.start).total_seconds() // 86_400)

    def references(self, m: int, now: datetime) -> tuple[ReferencePrice, ...]:
        """Return the latest unexpired observation of each reference source at ``now``."""
        day = self.day_of(now)
        out = []
        for source, path in self._ref_paths[m]:
            for d in range(min(day, self.days), -1, -1):
                observed_at = self.start + timedelta(days=d)
                if observed_at + self.reference_ttl <= now:
                    break
                rate = path[d]
                if rate is not None:
                    out.append(
                        ReferencePrice(
                            source,
                            engine.rate_round(rate),
                            observed_at,
                            observed_at + self.reference_ttl,
                        )
                    )
                    break
        return tuple(out)

    def market_inputs(self, m: int, now: datetime) -> MarketInputs:
        """Return what the engine may know about module ``m`` at ``now`` (offers, references)."""
        key = (m, self.day_of(now))
        cached = self._market_cache.get(key)
        if cached is None:
            cached = MarketInputs(self.modules[m].offers, self.references(m, now))
            self._market_cache[key] = cached
        return cached

    def lowest_reference(self, m: int, now: datetime) -> Decimal | None:
        """Return the lowest valid reference rate at ``now`` (computed without the engine)."""
        rates = [r.rate for r in self.references(m, now) if r.expires_at > now]
        return min(rates) if rates else None

    def _rates(self, m: int, base: float, now: datetime) -> np.ndarray:
        comps_by_tier = {}
        rates = []
        for q in self._qty_samples[m]:
            tier = self.config.tier_index(int(q))
            if tier not in comps_by_tier:
                comps = engine.components(self.config, self.market_inputs(m, now), int(q), now)
                rate = engine.unit_rate_at(engine.rate_round(base), comps, self.config)
                comps_by_tier[tier] = math.nan if rate is None else float(rate)
            rates.append(comps_by_tier[tier])
        return np.array(rates)

    def _expected_units(self, m: int, base: float, now: datetime) -> float:
        mod = self.modules[m]
        rates = self._rates(m, base, now)
        p = 1.0 / (1.0 + np.exp(np.minimum((rates - mod.wtp) / mod.scale, 50.0)))
        return float(np.nanmean(np.where(np.isnan(rates), 0.0, p * self._qty_samples[m])))

    def oracle_base_rate(self, m: int, now: datetime, *, capacity: bool = True) -> float:
        """Return the base rate maximising expected profit per arrival, knowing the hidden curve.

        Searches 81 rates between the floor and the ceiling; with ``capacity`` the expected units
        per day must fit the provider capacity (else the highest rate is used).
        """
        mod = self.modules[m]
        comps = engine.components(
            self.config, self.market_inputs(m, now), self.config.base_quantity, now
        )
        if not comps.available or comps.floor is None or comps.ceiling is None:
            return math.nan
        qty = self._qty_samples[m]
        best, best_value = float(comps.ceiling), -math.inf
        for base in np.linspace(float(comps.floor), float(comps.ceiling), 81):
            rates = self._rates(m, float(base), now)
            ok = ~np.isnan(rates)
            r = np.where(ok, rates, 0.0)
            p = np.where(ok, 1.0 / (1.0 + np.exp(np.minimum((r - mod.wtp) / mod.scale, 50.0))), 0)
            profit = float(np.mean((r - mod.cost) * qty / 1000.0 * p))
            units = float(np.mean(qty * p)) * mod.arrivals_per_day
            if capacity and mod.capacity_per_day is not None and units > mod.capacity_per_day:
                continue
            if profit > best_value:
                best, best_value = float(base), profit
        return best


class Policy(Protocol):
    """A pricing policy the simulator can play."""

    name: str

    def publish(self, m: int, now: datetime) -> None:
        """Publish module ``m``'s price at ``now``."""

    def quote(self, m: int, customer: Customer, now: datetime) -> Decimal | None:
        """Return the unit rate offered to ``customer`` (``None``: unavailable)."""

    def outcome(self, m: int, customer: Customer, rate: Decimal, bought: bool) -> None:
        """Learn from the customer's decision."""


class EnginePolicy:
    """The price engine (or, with ``config.kill_switch``, static cost-plus markup)."""

    def __init__(self, market: Market, config: PricingConfig, name: str = "engine") -> None:
        self.name = name
        self.market = market
        self.config = config
        self.states = [engine.new_state(mod.module_id, market.start) for mod in market.modules]
        self.changes: list[engine.PriceChange] = []
        self._quotes: dict[int, engine.Quote] = {}

    def publish(self, m: int, now: datetime) -> None:
        """Publish through :func:`engine.publish`."""
        change = engine.publish(self.states[m], self.config, self.market.market_inputs(m, now), now)
        if change.changed:
            self.changes.append(change)

    def quote(self, m: int, customer: Customer, now: datetime) -> Decimal | None:
        """Quote through :func:`engine.quote` and record the trial."""
        try:
            q = engine.quote(
                self.states[m],
                self.config,
                self.market.market_inputs(m, now),
                quantity=customer.quantity,
                customer_id=f"c{customer.index}",
                now=now,
                quote_id=f"q{customer.index}",
            )
        except DomainError:
            return None
        engine.observe_quote(self.states[m], self.config, q)
        self._quotes[customer.index] = q
        return q.unit_rate

    def outcome(self, m: int, customer: Customer, rate: Decimal, bought: bool) -> None:
        """Record an order on the customer's quote."""
        q = self._quotes.pop(customer.index)
        if bought:
            engine.observe_order(self.states[m], self.config, q, customer.at)


class OraclePolicy:
    """Knows the hidden demand curves; picks the best base rate per module each day."""

    def __init__(self, market: Market, config: PricingConfig) -> None:
        self.name = "oracle"
        self.market = market
        self.config = config
        self._base: dict[tuple[int, int], float] = {}

    def publish(self, m: int, now: datetime) -> None:
        """Compute the day's optimal base rate once per module and day."""
        key = (m, self.market.day_of(now))
        if key not in self._base:
            self._base[key] = self.market.oracle_base_rate(m, now)

    def quote(self, m: int, customer: Customer, now: datetime) -> Decimal | None:
        """Return the tiered, clamped rate at the day's optimal base."""
        base = self._base[(m, self.market.day_of(now))]
        if math.isnan(base):
            return None
        comps = engine.components(
            self.config, self.market.market_inputs(m, now), customer.quantity, now
        )
        return engine.unit_rate_at(engine.rate_round(base), comps, self.config)

    def outcome(self, m: int, customer: Customer, rate: Decimal, bought: bool) -> None:
        """Ignore the outcome: the oracle already knows the demand curves."""


@dataclass
class RunResult:
    """Outcome of one policy over the whole market."""

    name: str
    profit: float = 0.0
    revenue: float = 0.0
    orders: int = 0
    quotes: int = 0
    lost_to_capacity: int = 0
    ceiling_violations: int = 0
    floor_violations: int = 0
    expected_profit: list[float] = field(default_factory=list)


def run(market: Market, policy: Policy, *, publish_every_hours: int = 1) -> RunResult:
    """Play ``policy`` over the market's customers; return profits and violation counts."""
    result = RunResult(policy.name, expected_profit=[0.0] * len(market.customers))
    sold: dict[tuple[int, int], int] = {}
    customers = market.customers
    i = 0
    for hour in range(0, market.days * 24, publish_every_hours):
        now = market.start + timedelta(hours=hour)
        for m in range(len(market.modules)):
            policy.publish(m, now)
        end = now + timedelta(hours=publish_every_hours)
        while i < len(customers) and customers[i].at < end:
            c = customers[i]
            i += 1
            mod = market.modules[c.module]
            rate = policy.quote(c.module, c, c.at)
            if rate is None:
                continue
            result.quotes += 1
            ref = market.lowest_reference(c.module, c.at)
            if ref is not None and rate > ref:
                result.ceiling_violations += 1
            if float(rate) < mod.cost:
                result.floor_violations += 1
            p = buy_probability(mod, float(rate))
            margin = (float(rate) - mod.cost) * c.quantity / 1000.0
            key = (c.module, market.day_of(c.at))
            deliverable = (
                mod.capacity_per_day is None
                or sold.get(key, 0) + c.quantity <= mod.capacity_per_day
            )
            bought = c.u < p
            if deliverable:
                result.expected_profit[c.index] = margin * p
            elif bought:
                bought = False
                result.lost_to_capacity += 1
            if bought:
                sold[key] = sold.get(key, 0) + c.quantity
                fen = engine.total_fen(rate, c.quantity)
                result.orders += 1
                result.revenue += fen / 100.0
                result.profit += fen / 100.0 - mod.cost * c.quantity / 1000.0
            policy.outcome(c.module, c, rate, bought)
    return result
