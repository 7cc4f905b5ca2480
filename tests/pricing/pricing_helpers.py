"""Shared builders for the pure price-engine tests (imported by the test modules)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from doudesk.pricing.engine import (
    MarketInputs,
    PricingConfig,
    ProviderOffer,
    QualityBar,
    ReferencePrice,
)

SHANGHAI = timezone(timedelta(hours=8))
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI)


def offer(rate: str, *, capacity: int | None = None, pid: str = "main") -> ProviderOffer:
    """Return a provider offer that meets the default quality bar."""
    return ProviderOffer(pid, Decimal(rate), 0.95, 24.0, capacity)


def reference(rate: str, *, source: str = "rival", days: int = 7) -> ReferencePrice:
    """Return a reference observed at ``T0`` that expires after ``days`` days."""
    return ReferencePrice(source, Decimal(rate), T0, T0 + timedelta(days=days))


def market(cost: str = "10", ref: str = "20", *, capacity: int | None = None) -> MarketInputs:
    """Return market inputs with one offer and one reference."""
    return MarketInputs((offer(cost, capacity=capacity),), (reference(ref),))


def make_config(**changes: object) -> PricingConfig:
    """Return the default config with a quality bar, changed by ``changes``."""
    values: dict[str, object] = {"quality": QualityBar(0.9, 48.0)}
    values.update(changes)
    return PricingConfig(**values)  # type: ignore[arg-type]
