"""Dynamic pricing wired into the platform: quotes, orders, publications, transparency, admin."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from doudesk.catalog.models import GrowthPlan, Package, ServiceModule
from doudesk.orders import services as orders
from doudesk.orders.models import Order
from doudesk.pricing import admin as pricing_admin
from doudesk.pricing import engine
from doudesk.pricing.models import (
    ModulePriceState,
    ModulePricingConfig,
    PriceChange,
    Quote,
    QuoteSource,
    ReferencePrice,
)
from doudesk.pricing.selectors import (
    module_price_at,
    module_price_summary,
    module_rates_today,
    pricing_inputs,
    pricing_inputs_many,
)
from doudesk.pricing.services import (
    pricing_fold,
    pricing_publish,
    pricing_publish_all,
    quote_create,
)
from doudesk.wallet.selectors import journal_total_fen, wallet_balances
from factories import ACCOUNT_URL, VIDEO_URL, make_verified_customer, module_id

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
EN = {"Accept-Language": "en"}
CJK = re.compile(r"[\u4e00-\u9fff]")
PLAYS_COST = Decimal("12.00")  # sandbox provider cost per 1,000 plays
DOU_PLUS = Decimal("20.00")  # the seeded lowest market reference


def post_json(client: Client, path: str, body: object, **headers: str):
    """POST ``body`` as JSON."""
    return client.post(
        V1 + path, data=json.dumps(body), content_type="application/json", headers=headers
    )


def plays() -> ServiceModule:
    """Return the seeded plays module."""
    return ServiceModule.objects.get(pk=module_id("plays"))


def state_of(module: ServiceModule) -> engine.ModuleState:
    """Return the module's learned engine state."""
    return engine.ModuleState.from_dict(ModulePriceState.objects.get(module=module).state)


def test_seeding_adds_offers_references_and_settings_but_publishes_nothing(seeded):
    module = plays()
    assert module.provider_offers.get().rate == PLAYS_COST
    assert min(r.rate for r in module.reference_prices.all()) == DOU_PLUS
    assert "DOU+ 官方价 2026-11" in {r.source for r in module.reference_prices.all()}
    assert ModulePricingConfig.objects.filter(module=module).exists()
    assert not ModulePriceState.objects.exists()
    # Without a published state the static list rate still sells.
    assert module_price_at(module=module, quantity=1_000).unit_rate == module.rate_per_1000


def test_a_quote_uses_the_engine_price_within_floor_and_ceiling(priced, api, customer):
    module = plays()
    expected = module_price_at(module=module, quantity=10_000)
    body = post_json(api, "/quotes", {"service_id": module.pk, "quantity": 10_000}).json()
    quote = Quote.objects.get(pk=body["id"])
    assert quote.source == QuoteSource.ENGINE
    assert quote.unit_rate == expected.unit_rate
    assert body["unit_rate"] == format(expected.unit_rate.normalize(), "f")
    assert quote.total_fen == engine.total_fen(quote.unit_rate, 10_000)
    assert PLAYS_COST * Decimal("1.05") <= quote.floor <= quote.unit_rate
    assert quote.unit_rate <= quote.ceiling <= DOU_PLUS
    assert quote.reference_rate == DOU_PLUS
    assert (quote.expires_at - timezone.now()).total_seconds() == pytest.approx(600, abs=5)
    # Quoting takes no lock; the quote is a demand trial once folded into the model.
    assert state_of(module).quotes_total == 0
    assert pricing_fold(module=module) == 1
    assert state_of(module).quotes_total == 1
    assert pricing_fold(module=module) == 0  # never counted twice


def test_quotes_repeating_one_the_customer_still_holds_are_one_demand_trial(priced, customer):
    # Asking again and again (or a script doing so) must not read as many customers turning
    # the price down, which would push it lower.
    module = plays()
    for _ in range(3):
        quote_create(customer=customer, module=module, quantity=2_000)
    assert pricing_fold(module=module) == 1
    quote_create(customer=customer, module=module, quantity=2_000)  # across folds too
    assert pricing_fold(module=module) == 0
    other = make_verified_customer()
    quote_create(customer=other, module=module, quantity=2_000)
    assert pricing_fold(module=module) == 1
    Quote.objects.filter(customer=customer).update(expires_at=timezone.now())
    quote_create(customer=customer, module=module, quantity=2_000)  # the old one expired
    assert pricing_fold(module=module) == 1
    assert state_of(module).quotes_total == 3
    assert Quote.objects.count() == 6  # every quote shown is still kept


