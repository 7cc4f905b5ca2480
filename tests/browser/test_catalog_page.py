"""Prices on the catalogue page as a customer reads them (no browser needed)."""

from __future__ import annotations

import pytest
from django.test import Client

from doudesk.web.templatetags.doudesk import per_unit


@pytest.mark.usefixtures("seeded")
def test_catalogue_shows_bulk_rates_per_thousand_and_piece_work_per_unit() -> None:
    html = Client().get("/").content.decode()
    assert "¥16.00 <small>/ 1,000 次</small>" in html
    # The diagnosis report costs ¥99,000 per 1,000 reports: one report is ¥99.00.
    assert "¥99.00 <small>/ 份</small>" in html
    assert "¥99000.00" not in html
    assert "¥99,000.00" not in html
    # In English a price per piece names one piece; a rate per 1,000 keeps the plural.
    client = Client()
    client.cookies["django_language"] = "en"
    english = client.get("/").content.decode()
    assert "¥99.00 <small>/ report</small>" in english
    assert "¥299.00 <small>/ visit</small>" in english
    assert "1,000 plays</small>" in english
    assert "/ reports<" not in english


@pytest.mark.usefixtures("seeded")
def test_package_prices_keep_their_fen() -> None:
    from doudesk.catalog.models import Package

    html = Client().get("/").content.decode()
    for package in Package.objects.filter(active=True):
        assert f"¥{package.price_fen // 100:,}.{package.price_fen % 100:02d}" in html


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("199000.00", "199.00"), ("1000", "1.00"), ("1234.5", "1.23"), ("1235", "1.24")],
)
def test_per_unit_rounds_half_up_to_the_fen(rate: str, expected: str) -> None:
    assert per_unit(rate) == expected
