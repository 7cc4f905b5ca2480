"""Plan optimiser: an :class:`Understood` need + a catalogue -> up to three optimal plans.

Design:

* **Value of a plan.** Each offer brings expected outcomes per unit (a play brings 0.04
  likes, ...). Outcome ``j`` is worth ``omega_j = w_j * v_j``: the need's intent weight times
  the typical market value of one unit in yuan (``outcome_value_yuan`` in the lexicon), so a
  follower and a play are comparable. Each weighted intent has a target ``a_j``: the quantity
  asked for it, or else what its weight's share of the budget buys at market value
  (``w_j * budget / v_j``); only ``EXCESS_CREDIT`` (10 %) of the value beyond the target counts,
  so the budget spreads over the goals instead of pouring into the single cheapest outcome:
  ``V = sum_j omega_j * ((1 - e) * min(o_j, a_j) + e * o_j)``. :func:`plan_value` computes it.
* **Integer program** (HiGHS through ``highspy``). Per candidate offer ``i``: ``k_i`` steps
  (quantity ``q_i = min_i * y_i + step_i * k_i``; integer for short ranges, continuous for
  long ones, see *Exact prices*) and binary ``y_i`` ("used");
  ``k_i <= K_i y_i`` where ``K_i`` already caps the quantity by ``max_qty``, the deadline
  (``start + hours_per_1000 * q / 1000 <= deadline``) and the budget; ``sum_{i in kind} y_i <=
  max_per_kind``; ``z_j <= o_j`` and ``z_j <= a_j`` linearise the ``min``. Offers whose audience
  options or target kind do not fit are removed before the solve.
* **最快 by a search over the deadline.** The plan ETA is not modelled (its LP bound is weak: the
  relaxation pays start times only fractionally, and HiGHS then often stopped at its time
  limit). A plan's ETA is one of finitely many values (an offer's ETA at a quantity, rounded up
  as plans show it, to the tenth of an hour below 10 h and to the hour from there:
  :func:`eta_shown`), and for a fixed deadline the question "can ``FAST_SHARE * V*`` be
  reached?" is the 均衡 program over the items done in time, whose relaxation is nearly exact.
  :func:`_fastest` searches those values with LP relaxations (never cutting a feasible
  deadline), then runs the MILP upwards from the first deadline the LP accepts, lowering the
  upper end to each found plan's own ETA: about four LPs and one MILP per need, and the answer
  is proven optimal over the candidates below. Each MILP probe passes its floor to HiGHS as an
  objective bound, so a deadline with no such plan is proven empty without HiGHS's feasibility
  pump, and leaves out the items whose Lagrangian bound (from the last LP's duals) shows they
  are in no plan worth the floor: near the threshold that is half of them or more, and HiGHS's
  work at the root (an analytic centre, cuts) shrinks with the model. The LPs share one HiGHS
  instance (:class:`_DeadlineRelaxation`): a deadline only changes column bounds and link
  coefficients, so each LP starts from the last basis; and each LP's duals give a Lagrangian
  bound for every other deadline in a few numpy operations, which refutes the deadlines below
  the next LP's without solving theirs (it took about ten LPs by bisection). Where the
  relaxation is far off (2 needs in 1,000 in the benchmark) the MILP probes stop after
  ``TIME_LIMIT_S`` in all with the fastest plan found so far.
* **Exact prices.** A price is ``round_half_up(rate * q / 1000)`` fen. When every quantity
  range is short (``<= INTEGER_LEVELS`` steps within the budget and deadline) the model is
  exact: it is first solved with each price allowed to round down by up to 0.499 fen (a
  relaxation); if the answer also fits the budget at the real prices (and, for the cheapest
  plan, costs no more than the relaxed optimum rounded up) it is optimal, otherwise it is
  re-solved with integer cost variables ``1000 c_i >= rate_i q_i - 499 y_i``, which is exact.
  A longer range has a continuous ``k_i`` (HiGHS slows down sharply with wide integer domains
  and many fen-level ties), rounded down to the step afterwards (cost and ETA only fall), or
  up for 最省钱 (so the quantities asked for are reached; its budget row reserves that step);
  each price is counted 0.5 fen high, so plans never overshoot. Such a plan is optimal up to
  one step of each long-range item, less than 1/64 of its reach. (Long ranges used to be
  searched on 16 points: a budget for followers alone bought 4,300 of them plus plays,
  likes and live viewers that bring almost none, where 4,510 followers fitted.)
* **Three plans, three objectives.** 均衡 *balanced*: maximise ``V``. 最省钱 *best value*: the
  cheapest plan (minimise total fen) that reaches every quantity asked, when that fits the
  budget, and at least ``VALUE_SHARE`` (60 %) of the balanced optimum ``V*``. 最快 *fastest*:
  minimise the plan's ETA (the slowest item; items run in parallel; counted as shown, so plans
  done within the same tenth of an hour, or hour from 10 h on, are equally fast) subject to
  ``V >= FAST_SHARE * V*`` (80 %). Ties are broken towards a larger ``V``: for 最省钱 by a term too
  small to change the cost (< 0.5 fen), for 最快 lexicographically (the largest ``V`` at the
  smallest ETA; the balanced plan when it is as fast). Identical plans are shown once. Both
  need ``V*``, so 均衡 is solved first; then 最快 is searched on a second thread while 最省钱 is
  solved (HiGHS and numpy release the GIL: with a core free, a request takes the longer of the
  two instead of their sum; on a busy server it gains nothing).
* **Candidates at 10,000 offers (exact pruning).** First, an offer that ``max_per_kind``
  others of its group (same grid and outcomes) beat whatever the need (no dearer, reaching as
  far, starting no later, no slower, targeting every audience it can) is dropped with one
  lookup, computed once per catalogue in 20-110 ms (:func:`_drop_always_dominated`; in the
  benchmark 83 % of the candidates when no audience is asked, 37 % otherwise). Then, for 均衡
  and 最省钱, an offer is dropped when ``max_per_kind`` others of its kind dominate it: each
  quantity it can deliver here (budget and deadline caps applied) the dominator delivers too,
  or rounds up to its own next grid point, at no higher price, with at least the same outcomes
  per unit (swapping it for an unused dominator never raises the cost nor lowers any outcome;
  the grids need not nest, see :func:`_dominated_count`). Within a group most of this is one
  sort (:func:`_prune`); what is left (a few dozen per kind) is compared pairwise. For 最快
  the balanced plan's ETA is a deadline (exact: the balanced plan keeps all of the value)
  and speed is a further dominance criterion (exact; a few hundred offers stay), and each
  probe of the deadline search prunes its items again without speed (:meth:`_Model.within`),
  back to a few dozen. The pruning is exact on the catalogue's own quantity steps; long
  ranges are then rounded to the step (above), where a dropped offer can matter by up to a
  step. Each solve has a
  ``TIME_LIMIT_S`` guard (the best plan found so far is used if it is ever hit).
* **HiGHS options.** Presolve off and primal heuristics off (``HIGHS_OPTIONS``): on these small
  models they cost far more than branch and bound; the solutions stay exact; cuts are
  separated at the root only and few are kept. Instead, each solve but a deadline probe starts
  from the optimum over the items its LP relaxation uses (:meth:`_Model._start`). Models go
  to ``highspy`` directly as row-wise arrays built with numpy (:class:`_Rows`, :func:`_load`):
  ``scipy.optimize.milp`` validated and converted each one for ~1 ms, a fifth of the median
  request at a dozen calls, and scipy's sparse matrices cost a few ms more per request.
  HiGHS is over half of the time of the benchmark's slowest 5 % of needs: 最快's LPs and its
  few deadline probes (1-20 ms each, on a few dozen items once the probe leaves out what no
  wanted plan can use) or a hard 均衡/最省钱 knapsack, as HiGHS always computes an analytic
  centre and separates cuts at the root. Pruning and model building are the rest.
* **Named modules.** A module the need names (``named_services``) has its ``y`` fixed at 1 in
  every program, so each plan is optimal among the plans that use it (:func:`_forced_ids`
  says which can be: candidates that fit the budget together, no more of a kind than a plan
  takes). The deadline search skips deadlines they miss; no screen drops them, nor does the
  pruning while they are the only offers of their kind (as ``matching.services`` leaves them).
* **Injected prices.** The default price is the catalogue rate
  (:func:`.offers.catalogue_price`). An injected ``price(offer, quantity) -> fen`` (e.g. the
  pricing engine) is modelled as each candidate offer's highest sampled rate; the plan is
  re-priced with the real function and re-solved under a tighter budget if it overshoots.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import highspy
import numpy as np

from doudesk.errors import DomainError, FieldError

from .lexicon import get_lexicon
from .offers import AUDIENCE_FREE_KINDS, Catalogue, Offer, PriceFn, catalogue_price
from .understand import Understood

VALUE_SHARE = 0.6
FAST_SHARE = 0.8
EXCESS_CREDIT = 0.1
#: Quantity ranges of up to this many steps (within the budget and deadline) are integer in
#: the program, exactly; longer ones are continuous and rounded to the step afterwards.
INTEGER_LEVELS = 64
TIME_LIMIT_S = 0.25
#: Plans show (and 最快 compares) ETAs to the tenth of an hour up to this many hours, to the
#: hour above (:func:`eta_shown`).
WHOLE_HOURS_FROM = 10.0
MIP_REL_GAP = 1e-9
#: HiGHS options of every MILP. Its primal heuristics cost ~20 ms per solve on these small models
#: and never pay off here. Feasibility jump is off too: it cost ~3 ms of every solve, a tenth of
#: the median request (with it off, scipy 1.17's older HiGHS once reported a suboptimal plan as
#: optimal; highspy 1.15 solves that case exactly, see the optimiser's regression test).
#: Cuts are separated at the root only and the search never restarts: on the benchmark's
#: slowest needs their MILPs take ~15 % less time so (the tree is a few hundred nodes at most).
#: The cut pool is kept to a few cuts: at its default size (10,000) HiGHS spent most of each
#: node propagating hundreds of root cuts through these models of a few dozen rows; with 3 the
#: benchmark's p95 fell from ~195 to ~146 ms with the same plans.
HIGHS_OPTIONS = {
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_feasibility_jump": False,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_zi_round": False,
    "mip_heuristic_run_shifting": False,
    "mip_pscost_minreliable": 0,
    "mip_detect_symmetry": False,
    "mip_allow_cut_separation_at_nodes": False,
    "mip_allow_restart": False,
    "mip_pool_soft_limit": 3,
}

PLAN_NAMES = {
    "value": ("最省钱", "Best value"),
    "fast": ("最快", "Fastest"),
    "balanced": ("均衡", "Balanced"),
}


@dataclass(frozen=True)
class PlanItem:
    """One line of a plan: a module, a quantity on its grid, its cost in fen."""

    service_id: int | str
    kind: str
    name_zh: str
    name_en: str
    quantity: int
    cost_fen: int
    eta_hours: float
    channel: str = ""

    def name(self, language: str) -> str:
        """Return the module name in ``language``."""
        return self.name_en if language.startswith("en") else self.name_zh


@dataclass(frozen=True)
class Plan:
    """One alternative: items, total, expected outcomes, ETA and an explanation.

    ``key`` is ``value`` (最省钱), ``fast`` (最快) or ``balanced`` (均衡); ``value`` is the
    objective :func:`plan_value` of the plan.
    """

    key: str
    language: str
    items: tuple[PlanItem, ...]
    total_fen: int
    expected: Mapping[str, float]
    eta_hours: float
    value: float
    explanation: str

    @property
    def name_zh(self) -> str:
        """Chinese name of the plan."""
        return PLAN_NAMES[self.key][0]

    @property
    def name_en(self) -> str:
        """English name of the plan."""
        return PLAN_NAMES[self.key][1]

    @property
    def name(self) -> str:
        """Name in the need's language."""
        return self.name_en if self.language == "en" else self.name_zh

    @property
    def total(self) -> Decimal:
        """Total in yuan."""
        return Decimal(self.total_fen) / 100

    def as_dict(self) -> dict[str, Any]:
        """Return the API shape: amounts as yuan strings, ``currency`` CNY."""
        return {
            "key": self.key,
            "name": self.name,
            "total": f"{self.total:.2f}",
            "currency": "CNY",
            "items": [
                {
                    "service_id": it.service_id,
                    "name": it.name(self.language),
                    "quantity": it.quantity,
                    "cost": f"{Decimal(it.cost_fen) / 100:.2f}",
                }
                for it in self.items
            ],
            "expected": dict(self.expected),
            "eta_hours": self.eta_hours,
            "explanation": self.explanation,
        }


