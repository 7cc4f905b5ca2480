"""Reads of intelligent matching: the active catalogue as the optimiser's offers, and prices.

Design overview
---------------
* **Offers.** Every active :class:`~doudesk.catalog.models.ServiceModule` becomes one
  :class:`~doudesk.matching.offers.Offer`: its kind, quantity bounds and step, its list rate in
  fen per 1,000 (rounded half-up; only a first estimate, see prices below), its average
  completion time as the start-up time of any order (the catalogue has no per-unit speed), and
  its audience options: the official promotion channel targets any gender, age band, region and
  interest (see :mod:`doudesk.catalog.promotion`); creator and professional services target none.
* **Cache.** Building a :class:`~doudesk.matching.offers.Catalogue` costs milliseconds per
  thousand modules, so it is kept per process and rebuilt when the catalogue version changes. The
  version is a hash of the columns the optimiser reads, taken in one query (the module table has
  no ``updated`` column; at tens of thousands of modules an indexed ``updated_at`` would be the
  cheaper key).
* **Names.** Each module's names and its ``match_phrases`` name it in a need
  (:func:`~doudesk.matching.understand.naming_table`): a need that names a module is planned
  with that one rather than the cheapest of its kind.
* **Prices.** Plans are priced with the pricing engine's price for each quantity
  (:func:`doudesk.pricing.selectors.price_from_inputs`, the same function quotes use), with the
  engine inputs of all modules loaded once per request, so a plan's total is what ordering it
  will charge at that moment.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import BooleanField, ExpressionWrapper
from django.utils import timezone

from doudesk.catalog.models import Channel, ServiceModule
from doudesk.catalog.selectors import on_sale
from doudesk.errors import DomainError
from doudesk.matching.offers import Audience, Catalogue, Offer
from doudesk.matching.understand import Naming, naming_table
from doudesk.pricing.selectors import PricingInputs, price_from_inputs, pricing_inputs_many

#: Price returned for a quantity the pricing engine will not sell now: above any budget.
UNAVAILABLE_FEN = 10**15

_ANY = frozenset({"*"})
_OFFICIAL_AUDIENCE = Audience(genders=_ANY, ages=_ANY, regions=_ANY, interests=_ANY)
_FIELDS = (
    "pk",
    "kind",
    "name_zh",
    "name_en",
    "rate_per_1000",
    "min_quantity",
    "max_quantity",
    "step",
    "avg_completion_hours",
    "channel",
    "target_kind",
    "match_phrases",
)


@dataclass(frozen=True)
class MatchingCatalogue:
    """The active modules as offers, with the module rows they came from and their names."""

    version: str
    catalogue: Catalogue
    modules: dict[int, ServiceModule]
    target_kinds: dict[int, str]
    #: Names of the modules on sale and of those taken off sale (``off_sale``), so a need
    #: naming one that is not on sale is told so instead of planned with another.
    naming: Naming
    off_sale: dict[int, Offer]


_cache: dict[str, MatchingCatalogue] = {}
_cache_lock = threading.Lock()


def _fen_rate(rate_per_1000: Decimal) -> int:
    return int((rate_per_1000 * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def module_offer(module: ServiceModule) -> Offer:
    """Return the optimiser's view of one module."""
    return Offer(
        service_id=module.pk,
        kind=module.kind,
        name_zh=module.name_zh,
        name_en=module.name_en,
        rate_fen_per_1000=_fen_rate(module.rate_per_1000),
        min_qty=module.min_quantity,
        max_qty=module.max_quantity,
        step=module.step,
        start_hours=float(module.avg_completion_hours),
        audience=_OFFICIAL_AUDIENCE if module.channel == Channel.OFFICIAL_PROMOTION else Audience(),
        channel=module.channel,
    )


def matching_catalogue() -> MatchingCatalogue:
    """Return the modules on sale as a cached :class:`MatchingCatalogue` (rebuilt on change).

    One query reads every module's optimiser columns and whether it is on sale: the version,
    checked on each request; the module rows are loaded only when it changed.
    """
    rows = list(
        ServiceModule.objects.annotate(sold=ExpressionWrapper(on_sale(), BooleanField()))
        .order_by("pk")
        .values_list(*_FIELDS, "sold")
    )
    version = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    cached = _cache.get("current")
    if cached is not None and cached.version == version:
        return cached
    sold = {row[0] for row in rows if row[-1]}
    ids = [row[0] for row in rows]
    everything = {m.pk: m for m in ServiceModule.objects.filter(pk__in=ids).order_by("pk")}
    modules = {pk: m for pk, m in everything.items() if pk in sold}
    offers = [module_offer(m) for m in modules.values()]
    off_sale = {pk: module_offer(m) for pk, m in everything.items() if pk not in sold}
    built = MatchingCatalogue(
        version=version,
        catalogue=Catalogue(offers),
        modules=modules,
        target_kinds={pk: m.target_kind for pk, m in modules.items()},
        naming=naming_table(
            (phrase, offer)
            for offer in [*offers, *off_sale.values()]
            for phrase in everything[int(offer.service_id)].naming_phrases()
        ),
        off_sale=off_sale,
    )
    with _cache_lock:
        _cache["current"] = built
    return built


def plan_price_function(
    modules: dict[int, ServiceModule], now: datetime | None = None
) -> Callable[[Offer, int], int]:
    """Return ``price(offer, quantity) -> fen`` at the pricing engine's current prices.

    The engine inputs of every module are loaded once (four queries); prices are memoised for
    the life of the function (one request).
    """
    now = now or timezone.now()
    inputs: dict[int, PricingInputs] = pricing_inputs_many(modules=list(modules.values()), now=now)
    memo: dict[tuple[int, int], int] = {}

    def price(offer: Offer, quantity: int) -> int:
        key = (int(offer.service_id), quantity)
        if key not in memo:
            module = modules[key[0]]
            try:
                memo[key] = price_from_inputs(
                    module=module, quantity=quantity, inputs=inputs[module.pk], now=now
                ).total_fen
            except DomainError:
                memo[key] = UNAVAILABLE_FEN
        return memo[key]

    return price
