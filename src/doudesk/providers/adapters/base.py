"""The provider adapter interface: what the platform may ask of an upstream provider.

Design overview
---------------
The order flow never talks to a provider directly; it holds a :class:`ProviderAdapter` (set up
from settings by the provider registry) and calls ``place``, ``status``/``status_many``,
``cancel``, ``refill``/``refill_status``, ``balance`` and ``fetch_file`` (a finished order's
deliverable, where a provider hands files over). Adapters are plain Python: they take
their configuration as arguments, return frozen dataclasses, and never touch the ORM, so the
same code drives the SMM API v2 HTTP client, the manual (operator) adapter and test doubles.

Failures come in two kinds, because the caller must react differently:

* :class:`ProviderError`: transient (network down, timeout, 5xx, garbage answer, rate limit).
  Retry later with backoff. ``maybe_applied`` says whether the request may have reached the
  provider and taken effect anyway (a timed-out ``add`` may have created an order upstream), so a
  blind retry of a non-idempotent call could duplicate it.
* :class:`ProviderRejected`: permanent (invalid link, unknown service, not enough funds, unknown
  order id, bad API key). Retrying the same request will not help. It subclasses
  :class:`ProviderError` so per-id results can be typed ``ProviderOrderStatus | ProviderError``;
  when catching both, put ``except ProviderRejected`` first, or test ``err.retryable``.

Status words are those of the SMM API v2 convention (:class:`ProviderStatus`, and
:class:`ProviderRefillStatus` for refills); a ``Partial`` or ``Canceled`` order reports
``remains``, the undelivered units the platform refunds.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "PlacedOrder",
    "ProviderAdapter",
    "ProviderDeliverable",
    "ProviderError",
    "ProviderOrderStatus",
    "ProviderRejected",
    "ProviderService",
    "ProviderRefillStatus",
    "ProviderStatus",
    "RefillResult",
]


class ProviderStatus(enum.StrEnum):
    """An order's status as providers of the SMM API v2 convention spell it."""

    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    PROCESSING = "Processing"
    COMPLETED = "Completed"
    PARTIAL = "Partial"
    CANCELED = "Canceled"

    @property
    def is_final(self) -> bool:
        """Whether the provider will not deliver anything more for this order."""
        return self in _FINAL

    @classmethod
    def parse(cls, word: str) -> ProviderStatus:
        """Read a status word leniently (any case, ``Cancelled``, ``in_progress``).

        Raises ValueError for a word that is not a known status.
        """
        try:
            return _ALIASES[_status_key(word)]
        except KeyError:
            raise ValueError(f"unknown provider status {word!r}") from None


_FINAL = frozenset({ProviderStatus.COMPLETED, ProviderStatus.PARTIAL, ProviderStatus.CANCELED})
_ALIASES: dict[str, ProviderStatus] = {
    **{s.value.casefold(): s for s in ProviderStatus},
    "inprogress": ProviderStatus.IN_PROGRESS,
    "in process": ProviderStatus.PROCESSING,
    "complete": ProviderStatus.COMPLETED,
    "cancelled": ProviderStatus.CANCELED,
    "cancel": ProviderStatus.CANCELED,
}


def _status_key(word: str) -> str:
    """Fold a status word for lenient lookup: any case, ``_`` or ``-`` for spaces."""
    return " ".join(word.replace("_", " ").replace("-", " ").split()).casefold()


class ProviderRefillStatus(enum.StrEnum):
    """A refill's status as providers of the SMM API v2 convention spell it (``refill_status``)."""

    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    COMPLETED = "Completed"
    REJECTED = "Rejected"
    ERROR = "Error"

    @property
    def is_final(self) -> bool:
        """Whether the provider will do nothing more for this refill."""
        return self in _REFILL_FINAL

    @classmethod
    def parse(cls, word: str) -> ProviderRefillStatus:
        """Read a refill status word leniently; ValueError for an unknown word."""
        try:
            return _REFILL_ALIASES[_status_key(word)]
        except KeyError:
            raise ValueError(f"unknown refill status {word!r}") from None


_REFILL_FINAL = frozenset(
    {ProviderRefillStatus.COMPLETED, ProviderRefillStatus.REJECTED, ProviderRefillStatus.ERROR}
)
_REFILL_ALIASES: dict[str, ProviderRefillStatus] = {
    **{s.value.casefold(): s for s in ProviderRefillStatus},
    "inprogress": ProviderRefillStatus.IN_PROGRESS,
    "processing": ProviderRefillStatus.IN_PROGRESS,
    "complete": ProviderRefillStatus.COMPLETED,
    "canceled": ProviderRefillStatus.REJECTED,
    "cancelled": ProviderRefillStatus.REJECTED,
}


