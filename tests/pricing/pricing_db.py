"""Database helpers of the pricing suites (imported by the test modules)."""

from __future__ import annotations

from decimal import Decimal

from doudesk.catalog.models import ServiceModule
from doudesk.pricing import engine
from doudesk.pricing.models import ModulePriceState


def pin_price(code: str, rate: str) -> None:
    """Set a module's published base rate (the learner's choice is random; some tests need one)."""
    row = ModulePriceState.objects.get(module=ServiceModule.objects.get(code=code))
    state = engine.ModuleState.from_dict(row.state)
    state.price = Decimal(rate)
    row.state, row.price = state.to_dict(), state.price
    row.save()
