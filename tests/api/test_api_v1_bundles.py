"""REST v1 packages and growth plans: listed publicly, ordered as one group with one hold."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from doudesk.catalog.models import GrowthPlan, Package
from doudesk.orders.models import Order, OrderGroup
from doudesk.pricing.selectors import growth_plan_price_fen
from doudesk.wallet.selectors import journal_total_fen, wallet_balances
from factories import ACCOUNT_URL, VIDEO_URL, fund_customer

pytestmark = pytest.mark.django_db

V1 = "/api/v1"


def post_json(client: Client, path: str, body: object, **headers: str):
    """POST ``body`` as JSON."""
    return client.post(
        V1 + path, data=json.dumps(body), content_type="application/json", headers=headers
    )


def test_packages_and_growth_plans_are_listed_publicly_with_their_prices(seeded, sid):
    packages = Client().get(V1 + "/packages")
    assert packages.status_code == 200
    starter = next(p for p in packages.json() if p["code"] == "starter")
    assert starter["price"] == "168.00"
    assert (starter["name"], starter["target_kind"], starter["currency"]) == (
        "新视频起量包", "video", "CNY",
    )  # fmt: skip
    assert [(i["service_id"], i["quantity"]) for i in starter["items"]] == [
        (sid("plays"), 10_000), (sid("likes"), 300), (sid("comments"), 20),
    ]  # fmt: skip

    plans = Client().get(V1 + "/growth-plans", headers={"Accept-Language": "en"}).json()
    [plan] = plans
    daily = GrowthPlan.objects.get(code="daily-followers")
    assert plan["price"] == f"{growth_plan_price_fen(plan=daily) / 100:.2f}"
    assert (plan["service_id"], plan["daily_quantity"], plan["days"]) == (sid("followers"), 100, 30)
    assert plan["target_kind"] == "account"


def test_a_growth_plan_its_service_no_longer_sells_daily_is_listed_without_a_price(
    api, customer, counts
):
    # The operator raised the module's minimum past the plan's daily quantity: the plan cannot
    # be ordered, so the listing must not offer it at a price ("null: not for sale now").
    plan = GrowthPlan.objects.get(code="daily-followers")
    plan.module.min_quantity = plan.daily_quantity * 2
    plan.module.save()

    [listed] = Client().get(V1 + "/growth-plans").json()
    assert listed["price"] is None
    snapshot = counts(customer)
    refused = post_json(api, f"/growth-plans/{plan.pk}/orders", {"target": ACCOUNT_URL})
    assert refused.status_code == 400
    assert counts(customer) == snapshot


def test_a_package_is_ordered_at_its_bundle_price_as_one_group(api, customer):
    before = wallet_balances(customer=customer)["available_fen"]
    starter = Package.objects.get(code="starter")
    answer = post_json(api, f"/packages/{starter.pk}/orders", {"target": VIDEO_URL, "total": "168"})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["total"], body["currency"]) == ("168.00", "CNY")
    group = OrderGroup.objects.get(pk=body["group_id"])
    assert (group.kind, group.customer_id, group.total_fen) == ("package", customer.pk, 16_800)
    assert [o["quantity"] for o in body["orders"]] == [10_000, 300, 20]
    assert sum(o.charge_fen for o in group.orders.all()) == 16_800
    assert wallet_balances(customer=customer)["available_fen"] == before - 16_800
    assert journal_total_fen() == 0


def test_a_growth_plan_is_ordered_with_every_day_held_now(api, customer):
    fund_customer(customer, 1_000_000)
    plan = GrowthPlan.objects.get(code="daily-followers")
    price = growth_plan_price_fen(plan=plan)
    before = wallet_balances(customer=customer)
    answer = post_json(api, f"/growth-plans/{plan.pk}/orders", {"target": ACCOUNT_URL})
    assert answer.status_code == 201, answer.content
    orders = Order.objects.filter(group_id=answer.json()["group_id"]).order_by("pk")
    assert orders.count() == 30
    assert orders[0].scheduled_for is None  # the first day at once, the rest one day apart
    assert all(o.scheduled_for is not None for o in orders[1:])
    after = wallet_balances(customer=customer)
    assert before["available_fen"] - after["available_fen"] == price
    assert after["held_fen"] - before["held_fen"] == price


def test_a_retried_idempotency_key_gets_the_first_answer_and_places_nothing_more(api, counts):
    starter = Package.objects.get(code="starter")
    path = f"/packages/{starter.pk}/orders"
    key = {"Idempotency-Key": "k1"}
    first = post_json(api, path, {"target": VIDEO_URL, "total": "168.00"}, **key)
    assert first.status_code == 201
    snapshot = counts()
    again = post_json(api, path, {"target": VIDEO_URL, "total": 168}, **key)  # the same amount
    assert (again.status_code, again.json()) == (201, first.json())
    other_link = "https://www.douyin.com/video/7301234567890999999"
    refused = post_json(api, path, {"target": other_link}, **key)
    assert refused.status_code == 422
    assert counts() == snapshot


@pytest.mark.parametrize("kind", ["package", "growth plan"])
def test_a_retry_after_the_bundle_left_sale_still_gets_the_first_answer(api, customer, kind):
    # The client lost the first answer (a timeout) and retries; meanwhile the operator took the
    # package or plan off sale. Its orders stand, so the retry must not read "unknown package".
    fund_customer(customer, 1_000_000)
    if kind == "package":
        bundle: Package | GrowthPlan = Package.objects.get(code="starter")
        path, target = f"/packages/{bundle.pk}/orders", VIDEO_URL
    else:
        bundle = GrowthPlan.objects.get(code="daily-followers")
        path, target = f"/growth-plans/{bundle.pk}/orders", ACCOUNT_URL
    key = {"Idempotency-Key": "lost-answer"}
    first = post_json(api, path, {"target": target}, **key)
    assert first.status_code == 201, first.content
    bundle.active = False
    bundle.save()

    again = post_json(api, path, {"target": target}, **key)

    assert (again.status_code, again.json()) == (201, first.json())
    assert OrderGroup.objects.filter(customer=customer).count() == 1
    fresh = post_json(api, path, {"target": target}, **{"Idempotency-Key": "a-new-request"})
    assert fresh.status_code == 404  # a new request is refused as before


@pytest.mark.parametrize(
    ("path", "body", "status", "field", "english"),
    [
        ("/packages/999999/orders", {"target": VIDEO_URL}, 404, "package_id", "Unknown"),
        ("/packages/abc/orders", {"target": VIDEO_URL}, 422, "package_id", ""),
        ("/growth-plans/999999/orders", {"target": ACCOUNT_URL}, 404, "plan_id", "Unknown"),
        ("/packages/{starter}/orders", {"target": ACCOUNT_URL}, 400, "target", ""),
        ("/packages/{starter}/orders", {"target": ""}, 400, "target", ""),
        ("/packages/{starter}/orders", {"target": VIDEO_URL, "total": "99"}, 409, "total", "now"),
        ("/packages/{starter}/orders", {"target": VIDEO_URL, "total": "abc"}, 400, "total", ""),
        ("/growth-plans/{plan}/orders", {"target": VIDEO_URL}, 400, "target", ""),
    ],
)
def test_bad_bundle_orders_get_a_field_error_in_both_languages_and_write_nothing(
    api, customer, counts, path, body, status, field, english
):
    path = path.format(
        starter=Package.objects.get(code="starter").pk,
        plan=GrowthPlan.objects.get(code="daily-followers").pk,
    )
    snapshot = counts(customer)
    zh = post_json(api, path, body)
    en = post_json(api, path, body, **{"Accept-Language": "en"})
    assert (zh.status_code, en.status_code) == (status, status), zh.content
    assert zh.json()["errors"][0]["field"] == field
    assert en.json()["errors"][0]["field"] == field
    assert zh.json()["detail"] != en.json()["detail"]
    assert english in en.json()["detail"]
    assert counts(customer) == snapshot


def test_ordering_a_bundle_needs_a_key_and_a_verified_customer(seeded, api_key_for):
    from factories import CustomerFactory

    starter = Package.objects.get(code="starter")
    path = f"/packages/{starter.pk}/orders"
    assert post_json(Client(), path, {"target": VIDEO_URL}).status_code == 401
    unverified = CustomerFactory()
    fund_customer(unverified, 100_000)
    client = Client(headers={"Authorization": f"Bearer {api_key_for(unverified)}"})
    refused = post_json(client, path, {"target": VIDEO_URL})
    assert refused.status_code == 403
    assert not Order.objects.exists()


def test_an_order_of_a_package_with_too_little_balance_is_refused_whole(api, customer, counts):
    hit = Package.objects.get(code="hit")  # ¥868 of the customer's ¥1,000 ...
    assert post_json(api, f"/packages/{hit.pk}/orders", {"target": VIDEO_URL}).status_code == 201
    snapshot = counts(customer)
    again = post_json(api, f"/packages/{hit.pk}/orders", {"target": VIDEO_URL})  # ... not twice
    assert again.status_code == 402
    assert again.json()["errors"][0]["field"] == "balance"
    assert counts(customer) == snapshot