@dataclass(frozen=True)
class ProviderService:
    """One service in a provider's list (``action=services``).

    ``rate`` is the provider's price per 1,000 units in the provider's currency.
    """

    service_id: str
    name: str
    type: str
    category: str
    rate: Decimal
    min_quantity: int
    max_quantity: int
    refill: bool = False
    cancel: bool = False


@dataclass(frozen=True)
class PlacedOrder:
    """The provider's answer to a placed order: its own id for the order."""

    external_id: str


@dataclass(frozen=True)
class ProviderDeliverable:
    """A file the provider hands over with an order (a report, a note on edited videos).

    ``url`` is absolute, resolved against the provider's endpoint; the platform fetches it with
    :meth:`ProviderAdapter.fetch_file`, which takes files from the provider's own host only.
    """

    name: str
    url: str


@dataclass(frozen=True)
class ProviderOrderStatus:
    """Where an order stands at the provider.

    ``remains`` is the number of units not (yet) delivered; on a final ``Partial`` or ``Canceled``
    status it is what the platform refunds. ``charge`` is what the provider bills for the order.
    ``delivered_units`` holds opaque hashed identifiers of delivered units where the channel has
    them (empty otherwise); the platform uses them to check that no unit is sold twice.
    ``deliverables`` are the files a finished order's work produced, where the provider hands
    any over (empty otherwise, as with every provider that sends counts only).
    """

    external_id: str
    status: ProviderStatus
    start_count: int | None = None
    remains: int | None = None
    charge: Decimal | None = None
    currency: str | None = None
    # Can hold thousands of hashes: kept out of repr so log lines stay readable.
    delivered_units: tuple[str, ...] = field(default=(), repr=False)
    deliverables: tuple[ProviderDeliverable, ...] = ()

    @property
    def is_final(self) -> bool:
        """Whether the provider will not deliver anything more for this order."""
        return self.status.is_final


@dataclass(frozen=True)
class RefillResult:
    """The provider's answer to a refill request: the refill's own id."""

    refill_id: str


class ProviderError(Exception):
    """A transient provider failure: retry later with backoff.

    ``maybe_applied`` is true when the request may have reached the provider and taken effect
    (timeouts after sending, 5xx, unreadable answers), false when it certainly did not (connection
    refused). ``retryable`` is true for this class and false for :class:`ProviderRejected`.
    """

    retryable: bool = True

    def __init__(self, message: str, *, maybe_applied: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.maybe_applied = maybe_applied


class ProviderRejected(ProviderError):
    """A permanent refusal by the provider (bad input, no funds, unknown id): do not retry.

    ``code`` is a coarse machine-readable reason: ``invalid_key``, ``unknown_service``,
    ``invalid_link``, ``invalid_quantity``, ``insufficient_funds``, ``unknown_order``,
    ``not_cancelable``, ``not_refillable``, ``unknown_refill``, ``file_refused`` (a deliverable's
    file not taken) or ``rejected``.
    """

    retryable = False

    def __init__(self, message: str, *, code: str = "rejected") -> None:
        super().__init__(message, maybe_applied=False)
        self.code = code


@runtime_checkable
class ProviderAdapter(Protocol):
    """What the platform needs from an upstream provider; see the module docstring for errors."""

    def services(self) -> list[ProviderService]:
        """List the provider's services."""
        ...

    def place(
        self, *, service: str, link: str, quantity: int, options: dict[str, Any]
    ) -> PlacedOrder:
        """Place an order; ``options`` carries service-specific extras (comments, runs, ...)."""
        ...

    def status(self, external_id: str) -> ProviderOrderStatus:
        """Return one order's status; ProviderRejected(code="unknown_order") for unknown ids."""
        ...

    def status_many(self, ids: Iterable[str]) -> dict[str, ProviderOrderStatus | ProviderError]:
        """Return each order's status, or the error for that one id, keyed by the given ids."""
        ...

    def cancel(self, ids: Iterable[str]) -> dict[str, bool]:
        """Ask the provider to cancel orders; True where the provider accepted the request."""
        ...

    def refill(self, external_id: str) -> RefillResult:
        """Ask the provider to refill a completed order."""
        ...

    def refill_status(self, refill_id: str) -> ProviderRefillStatus:
        """Return a refill's status; ProviderRejected(code="unknown_refill") for unknown ids."""
        ...

    def balance(self) -> Decimal:
        """Return the platform's remaining balance at the provider."""
        ...

    def fetch_file(self, url: str, *, max_bytes: int, seconds: float) -> bytes:
        """Return the file at ``url`` (a :class:`ProviderDeliverable`'s), within both bounds.

        ProviderRejected for a file that is not to be taken (another host, larger than
        ``max_bytes``, not found); ProviderError when it could not be fetched for now.
        """
        ...
