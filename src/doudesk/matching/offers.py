"""Catalogue data model of the matching core (no Django).

An :class:`Offer` is one orderable service module as the optimiser sees it: a kind (plays,
likes, ...), a rate in integer fen per 1,000 units, quantity bounds on a step, a delivery
time model and the audience options it can target. A :class:`Catalogue` wraps a sequence of
offers in numpy arrays once, so filtering 10,000 offers per need is a few vector operations.

Money: the price of ``q`` units at ``rate`` fen per 1,000 is ``round_half_up(q * rate / 1000)``
fen (:func:`catalogue_price`). A different price function ``(offer, quantity) -> fen`` (for
example the pricing engine) can be passed to the optimiser instead.

Delivery: an offer with ``start_hours`` s and ``hours_per_1000`` h completes ``q`` units in
``s + h * q / 1000`` hours; the modules of a plan run in parallel, so a plan's ETA is the
largest ETA of its items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .lexicon import get_lexicon

PriceFn = Callable[["Offer", int], int]
WILDCARD = "*"
AUDIENCE_DIMS = ("genders", "ages", "regions", "interests")
#: Kinds whose delivery does not depend on who sees the content, so audience hints never
#: exclude them.
AUDIENCE_FREE_KINDS = frozenset({"video_edit", "report"})


@dataclass(frozen=True)
class Audience:
    """Audience options as canonical slugs (see ``lexicon.json``).

    For a need, each set lists the wanted values and an empty set means "no preference".
    For an offer, each set lists the values it can target; ``"*"`` means any value and an empty
    set means the dimension cannot be targeted.
    """

    genders: frozenset[str] = frozenset()
    ages: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    interests: frozenset[str] = frozenset()

    def is_empty(self) -> bool:
        """Return True when no dimension is set."""
        return not (self.genders or self.ages or self.regions or self.interests)

    def supports(self, wanted: Audience) -> bool:
        """Return True when every wanted value is one this (offer) audience can target."""
        for dim in AUDIENCE_DIMS:
            need: frozenset[str] = getattr(wanted, dim)
            have: frozenset[str] = getattr(self, dim)
            if need and WILDCARD not in have and not need <= have:
                return False
        return True

    def as_dict(self) -> dict[str, list[str]]:
        """Return a JSON-ready dict of sorted lists."""
        return {dim: sorted(getattr(self, dim)) for dim in AUDIENCE_DIMS}


def round_half_up_div(numerator: int, denominator: int) -> int:
    """Return ``numerator / denominator`` rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class Offer:
    """One service module a provider sells, as the optimiser sees it.

    ``rate_fen_per_1000`` is an integer number of fen per 1,000 units; a quantity must lie in
    ``[min_qty, max_qty]`` on ``min_qty + step * k``. ``outcomes`` gives the expected results of
    one unit (e.g. one play brings 0.04 likes); when omitted the kind's typical rates from the
    lexicon apply. ``channel`` is free text (provider / route) carried into plan items.
    """

    service_id: int | str
    kind: str
    name_zh: str
    name_en: str
    rate_fen_per_1000: int
    min_qty: int
    max_qty: int
    step: int = 1
    hours_per_1000: float = 0.0
    start_hours: float = 0.0
    audience: Audience = field(default_factory=Audience)
    outcomes: Mapping[str, float] | None = None
    channel: str = ""

    def __post_init__(self) -> None:
        lex = get_lexicon()
        if self.kind not in lex.kind_outcomes:
            raise ValueError(f"unknown kind {self.kind!r}")
        if not isinstance(self.rate_fen_per_1000, int) or self.rate_fen_per_1000 < 0:
            raise ValueError("rate_fen_per_1000 must be a non-negative int")
        if self.min_qty < 1 or self.max_qty < self.min_qty or self.step < 1:
            raise ValueError("need 1 <= min_qty <= max_qty and step >= 1")
        if self.hours_per_1000 < 0 or self.start_hours < 0:
            raise ValueError("delivery times must be non-negative")
        if self.outcomes is None:
            object.__setattr__(self, "outcomes", dict(lex.kind_outcomes[self.kind]))
        unknown = set(self.outcomes or {}) - set(lex.intents)
        if unknown:
            raise ValueError(f"unknown outcomes {sorted(unknown)}")

    @property
    def top_qty(self) -> int:
        """Return the largest quantity on the step grid."""
        return self.min_qty + self.step * ((self.max_qty - self.min_qty) // self.step)

    def eta_hours(self, quantity: int) -> float:
        """Return the estimated hours to deliver ``quantity`` units."""
        return self.start_hours + self.hours_per_1000 * quantity / 1000.0

    def name(self, language: str) -> str:
        """Return the module name in ``language`` (``zh`` or ``en``)."""
        return self.name_en if language.startswith("en") else self.name_zh

    def valid_quantity(self, quantity: int) -> bool:
        """Return True when ``quantity`` is within bounds and on the step grid."""
        return (
            self.min_qty <= quantity <= self.max_qty and (quantity - self.min_qty) % self.step == 0
        )


def catalogue_price(offer: Offer, quantity: int) -> int:
    """Price ``quantity`` units at the catalogue rate: fen, rounded half up once."""
    return round_half_up_div(quantity * offer.rate_fen_per_1000, 1000)


class Catalogue:
    """Offers plus their numpy columns; build once and reuse across needs.

    Building from 10,000 offers takes some milliseconds, so callers serving many requests
    should cache the catalogue and rebuild it when the modules change.
    """

    def __init__(self, offers: Iterable[Offer]) -> None:
        lex = get_lexicon()
        self.offers: tuple[Offer, ...] = tuple(offers)
        n = len(self.offers)
        self.intents: tuple[str, ...] = lex.intents
        self.kinds: tuple[str, ...] = lex.kinds
        kind_index = {k: i for i, k in enumerate(self.kinds)}
        intent_index = {k: i for i, k in enumerate(self.intents)}
        self.kind_idx = np.fromiter((kind_index[o.kind] for o in self.offers), np.int64, n)
        self.rate = np.fromiter((o.rate_fen_per_1000 for o in self.offers), np.int64, n)
        self.qmin = np.fromiter((o.min_qty for o in self.offers), np.int64, n)
        self.qmax = np.fromiter((o.top_qty for o in self.offers), np.int64, n)
        self.step = np.fromiter((o.step for o in self.offers), np.int64, n)
        self.start = np.fromiter((o.start_hours for o in self.offers), np.float64, n)
        self.hpk = np.fromiter((o.hours_per_1000 for o in self.offers), np.float64, n)
        self.out = np.zeros((n, len(self.intents)))
        # One boolean column per audience value; "*" fills the dimension's whole block.
        self.audience_columns: dict[tuple[str, str], int] = {}
        for dim in AUDIENCE_DIMS:
            for slug in lex.slugs[dim]:
                self.audience_columns[(dim, slug)] = len(self.audience_columns)
        self.audience = np.zeros((n, len(self.audience_columns)), dtype=bool)
        for i, o in enumerate(self.offers):
            for name, value in (o.outcomes or {}).items():
                self.out[i, intent_index[name]] = value
            for dim in AUDIENCE_DIMS:
                values: frozenset[str] = getattr(o.audience, dim)
                if WILDCARD in values:
                    values = frozenset(lex.slugs[dim])
                for slug in values:
                    col = self.audience_columns.get((dim, slug))
                    if col is not None:
                        self.audience[i, col] = True
        self.audience_free = np.isin(
            self.kind_idx, [kind_index[k] for k in AUDIENCE_FREE_KINDS if k in kind_index]
        )
        self.kind_targets = [lex.kind_targets.get(k, frozenset()) for k in self.kinds]
        # Offers of one kind with the same quantity grid (min, step) and the same outcomes per
        # unit differ only in rate, reach and speed: the optimiser prunes within such a group
        # with a sort instead of comparing every pair.
        if n:
            key = np.column_stack([self.kind_idx, self.qmin, self.step, self.out])
            _, self.group = np.unique(key, axis=0, return_inverse=True)
            self.group = self.group.reshape(-1).astype(np.int64)
        else:
            self.group = np.zeros(0, dtype=np.int64)
        #: Arrays the optimiser derives from the catalogue once, by name.
        self.derived: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.offers)

    @classmethod
    def of(cls, offers: Catalogue | Iterable[Offer]) -> Catalogue:
        """Return ``offers`` if it is already a catalogue, else wrap it."""
        return offers if isinstance(offers, Catalogue) else cls(offers)
