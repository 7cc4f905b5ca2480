"""REST v1 happy paths: services, quotes, orders, wallet, top-ups, API keys, Idempotency-Key."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client

from doudesk.accounts.models import ApiKey
from doudesk.catalog.models import Package
from doudesk.orders import services
from doudesk.orders.models import IdempotencyRecord, Order, OrderStatus, Refill
from doudesk.pricing.services import pricing_publish_all
from doudesk.wallet.models import TopUp
from doudesk.wallet.selectors import journal_total_fen, wallet_balances
from factories import ACCOUNT_URL, VIDEO_URL

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
SERVICE_KEYS = {
    "id",
    "code",
    "name",
    "name_zh",
    "name_en",
    "description",
    "category",
    "kind",
    "target_kind",
    "channel",
    "unit",
    "min",
    "max",
    "step",
    "rate",
    "list_rate",
    "rate_per",
    "currency",
    "avg_completion_hours",
    "refill_days",
    "cancel",
    "refill",
}


def post_json(client: Client, path: str, body: object, **headers: str):
    """POST ``body`` as JSON."""
    return client.post(
        V1 + path, data=json.dumps(body), content_type="application/json", headers=headers
    )


def test_services_are_public_and_shaped(seeded):
    response = Client().get(V1 + "/services")
    assert response.status_code == 200
    services_ = response.json()
    assert len(services_) >= 12
    assert all(set(s) == SERVICE_KEYS for s in services_)
    plays = next(s for s in services_ if s["code"] == "plays")
    assert plays | {"id": 0} == plays | {
        "id": 0,
        "name": "视频播放",
        "name_en": "Video plays",
        "kind": "plays",
        "target_kind": "video",
        "channel": "official_promotion",
        "min": 500,
        "max": 1_000_000,
        "step": 100,
        "rate": "16",
        "rate_per": 1000,
        "currency": "CNY",
        "cancel": True,
        "refill": False,
    }


def test_services_speak_english_when_asked(seeded):
    services_ = Client().get(V1 + "/services", headers={"Accept-Language": "en"}).json()
    plays = next(s for s in services_ if s["code"] == "plays")
    assert (plays["name"], plays["unit"], plays["category"]) == (
        "Video plays",
        "plays",
        "Official promotion",
    )


def test_a_service_rate_is_what_a_quote_charges_today(api, sid):
    # Dynamic pricing replaces the list rate: a reseller pricing from the list must pay it.
    pricing_publish_all()
    plays = sid("plays")
    listed = next(s for s in Client().get(V1 + "/services").json() if s["id"] == plays)
    one = Client().get(f"{V1}/services/{plays}").json()
    quote = post_json(api, "/quotes", {"service_id": plays, "quantity": 1000}).json()
    assert listed["rate"] == one["rate"] == quote["unit_rate"]
    assert listed["list_rate"] == "16"
    assert listed["rate"] != listed["list_rate"]


def test_one_service_by_id(seeded, sid):
    response = Client().get(f"{V1}/services/{sid('likes')}")
    assert response.status_code == 200
    assert response.json()["code"] == "likes"


def test_quote_prices_and_holds_for_ten_minutes(api, sid):
    response = post_json(api, "/quotes", {"service_id": sid("plays"), "quantity": 10_000})
    assert response.status_code == 201
    quote = response.json()
    assert set(quote) == {
        "id",
        "service_id",
        "quantity",
        "unit_rate",
        "total",
        "currency",
        "expires_at",
    }
    assert quote | {"id": "", "expires_at": ""} == {
        "id": "",
        "service_id": sid("plays"),
        "quantity": 10_000,
        "unit_rate": "16",
        "total": "160.00",
        "currency": "CNY",
        "expires_at": "",
    }


def test_order_is_created_and_its_funds_held(api, customer, sid):
    response = post_json(
        api, "/orders", {"service_id": sid("plays"), "target": VIDEO_URL, "quantity": 10_000}
    )
    assert response.status_code == 201
    body = response.json()
    assert {"id", "status", "charge", "currency", "quantity", "target"} <= set(body)
    assert (body["status"], body["charge"], body["currency"]) == ("pending", "160.00", "CNY")
    assert body["target"] == VIDEO_URL
    assert Order.objects.get(pk=body["id"]).customer == customer
    assert wallet_balances(customer=customer) == {"available_fen": 84_000, "held_fen": 16_000}
    assert journal_total_fen() == 0


def test_order_against_a_quote_charges_the_quoted_total(api, sid):
    quote = post_json(api, "/quotes", {"service_id": sid("likes"), "quantity": 330}).json()
    body = post_json(
        api,
        "/orders",
        {"service_id": sid("likes"), "target": VIDEO_URL, "quantity": 330, "quote_id": quote["id"]},
    ).json()
    assert (body["quote_id"], body["charge"]) == (quote["id"], quote["total"])


def test_order_with_promotion_options_keeps_them_normalised(api, sid):
    options = {
        "audience": "custom",
        "gender": "female",
        "ages": ["24-30", "18-23"],
        "regions": ["成都", "Chongqing", "shanghai", "上海"],
        "interests": ["美妆", "food"],
        "duration_hours": 48,
    }
    body = post_json(
        api,
        "/orders",
        {"service_id": sid("plays"), "target": VIDEO_URL, "quantity": 1000, "options": options},
    ).json()
    assert body["options"] == {
        "audience": "custom",
        "gender": "female",
        "ages": ["18-23", "24-30"],
        # Regions and interests as plans name them: the slug, whichever name was given.
        "regions": ["chengdu", "chongqing", "shanghai"],
        "interests": ["beauty", "food"],
        "duration_hours": 48,
    }


def test_list_and_get_show_only_the_callers_orders(api, customer, other_customer, sid):
    mine = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )
    services.order_place(
        customer=other_customer, service_id=sid("followers"), target=ACCOUNT_URL, quantity=100
    )
    listing = api.get(V1 + "/orders").json()
    assert listing["count"] == 1
    assert [o["id"] for o in listing["results"]] == [mine.pk]
    assert api.get(f"{V1}/orders?status=canceled").json() == {"count": 0, "results": []}
    one = api.get(f"{V1}/orders/{mine.pk}").json()
    assert (one["id"], one["charge"], one["remains"]) == (mine.pk, "8.00", 500)
    events = api.get(f"{V1}/orders/{mine.pk}/events").json()
    assert [e["kind"] for e in events] == ["placed"]


def test_cancel_before_dispatch_refunds_everything(api, customer, sid):
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )
    response = api.post(f"{V1}/orders/{order.pk}/cancel")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["refunded"]) == ("canceled", "8.00")
    assert wallet_balances(customer=customer) == {"available_fen": 100_000, "held_fen": 0}
    again = api.post(f"{V1}/orders/{order.pk}/cancel")
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "order"


def test_timeline_events_that_change_no_status_show_null(api, customer, sid):
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )
    api.post(f"{V1}/orders/{order.pk}/cancel")
    events = api.get(f"{V1}/orders/{order.pk}/events").json()
    # The refund is an event of the canceled order, not a status: it showed "status": "".
    assert [(e["kind"], e["status"]) for e in events] == [
        ("placed", "pending"),
        ("canceled", "canceled"),
        ("refunded", None),
    ]
    assert events[2]["data"] == {"amount": "8.00", "currency": "CNY"}


def test_cancel_is_refused_for_services_that_do_not_allow_it(api, customer, sid):
    order = services.order_place(
        customer=customer, service_id=sid("account-report"), target=ACCOUNT_URL, quantity=1
    )
    response = api.post(f"{V1}/orders/{order.pk}/cancel")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "cancel_not_allowed"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING


def test_refill_of_an_unfinished_or_unrefillable_order_is_refused(api, customer, sid, counts):
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )
    before = counts(customer)
    response = api.post(f"{V1}/orders/{order.pk}/refill")
    assert response.status_code == 400
    assert response.json()["errors"][0] | {"message": ""} == {
        "field": "order",
        "code": "refill_not_allowed",
        "message": "",
        "message_zh": response.json()["errors"][0]["message_zh"],
        "message_en": response.json()["errors"][0]["message_en"],
    }
    assert counts(customer) == before


def test_refill_of_a_completed_refillable_order_is_accepted(api, customer, sid, fake_adapter):
    order = services.order_place(
        customer=customer, service_id=sid("likes"), target=VIDEO_URL, quantity=100
    )
    fake_adapter.deliver_in_full(order)
    response = api.post(f"{V1}/orders/{order.pk}/refill")
    assert response.status_code == 201
    assert response.json() | {"refill": 0} == {
        "refill": 0,
        "order": order.pk,
        "status": "requested",
    }
    refill = Refill.objects.get(pk=response.json()["refill"])
    services.order_provider_refill(refill_id=refill.pk)
    listed = api.get(f"{V1}/orders/{order.pk}/refills")
    assert listed.status_code == 200
    assert listed.json() == [
        {
            "refill": refill.pk,
            "order": order.pk,
            "status": "sent",
            "created_at": refill.created_at.isoformat(),
        }
    ]


def test_wallet_shows_balance_held_and_journal(api, customer, sid):
    services.order_place(customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500)
    wallet = api.get(V1 + "/wallet").json()
    assert (wallet["balance"], wallet["held"], wallet["currency"]) == ("992.00", "8.00", "CNY")
    assert [leg["amount"] for leg in wallet["journal"]] == ["-8.00", "1000.00"]


def test_the_wallet_journal_speaks_the_requests_language(api, customer, sid):
    # Memos are stored in Chinese; an English client used to get them as stored.
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )
    services.order_cancel(customer=customer, order_id=order.pk)
    group = services.package_order(
        customer=customer, package=Package.objects.get(code="starter"), target=VIDEO_URL
    )

    def memos(**headers: str) -> list[str]:
        return [leg["memo"] for leg in api.get(V1 + "/wallet", headers=headers).json()["journal"]]

    assert memos()[:3] == [
        f"{group.label} 冻结",
        f"订单 #{order.pk} 结算",
        f"订单 #{order.pk} 冻结",
    ]
    assert memos(**{"Accept-Language": "en"})[:3] == [
        f"Hold for {group.label_en}",
        f"Settlement of order #{order.pk}",
        f"Hold for order #{order.pk}",
    ]


def test_topup_opens_a_pending_payment_with_a_pay_url(api, customer):
    response = post_json(api, "/wallet/topups", {"amount": "88.50"})
    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["currency"], body["status"]) == ("88.50", "CNY", "pending")
    assert body["pay_url"].endswith(f"/sandbox/pay/{body['id']}/")
    topup = TopUp.objects.get(out_trade_no=body["id"])
    assert (topup.customer, topup.amount_fen) == (customer, 8_850)
    assert wallet_balances(customer=customer)["available_fen"] == 100_000


def test_api_key_is_shown_once_and_stored_as_its_digest(api, customer):
    response = post_json(api, "/api-keys", {"name": "reseller"})
    assert response.status_code == 201
    body = response.json()
    plain = body["key"]
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.digest == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in {stored.digest, stored.prefix, stored.name}
    assert plain.startswith(stored.prefix)
    assert len(stored.prefix) < len(plain)
    listing = api.get(V1 + "/api-keys").json()
    assert {k["name"] for k in listing} == {"default", "reseller"}
    assert all("key" not in k for k in listing)
    assert plain not in json.dumps(listing)
    new_client = Client(headers={"Authorization": f"Bearer {plain}"})
    assert new_client.get(V1 + "/wallet").status_code == 200


@pytest.mark.parametrize("name", ["x" * 51, "😀\u0001", "tab\there"])
def test_a_key_name_too_long_or_with_control_characters_is_refused(api, customer, name):
    before = ApiKey.objects.count()
    response = post_json(api, "/api-keys", {"name": name})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"
    assert ApiKey.objects.count() == before


def test_revoked_key_is_refused(api, customer, api_key_for):
    plain = api_key_for(customer)
    key = ApiKey.objects.get(digest=hashlib.sha256(plain.encode()).hexdigest())
    client = Client(headers={"Authorization": f"Bearer {plain}"})
    assert client.get(V1 + "/wallet").status_code == 200
    response = api.delete(f"{V1}/api-keys/{key.pk}")
    assert (response.status_code, response.json()) == (200, {"revoked": True})
    refused = client.get(V1 + "/wallet")
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["field"] == "Authorization"
    assert api.delete(f"{V1}/api-keys/{key.pk}").status_code == 404


def test_a_customer_cannot_revoke_another_customers_key(api, other_customer, api_key_for):
    plain = api_key_for(other_customer)
    key = ApiKey.objects.get(digest=hashlib.sha256(plain.encode()).hexdigest())
    assert api.delete(f"{V1}/api-keys/{key.pk}").status_code == 404
    assert (
        Client(headers={"Authorization": f"Bearer {plain}"}).get(V1 + "/wallet").status_code == 200
    )


def test_the_web_session_authenticates_the_api(customer):
    client = Client()
    client.force_login(customer.user)
    assert client.get(V1 + "/wallet").json()["balance"] == "1000.00"


# Idempotency-Key ---------------------------------------------------------------------------


def test_a_retried_order_returns_the_first_answer_and_creates_one_order(api, customer, sid):
    body = {"service_id": sid("plays"), "target": VIDEO_URL, "quantity": 1_000}
    first = post_json(api, "/orders", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    services.order_cancel(customer=customer, order_id=first.json()["id"])  # state moves on
    second = post_json(api, "/orders", body, **{"Idempotency-Key": "k-1"})
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.content == first.content  # byte for byte, keys in the same order
    assert Order.objects.filter(customer=customer).count() == 1
    assert IdempotencyRecord.objects.filter(customer=customer).count() == 1


def test_an_idempotency_key_reused_with_other_parameters_is_refused(api, customer, sid, counts):
    body = {"service_id": sid("plays"), "target": VIDEO_URL, "quantity": 1_000}
    post_json(api, "/orders", body, **{"Idempotency-Key": "k-2"})
    before = counts(customer)
    response = post_json(api, "/orders", body | {"quantity": 2_000}, **{"Idempotency-Key": "k-2"})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == ("Idempotency-Key", "idempotency_key_reused")
    assert counts(customer) == before


def test_idempotency_keys_are_per_customer(api, other_customer, api_key_for, sid):
    body = {"service_id": sid("plays"), "target": VIDEO_URL, "quantity": 1_000}
    mine = post_json(api, "/orders", body, **{"Idempotency-Key": "shared"}).json()
    other = Client(headers={"Authorization": f"Bearer {api_key_for(other_customer)}"})
    theirs = post_json(other, "/orders", body, **{"Idempotency-Key": "shared"}).json()
    assert mine["id"] != theirs["id"]
    assert Order.objects.filter(customer=other_customer).count() == 1


def test_serial_retries_of_one_key_create_exactly_one_order(api, customer, sid):
    body = {"service_id": sid("plays"), "target": VIDEO_URL, "quantity": 1_000}
    answers = [post_json(api, "/orders", body, **{"Idempotency-Key": "burst"}) for _ in range(5)]
    assert {r.status_code for r in answers} == {201}
    assert len({json.dumps(r.json(), sort_keys=True) for r in answers}) == 1
    assert Order.objects.filter(customer=customer).count() == 1
    assert wallet_balances(customer=customer)["held_fen"] == 1_600
