"""Amounts and quantities on customer pages read with thousands separators, in both languages.

Money shows as ``¥12,345.67`` and counts as ``10,000``; what a program reads (the API, form
inputs, the plan order form's hidden total) stays a plain number.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client

from doudesk.orders import services
from factories import VIDEO_URL, fund_customer, in_english

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("amount", "unit", "shown"),
    [
        (1_234_567, "fen", "12,345.67"),
        (-100_000, "fen", "-1,000.00"),
        (99, "fen", "0.99"),
        (None, "fen", "0.00"),
        ("12345.675", "yuan", "12,345.68"),  # half-up to the fen
        (Decimal("1000"), "yuan", "1,000.00"),
        (1000, "yuan", "1,000.00"),
        ("", "yuan", ""),
        ("n/a", "yuan", "n/a"),
    ],
)
def test_the_yuan_filter_groups_thousands(amount, unit, shown) -> None:
    from doudesk.web.templatetags.doudesk import yuan

    assert yuan(amount, unit) == shown


def test_counts_and_rates_group_thousands() -> None:
    from doudesk.web.templatetags.doudesk import per_unit, qty, rate_label, tier_rate

    assert (qty(10_000), qty(1_000_000), qty(999), qty(0)) == ("10,000", "1,000,000", "999", "0")
    assert (qty(None), qty("—")) == (None, "—")
    assert per_unit("1299000") == "1,299.00"
    assert tier_rate("1234.5", False) == "1,234.50"
    assert tier_rate("15.7714", False) == "15.7714"  # as rate_label shows it above the table
    assert rate_label("16", "次") == "¥16.00 <small>/ 1,000 次</small>"
    assert rate_label("17.349", "次") == "¥17.349 <small>/ 1,000 次</small>"
    assert rate_label("16.3237", "次") == "¥16.3237 <small>/ 1,000 次</small>"
    assert rate_label("0.5", "次") == "¥0.50 <small>/ 1,000 次</small>"
    assert rate_label("999.99995", "次") == "¥1,000.00 <small>/ 1,000 次</small>"


@pytest.fixture
def rich(customer):
    """Return the funded customer with ¥12,345.67 more (¥13,345.67 in all)."""
    fund_customer(customer, 1_234_567)
    return customer


def _both(client: Client, url: str) -> tuple[str, str]:
    """Return the page in Chinese and in English (the client is left in Chinese)."""
    chinese = client.get(url).content.decode()
    english = in_english(client).get(url).content.decode()
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]
    return chinese, english


def test_the_wallet_groups_balances_and_journal_but_the_api_keeps_plain_amounts(web, rich):
    for page in _both(web, "/wallet/"):
        assert 'id="balance">¥13,345.67' in page
        assert "+¥12,345.67" in page
        assert "¥1,000.00</label>" in page  # the ¥1,000 top-up preset
        assert 'name="amount" value="1000"' in page  # its value is a plain number
    api = web.get("/api/v1/wallet").json()
    assert api["balance"] == "13345.67"
    assert "12345.67" in [line["amount"] for line in api["journal"]]


def test_orders_list_and_order_page_group_quantities_and_amounts(web, rich, sid):
    order = services.order_place(
        customer=rich, service_id=sid("plays"), target=VIDEO_URL, quantity=100_000
    )
    assert order.charge_fen == 160_000
    for page in _both(web, "/orders/"):
        assert '<td class="quantity">100,000</td>' in page
        assert "0/100,000" in page
        assert "¥1,600.00" in page
    for page in _both(web, f"/orders/{order.pk}/"):
        assert "0/100,000" in page
        assert 'id="order-held">¥1,600.00' in page


def test_a_refund_in_the_timeline_is_grouped(web, rich, sid):
    order = services.order_place(
        customer=rich, service_id=sid("plays"), target=VIDEO_URL, quantity=100_000
    )
    services.order_cancel(customer=rich, order_id=order.pk)
    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="order-refund">¥1,600.00' in page
    assert "· ¥1,600.00</li>" in page  # the refund event


def test_the_catalogue_groups_package_quantities_and_prices(seeded):
    from doudesk.catalog.models import Package

    Package.objects.filter(code="hit").update(price_fen=1_234_567)
    for page in _both(Client(), "/"):
        assert "× 10,000</li>" in page  # the starter package's plays
        assert "× 50,000</li>" in page
        assert "¥12,345.67" in page
        assert "¥16.00 <small>/ 1,000 " in page


def test_the_order_form_groups_its_limits_and_price_but_not_its_inputs(web, sid):
    for page in _both(web, f"/services/{sid('plays')}/order/"):
        assert "500–1,000,000" in page
        assert 'max="1000000"' in page  # the number input stays a plain number
    url = f"/services/{sid('plays')}/price/"
    checks = _both(web, f"{url}?quantity=100000&target={VIDEO_URL}")
    assert "应付 ¥1,600.00" in checks[0]
    assert "Total ¥1,600.00" in checks[1]


def test_the_price_page_groups_tier_quantities(seeded, sid):
    from doudesk.pricing.services import pricing_publish_all

    pricing_publish_all()
    for page in _both(Client(), f"/services/{sid('plays')}/pricing/"):
        tiers = page[page.index('id="price-tiers"') :]
        assert "≥ 5,000" in tiers
        assert "≥ 20,000" in tiers


def test_the_plans_page_groups_amounts_but_orders_with_the_plain_total(web, rich):
    need = {"action": "plan", "need": "视频播放和点赞", "budget": "12000"}
    pages = (web.post("/plans/", need).content.decode(),)
    pages += (in_english(web).post("/plans/", need).content.decode(),)
    for page in pages:
        assert "¥12,000.00" in page  # the budget understood
        shown = re.findall(r'<p class="price">¥([\d,]+\.\d\d)</p>', page)
        sent = re.findall(r'name="total" value="([^"]+)"', page)
        assert shown
        assert len(shown) == len(sent)
        assert [s.replace(",", "") for s in shown] == sent
        assert all("," not in s for s in sent)
        assert any("," in s for s in shown)