def test_an_order_on_a_quote_is_charged_exactly_its_total_after_prices_move(priced, api, customer):
    module = plays()
    quote = post_json(api, "/quotes", {"service_id": module.pk, "quantity": 10_000}).json()
    ModulePricingConfig.objects.filter(module=module).update(
        kill_switch=True, static_markup=Decimal("0.50")
    )
    change = pricing_publish(module=module)
    assert change.code == "kill_switch"
    assert module_price_at(module=module, quantity=10_000).total_fen != int(
        Decimal(quote["total"]) * 100
    )
    response = post_json(
        api,
        "/orders",
        {"service_id": module.pk, "target": VIDEO_URL, "quantity": 10_000, "quote_id": quote["id"]},
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    assert order.charge_fen == Quote.objects.get(pk=quote["id"]).total_fen
    assert response.json()["charge"] == quote["total"]
    assert wallet_balances(customer=customer)["held_fen"] == order.charge_fen
    assert journal_total_fen() == 0
    pricing_fold(module=module)
    state = state_of(module)
    assert (state.quotes_total, state.orders_total, state.units_sold_today) == (1, 1, 10_000)
    # A placed order never changes price: later publications leave it alone.
    pricing_publish(module=module, now=timezone.now() + timedelta(hours=3))
    order.refresh_from_db()
    assert order.charge_fen == Quote.objects.get(pk=quote["id"]).total_fen


def test_an_order_without_a_quote_is_charged_the_engine_price(priced, customer):
    module = plays()
    expected = module_price_at(module=module, quantity=1_300)
    order = orders.order_place(
        customer=customer, service_id=module.pk, target=VIDEO_URL, quantity=1_300
    )
    assert order.quote.source == QuoteSource.ENGINE
    assert order.charge_fen == expected.total_fen == order.quote.total_fen
    pricing_fold(module=module)
    assert state_of(module).orders_total == 1


def test_a_growth_plans_later_days_count_against_their_own_days(priced, customer):
    # All 30 days used to count as sold today: 3,000 followers of today's capacity, 30 orders.
    plan = GrowthPlan.objects.get(code="daily-followers")
    module = plan.module
    pricing_fold(module=module)
    before = state_of(module)
    group = orders.growth_plan_order(customer=customer, plan=plan, target=ACCOUNT_URL)
    pricing_fold(module=module)
    today = state_of(module)
    assert today.orders_total == before.orders_total + 1
    assert today.units_sold_today == before.units_sold_today + plan.daily_quantity
    pricing_fold(module=module, now=timezone.now() + timedelta(days=1, minutes=1))
    tomorrow = state_of(module)
    assert tomorrow.orders_total == before.orders_total + 2
    assert tomorrow.units_sold_today == plan.daily_quantity  # a new day: its own order only
    orders.order_group_cancel_scheduled(customer=customer, group_id=group.pk)
    pricing_fold(module=module, now=timezone.now() + timedelta(days=5))
    assert state_of(module).orders_total == before.orders_total + 2  # cancelled days: no sale


def test_a_package_shows_the_rate_it_charges_and_teaches_demand_nothing(priced, customer):
    # Its lines showed their quotes' list rates (20 comments "at 450" for ¥6.90), and those
    # quotes were learned as sales at that price though the customer paid the package's.
    package = Package.objects.get(code="starter")
    modules = [item.module for item in package.items.all()]
    for module in modules:
        pricing_fold(module=module)
    before = {m.pk: (state_of(m).quotes_total, state_of(m).orders_total) for m in modules}
    group = orders.package_order(customer=customer, package=package, target=VIDEO_URL)
    for order in group.orders.all():
        assert order.unit_rate == (Decimal(order.charge_fen) * 10 / order.quantity).quantize(
            Decimal("0.0001")
        )
        placed = order.events.get(kind="placed").data
        assert Decimal(placed["unit_rate"]) == order.unit_rate
    for module in modules:
        pricing_fold(module=module)
        assert (state_of(module).quotes_total, state_of(module).orders_total) == before[module.pk]


def test_an_expired_quote_is_refused_with_a_fresh_engine_quote(priced, api, customer):
    module = plays()
    quote = post_json(api, "/quotes", {"service_id": module.pk, "quantity": 2_000}).json()
    Quote.objects.filter(pk=quote["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    before = Order.objects.count()
    response = post_json(
        api,
        "/orders",
        {"service_id": module.pk, "target": VIDEO_URL, "quantity": 2_000, "quote_id": quote["id"]},
        **EN,
    )
    assert response.status_code == 409
    body = response.json()
    error = body["errors"][0]
    assert (error["field"], error["code"]) == ("quote_id", "quote_expired")
    assert CJK.search(error["message_zh"])
    assert not CJK.search(error["message_en"])
    fresh = Quote.objects.get(pk=body["fresh_quote"]["id"])
    assert fresh.source == QuoteSource.ENGINE
    assert fresh.pk != quote["id"]
    assert fresh.pk in error["message_en"]
    assert Order.objects.count() == before


def test_another_customers_quote_is_refused_with_a_fresh_quote(
    priced, api, other_customer, api_key_for
):
    module = plays()
    theirs = post_json(
        Client(headers={"Authorization": f"Bearer {api_key_for(other_customer)}"}),
        "/quotes",
        {"service_id": module.pk, "quantity": 2_000},
    ).json()
    response = post_json(
        api,
        "/orders",
        {"service_id": module.pk, "target": VIDEO_URL, "quantity": 2_000, "quote_id": theirs["id"]},
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "quote_not_found"
    assert response.json()["fresh_quote"]["id"] != theirs["id"]
    assert not Order.objects.exists()


def test_the_kill_switch_prices_at_static_markup_on_cost(priced, customer):
    module = plays()
    ModulePricingConfig.objects.filter(module=module).update(kill_switch=True)
    change = pricing_publish(module=module)
    assert change.code == "kill_switch"
    assert change.new_price == PLAYS_COST * Decimal("1.30")
    assert "紧急开关" in change.reason_zh
    assert "kill switch" in change.reason_en
    quote = quote_create(customer=customer, module=module, quantity=1_000)
    assert quote.unit_rate == Decimal("15.6")
    # Static markup still respects the market ceiling.
    ModulePricingConfig.objects.filter(module=module).update(static_markup=Decimal("1.00"))
    assert pricing_publish(module=module).new_price == DOU_PLUS


def test_the_step_limit_holds_across_hourly_publishes(priced):
    module = plays()
    start = timezone.now()
    # Pin the published price at the floor so the learner wants to move it up.
    row = ModulePriceState.objects.get(module=module)
    state = engine.ModuleState.from_dict(row.state)
    floor = engine.rate_up(PLAYS_COST * Decimal("1.05"))
    state.price, state.published_at = floor, start
    row.state = state.to_dict()
    row.save()
    old = floor
    for hour in range(1, 7):
        change = pricing_publish(module=module, now=start + timedelta(hours=hour))
        assert change.old_price == old
        assert change.new_price is not None
        assert abs(change.new_price - old) <= old * Decimal("0.10") + Decimal("0.0001")
        assert change.floor <= change.new_price <= change.ceiling
        old = change.new_price
    # A second publication in the same instant cannot move the price at all.
    again = pricing_publish(module=module, now=start + timedelta(hours=6))
    assert again.new_price == old
    assert not again.changed


def test_price_history_endpoint_shape(priced):
    module = plays()
    pricing_publish(module=module, now=timezone.now() + timedelta(minutes=1))
    response = Client().get(f"{V1}/services/{module.pk}/price-history")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"service_id", "currency", "points", "today", "tiers"}
    assert (body["service_id"], body["currency"]) == (module.pk, "CNY")
    assert len(body["points"]) == 2
    for point in body["points"]:
        assert set(point) == {"at", "unit_rate", "floor", "ceiling", "reference", "code", "reason"}
        assert point["floor"] is None  # the provider's cost plus margin: not for customers
        assert Decimal(point["unit_rate"]) <= Decimal(point["ceiling"])
        assert Decimal(point["reference"]) == DOU_PLUS
        assert CJK.search(point["reason"])
        assert not re.search(r"\d", point["reason"])  # no cost, floor or margin figures
    assert body["points"][0]["at"] < body["points"][1]["at"]
    today = body["today"]
    assert {"unit_rate", "reference_rate", "saving_percent"} <= set(today)
    rate, ref = Decimal(today["unit_rate"]), Decimal(today["reference_rate"])
    assert ref == DOU_PLUS
    expected = ((ref - rate) * 100 / ref).quantize(Decimal("0.1"), rounding="ROUND_FLOOR")
    assert Decimal(today["saving_percent"]) == expected
    assert [t["min_quantity"] for t in body["tiers"]] == [1, 5_000, 20_000]
    rates = [Decimal(t["unit_rate"]) for t in body["tiers"]]
    assert rates == sorted(rates, reverse=True)
    english = Client().get(f"{V1}/services/{module.pk}/price-history", headers=EN).json()
    assert not CJK.search(english["points"][0]["reason"])


def test_price_history_of_an_unknown_service_is_404():
    response = Client().get(f"{V1}/services/999999/price-history")
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "service_id"


def test_market_inputs_take_active_offers_of_active_providers_and_unexpired_references(seeded):
    module = plays()
    offer = module.provider_offers.get()
    now = timezone.now()
    for source, expires_at in (("lapsed", now - timedelta(seconds=1)), ("due", now)):
        ReferencePrice.objects.create(
            module=module, source=source, rate=Decimal("13.00"),
            observed_at=now - timedelta(hours=1), expires_at=expires_at,
        )  # fmt: skip
    live = ReferencePrice.objects.create(
        module=module, source="live", rate=Decimal("19.50"), observed_at=now,
        expires_at=now + timedelta(microseconds=1), min_quantity=700, max_quantity=900_000,
    )  # fmt: skip
    market = pricing_inputs(module=module, now=now).market
    assert [o.rate for o in market.offers] == [PLAYS_COST]
    assert market.offers[0].provider_id == str(offer.provider_id)
    assert "lapsed" not in {r.source for r in market.references}
    assert "due" not in {r.source for r in market.references}
    (seen,) = [r for r in market.references if r.source == "live"]
    assert (seen.rate, seen.min_quantity, seen.max_quantity) == (Decimal("19.50"), 700, 900_000)
    assert (seen.observed_at, seen.expires_at) == (live.observed_at, live.expires_at)
    assert pricing_inputs_many(modules=[module], now=now)[module.pk].market == market
    offer.provider.active = False
    offer.provider.save(update_fields=["active"])
    assert pricing_inputs(module=module, now=now).market.offers == ()
    offer.provider.active = True
    offer.provider.save(update_fields=["active"])
    type(offer).objects.filter(pk=offer.pk).update(active=False)
    assert pricing_inputs(module=module, now=now).market.offers == ()


def test_a_module_unavailable_at_a_quantity_answers_4xx_and_writes_nothing(priced, api, customer):
    module = plays()
    # A competitor sells big orders below our floor: above 100,000 plays we cannot sell.
    now = timezone.now()
    ReferencePrice.objects.create(
        module=module, source="rival bulk", rate=Decimal("12.10"), observed_at=now,
        expires_at=now + timedelta(days=7), min_quantity=100_000,
    )  # fmt: skip
    quotes_before, orders_before = Quote.objects.count(), Order.objects.count()
    balances = wallet_balances(customer=customer)
    response = post_json(api, "/quotes", {"service_id": module.pk, "quantity": 200_000})
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == ("quantity", "floor_above_ceiling")
    assert error["message_zh"] == "该服务在此数量下暂不可售：此数量下无法以低于市场最低价的价格供货"
    assert error["message_en"] == (
        "This service is unavailable at this quantity: "
        "Not available below the lowest market price at this quantity"
    )  # the operator's reason gives the floor and the cost; customers are not told those
    response = post_json(
        api, "/orders", {"service_id": module.pk, "target": VIDEO_URL, "quantity": 200_000}
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "quantity"
    assert (Quote.objects.count(), Order.objects.count()) == (quotes_before, orders_before)
    assert wallet_balances(customer=customer) == balances
    pricing_fold(module=module)
    assert state_of(module).quotes_total == 0
    # Smaller quantities still sell, below the bulk competitor's reach.
    assert (
        post_json(api, "/quotes", {"service_id": module.pk, "quantity": 10_000}).status_code == 201
    )


def test_a_module_without_offers_sells_at_its_static_list_rate(priced, customer):
    module = ServiceModule.objects.get(pk=module_id("lbs-store-visit"))
    assert not ModulePriceState.objects.filter(module=module).exists()
    quote = quote_create(customer=customer, module=module, quantity=1)
    assert (quote.source, quote.unit_rate) == (QuoteSource.STATIC, module.rate_per_1000)


def test_a_static_price_is_never_above_the_lowest_market_reference(priced, customer, web):
    # ¥299 a visit stood beside a reference of ¥250 on the module's own page.
    module = ServiceModule.objects.get(pk=module_id("lbs-store-visit"))
    now = timezone.now()
    ReferencePrice.objects.create(
        module=module, source="同行报价", rate=Decimal("250000"), observed_at=now,
        expires_at=now + timedelta(days=7),
    )  # fmt: skip
    quote = quote_create(customer=customer, module=module, quantity=2)
    assert (quote.source, quote.unit_rate, quote.total_fen) == (
        QuoteSource.STATIC, Decimal("250000"), 50_000,
    )  # fmt: skip
    assert module_price_at(module=module, quantity=2).unit_rate == Decimal("250000")
    assert module_rates_today(modules=[module])[module.pk] == Decimal("250000")
    assert module_price_summary(module=module).unit_rate == Decimal("250000")
    order = orders.order_place(
        customer=customer, service_id=module.pk, target=ACCOUNT_URL, quantity=1
    )
    assert order.charge_fen == 25_000
    catalogue = web.get("/").content.decode()
    card = catalogue.split(f'data-module="{module.pk}"')[1].split("</article>")[0]
    assert "¥250.00" in card
    assert "¥299.00" not in card  # the list rate stood beside the price charged
    form = web.get(f"/services/{module.pk}/order/").content.decode()
    assert "¥250.00" in form
    assert "¥299.00" not in form
    # A reference above the list rate leaves the list rate.
    ReferencePrice.objects.update(rate=Decimal("350000"))
    assert quote_create(customer=customer, module=module, quantity=1).total_fen == 29_900


def test_a_disabled_module_falls_back_to_the_list_rate(priced, customer):
    module = plays()
    ModulePricingConfig.objects.filter(module=module).update(enabled=False)
    quote = quote_create(customer=customer, module=module, quantity=1_000)
    assert (quote.source, quote.unit_rate) == (QuoteSource.STATIC, Decimal("16"))


def test_every_publication_is_logged_with_its_reason(priced):
    rows = PriceChange.objects.all()
    assert rows.count() >= 10
    for row in rows:
        assert row.code == "initial"
        assert row.changed
        assert row.reason_zh
        assert row.reason_en
        assert row.floor <= row.new_price <= row.ceiling
    again = pricing_publish_all(min_age_seconds=1800)
    assert again["published"] == 0
    assert again["skipped"] >= 10


def test_the_admin_kill_switch_republishes_and_writes_the_change_log(priced, admin_client):
    module = plays()
    config = ModulePricingConfig.objects.get(module=module)
    url = f"/admin/pricing/modulepricingconfig/{module.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    form = {
        "enabled": "on", "kill_switch": "on", "min_margin": "0.05", "static_markup": "0.25",
        "max_markup_without_reference": "1.00", "step_per_hour": "0.10",
        "min_success_rate": "0.90", "max_completion_hours": "", "tiers": json.dumps(config.tiers),
        "base_quantity": "", "grid_size": "8",
    }  # fmt: skip
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    latest = PriceChange.objects.filter(module=module).order_by("-at", "-pk").first()
    assert (latest.code, latest.new_price) == ("kill_switch", Decimal("15.0000"))
    log = admin_client.get("/admin/pricing/pricechangelog/")
    assert log.status_code == 200
    assert "kill_switch" in log.content.decode()
    # A bad tier list is refused by the form and changes nothing.
    bad = admin_client.post(url, form | {"tiers": '[{"min_quantity": 0, "discount": "2"}]'})
    assert bad.status_code == 200
    assert PriceChange.objects.filter(module=module).count() == 2


@pytest.mark.parametrize(
    ("page", "action"),
    [
        ("modulepricingconfig", "kill_switch_on"),
        ("modulepricingconfig", "republish"),
        ("modulepricestate", "republish"),
    ],
)
def test_view_only_staff_get_no_pricing_actions(priced, page, action):
    module = plays()
    user = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    viewer = Client()
    viewer.force_login(user)
    url = f"/admin/pricing/{page}/"
    assert f'value="{action}"' not in viewer.get(url).content.decode()
    changes = PriceChange.objects.count()
    viewer.post(url, {"action": action, "_selected_action": [module.pk], "index": "0"})
    assert not ModulePricingConfig.objects.get(module=module).kill_switch
    assert PriceChange.objects.count() == changes  # nothing republished


def test_the_admin_imports_reference_prices_from_csv(priced, admin_client):
    module = plays()
    today = timezone.localdate().isoformat()
    csv_text = f"module,source,rate,observed_at,valid_days\nplays,巨量引擎,18.50,{today},30\n"
    upload = SimpleUploadedFile("refs.csv", csv_text.encode(), content_type="text/csv")
    response = admin_client.post("/admin/pricing/referenceprice/import-csv/", {"file": upload})
    assert response.status_code == 302
    latest = PriceChange.objects.filter(module=module).order_by("-at", "-pk").first()
    assert latest.ceiling == Decimal("18.5")
    assert latest.reference_rate == Decimal("18.5")


def test_an_oversized_reference_csv_is_stopped_while_it_streams_and_refused_on_the_form(
    priced, admin_client, monkeypatch, upload_disk_writes
):
    monkeypatch.setattr(pricing_admin, "REFERENCE_CSV_MAX_BYTES", 100_000)
    today = timezone.localdate().isoformat()
    rows = f"plays,巨量引擎,18.50,{today},30\n" * 10_000
    csv_text = "module,source,rate,observed_at,valid_days\n" + rows
    upload = SimpleUploadedFile("refs.csv", csv_text.encode(), content_type="text/csv")
    before = ReferencePrice.objects.count()
    response = admin_client.post("/admin/pricing/referenceprice/import-csv/", {"file": upload})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["CSV 文件不能超过 2 MB"]
    assert 0 < max(upload_disk_writes) <= 100_000  # what passed the limit was never written
    assert ReferencePrice.objects.count() == before


@pytest.mark.parametrize(
    "page",
    [
        "modulepricingconfig/", "provideroffer/", "referenceprice/", "referenceprice/import-csv/",
        "modulepricestate/", "pricechange/", "pricechangelog/", "quote/",
    ],
)  # fmt: skip
def test_every_pricing_admin_page_renders(priced, admin_client, page):
    assert admin_client.get(f"/admin/pricing/{page}").status_code == 200


LINKS = {
    "video": VIDEO_URL,
    "account": ACCOUNT_URL,
    "live": "https://live.douyin.com/723456789012",
    "none": "",
}


def test_the_listed_rate_is_what_an_order_at_the_base_quantity_is_charged(
    priced, customer, api_key_for
):
    from doudesk.pricing.selectors import pricing_config
    from factories import fund_customer

    fund_customer(customer, 10_000_000)
    ModulePricingConfig.objects.filter(module=plays()).update(kill_switch=True)  # priced so too
    pricing_publish(module=plays())
    listed = {s["id"]: Decimal(s["rate"]) for s in Client().get(f"{V1}/services").json()}
    v2 = Client().post("/api/v2", {"key": api_key_for(customer), "action": "services"}).json()
    assert {s["service"]: Decimal(s["rate"]) for s in v2} == listed
    modules = ServiceModule.objects.filter(pk__in=listed).order_by("pk")
    assert modules.filter(price_state__isnull=False).exists()  # priced by the engine
    assert modules.filter(price_state__isnull=True).exists()  # sold at the list rate
    for module in modules:
        quantity = pricing_config(module=module).base_quantity
        order = orders.order_place(
            customer=customer,
            service_id=module.pk,
            target=LINKS[module.target_kind],
            quantity=quantity,
        )
        assert order.unit_rate == listed[module.pk], module.code
        assert order.charge_fen == engine.total_fen(listed[module.pk], quantity), module.code


def test_listing_rates_prices_one_quantity_per_service_not_its_volume_tiers(priced, monkeypatch):
    from doudesk.pricing.selectors import module_price_summaries, module_rates_today

    modules = list(ServiceModule.objects.filter(active=True))
    summaries = module_price_summaries(modules=modules)

    def tiers_are_not_needed(*args, **kwargs):
        raise AssertionError("a listing computed volume tiers")

    monkeypatch.setattr(engine, "tier_prices", tiers_are_not_needed)
    rates = module_rates_today(modules=modules)
    assert rates == {
        m.pk: summaries[m.pk].unit_rate
        if summaries[m.pk].unit_rate is not None
        else m.rate_per_1000
        for m in modules
    }
