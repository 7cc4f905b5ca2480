"""Pricing on the web pages and the reference-price import command."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from pricing_db import pin_price

from doudesk.catalog.models import ServiceModule
from doudesk.pricing.models import PriceChange, ReferencePrice
from doudesk.pricing.selectors import module_price_at
from doudesk.pricing.services import pricing_publish
from factories import in_english, module_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def plays_at_16(priced) -> None:
    """Pin the plays price at ¥16 per 1,000 (below the ¥20 DOU+ reference)."""
    pin_price("plays", "16")


def test_the_module_price_page_charts_history_and_shows_saving_and_tiers(plays_at_16):
    module = ServiceModule.objects.get(pk=module_id("plays"))
    page = Client().get(f"/services/{module.pk}/pricing/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "vendor/echarts/echarts.min.js" in html
    assert "cdn" not in html.lower()
    assert 'id="price-chart"' in html
    assert 'id="price-history"' in html
    assert "比市场最低价省" in html
    assert "DOU+ 官方价 2026-11" in html
    assert html.count("<tr>") == 1 + 3  # header + three volume tiers
    assert f"/api/v1/services/{module.pk}/price-history" in html


def test_a_service_sold_by_the_piece_is_priced_per_piece_on_its_price_page(priced):
    module = ServiceModule.objects.get(pk=module_id("video-edit"))
    html = Client().get(f"/services/{module.pk}/pricing/").content.decode()
    tiers = html.split('id="price-tiers"')[1].split("</table>")[0]
    assert "单价（元/条）" in tiers
    today = module_price_at(module=module, quantity=1).unit_rate
    assert f"¥{(today / 1000).quantize(Decimal('0.01'))}" in tiers  # e.g. ¥260.00, not ¥260000.00
    assert not any(f"¥{n}" in tiers or f"¥{n:,}" in tiers for n in range(100_000, 1_000_000, 1000))
    assert "var perUnit = true;" in html
    plays = Client().get(f"/services/{module_id('plays')}/pricing/").content.decode()
    assert "单价（元/千）" in plays
    assert "var perUnit = false;" in plays


def test_the_price_page_of_an_unknown_module_is_404(seeded):
    assert Client().get("/services/999999/pricing/").status_code == 404


def test_catalogue_cards_link_to_the_price_page_in_constant_queries(
    priced, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20):
        html = Client().get("/").content.decode()
    for code in ("plays", "likes", "lbs-store-visit"):
        assert f"/services/{module_id(code)}/pricing/" in html
    assert "今日价" in html


def test_the_live_price_on_the_order_form_is_the_engine_price(plays_at_16):
    module = ServiceModule.objects.get(pk=module_id("plays"))
    expected = module_price_at(module=module, quantity=10_000)
    html = Client().get(f"/services/{module.pk}/price/?quantity=10000").content.decode()
    assert f"¥{expected.total_fen // 100:,}.{expected.total_fen % 100:02d}" in html
    assert "比市场最低价省" in html


def test_the_live_price_explains_an_unavailable_quantity(priced):
    module = ServiceModule.objects.get(pk=module_id("plays"))
    now = timezone.now()
    ReferencePrice.objects.create(
        module=module, source="rival", rate=Decimal("12"), observed_at=now,
        expires_at=now + timedelta(days=1), min_quantity=500_000,
    )  # fmt: skip
    html = Client().get(f"/services/{module.pk}/price/?quantity=600000").content.decode()
    assert "field-error" in html
    assert "暂不可售" in html
    assert "live-price" not in html
    assert "成本" not in html
    assert "底价" not in html


def test_the_price_page_shows_customers_no_cost_floor_or_margin(priced):
    module = ServiceModule.objects.get(pk=module_id("plays"))
    pricing_publish(module=module, now=timezone.now())
    for headers in ({}, {"Accept-Language": "en"}):
        html = Client().get(f"/services/{module.pk}/pricing/", headers=headers).content.decode()
        history = html[html.index('id="price-history"') :]
        for internal in ("汤普森", "毛利", "底价", "成本", "Thompson", "margin", "cost"):
            assert internal not in history, internal
    assert '"floor": null' in history


def test_the_order_form_shows_todays_price_and_links_the_price_page(priced, customer):
    pin_price("plays", "15.4567")  # the list rate is ¥16.00
    client = Client()
    client.force_login(customer.user)
    module_pk = module_id("plays")
    html = client.get(f"/services/{module_pk}/order/").content.decode()
    assert f"/services/{module_pk}/pricing/" in html
    assert "今日价 ¥15.4567 <small>/ 1,000 次</small>" in html  # as the live rate shows it
    assert "¥16.00" not in html  # one price on the page: not the list rate beside today's


def test_without_dynamic_pricing_the_order_form_shows_the_list_rate(customer):
    client = Client()
    client.force_login(customer.user)
    module = ServiceModule.objects.get(pk=module_id("plays"))
    html = client.get(f"/services/{module.pk}/order/").content.decode()
    assert "今日价" not in html
    assert f"¥{module.rate_per_1000:.2f} <small>/ 1,000" in html


def test_the_import_command_adds_references_and_republishes(priced, tmp_path):
    today = timezone.localdate()
    path = tmp_path / "refs.csv"
    path.write_text(
        "module,source,rate,observed_at,expires_at\n"
        f"plays,巨量引擎 官方价,17.50,{today},{today + timedelta(days=30)}\n"
        f"{module_id('likes')},蒲公英,55,{today},{today + timedelta(days=30)}\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    call_command("import_reference_prices", str(path), stdout=out)
    assert "imported 2" in out.getvalue()
    latest = PriceChange.objects.filter(module_id=module_id("plays")).order_by("-at", "-pk")[0]
    assert latest.ceiling == Decimal("17.5")
    assert latest.new_price <= Decimal("17.5")


def test_the_import_command_refuses_a_bad_file_and_writes_nothing(seeded, tmp_path):
    before = ReferencePrice.objects.count()
    path = tmp_path / "refs.csv"
    path.write_text(
        "module,source,rate,observed_at,valid_days\n"
        "plays,ok,17.5,2026-11-01,30\n"
        "nope,bad,-1,yesterday,0\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match="row 2"):
        call_command("import_reference_prices", str(path))
    assert ReferencePrice.objects.count() == before


def test_importing_a_file_that_is_not_text_is_a_clear_command_error(priced, tmp_path):
    path = tmp_path / "licence.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    with pytest.raises(CommandError, match="is not a UTF-8 text file"):
        call_command("import_reference_prices", str(path))


def _reference_source(html: str) -> str:
    return html.split('id="reference-source">', 1)[1].split("</span>", 1)[0]


def test_the_english_price_page_names_the_market_reference_in_english(plays_at_16):
    url = f"/services/{module_id('plays')}/pricing/"
    assert _reference_source(Client().get(url).content.decode()) == "（DOU+ 官方价 2026-11）"
    english = in_english(Client()).get(url).content.decode()
    assert _reference_source(english) == "(DOU+ official price 2026-11)"
    assert "官方价" not in english
    # The API keeps its shape and value: the source as recorded.
    api = Client().get(
        f"/api/v1/services/{module_id('plays')}/price-history", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert api.json()["today"]["reference_source"] == "DOU+ 官方价 2026-11"


def test_an_imported_reference_is_named_in_english_when_the_file_gives_a_name(priced):
    from doudesk.pricing.services import reference_prices_import_csv

    today = timezone.localdate()
    reference_prices_import_csv(
        text="module,source,rate,observed_at,valid_days,source_en\n"
        f"plays,巨量引擎 官方价,17.50,{today},30,Ocean Engine list price\n"
        f"likes,蒲公英,55,{today},30,\n"
    )
    plays = in_english(Client()).get(f"/services/{module_id('plays')}/pricing/")
    assert _reference_source(plays.content.decode()) == "(Ocean Engine list price)"
    # Without an English name the page shows the one there is.
    likes = in_english(Client()).get(f"/services/{module_id('likes')}/pricing/")
    assert _reference_source(likes.content.decode()) == "(蒲公英)"


def test_demo_references_seeded_before_their_english_names_get_them(seeded):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("doudesk.pricing.migrations.0004_referenceprice_source_en")
    plays = ServiceModule.objects.get(code="plays")
    now = timezone.now()
    old = ReferencePrice.objects.create(
        module=plays, source="DOU+ 官方价 2026-11", rate=20, observed_at=now,
        expires_at=now + timedelta(days=1),
    )  # fmt: skip
    own = ReferencePrice.objects.create(
        module=plays,
        source="自己采集",
        rate=21,
        observed_at=now,
        expires_at=now + timedelta(days=1),
    )
    migration.name_demo_sources_in_english(apps, None)
    old.refresh_from_db()
    own.refresh_from_db()
    assert (old.source_en, own.source_en) == ("DOU+ official price 2026-11", "")