# --------------------------------------------------------------------------- objective


def outcome_weights(need: Understood) -> dict[str, float]:
    """Return ``omega_j``: intent weight x market value of one unit of outcome ``j`` (yuan)."""
    ref = get_lexicon().outcome_value_yuan
    return {j: w * ref[j] for j, w in need.intents.items() if w > 0}


def asked_quantities(need: Understood) -> dict[str, int]:
    """Return the asked quantities that count (intents with a positive weight)."""
    return {j: q for j, q in need.quantities.items() if q > 0 and need.intents.get(j, 0) > 0}


def outcome_targets(need: Understood) -> dict[str, float]:
    """Return each weighted intent's target: the quantity asked, else its budget share."""
    ref = get_lexicon().outcome_value_yuan
    asked = asked_quantities(need)
    budget = float(need.budget)
    return {
        j: float(asked[j]) if j in asked else w * budget / ref[j]
        for j, w in need.intents.items()
        if w > 0
    }


def expected_outcomes(picks: Sequence[tuple[Offer, int]]) -> dict[str, float]:
    """Return the expected outcomes of buying ``quantity`` of each offer."""
    out: dict[str, float] = {}
    for offer, q in picks:
        for j, per_unit in (offer.outcomes or {}).items():
            out[j] = out.get(j, 0.0) + per_unit * q
    return out


def plan_value(need: Understood, picks: Sequence[tuple[Offer, int]]) -> float:
    """Return the objective ``V`` of a plan (see the module docstring)."""
    omega = outcome_weights(need)
    targets = outcome_targets(need)
    o = expected_outcomes(picks)
    total = 0.0
    for j, w in omega.items():
        oj = o.get(j, 0.0)
        total += w * ((1 - EXCESS_CREDIT) * min(oj, targets[j]) + EXCESS_CREDIT * oj)
    return total


def goal_cost(
    need: Understood,
    offers: Catalogue | Sequence[Offer],
    intent: str,
    quantity: int,
    *,
    price: PriceFn | None = None,
    extra_steps: int = 0,
) -> int | None:
    """Return roughly what ``quantity`` of ``intent`` costs (fen), or None if nothing brings it.

    An estimate for telling a customer what a goal beyond the budget would take, not a plan:
    the cheapest single offer that brings the outcome and can target the need's audience, at
    the quantity on its grid that brings enough. When no offer brings enough in one order (a
    plan orders a module once), the cheapest at its largest quantity: as much as a plan can
    buy. Deadlines are not considered. ``extra_steps`` prices that many steps more of it.
    """
    price_fn = price or catalogue_price
    reaching: list[int] = []
    short: list[int] = []
    for o in offers.offers if isinstance(offers, Catalogue) else offers:
        per_unit = (o.outcomes or {}).get(intent, 0.0)
        if per_unit <= 0 or not (
            o.kind in AUDIENCE_FREE_KINDS or o.audience.supports(need.audience)
        ):
            continue
        units = math.ceil(quantity / per_unit - 1e-9)
        if units <= o.top_qty:
            q = o.min_qty + o.step * (max(0, math.ceil((units - o.min_qty) / o.step)) + extra_steps)
            reaching.append(price_fn(o, min(q, o.top_qty)))
        else:
            short.append(price_fn(o, o.top_qty))
    found = reaching or short
    return min(found) if found else None


# --------------------------------------------------------------------------- candidates


def _error(field: str, code: str, zh: str, en: str) -> DomainError:
    return DomainError(FieldError(field, code, zh, en))


