"""The manual adapter: an operator fulfils the order and records delivery in the admin.

Placing an order only issues a reference; status, cancel and refill are the operator's job, so
the status sync never polls this adapter (``is_operator_driven``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from doudesk.providers.adapters.base import (
    PlacedOrder,
    ProviderError,
    ProviderOrderStatus,
    ProviderRefillStatus,
    ProviderRejected,
    ProviderService,
    RefillResult,
)


class ManualAdapter:
    """Adapter for providers fulfilled by hand; see the module docstring."""

    def __init__(self, provider_code: str) -> None:
        self.provider_code = provider_code

    def services(self) -> list[ProviderService]:
        """Manual providers have no machine-readable service list."""
        return []

    def place(self, *, service: str, link: str, quantity: int, options: Any = None) -> PlacedOrder:
        """Issue a reference for the operator's work queue."""
        return PlacedOrder(external_id=f"M-{self.provider_code}-{secrets.token_hex(6)}")

    def status(self, external_id: str) -> ProviderOrderStatus:
        """Not available: the operator records delivery."""
        raise ProviderRejected("manual orders are reported by an operator")

    def status_many(self, ids: Iterable[str]) -> dict[str, ProviderOrderStatus | ProviderError]:
        """Not available: the operator records delivery."""
        return {i: ProviderRejected("manual orders are reported by an operator") for i in ids}

    def cancel(self, ids: Iterable[str]) -> dict[str, bool]:
        """Acknowledge: the operator sees the cancel request on the order and acts on it."""
        return {i: True for i in ids}

    def refill(self, external_id: str) -> RefillResult:
        """Acknowledge: the operator handles refills; the reference is the order's."""
        return RefillResult(refill_id=external_id)

    def refill_status(self, refill_id: str) -> ProviderRefillStatus:
        """Not available: the operator handles refills (the sync never asks this adapter)."""
        raise ProviderRejected("manual refills are handled by an operator")

    def balance(self) -> Decimal:
        """Manual providers are paid outside the platform."""
        return Decimal(0)

    def fetch_file(self, url: str, *, max_bytes: int, seconds: float) -> bytes:
        """Not available: an operator uploads what a manual order delivers."""
        raise ProviderRejected(
            "manual deliverables are uploaded by an operator", code="file_refused"
        )
