"""Fixtures of the pricing suites that need the database."""

from __future__ import annotations

import pytest


@pytest.fixture
def priced(seeded) -> None:
    """Publish the seeded modules once, as ``doudesk serve`` does after seeding."""
    from doudesk.pricing.services import pricing_publish_all

    counts = pricing_publish_all()
    assert counts["published"] >= 10
    assert counts["failed"] == counts["unavailable"] == 0