def _filter(
    need: Understood, cat: Catalogue, budget_fen: int, price: PriceFn | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Return (indices, top quantity, unit value, objective intents) of feasible offers.

    Raises a field error naming the constraint that leaves nothing to buy.
    """
    omega = outcome_weights(need)
    intents = [j for j in cat.intents if j in omega]
    col = [cat.intents.index(j) for j in intents]
    unit_value = (
        cat.out[:, col] @ np.array([omega[j] for j in intents]) if col else np.zeros(len(cat))
    )
    mask = unit_value > 0
    if not mask.any():
        raise _error(
            "need",
            "no_matching_service",
            "目录中没有能满足该需求的服务。",
            "No service in the catalogue serves this need.",
        )
    if need.target_kind in ("video", "user", "live"):
        ok_kinds = [i for i, k in enumerate(cat.kinds) if need.target_kind in cat.kind_targets[i]]
        mask &= np.isin(cat.kind_idx, ok_kinds)
        if not mask.any():
            raise _error(
                "target",
                "wrong_kind",
                "目标链接类型与可选服务不符。",
                "No service for this need accepts this kind of target link.",
            )
    wanted = [
        cat.audience_columns[(dim, v)]
        for dim in ("genders", "ages", "regions", "interests")
        for v in getattr(need.audience, dim)
        if (dim, v) in cat.audience_columns
    ]
    if wanted:
        mask &= cat.audience_free | cat.audience[:, wanted].all(axis=1)
        if not mask.any():
            raise _error(
                "audience",
                "unsupported",
                "没有服务支持所选受众定向，请放宽受众条件。",
                "No service supports this audience targeting; please relax the audience.",
            )
    qtop = cat.qmax.astype(np.float64)
    if need.deadline_hours is not None:
        qtop = np.minimum(qtop, _deadline_caps(cat.start, cat.hpk, float(need.deadline_hours)))
        fits = mask & (qtop >= cat.qmin)
        if not fits.any():
            raise _error(
                "deadline_hours",
                "too_short",
                f"在{need.deadline_hours:g}小时内没有服务能完成，请放宽时限。",
                f"No service can deliver within {need.deadline_hours:g} hours; "
                "please allow more time.",
            )
        mask = fits
    if price is None:
        entry = (cat.qmin * cat.rate + 500) // 1000
        affordable = mask & (entry <= budget_fen)
        if not affordable.any():
            cheapest = int(entry[mask].min())
            raise _budget_error(cheapest)
        mask = affordable
        with np.errstate(divide="ignore"):
            qbud = np.where(
                cat.rate > 0, (1000 * budget_fen + 499) // np.maximum(cat.rate, 1), np.inf
            )
        qtop = np.minimum(qtop, qbud)
    idx = np.flatnonzero(mask)
    return idx, qtop[idx], unit_value[idx], intents


def _deadline_caps(start: np.ndarray, hpk: np.ndarray, deadline: float) -> np.ndarray:
    """Return the largest quantity each offer delivers by ``deadline`` (-1 if none)."""
    room = deadline - start
    with np.errstate(divide="ignore", invalid="ignore"):
        qcap = np.where(hpk > 0, np.floor(room * 1000.0 / hpk + 1e-9), np.inf)
    return np.where(room >= 0, qcap, -1.0)


def _budget_error(cheapest_fen: int) -> DomainError:
    y = f"¥{Decimal(cheapest_fen) / 100:,.2f}"
    return _error(
        "budget",
        "below_minimum",
        f"预算低于可选服务的最低起订金额（{y}），请提高预算。",
        f"The budget is below the cheapest module that fits this need ({y}); please raise it.",
    )


def _aligned(cat: Catalogue, idx: np.ndarray, qtop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (grid index of the top quantity, top quantity on the grid) of candidates."""
    kmax = np.floor((qtop - cat.qmin[idx]) / cat.step[idx] + 1e-9).astype(np.int64)
    return kmax, cat.qmin[idx] + cat.step[idx] * kmax


def _drop_always_dominated(
    need: Understood, cat: Catalogue, idx: np.ndarray, qtop: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Drop candidates that ``max_per_kind`` others of their group beat for any need (exact).

    ``idx`` must be every candidate of ``need`` (the output of :func:`_filter`): a dominator
    (:func:`_always_dominating_counts`) of a candidate is then a candidate too, reaching at
    least as far and done no later, so it also dominates in :func:`_prune`'s sense, timed or
    not. A cheap first pass (one lookup per offer) before :func:`_prune`'s group pass, which is
    quadratic in a group's size.
    """
    blind = need.audience.is_empty()
    counts = _always_dominating_counts(cat, audience_blind=blind)
    keep = counts[idx] < need.max_per_kind
    return idx[keep], qtop[keep]


def _always_dominating_counts(cat: Catalogue, *, audience_blind: bool) -> np.ndarray:
    """Return how many offers of its group dominate each offer whatever the need.

    ``a`` dominates ``b`` of its group (same grid and outcomes) when it is no dearer, reaches no
    less far (``max_qty``), starts no later and delivers no slower, and, unless
    ``audience_blind`` (the need targets no audience) or the kind takes no audience, can target
    every audience ``b`` can. Then the need's deadline and budget cap ``a`` no lower than ``b``
    and every filter ``b`` passes, ``a`` passes. Identical offers: the earlier one dominates.
    Computed once per catalogue (``cat.derived``), in blocks of rows of a group.
    """
    name = f"always_dominating_counts:{audience_blind}"
    if name in cat.derived:
        return cat.derived[name]
    counts = np.zeros(len(cat), dtype=np.int64)
    bits = np.packbits(cat.audience, axis=1)
    order = np.argsort(cat.group, kind="stable")
    for rows in np.split(order, np.flatnonzero(np.diff(cat.group[order])) + 1):
        r, q, s, h = cat.rate[rows], cat.qmax[rows], cat.start[rows], cat.hpk[rows]
        b = bits[rows]
        blind = audience_blind or bool(cat.audience_free[rows[0]])
        for a0 in range(0, rows.size, _BLOCK):
            a = slice(a0, a0 + _BLOCK)
            ra, qa, sa, ha = r[a, None], q[a, None], s[a, None], h[a, None]
            covers = (ra <= r) & (qa >= q) & (sa <= s) & (ha <= h)
            strict = (ra < r) | (qa > q) | (sa < s) | (ha < h)
            if not blind:
                ba = b[a][:, None, :]
                covers &= ~(b[None, :, :] & ~ba).any(axis=2)
                strict |= (b[None, :, :] != ba).any(axis=2)
            earlier = np.arange(a0, a0 + ra.shape[0])[:, None] < np.arange(rows.size)[None, :]
            counts[rows] += (covers & (strict | earlier)).sum(axis=0)
    cat.derived[name] = counts
    return counts


def _prune(
    cat: Catalogue, idx: np.ndarray, qtop: np.ndarray, cap: int, timed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Drop offers that at least ``cap`` others of their kind dominate (exact, catalogue price).

    ``i`` dominates ``j`` when, for every quantity ``q`` ``j`` can deliver here (once the budget
    and deadline caps apply), ``i`` delivers ``q`` or its own next grid point above it at no
    higher price, with at least the same outcomes per unit and, when ``timed`` (the fastest
    plan), no later; ties go to the earlier offer (:func:`_dominated_count`). Swapping a
    dominated item for an unused dominator never raises the cost or the ETA and never lowers
    any outcome (every objective is monotone in the outcomes), so every objective keeps its
    optimum: this is exact, not a shortlist. Within a group of identical grids and outcomes the
    untimed case is one sort, and the timed case one comparison per pair of the group
    (:func:`_group_timed_keep`), before offers of different groups are compared pairwise.
    """
    kmax, top = _aligned(cat, idx, qtop)
    if idx.size <= 1:
        return idx, kmax
    rate = cat.rate[idx]
    group = cat.group[idx]
    keep = np.ones(idx.size, dtype=bool)
    if not timed:
        # Sorted by group, rate, then reach (largest first): an offer is dominated inside its
        # group when an earlier one reaches at least as far.
        order = np.lexsort((idx, -top, rate, group))
        base = group[order] * (int(top.max()) + 1)
        key = base + top[order]
        if cap == 1:
            best_before = np.concatenate(([-1], np.maximum.accumulate(key)[:-1]))
            keep[order[best_before >= key]] = False
        else:
            for g in np.unique(group):
                rows = order[group[order] == g]
                t = top[rows]
                earlier = np.tri(rows.size, k=-1, dtype=bool).T  # earlier[a, b]: a before b
                keep[rows[((t[:, None] >= t[None, :]) & earlier).sum(axis=0) >= cap]] = False
    else:
        keep &= _group_timed_keep(cat, idx, rate, top, group, cap)
    rows = np.flatnonzero(keep)
    kinds = cat.kind_idx[idx]
    start, hpk = cat.start[idx], cat.hpk[idx]
    qmin, step = cat.qmin[idx], cat.step[idx]
    profile_ids, profile_outcomes = _outcome_profiles(cat)
    profile = profile_ids[idx]
    result: list[np.ndarray] = []
    for kind in _sorted_unique(kinds[rows]):
        r = rows[kinds[rows] == kind]
        if r.size > 1:
            counts = _dominated_count(
                r, rate, top, qmin, step, profile, profile_outcomes, start, hpk, timed
            )
            r = r[counts < cap]
        result.append(r)
    sel = np.sort(np.concatenate(result))
    return idx[sel], kmax[sel]


def _group_timed_keep(
    cat: Catalogue,
    idx: np.ndarray,
    rate: np.ndarray,
    top: np.ndarray,
    group: np.ndarray,
    cap: int,
) -> np.ndarray:
    """Return which offers fewer than ``cap`` others of their group dominate, speed included.

    Offers of one group share their grid and outcomes, so ``a`` dominates ``b`` when it is no
    dearer, reaches at least as far and is done no later at both ends of ``b``'s range (the ETA
    is linear in the quantity); ties go to the earlier offer. A cheap first pass before the
    pairwise comparison across groups (:func:`_dominated_count`), which is quadratic in what
    is left.
    """
    keep = np.ones(idx.size, dtype=bool)
    start, hpk, qmin = cat.start[idx], cat.hpk[idx], cat.qmin[idx]
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for rows in np.split(order, bounds):
        if rows.size < 2:
            continue
        r, t, s, h = rate[rows], top[rows], start[rows], hpk[rows]
        eta_low = s + h * qmin[rows][0] / 1000.0  # the group's common minimum
        eta_top = s + h * t / 1000.0
        eta_at_their_top = s[:, None] + h[:, None] * t[None, :] / 1000.0  # [a, b]: a at b's top
        covers = (
            (r[:, None] <= r[None, :])
            & (t[:, None] >= t[None, :])
            & (eta_low[:, None] <= eta_low[None, :] + 1e-12)
            & (eta_at_their_top <= eta_top[None, :] + 1e-12)
        )
        np.fill_diagonal(covers, False)
        keep[rows[_dominator_counts(covers) >= cap]] = False
    return keep


def _dominator_counts(covers: np.ndarray) -> np.ndarray:
    """Return how many offers dominate each, from ``covers[a, b]`` ("a can replace b").

    Mutual cover (identical offers) counts only for the earlier one, so one of them stays.
    """
    earlier = np.triu(np.ones(covers.shape, dtype=bool), k=1)
    return (covers & (~covers.T | earlier)).sum(axis=0)


#: Pairwise dominance checks are computed in blocks of this many dominators.
_BLOCK = 256


def _outcome_profiles(cat: Catalogue) -> tuple[np.ndarray, np.ndarray]:
    """Return (each offer's outcome profile, the profiles: distinct outcomes per unit).

    Most offers keep their kind's typical rates, so a catalogue has few profiles and offers
    are compared through them (:func:`_dominated_count`). Computed once per catalogue.
    """
    if "outcome_profiles" not in cat.derived:
        profiles, ids = np.unique(cat.out, axis=0, return_inverse=True)
        cat.derived["outcome_profiles"] = ids.reshape(-1).astype(np.int64)
        cat.derived["profile_outcomes"] = profiles
    return cat.derived["outcome_profiles"], cat.derived["profile_outcomes"]


def _dominated_count(
    r: np.ndarray,
    rate: np.ndarray,
    top: np.ndarray,
    qmin: np.ndarray,
    step: np.ndarray,
    profile: np.ndarray,
    profile_outcomes: np.ndarray,
    start: np.ndarray,
    hpk: np.ndarray,
    timed: bool,
) -> np.ndarray:
    """Return how many of the offers ``r`` (one kind) dominate each of them.

    ``a`` dominates ``b`` when, for every quantity ``q`` ``b`` can deliver here, ``a`` can
    deliver ``q'`` >= ``q`` (its first grid point at or above ``q``) at no higher price, with at
    least the same outcomes per unit and, when ``timed``, no later. The grids need not nest: a
    cheaper offer on a coarser grid dominates when rounding up to its grid never costs more.
    With ``d`` the largest round-up (``step_a - g + (qmin_a - qmin_b) mod g``, ``g`` the gcd of
    the steps) the conditions are linear in ``q``, so they are checked at the ends of ``b``'s
    range; below ``qmin_a`` the round-up is ``qmin_a`` itself. Mutual dominance goes to the
    earlier offer. Outcomes are compared through each offer's ``profile``, a row of
    ``profile_outcomes`` (:func:`_outcome_profiles`).
    """
    # A dominator is never dearer per unit (rate_a <= rate_b in every case below), reaches at
    # least as far, and, timed, delivers b's top quantity no later. Those necessary conditions
    # are cheap on every pair and leave about 7 % of them for the exact test.
    rates, tops = rate[r], top[r]
    maybe = (rates[:, None] <= rates[None, :]) & (tops[:, None] >= tops[None, :])
    if timed:
        eta_top = start[r] + hpk[r] * tops / 1000.0
        by_their_top = start[r][:, None] + hpk[r][:, None] * tops[None, :] / 1000.0
        maybe &= by_their_top <= eta_top[None, :] + 1e-9
    np.fill_diagonal(maybe, False)
    ia, ib = np.nonzero(maybe)
    a, b = r[ia], r[ib]
    present, pr = _sorted_unique_inverse(profile[r])
    outcomes = profile_outcomes[present]
    at_least = (outcomes[:, None, :] >= outcomes[None, :, :]).all(axis=2)
    le = at_least[pr[ia], pr[ib]]
    ra, ta, qa, sa, ha, sta = rate[a], top[a], qmin[a], step[a], hpk[a], start[a]
    rb, tb, qb, sb, hb, stb = rate[b], top[b], qmin[b], step[b], hpk[b], start[b]
    # Below a's minimum: b's quantities qmin_b .. qmin_a - 1 become qmin_a.
    low = qb < qa
    le &= ~low | (ra * qa <= rb * qb)
    # From q0 (b's first grid point >= qmin_a) to top_b: q' <= q + d.
    q0 = np.where(low, qb + sb * (-(-(qa - qb) // sb)), qb)
    g = np.gcd(sa, sb)
    d = sa - g + (qa - qb) % g
    high = q0 <= tb
    price_ok = (rb * q0 >= ra * (q0 + d)) & (rb * tb >= ra * (tb + d))
    top_up = qa + sa * (-(-(tb - qa) // sa))
    le &= ~high | (price_ok & (top_up <= ta))
    if timed:
        le &= ~low | (sta + ha * qa / 1000.0 <= stb + hb * qb / 1000.0 + 1e-12)
        eta_ok = (sta + ha * (q0 + d) / 1000.0 <= stb + hb * q0 / 1000.0 + 1e-12) & (
            sta + ha * (tb + d) / 1000.0 <= stb + hb * tb / 1000.0 + 1e-12
        )
        le &= ~high | eta_ok
    covers = np.zeros((r.size, r.size), dtype=bool)  # covers[a, b]: r[a] can replace r[b]
    covers[ia[le], ib[le]] = True
    return _dominator_counts(covers)


# --------------------------------------------------------------------------- the MILP


Solution = list[tuple[Offer, int]]


@dataclass(frozen=True)
class _Rows:
    """A block of constraint rows, compressed by row: each row's length, then columns and values.

    Built with numpy alone: the models are small and rebuilt for every solve, and scipy's
    sparse constructors cost more in validation than the arithmetic here.
    """

    lengths: np.ndarray
    columns: np.ndarray
    values: np.ndarray

    @classmethod
    def dense(cls, rows: np.ndarray) -> _Rows:
        """Return the non-zero entries of a 2-D (or one 1-D) array of rows."""
        rows = np.atleast_2d(rows)
        r, c = np.nonzero(rows)
        return cls(np.bincount(r, minlength=rows.shape[0]), c, rows[r, c])

    @classmethod
    def per_row(cls, columns: np.ndarray, values: np.ndarray) -> _Rows:
        """Return rows of a few entries each (``columns[i]``, ``values[i]`` of row ``i``)."""
        keep = values != 0
        return cls(keep.sum(axis=1), columns[keep], values[keep])

    @staticmethod
    def stack(blocks: Sequence[_Rows]) -> _Rows:
        """Return ``blocks`` one below the other."""
        return _Rows(
            np.concatenate([b.lengths for b in blocks]),
            np.concatenate([b.columns for b in blocks]),
            np.concatenate([b.values for b in blocks]),
        )


_Extra = tuple[np.ndarray | _Rows, np.ndarray, np.ndarray]


class _Model:
    """The integer program of one need over the candidates; solved with different objectives.

    Columns: ``k`` (grid index) | ``y`` (used) | ``c`` (cost, integer mode only) | ``z`` (credited
    outcome per intent). The budget is modelled in one of three modes:
    ``relaxed`` (prices may round down by up to 0.499 fen: a relaxation), ``integer`` (exact
    half-up rounding with integer ``c``), ``safe`` (each item counted 0.5 fen above its linear
    price: never over budget).
    """

    def __init__(
        self,
        need: Understood,
        cat: Catalogue,
        chosen: np.ndarray,
        kmax: np.ndarray,
        intents: list[str],
        budget_fen: int,
        rates: np.ndarray,
        *,
        catalogue_prices: bool,
        forced_ids: frozenset[str] = frozenset(),
    ) -> None:
        self.need = need
        self.intents = intents
        #: Seconds HiGHS may spend on one solve of this model.
        self.time_limit = TIME_LIMIT_S
        #: Objective value no wanted solution reaches (HiGHS's ``objective_bound``), or None.
        self.cutoff: float | None = None
        #: Whether ``rates`` are the catalogue's (exact prices), so that dominance is exact.
        self.catalogue_prices = catalogue_prices
        self.cat = cat
        self.chosen = chosen
        self.budget = budget_fen
        n = chosen.size
        self.n = n
        omega_map = outcome_weights(need)
        target_map = outcome_targets(need)
        asked_map = asked_quantities(need)
        cols = [cat.intents.index(j) for j in intents]
        out = cat.out[chosen][:, cols]
        omega = np.array([omega_map[j] for j in intents])
        m = len(intents)
        self.m = m
        self.targets = np.array([target_map[j] for j in intents])
        ask_idx = [t for t, j in enumerate(intents) if j in asked_map]
        self.asked = np.array([asked_map[intents[t]] for t in ask_idx], dtype=np.float64)
        self.qmin_i = cat.qmin[chosen].astype(np.int64)
        self.qstep_i = cat.step[chosen].astype(np.int64)
        self.kmax_i = kmax.astype(np.int64)
        # Long quantity ranges are continuous in the program and rounded down to the step.
        self.continuous = self.kmax_i > INTEGER_LEVELS
        self.exact_grid = not bool(self.continuous.any())
        qmin = self.qmin_i.astype(np.float64)
        qstep = self.qstep_i.astype(np.float64)
        kmx = self.kmax_i.astype(np.float64)
        self.nv = 3 * n + m
        self.ks, self.ys, self.cs = slice(0, n), slice(n, 2 * n), slice(2 * n, 3 * n)
        self.zs = slice(3 * n, 3 * n + m)
        o_rows = np.zeros((m, self.nv))
        o_rows[:, self.ks] = (out * qstep[:, None]).T
        o_rows[:, self.ys] = (out * qmin[:, None]).T
        #: Outcome rows: ``o_rows[j] @ x`` is the plan's expected outcome ``j``.
        self.o_rows = o_rows
        self.ask_rows = o_rows[ask_idx]
        self.v = EXCESS_CREDIT * (omega @ o_rows)
        self.v[self.zs] = omega * (1 - EXCESS_CREDIT)
        self.rates = rates
        # Linear price of each item (fen): a_i * y_i + b_i * k_i.
        self.price_y = rates * qmin / 1000.0
        self.price_k = rates * qstep / 1000.0
        # Sparse rows (a fast plan's model has hundreds of items): k_i - K_i y_i <= 0 per item,
        # sum of y per kind <= max_per_kind, z_j - o_j <= 0 per intent.
        items = np.arange(n)
        link = _Rows.per_row(
            np.column_stack([items, n + items]), np.column_stack([np.ones(n), -kmx])
        )
        kinds = cat.kind_idx[chosen]
        uniq, kind_of = _sorted_unique_inverse(kinds)
        #: Each item's kind, numbered 0, 1, ... in sorted order.
        self.kind_of = kind_of
        by_kind = np.argsort(kinds, kind="stable")
        #: Items ordered by kind, their kinds (0, 1, ...) in that order and where each starts.
        self.by_kind = by_kind
        self.sorted_kinds = kind_of[by_kind]
        self.kind_starts = np.concatenate(([0], np.cumsum(np.bincount(kind_of))[:-1]))
        kind_rows = _Rows(
            np.bincount(kind_of, minlength=uniq.size),
            n + by_kind,
            np.ones(n),
        )
        z_rows = -o_rows
        z_rows[:, self.zs] = np.eye(m)
        self.base_A = _Rows.stack([link, kind_rows, _Rows.dense(z_rows)])
        n_rows = self.base_A.lengths.size
        self.base_lb = np.full(n_rows, -np.inf)
        self.base_ub = np.concatenate(
            [np.zeros(n), np.full(uniq.size, float(need.max_per_kind)), np.zeros(m)]
        )
        # ETA of each item: eta0 + eta_k * k when used.
        self.eta0 = cat.start[chosen] + cat.hpk[chosen] * qmin / 1000.0
        self.eta_k = cat.hpk[chosen] * qstep / 1000.0
        self.lo = np.zeros(self.nv)
        self.hi = np.zeros(self.nv)
        self.hi[self.ks] = kmx
        self.hi[self.ys] = 1.0
        self.hi[self.zs] = self.targets
        self.integrality = np.zeros(self.nv)
        self.integrality[: 2 * n] = 1
        self.integrality[self.ks][self.continuous] = 0
        #: Service ids every plan of this need must use (:func:`_forced_ids`).
        self.forced_ids = forced_ids
        #: Which items are forced: their ``y`` is fixed at 1.
        self.forced = np.zeros(n, dtype=bool)
        if forced_ids:
            ids = [str(cat.offers[int(i)].service_id) for i in chosen]
            self.forced = np.array([sid in forced_ids for sid in ids], dtype=bool)
            self.lo[self.ys][self.forced] = 1.0

    def completion_times(self) -> np.ndarray:
        """Return the sorted distinct ETAs (as shown) an item can have.

        An item of a short range has one per quantity; a continuous one, every value shown
        (:func:`eta_shown`) between its smallest and largest quantity's.
        """
        steps = []
        short = ~self.continuous
        if short.any():
            levels = np.arange(int(self.kmax_i[short].max(initial=0)) + 1)
            etas = self.eta0[short, None] + self.eta_k[short, None] * levels[None, :]
            steps.append(_shown_step(eta_shown(etas[levels[None, :] <= self.kmax_i[short, None]])))
        if self.continuous.any():
            wide = self.continuous
            first = _shown_step(eta_shown(self.eta0[wide]))
            last = _shown_step(eta_shown(self.eta0[wide] + self.eta_k[wide] * self.kmax_i[wide]))
            # Every value covered by some item's interval: mark starts and ends, then sum up.
            low = int(first.min())
            size = int(last.max()) - low + 2
            marks = np.bincount(first - low, minlength=size) - np.bincount(
                last - low + 1, minlength=size
            )
            steps.append(np.flatnonzero(np.cumsum(marks) > 0) + low)
        return _shown_hours(_sorted_unique(np.concatenate(steps)))

    def within(self, deadline: float, usable: np.ndarray | None = None) -> _Model | None:
        """Return this model restricted to items done by ``deadline`` (same grid), or None.

        With catalogue prices, offers that ``max_per_kind`` others of their kind dominate with
        the reach each has by ``deadline`` are dropped (:func:`_prune`): every item left is in
        time, so speed no longer matters. The fastest plan's candidates, pruned with speed,
        shrink here to what the balanced program would keep (a few dozen instead of hundreds).
        ``usable`` (one flag per item) drops the items no wanted plan can use
        (:meth:`_DeadlineRelaxation.usable`) before that pruning.
        """
        keep, kcap = self._caps_by(deadline)
        if (self.forced & ~keep).any():
            return None  # an item every plan must use is not done by then
        if usable is not None:
            keep &= usable | self.forced
        if not keep.any():
            return None
        rows = np.flatnonzero(keep)
        if self.catalogue_prices:
            top = (self.qmin_i[rows] + self.qstep_i[rows] * kcap[rows]).astype(np.float64)
            kept, _ = _prune(self.cat, self.chosen[rows], top, self.need.max_per_kind, False)
            rows = rows[np.isin(self.chosen[rows], kept, kind="table")]
        return _Model(
            self.need,
            self.cat,
            self.chosen[rows],
            kcap[rows],
            self.intents,
            self.budget,
            self.rates[rows],
            catalogue_prices=self.catalogue_prices,
            forced_ids=self.forced_ids,
        )

    def _caps_by(self, deadline: float) -> tuple[np.ndarray, np.ndarray]:
        """Return (items that can be done by ``deadline``, each item's top grid index by then)."""
        room = deadline + 1e-9 - self.eta0
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = np.where(self.eta_k > 0, np.floor(room / self.eta_k), self.kmax_i)
        return room >= 0, np.minimum(fit, self.kmax_i).astype(np.int64)

    def cost_vector(self, mode: str, round_up: bool = False) -> np.ndarray:
        """Objective coefficients of the plan's cost (fen) in a budget mode.

        ``round_up``: continuous quantities will be rounded up, so each is charged one more
        step (its price can only fall short of that).
        """
        vec = np.zeros(self.nv)
        if mode == "integer":
            vec[self.cs] = 1.0
        else:
            vec[self.ys] = self.price_y + _ROUNDING[mode] / 1000.0
            vec[self.ks] = self.price_k
            if round_up:
                vec[self.ys] += self.price_k * self.continuous
        return vec

    def _budget_rows(self, mode: str, budget_fen: int, round_up: bool) -> list[_Extra]:
        n = self.n
        if mode != "integer":
            row = self.cost_vector(mode, round_up)[None, :]
            return [(row, np.array([-np.inf]), np.array([float(budget_fen)]))]
        # 1000 c_i >= rate_i q_i - 499 y_i: c_i is the price rounded half up.
        items = np.arange(n)
        price_rows = _Rows.per_row(
            np.column_stack([items, n + items, 2 * n + items]),
            np.column_stack([-self.price_k, 0.499 - self.price_y, np.ones(n)]),
        )
        total = np.zeros((1, self.nv))
        total[0, self.cs] = 1.0
        return [
            (price_rows, np.zeros(n), np.full(n, np.inf)),
            (total, np.array([-np.inf]), np.array([float(budget_fen)])),
        ]

    def solve(
        self,
        objective: np.ndarray,
        extra: Sequence[_Extra],
        budget_fen: int,
        mode: str,
        round_up: bool = False,
    ) -> tuple[Solution, float] | None:
        """Minimise ``objective``; return ((offer, quantity) pairs, objective) or None.

        Continuous quantities are rounded down to their step (cost and ETA only fall), or up
        with ``round_up`` (outcomes only rise: lower bounds on them hold), which the budget
        then reserves a step for.
        """
        A, lb, ub, hi, integrality = self._system(extra, budget_fen, mode, round_up)
        columns = self.columns(mode)
        h = _load(objective, A, lb, ub, self.lo, hi, integrality, self.time_limit, columns)
        if self.cutoff is not None:
            h.setOptionValue("objective_bound", float(self.cutoff))
        else:
            # A deadline probe (with a cutoff) mostly proves that no plan exists; a start would
            # only cost there.
            start = self._start(objective, A, lb, ub, hi, integrality, columns)
            if start is not None:
                h.setSolution(start)
        got = _run(h, mip=True)
        return None if got is None else (self._picks(got[0], round_up), got[1])

    def _start(
        self,
        objective: np.ndarray,
        A: _Rows,
        lb: np.ndarray,
        ub: np.ndarray,
        hi: np.ndarray,
        integrality: np.ndarray,
        columns: np.ndarray | None,
    ) -> highspy.HighsSolution | None:
        """Return a good feasible solution to start the MILP from, or None.

        With its heuristics off, HiGHS spends most of a hard solve finding a good plan, not
        proving it optimal (given the optimum, a 190 ms solve takes 21 ms). So the program is
        first solved restricted to the items its LP relaxation uses (a few per kind; RENS-like,
        a small MILP of ~1 ms) and that plan is handed to HiGHS as its incumbent. The full solve
        stays exact.
        """
        relaxation = _load(objective, A, lb, ub, self.lo, hi, None, self.time_limit, columns)
        got = _run(relaxation, mip=False)
        if got is None:
            return None
        unused = np.flatnonzero(got[0][self.ys] <= 1e-9)
        sub_hi = hi.copy()
        for cols in (self.ks, self.ys):
            sub_hi[cols.start + unused] = 0.0
        restricted = _load(
            objective, A, lb, ub, self.lo, sub_hi, integrality, self.time_limit, columns
        )
        got = _run(restricted, mip=True)
        if got is None:
            return None
        start = highspy.HighsSolution()
        start.col_value = list(got[0])
        start.value_valid = True
        return start

    def columns(self, mode: str) -> np.ndarray | None:
        """Return the columns a budget mode uses (a mask), or None for all of them.

        Only the exact ``integer`` mode has cost columns; elsewhere they would sit at zero, a
        third of the columns HiGHS would carry for nothing. Solutions list the kept columns,
        ``k`` and ``y`` first as always.
        """
        if mode == "integer":
            return None
        keep = np.ones(self.nv, dtype=bool)
        keep[self.cs] = False
        return keep

    def _picks(self, x: np.ndarray, round_up: bool) -> Solution:
        y = np.round(x[self.ys]).astype(np.int64)
        xk = x[self.ks]
        rounded = np.ceil(xk - 1e-6) if round_up else np.floor(xk + 1e-6)
        k = np.where(self.continuous, rounded, np.round(xk)).astype(np.int64)
        k = np.clip(k, 0, self.kmax_i) * y
        q = (self.qmin_i + self.qstep_i * k) * y
        return [(self.cat.offers[int(self.chosen[i])], int(q[i])) for i in np.flatnonzero(y > 0)]

    def _system(
        self, extra: Sequence[_Extra], budget_fen: int, mode: str, round_up: bool = False
    ) -> tuple[_Rows, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return (rows, row lower, row upper, column upper, integrality) of a budget mode."""
        rows: list[_Extra] = [(self.base_A, self.base_lb, self.base_ub)]
        rows += self._budget_rows(mode, budget_fen, round_up)
        rows += list(extra)
        hi = self.hi
        integrality = self.integrality
        if mode == "integer":
            hi = hi.copy()
            hi[self.cs] = float(budget_fen)
            integrality = integrality.copy()
            integrality[self.cs] = 1
        return (
            _Rows.stack([r[0] if isinstance(r[0], _Rows) else _Rows.dense(r[0]) for r in rows]),
            np.concatenate([r[1] for r in rows]),
            np.concatenate([r[2] for r in rows]),
            hi,
            integrality,
        )


class _DeadlineRelaxation:
    """Upper bounds of a model's value (``V``) with only the items done by a deadline.

    :meth:`lp` solves the LP relaxation of the items done by the deadline (an upper bound of
    :meth:`_Model.within`'s program, which may prune further). One LP is kept and only its
    columns' bounds and link coefficients change from one deadline to the next, so HiGHS starts
    each solve from the last basis.

    :meth:`screen` is a cheaper bound from the last LP's duals: the budget and outcome rows are
    relaxed with their multipliers (any non-negative multipliers give an upper bound, by weak
    duality), and what is left splits by item and kind: an item gives all or nothing of its
    reach by the deadline, and each kind its ``max_per_kind`` best items. It is exact at the
    LP's own deadline, monotone in the deadline and a few numpy operations, so the deadline
    search skips the deadlines it refutes without solving their LPs.
    """

    def __init__(self, model: _Model, mode: str) -> None:
        self.model = model
        A, lb, ub, hi, _ = model._system([], model.budget, mode)
        columns = model.columns(mode)
        self.h = _load(-model.v, A, lb, ub, model.lo, hi, None, model.time_limit, columns)
        n = model.n
        self.cols = np.arange(2 * n, dtype=np.int32)
        self.lower = np.zeros(2 * n)
        self.lower[n:][model.forced] = 1.0
        self.link = model.kmax_i.astype(np.float64)
        self.budget_row = model.cost_vector(mode)
        first_z_row = n + model.kind_starts.size
        self.z_rows = np.arange(first_z_row, first_z_row + model.m)
        self.budget_row_index = first_z_row + model.m
        #: Reduced value of each item's (y, k) per unit and the constant part of the bound,
        #: from the last LP's multipliers; None before any LP.
        self.reduced: tuple[np.ndarray, np.ndarray, float] | None = None

    def lp(self, deadline: float) -> float:
        """Return the LP bound of ``V`` by ``deadline`` (0 when no item fits in time)."""
        mdl = self.model
        keep, top = mdl._caps_by(deadline)
        if not keep.any() or (mdl.forced & ~keep).any():
            return 0.0
        n = mdl.n
        kcap = np.where(keep, top, 0).astype(np.float64)
        self.h.changeColsBounds(2 * n, self.cols, self.lower, np.concatenate([kcap, keep * 1.0]))
        for i in np.flatnonzero(kcap != self.link):
            self.h.changeCoeff(int(i), n + int(i), -float(kcap[i]))
        self.link[:] = kcap
        got = _run(self.h, False)
        if got is None:
            return 0.0
        self._keep_multipliers(np.array(self.h.getSolution().row_dual))
        return -got[1]

    def _keep_multipliers(self, row_dual: np.ndarray) -> None:
        mdl = self.model
        # HiGHS minimises -V; the dual of an active "<=" row is <= 0.
        budget = max(0.0, -float(row_dual[self.budget_row_index]))
        outcome = np.maximum(0.0, -row_dual[self.z_rows])
        value = mdl.v - budget * self.budget_row + outcome @ mdl.o_rows
        z_part = np.maximum(0.0, mdl.v[mdl.zs] - outcome) @ mdl.targets
        self.reduced = (value[mdl.ys], value[mdl.ks], budget * mdl.budget + float(z_part))

    @property
    def has_screen(self) -> bool:
        """Whether an LP has been solved, so :meth:`screen` can refute deadlines."""
        return self.reduced is not None

    def screen(self, deadline: float) -> float:
        """Return an upper bound of :meth:`lp` at ``deadline`` (infinite before any LP)."""
        if self.reduced is None:
            return np.inf
        total, _ = self._kind_tops(np.maximum(0.0, self._item_values(deadline)))
        return total

    def _item_values(self, deadline: float) -> np.ndarray:
        """Return each item's best reduced value by ``deadline`` (-inf when not in time)."""
        assert self.reduced is not None
        per_y, per_k, _ = self.reduced
        keep, top = self.model._caps_by(deadline)
        return np.where(keep, per_y + np.maximum(0.0, per_k) * top, -np.inf)

    def _kind_tops(self, values: np.ndarray) -> tuple[float, np.ndarray]:
        """Return (the bound: each kind's ``max_per_kind`` best ``values``, each kind's last).

        ``values`` are non-negative (taking nothing is worth 0); a kind with fewer items than
        ``max_per_kind`` has 0 as its last.
        """
        assert self.reduced is not None
        mdl = self.model
        ordered = values[mdl.by_kind]
        cap = mdl.need.max_per_kind
        if cap == 1:
            per_kind = np.maximum.reduceat(ordered, mdl.kind_starts)
            return self.reduced[2] + float(per_kind.sum()), per_kind
        # The max_per_kind best of each kind: sorted by kind, then best first.
        order = np.lexsort((-ordered, mdl.sorted_kinds))
        ranked = ordered[order]
        rank = np.arange(mdl.n) - mdl.kind_starts[mdl.sorted_kinds]
        last = np.zeros(mdl.kind_starts.size)
        at_cap = rank == cap - 1
        last[mdl.sorted_kinds[at_cap]] = ranked[at_cap]
        return self.reduced[2] + float(ranked[rank < cap].sum()), last

    def usable(self, deadline: float, floor: float) -> np.ndarray | None:
        """Return which items a plan worth ``floor`` by ``deadline`` may use (None: no LP yet).

        Exact, a Lagrangian form of reduced-cost fixing: with the last LP's multipliers (any
        non-negative ones give a bound), a plan that uses item ``i`` is worth at most the bound
        of :meth:`screen` with ``i`` in its kind's last place (its own best value instead of the
        kind's ``max_per_kind``-th), so an item whose bound falls short of ``floor`` is in no
        wanted plan. Near the fastest deadline the LP barely reaches ``floor``, and a MILP
        probe there keeps from a tenth to half of its items.
        """
        if self.reduced is None:
            return None
        values = self._item_values(deadline)
        total, last = self._kind_tops(np.maximum(0.0, values))
        with_item = total - np.maximum(0.0, last[self.model.kind_of] - values)
        # Keep an item that rounding could have misjudged.
        return with_item >= floor - 1e-6 * max(1.0, abs(floor))

    def first_possible(self, times: np.ndarray, lo: int, hi: int, floor: float) -> int:
        """Return the first index in ``lo..hi`` whose screen reaches ``floor`` (``hi`` if none)."""
        # The screen equals the LP at the LP's own deadline up to rounding: forgive that.
        reach = floor - 1e-9 * abs(floor)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.screen(float(times[mid])) >= reach:
                hi = mid
            else:
                lo = mid + 1
        return lo


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Return the sorted distinct ``values``: ``np.unique`` by a sort.

    numpy 2's ``np.unique`` hashes first; on the tens of thousands of completion times of a
    large budget it took ~100 ms where a sort takes ~2.
    """
    ordered = np.sort(values)
    if ordered.size < 2:
        return ordered
    first = np.empty(ordered.size, dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


def _sorted_unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (the sorted distinct ``values``, each value's index among them)."""
    distinct = _sorted_unique(values)
    return distinct, np.searchsorted(distinct, values)


def _load(
    cost: np.ndarray,
    A: _Rows,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    integrality: np.ndarray | None,
    time_limit: float,
    columns: np.ndarray | None = None,
) -> highspy.Highs:
    """Return a ``Highs`` holding the program, its options set (run it with :func:`_run`).

    ``integrality`` None loads the LP relaxation. ``columns`` (a mask) keeps only those
    columns, which must hold every entry of ``A``; the solution then lists the kept ones, in
    order. A fresh ``Highs`` per call (~0.1 ms) keeps this thread-safe.
    """
    if columns is not None:
        position = np.cumsum(columns) - 1
        A = _Rows(A.lengths, position[A.columns], A.values)
        cost, col_lo, col_hi = cost[columns], col_lo[columns], col_hi[columns]
        integrality = None if integrality is None else integrality[columns]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for key, value in (_LP_OPTIONS if integrality is None else _MIP_OPTIONS).items():
        h.setOptionValue(key, value)
    h.setOptionValue("time_limit", float(time_limit))
    inf = highspy.kHighsInf
    starts = np.zeros(A.lengths.size + 1, dtype=np.int32)
    np.cumsum(A.lengths, out=starts[1:])
    h.passModel(
        cost.size,
        A.lengths.size,
        int(starts[-1]),
        2,  # row-wise
        1,  # minimise
        0.0,
        np.ascontiguousarray(cost, dtype=np.float64),
        np.ascontiguousarray(col_lo, dtype=np.float64),
        np.ascontiguousarray(col_hi, dtype=np.float64),
        np.where(np.isinf(row_lo), -inf, row_lo).astype(np.float64),
        np.where(np.isinf(row_hi), inf, row_hi).astype(np.float64),
        starts,
        A.columns.astype(np.int32),
        A.values.astype(np.float64),
        np.zeros(cost.size, dtype=np.int32)
        if integrality is None
        else integrality.astype(np.int32),
    )
    return h


def _run(h: highspy.Highs, mip: bool) -> tuple[np.ndarray, float] | None:
    """Run ``h``; return (x, objective), or None when it found no feasible solution."""
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal and not (
        mip and h.getInfo().primal_solution_status == _FEASIBLE
    ):
        return None
    return np.array(h.getSolution().col_value), float(h.getInfo().objective_function_value)


_FEASIBLE = 2  # HiGHS's kSolutionStatusFeasible
_ROUNDING = {"relaxed": -499.0, "safe": 500.0, "injected": 0.0}
_LP_OPTIONS: dict[str, Any] = {"presolve": "off"}
_MIP_OPTIONS: dict[str, Any] = {**_LP_OPTIONS, "mip_rel_gap": MIP_REL_GAP, **HIGHS_OPTIONS}


# --------------------------------------------------------------------------- public API


def optimise(
    need: Understood,
    offers: Catalogue | Sequence[Offer],
    *,
    price: PriceFn | None = None,
) -> list[Plan]:
    """Return up to three plans (最省钱, 最快, 均衡), each optimal for its own objective.

    ``offers`` is a :class:`Catalogue` (build it once for many needs) or a sequence of
    :class:`Offer`. ``price(offer, quantity) -> fen`` replaces the catalogue rate. Raises a
    :class:`DomainError` naming the field (``budget``, ``deadline_hours``, ``audience``,
    ``target``, ``need``) when no plan is possible.

    Every plan uses the modules the need names (``named_services``) when they fit together
    (:func:`_forced_ids`); the catalogue should then hold them as the only offers of their kind
    (``matching.services`` does), or the pruning may drop them. When planning with them finds
    nothing (their minimums and the budget's safety margins leave no room), the plans are
    made without them.
    """
    cat = Catalogue.of(offers)
    price_fn = price or catalogue_price
    idx, qtop, _, intents = _filter(need, cat, need.budget_fen, price)
    forced = _forced_ids(need, cat, idx, price_fn)
    if forced:
        try:
            return _optimise(need, cat, price, (idx, qtop, intents), forced)
        except DomainError:
            pass
    return _optimise(need, cat, price, (idx, qtop, intents), frozenset())


def _forced_ids(
    need: Understood, cat: Catalogue, candidates: np.ndarray, price_fn: PriceFn
) -> frozenset[str]:
    """Return the service ids of the named modules every plan must use (maybe none).

    A named module is forced when it is a candidate (it serves the need within the deadline,
    budget and audience alone) and no more modules of its kind are named than a plan may use;
    and only if all such modules fit the budget together at their minimum quantities.
    """
    named = {str(s) for s in need.named_services}
    if not named:
        return frozenset()
    offers = [o for o in (cat.offers[int(i)] for i in candidates) if str(o.service_id) in named]
    per_kind = Counter(o.kind for o in offers)
    offers = [o for o in offers if per_kind[o.kind] <= need.max_per_kind]
    if sum(price_fn(o, o.min_qty) for o in offers) > need.budget_fen:
        return frozenset()
    return frozenset(str(o.service_id) for o in offers)


def _optimise(
    need: Understood,
    cat: Catalogue,
    price: PriceFn | None,
    filtered: tuple[np.ndarray, np.ndarray, list[str]],
    forced: frozenset[str],
) -> list[Plan]:
    """Solve :func:`optimise` over the filtered candidates, each plan using ``forced``."""
    budget = need.budget_fen
    price_fn = price or catalogue_price
    idx, qtop, intents = filtered
    if price is None:
        idx, qtop = _drop_always_dominated(need, cat, idx, qtop)
        chosen, kmax = _prune(cat, idx, qtop, need.max_per_kind, timed=False)
    else:
        chosen, kmax = idx, _aligned(cat, idx, qtop)[0]

    def build(chosen: np.ndarray, kmax: np.ndarray) -> _Model:
        if price is None:
            rates = cat.rate[chosen].astype(np.float64)
        else:
            rates, kmax, entry = _effective_rates(cat, chosen, kmax, price, budget)
            keep = entry <= budget
            if not keep.any():
                raise _budget_error(int(entry.min()))
            chosen, kmax, rates = chosen[keep], kmax[keep], rates[keep]
        return _Model(
            need,
            cat,
            chosen,
            kmax,
            intents,
            budget,
            rates,
            catalogue_prices=price is None,
            forced_ids=forced,
        )

    def cost(picks: Solution) -> int:
        return sum(price_fn(o, q) for o, q in picks)

    def run(
        mdl: _Model, make_objective: Any, extra: Sequence[_Extra] = (), min_cost: bool = False
    ) -> Solution | None:
        # Exact prices when the grid is exact (small ranges): a relaxation first, integer
        # costs only when the relaxed answer does not hold. Otherwise a budget that can never
        # overshoot.
        first = "injected" if price is not None else "relaxed" if mdl.exact_grid else "safe"
        limit = budget
        for _ in range(4):
            got = mdl.solve(make_objective(first), extra, limit, first, round_up=min_cost)
            if got is None:
                return None
            picks, fun = got
            total = cost(picks)
            if first == "relaxed":
                proven = total <= limit and (not min_cost or total <= np.ceil(fun - 1e-7))
                if not proven:
                    got = mdl.solve(
                        make_objective("integer"), extra, limit, "integer", round_up=min_cost
                    )
                    if got is None:
                        return None
                    picks = got[0]
                    total = cost(picks)
            if total <= budget:
                return picks
            limit -= total - budget  # re-solve under the overshoot (injected prices)
            if limit <= 0:
                return None
        return None

    # 最快's work runs on a second thread: its candidates are pruned with speed while 均衡 is
    # solved here, and its deadline search runs while 最省钱 is. HiGHS and numpy release the
    # GIL, so with a core free the request takes the longer of the two, not their sum.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fastest-plan") as pool:
        timed_job = (
            pool.submit(_prune, cat, idx, qtop, need.max_per_kind, True) if price is None else None
        )
        model = build(chosen, kmax)
        balanced = run(model, lambda mode: -model.v)
        if not balanced:
            raise _budget_error(
                min(price_fn(cat.offers[int(i)], cat.offers[int(i)].min_qty) for i in chosen)
            )
        tops = {cat.offers[int(i)].service_id: float(t) for i, t in zip(idx, qtop, strict=True)}
        balanced = _top_up(need, balanced, tops, price_fn, budget)
        v_star = plan_value(need, balanced)

        def at_least(mdl: _Model, share: float) -> _Extra:
            return mdl.v[None, :], np.array([share * v_star * (1 - 1e-9)]), np.array([np.inf])

        plans: dict[str, Solution] = {"balanced": balanced}
        tie = 0.5 / max(v_star, 1e-12)

        def value_objective(mode: str) -> np.ndarray:
            # 最省钱 rounds continuous quantities up, so the quantities asked for are reached.
            return model.cost_vector(mode, round_up=True) - tie * model.v

        def fastest_plan() -> Solution | None:
            fast_model = model
            if timed_job is not None:  # catalogue prices: pruned exactly
                timed = timed_job.result()[0]
                fast_model = build(*_fast_candidates(need, cat, balanced, (idx, qtop), timed))
            mode = (
                "injected" if price is not None else "relaxed" if fast_model.exact_grid else "safe"
            )
            return _fastest(fast_model, run, FAST_SHARE * v_star * (1 - 1e-9), mode)

        fast_job = pool.submit(fastest_plan)
        value: Solution | None = None
        asks_met = False
        if model.asked.size:
            asks = (model.ask_rows, model.asked * (1 - 1e-9), np.full(model.asked.size, np.inf))
            extra = [at_least(model, VALUE_SHARE), asks]
            value = run(model, value_objective, extra, min_cost=True)
            asks_met = value is not None
        if value is None:
            value = run(model, value_objective, [at_least(model, VALUE_SHARE)], min_cost=True)
        fast = fast_job.result()
    if value:
        plans["value"] = value
    if fast is None or _eta(balanced) <= _eta(fast) + 1e-9:
        fast = balanced  # as fast and worth the most: shown once, as 均衡
    plans["fast"] = fast
    return _present(need, plans, price_fn, v_star, asks_met)


#: Steps :func:`_top_up` adds at most (rounding leaves a step or two an item).
TOP_UP_STEPS = 64


def _top_up(
    need: Understood,
    picks: Solution,
    tops: dict[int | str, float],
    price_fn: PriceFn,
    budget_fen: int,
) -> Solution:
    """Spend what rounding left of the budget on more of the plan's own items.

    Long ranges are solved with continuous quantities rounded down to their step, under a
    budget kept safe from each price's rounding to the fen: a step or two of an item can be
    left unbought (65 plays for ¥0.39 of a ¥0.40 budget that buys 67). A step is added where
    it adds the most value per fen while the plan stays within the budget and each item within
    its top quantity (which holds its deadline), so the plan only gets better.
    """
    picks = list(picks)
    total = sum(price_fn(o, q) for o, q in picks)
    value = plan_value(need, picks)
    for _ in range(TOP_UP_STEPS):
        best: tuple[float, int, int, int, float] | None = None
        for i, (offer, quantity) in enumerate(picks):
            more = quantity + offer.step
            if more > tops.get(offer.service_id, offer.max_qty) + 1e-9:
                continue
            added = price_fn(offer, more) - price_fn(offer, quantity)
            if total + added > budget_fen:
                continue
            gain = plan_value(need, [*picks[:i], (offer, more), *picks[i + 1 :]]) - value
            if gain <= 1e-12:
                continue
            score = gain / max(added, 1)
            if best is None or score > best[0]:
                best = (score, i, more, added, gain)
        if best is None:
            break
        _, i, more, added, gain = best
        picks[i] = (picks[i][0], more)
        total += added
        value += gain
    return picks


def _eta(picks: Solution) -> float:
    return float(eta_shown(max(o.eta_hours(q) for o, q in picks)))


def eta_shown(hours: Any) -> Any:
    """Return ``hours`` (a number or an array) rounded up as plans show ETAs.

    To the tenth of an hour up to ``WHOLE_HOURS_FROM`` (10 h), to the hour above it: two or
    three significant figures, as much as a provider's average speed tells (a day-long job is
    "about 31 h", not 30.7). 最快 minimises the ETA shown: plans done within the same tenth,
    or hour, are equally fast (the larger ``V`` wins), which spares the deadline search most
    of its probes. Like the deadline checks, it forgives 1e-9 h of floating-point error.
    """
    h = np.asarray(hours, dtype=np.float64)
    tenths = np.ceil(h * 10 - 1e-8) / 10
    # + 0.0 turns the -0.0 that ceil gives a zero ETA into 0.0 (shown "-0" otherwise).
    return np.where(tenths <= WHOLE_HOURS_FROM, tenths, np.ceil(h - 1e-9)) + 0.0


def _shown_step(shown: np.ndarray) -> np.ndarray:
    """Return the rank of each ETA as shown on the grid of :func:`eta_shown` (0.1 h = 1).

    Tenths up to ``WHOLE_HOURS_FROM``, then one rank per hour: consecutive ranks are
    consecutive values shown.
    """
    tenths = np.rint(shown * 10).astype(np.int64)
    edge = int(round(WHOLE_HOURS_FROM * 10))
    return np.where(tenths <= edge, tenths, edge + (tenths - edge) // 10)


def _shown_hours(steps: np.ndarray) -> np.ndarray:
    """Return the ETAs shown of ranks on the grid of :func:`eta_shown` (inverse of _shown_step)."""
    edge = int(round(WHOLE_HOURS_FROM * 10))
    return np.where(steps <= edge, steps / 10.0, WHOLE_HOURS_FROM + (steps - edge))


def _fastest(
    model: _Model,
    run: Callable[[_Model, Any, Sequence[_Extra]], Solution | None],
    floor: float,
    mode: str,
) -> Solution | None:
    """Return the fastest plan of ``model`` worth at least ``floor``; ties go to the larger ``V``.

    A plan's ETA (as shown, :func:`eta_shown`) is one of its items' ETAs, a finite set (each
    offer at each grid point), and a plan that meets a deadline meets every later one. So the
    fastest plan is the first of those values at which the balanced program restricted to items
    done in time (its relaxation is nearly exact there, unlike a model of the ETA itself) still
    reaches ``floor``; its maximum-``V`` plan is the answer. The LP relaxation, monotone in the
    deadline, is searched first (below its first feasible value no plan exists; ``mode`` is the
    first budget mode of ``run``, a relaxation of the exact prices), each LP at the first
    deadline the last one's duals do not refute (:class:`_DeadlineRelaxation`); the MILP then probes
    upwards from there, and each plan it finds lowers the upper end to that plan's own ETA. The
    probes share one ``TIME_LIMIT_S``; past it the fastest plan found so far (or None) is
    returned.
    """
    times = model.completion_times()

    def at(i: int) -> _Model | None:
        deadline = float(times[i])
        return model.within(deadline, relaxation.usable(deadline, floor))

    def enough(mdl: _Model) -> _Extra:
        return mdl.v[None, :], np.array([floor]), np.array([np.inf])

    relaxation = _DeadlineRelaxation(model, mode)

    # Search for the first deadline the relaxation accepts. Each LP's duals refute the
    # deadlines below some point without solving theirs (the screen), and the LP there is
    # solved next: near the threshold the screen is nearly exact, so that LP mostly ends the
    # search (about 4 LPs a need instead of 10 by bisection). From the fourth failed LP in a
    # row on, each goes twice as far past the screen's point as the last, so a poor screen
    # costs a few LPs more, not one per deadline (at most 12 a need in the benchmark, against
    # 16 by bisection). The MILP checks the last deadline if need be.
    top = times.size - 1
    lo, hi = 0, top
    failed = 0
    while lo < hi:
        lo = relaxation.first_possible(times, lo, hi, floor)
        if lo >= hi:
            break
        if relaxation.has_screen:
            mid = min(lo + (1 << max(0, failed - 3)) - 1, hi)
        else:
            mid = (lo + hi) // 2
        if relaxation.lp(float(times[mid])) >= floor:
            hi = mid
            failed = 0
        else:
            lo = mid + 1
            failed += 1
    best: Solution | None = None
    hi = top
    gap = 1
    failures = 0
    # The MILP probes share one TIME_LIMIT_S: where the relaxation is far off (rare), each
    # probe can take as long as a whole request.
    give_up = time.perf_counter() + TIME_LIMIT_S
    while lo <= hi:
        left = give_up - time.perf_counter()
        if left <= 0:
            break
        # Galloping up from the LP's threshold (+0, +1, +3, +7, ...) until a plan is found,
        # then bisecting: most probes just above the threshold are refuted at the root, and a
        # probe that finds a plan is the dearer kind, so the first steps are small.
        mid = (lo + hi) // 2 if best is not None else min(lo + gap - 1, hi)
        mdl = at(mid)
        if mdl is not None:
            mdl.time_limit = left
            # Known from the start, the bound spares HiGHS its feasibility pump (run while it
            # has no solution) and prunes like an incumbent: a probe with no plan worth
            # ``floor`` is proven empty in ~10 ms instead of ~170. It cuts off only plans
            # the ``enough`` row refuses anyway.
            mdl.cutoff = -floor + 1e-6 * abs(floor)
        picks = None if mdl is None else run(mdl, lambda _m, mdl=mdl: -mdl.v, [enough(mdl)])
        if picks:
            best = picks
            hi = int(np.searchsorted(times, _eta(picks) - 1e-9)) - 1
        else:
            lo = mid + 1
            failures += 1
            gap = 1 << max(0, failures - 1)
    return best


def _fast_candidates(
    need: Understood,
    cat: Catalogue,
    balanced: Solution,
    candidates: tuple[np.ndarray, np.ndarray],
    timed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the candidates (indices, grid index of the top) of the fastest plan.

    ``candidates`` are the need's (indices, top quantity) and ``timed`` those of them that
    :func:`_prune` keeps with speed as a further criterion, at the need's own deadline. The
    fastest plan is never slower than the balanced one (which keeps all of the value), so the
    balanced plan's ETA acts as a deadline: exact, and it removes slow offers. Pruning stays
    exact under the earlier deadline: an offer dominated with speed by a deadline is dominated
    by every earlier one (what it delivers in time, its dominator delivers no later), so
    ``timed`` can be pruned while the balanced plan is solved and only capped here.
    """
    eta = _eta(balanced)
    limit = eta if need.deadline_hours is None else min(eta, need.deadline_hours)
    idx, qtop = candidates
    qtop = np.minimum(
        qtop[np.searchsorted(idx, timed)],
        _deadline_caps(cat.start[timed], cat.hpk[timed], limit + 1e-9),
    )
    fits = qtop >= cat.qmin[timed]
    return timed[fits], _aligned(cat, timed[fits], qtop[fits])[0]


def greedy_plan(
    need: Understood,
    offers: Catalogue | Sequence[Offer],
    *,
    price: PriceFn | None = None,
) -> list[tuple[Offer, int]]:
    """Baseline: take offers by best value per fen, each as large as the budget allows.

    Respects the same constraints as :func:`optimise` (bounds, steps, deadline, audience,
    one module per kind); used by the benchmark and tests as a lower bound.
    """
    cat = Catalogue.of(offers)
    price_fn = price or catalogue_price
    budget = need.budget_fen
    try:
        idx, qtop, unit_value, _ = _filter(need, cat, budget, price)
    except DomainError:
        return []
    ratio = unit_value * 1000.0 / np.maximum(cat.rate[idx], 1e-9)
    used: dict[int, int] = {}
    picks: list[tuple[Offer, int]] = []
    left = budget
    for r in np.argsort(-ratio, kind="stable"):
        i = int(idx[r])
        kind = int(cat.kind_idx[i])
        if used.get(kind, 0) >= need.max_per_kind:
            continue
        o = cat.offers[i]
        top = int(min(qtop[r], o.top_qty))
        if o.rate_fen_per_1000 > 0:
            top = min(top, (1000 * left + 499) // o.rate_fen_per_1000)
        q = o.min_qty + o.step * ((top - o.min_qty) // o.step) if top >= o.min_qty else 0
        while q >= o.min_qty and price_fn(o, q) > left:
            q -= o.step
        if q < o.min_qty:
            continue
        picks.append((o, q))
        left -= price_fn(o, q)
        used[kind] = used.get(kind, 0) + 1
    return picks


def _effective_rates(
    cat: Catalogue, chosen: np.ndarray, kmax: np.ndarray, price: PriceFn, budget: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model an injected price as each offer's highest sampled rate (integer fen per 1000)."""
    rates = np.zeros(chosen.size)
    entry = np.zeros(chosen.size, dtype=np.int64)
    new_kmax = kmax.copy()
    for r, i in enumerate(chosen):
        o = cat.offers[int(i)]
        top = o.min_qty + o.step * int(kmax[r])
        mid = o.min_qty + o.step * (int(kmax[r]) // 2)
        samples = {o.min_qty, mid, top}
        worst = max(-(-price(o, q) * 1000 // q) for q in samples)
        rates[r] = float(worst)
        entry[r] = price(o, o.min_qty)
        if worst > 0:
            qb = 1000 * budget // worst
            new_kmax[r] = max(0, min(int(kmax[r]), (qb - o.min_qty) // o.step))
    return rates, new_kmax, entry


def _present(
    need: Understood,
    plans: Mapping[str, list[tuple[Offer, int]]],
    price_fn: PriceFn,
    v_star: float,
    asks_met: bool,
) -> list[Plan]:
    """Turn solutions into plans in the order 最省钱, 最快, 均衡, without repeats."""

    def signature(picks: list[tuple[Offer, int]]) -> tuple[tuple[str, int], ...]:
        return tuple(sorted((str(o.service_id), q) for o, q in picks))

    # A plan that is also optimal for another objective is shown once, under the first of
    # 均衡, 最省钱, 最快 it wins, and says which others it wins too.
    shown: dict[tuple[tuple[str, int], ...], str] = {signature(plans["balanced"]): "balanced"}
    also: dict[str, list[str]] = {"balanced": []}
    for key in ("value", "fast"):
        if key not in plans:
            continue
        first = shown.setdefault(signature(plans[key]), key)
        if first == key:
            also[key] = []
        else:
            also[first].append(key)
    order = [key for key in ("value", "fast", "balanced") if key in also]
    bal_eta = _eta_displayed(_eta(plans["balanced"]), need)
    bal_total = sum(price_fn(o, q) for o, q in plans["balanced"])
    return [
        _make_plan(need, key, plans[key], price_fn, v_star, asks_met, bal_eta, bal_total, also[key])
        for key in order
    ]


#: How an English explanation names another objective a plan also wins (in Chinese: the plan's
#: own name, ``PLAN_NAMES``).
_ALSO_EN = {"value": "cheapest", "fast": "fastest"}


def _eta_displayed(shown: float, need: Understood) -> float:
    """Return an ETA as shown (:func:`eta_shown`), but never past the need's deadline.

    Every item meets the deadline, so a deadline off the values shown (10.05 h) is itself an
    upper estimate where rounding up would show more (11 h).
    """
    return shown if need.deadline_hours is None else min(shown, float(need.deadline_hours))


def whole_percents(weights: Sequence[float]) -> list[int]:
    """Return ``weights`` (summing to 1) as whole percentages summing to 100.

    Largest remainder: three equal goals read 34 %, 33 %, 33 %, not 33 % three times (99 %).
    """
    total = sum(weights)
    if total <= 0:
        return [0] * len(weights)
    exact = [w * 100 / total for w in weights]
    floors = [int(math.floor(x)) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (floors[i] - exact[i], i))
    for i in order[: 100 - sum(floors)]:
        floors[i] += 1
    return floors


def _fmt_qty(q: float) -> str:
    return f"{q:,.0f}" if q >= 10 else f"{round(q, 1):g}"


def _make_plan(
    need: Understood,
    key: str,
    picks: list[tuple[Offer, int]],
    price_fn: PriceFn,
    v_star: float,
    asks_met: bool,
    bal_eta: float,
    bal_total: int,
    also: Sequence[str] = (),
) -> Plan:
    lex = get_lexicon()
    lang = need.language
    en = lang == "en"
    picks = sorted(picks, key=lambda p: (lex.kinds.index(p[0].kind), str(p[0].service_id)))
    items = tuple(
        PlanItem(
            service_id=o.service_id,
            kind=o.kind,
            name_zh=o.name_zh,
            name_en=o.name_en,
            quantity=q,
            cost_fen=price_fn(o, q),
            eta_hours=_eta_displayed(float(eta_shown(o.eta_hours(q))), need),
            channel=o.channel,
        )
        for o, q in picks
    )
    total = sum(it.cost_fen for it in items)
    expected_raw = expected_outcomes(picks)
    expected = {
        j: (round(v) if v >= 10 else round(v, 1))
        for j, v in sorted(expected_raw.items(), key=lambda kv: lex.intents.index(kv[0]))
        if v > 0
    }
    eta = max(it.eta_hours for it in items)
    value = plan_value(need, picks)
    share = value / v_star if v_star > 0 else 1.0
    budget_y = f"¥{need.budget:,.2f}"
    total_y = f"¥{Decimal(total) / 100:,.2f}"
    shares = whole_percents(list(need.intents.values()))
    goals = (
        "、".join(
            f"{lex.intent_labels[j][0]}{p}%" for j, p in zip(need.intents, shares, strict=True)
        )
        if not en
        else ", ".join(
            f"{lex.intent_labels[j][1]} {p}%" for j, p in zip(need.intents, shares, strict=True)
        )
    )
    lines = []
    for (o, q), it in zip(picks, items, strict=True):
        unit_zh, unit_en = lex.kind_units[o.kind]
        main = lex.kind_intent[o.kind]
        label_zh, label_en = lex.intent_labels[main]
        per_yuan = (o.outcomes or {}).get(main, 0) * q / max(it.cost_fen / 100, 0.01)
        unit_price = it.cost_fen / 100 / max(q, 1)
        if en:
            # "Video likes × 4,920", as the plan's item list has it: a unit after the count
            # would repeat the name ("Video likes × 4,920 likes").
            rate = (
                f"{label_en}: about {_fmt_qty(per_yuan)} per yuan"
                if per_yuan >= 1
                else f"¥{unit_price:,.2f} per {unit_en.rstrip('s')}"
            )
            lines.append(
                f"{o.name_en} × {q:,} (¥{it.cost_fen / 100:,.2f}, {rate}, ~{it.eta_hours:g} h)"
            )
        else:
            rate = (
                f"每元约带来{_fmt_qty(per_yuan)}{label_zh}"
                if per_yuan >= 1
                else f"每{unit_zh}¥{unit_price:,.2f}"
            )
            lines.append(
                f"{o.name_zh}{q:,}{unit_zh}（¥{it.cost_fen / 100:,.2f}，{rate}，"
                f"约{it.eta_hours:g}小时）"
            )
    asked = asked_quantities(need)
    if en:
        head = {
            "balanced": f"The largest expected result within your {budget_y} budget "
            f"(goals: {goals}).",
            "value": f"The cheapest plan: {total_y} of {budget_y} for {share:.0%} of the best "
            f"result"
            + (
                ", its expected results reaching every quantity you asked for."
                if asks_met and asked
                else ", its expected results short of the quantities you asked for."
                if asked
                else "."
            ),
            "fast": f"Done in about {eta:g} h (balanced plan: {bal_eta:g} h) while keeping "
            f"{share:.0%} of the best result.",
        }[key]
        text = head + " " + "; ".join(lines) + "."
        if also:
            text += f" It is also the {' and the '.join(_ALSO_EN[k] for k in also)} plan."
        if need.deadline_hours is not None:
            text += f" Every item completes within your {need.deadline_hours:g} h deadline."
    else:
        head = {
            "balanced": f"在{budget_y}预算内期望效果最大（目标：{goals}）。",
            "value": f"最省钱：花{total_y}（预算{budget_y}），达到最优效果的{share:.0%}"
            + (
                "，预计效果满足您要求的数量。"
                if asks_met and asked
                else "，预计效果达不到您要求的数量。"
                if asked
                else "。"
            ),
            "fast": f"约{eta:g}小时完成（均衡方案约{bal_eta:g}小时），保留最优效果的{share:.0%}。",
        }[key]
        text = head + "；".join(lines) + "。"
        if also:
            text += f"它同时也是{'、'.join(PLAN_NAMES[k][0] for k in also)}的方案。"
        if need.deadline_hours is not None:
            text += f"所有项目均在您要求的{need.deadline_hours:g}小时内完成。"
    return Plan(
        key=key,
        language=lang,
        items=items,
        total_fen=total,
        expected=expected,
        eta_hours=eta,
        value=value,
        explanation=text,
    )
