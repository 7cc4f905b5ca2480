"""``/api/v2``: the reseller convention's actions, shapes and status words; errors as HTTP 200."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from doudesk.accounts.services import api_key_revoke
from doudesk.orders import services
from doudesk.orders.models import Order, Refill
from doudesk.pricing.services import pricing_publish_all
from doudesk.providers.adapters.base import ProviderRefillStatus, ProviderStatus
from doudesk.wallet.money import rate_str
from factories import ACCOUNT_URL, VIDEO_URL, CustomerFactory, fund_customer

pytestmark = pytest.mark.django_db

V2 = "/api/v2"
EN = {"Accept-Language": "en"}
CJK = re.compile(r"[\u4e00-\u9fff]")
INCORRECT_ORDER_ID = "Incorrect order ID"
STATUS_KEYS = {"charge", "start_count", "status", "remains", "currency"}


@pytest.fixture
def key(customer, api_key_for) -> str:
    """Create the customer's API key; return it in plain."""
    return api_key_for(customer)


def v2(key: str, action: str, **params: object):
    """POST one action and return the decoded JSON, checking the convention's HTTP 200."""
    response = Client().post(V2, {"key": key, "action": action, **params})
    assert response.status_code == 200
    return response.json()


def v2_en(key: str, action: str, **params: object):
    """Like :func:`v2` with ``Accept-Language: en``."""
    response = Client().post(V2, {"key": key, "action": action, **params}, headers=EN)
    assert response.status_code == 200
    return response.json()


def place(
    customer, sid, code: str = "plays", quantity: int = 1_000, target: str = VIDEO_URL
) -> Order:
    return services.order_place(
        customer=customer, service_id=sid(code), target=target, quantity=quantity
    )


def test_services_list_has_the_conventions_fields(key, sid):
    listing = v2(key, "services")
    assert len(listing) >= 12
    assert all(
        set(s)
        == {
            "service",
            "name",
            "type",
            "category",
            "rate",
            "min",
            "max",
            "refill",
            "cancel",
            "dripfeed",
        }
        for s in listing
    )
    plays = next(s for s in listing if s["service"] == sid("plays"))
    assert plays == {
        "service": sid("plays"),
        "name": "视频播放",
        "type": "Default",
        "category": "官方推广",
        "rate": "16",
        "min": "500",
        "max": "1000000",
        "refill": False,
        "cancel": True,
        "dripfeed": False,
    }
    english = v2_en(key, "services")
    assert next(s for s in english if s["service"] == sid("plays"))["name"] == "Video plays"


def test_services_rate_is_what_an_order_charges_today(key, sid):
    pricing_publish_all()
    listed = next(s for s in v2(key, "services") if s["service"] == sid("plays"))
    order = Order.objects.get(
        pk=v2(key, "add", service=sid("plays"), link=VIDEO_URL, quantity=1_000)["order"]
    )
    assert listed["rate"] == rate_str(order.unit_rate) != "16"


def test_add_places_an_order_and_holds_its_charge(key, customer, sid):
    answer = v2(key, "add", service=sid("plays"), link=VIDEO_URL, quantity=10_000)
    assert set(answer) == {"order"}
    order = Order.objects.get(pk=answer["order"])
    assert (order.customer, order.quantity, order.charge_fen) == (customer, 10_000, 16_000)
    assert v2(key, "balance") == {"balance": "840.00", "currency": "CNY"}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"runs": "10", "interval": "60"}, "runs"),
        ({"interval": "60"}, "interval"),
        ({"comments": "good\nnice"}, "comments"),
        ({"answer_number": "2"}, "answer_number"),
    ],
)
def test_add_refuses_drip_feed_and_custom_content_instead_of_ignoring_them(
    key, customer, sid, counts, extra, field
):
    # 10 runs of 100 were placed as one order of 100, reported Completed; comments vanished.
    before = counts(customer)
    order = {"service": sid("plays"), "link": VIDEO_URL, "quantity": 1_000}
    answer = v2_en(key, "add", **order, **extra)
    assert answer == {
        "error": f"{field}: not available for this service (no drip-feed or custom content)"
    }
    assert counts(customer) == before
    assert "order" in v2(key, "add", **order, runs="", comments="")  # empty fields are no ask


def test_add_refuses_drip_feed_given_twice_or_as_json(key, customer, sid, counts):
    # "runs=2&runs=" was placed (the last value won), and a JSON null was an ask for "null".
    before = counts(customer)
    form = {"key": key, "action": "add", "service": sid("plays"), "link": VIDEO_URL}
    twice = Client().post(V2, form | {"quantity": "1000", "runs": ["2", ""]}).json()
    assert twice["error"].startswith("runs: ")
    assert counts(customer) == before
    body = {**form, "quantity": 1000, "runs": None, "interval": None}
    placed = Client().post(V2, json.dumps(body), content_type="application/json").json()
    assert set(placed) == {"order"}


def test_add_accepts_promotion_options_as_json(key, sid):
    answer = v2(
        key,
        "add",
        service=sid("plays"),
        link=VIDEO_URL,
        quantity=1_000,
        options='{"audience": "custom", "ages": ["31-40"], "duration_hours": 12}',
    )
    order = Order.objects.get(pk=answer["order"])
    assert order.options == {"audience": "custom", "ages": ["31-40"], "duration_hours": 12}


def test_balance_is_available_cash_in_cny(key):
    assert v2(key, "balance") == {"balance": "1000.00", "currency": "CNY"}


def test_status_walks_through_the_conventions_words(key, customer, sid, fake_adapter):
    order = place(customer, sid)
    first = v2(key, "status", order=order.pk)
    assert first == {
        "charge": "16.00",
        "start_count": "0",
        "status": "Pending",
        "remains": "1000",
        "currency": "CNY",
    }
    services.order_dispatch(order_id=order.pk)
    external = fake_adapter.placed[0]["id"]
    assert v2(key, "status", order=order.pk)["status"] == "Pending"
    seen = []
    for status, remains in [
        (ProviderStatus.IN_PROGRESS, 600),
        (ProviderStatus.PROCESSING, 200),
        (ProviderStatus.COMPLETED, 0),
    ]:
        fake_adapter.report(external, status, remains=remains)
        services.orders_sync()
        answer = v2(key, "status", order=order.pk)
        assert set(answer) == STATUS_KEYS
        seen.append((answer["status"], answer["remains"], answer["start_count"]))
    assert seen == [
        ("In progress", "600", "1000"),
        ("Processing", "200", "1000"),
        ("Completed", "0", "1000"),
    ]
    assert v2(key, "status", order=order.pk)["charge"] == "16.00"


def test_status_of_partial_and_canceled_orders_shows_what_is_paid(key, customer, sid, fake_adapter):
    partial = place(customer, sid)
    canceled = place(customer, sid, quantity=500)
    services.order_dispatch(order_id=partial.pk)
    fake_adapter.report(fake_adapter.placed[0]["id"], ProviderStatus.PARTIAL, remains=250)
    services.orders_sync()
    services.order_cancel(customer=customer, order_id=canceled.pk)
    assert v2(key, "status", order=partial.pk) == {
        "charge": "12.00",
        "start_count": "1000",
        "status": "Partial",
        "remains": "250",
        "currency": "CNY",
    }
    assert v2(key, "status", order=canceled.pk) == {
        "charge": "0.00",
        "start_count": "0",
        "status": "Canceled",
        "remains": "500",
        "currency": "CNY",
    }


def test_multi_status_answers_each_id_and_hides_foreign_ones(key, customer, other_customer, sid):
    a, b = place(customer, sid), place(customer, sid, quantity=2_000)
    theirs = place(other_customer, sid)
    unknown = theirs.pk + 1000
    answer = v2(key, "status", orders=f"{a.pk},{b.pk}, {unknown},{theirs.pk},abc")
    assert list(answer) == [str(a.pk), str(b.pk), str(unknown), str(theirs.pk), "abc"]
    assert answer[str(a.pk)]["charge"] == "16.00"
    assert answer[str(b.pk)]["charge"] == "32.00"
    assert set(answer[str(a.pk)]) == STATUS_KEYS
    for bad in (str(unknown), str(theirs.pk), "abc"):
        assert answer[bad] == {"error": "Incorrect order ID"}


def test_single_status_of_a_foreign_or_unknown_order_is_incorrect(key, other_customer, sid):
    theirs = place(other_customer, sid)
    for order in (theirs.pk, theirs.pk + 1000, "abc", ""):
        assert v2(key, "status", order=order) == {"error": "Incorrect order ID"}


def test_cancel_answers_a_list_per_order(key, customer, other_customer, sid, counts):
    mine = place(customer, sid)
    theirs = place(other_customer, sid)
    answer = v2(key, "cancel", orders=f"{mine.pk},{theirs.pk}")
    assert answer == [
        {"order": mine.pk, "cancel": 1},
        {"order": theirs.pk, "cancel": {"error": "Incorrect order ID"}},
    ]
    assert Order.objects.get(pk=mine.pk).status == "canceled"
    assert Order.objects.get(pk=theirs.pk).status == "pending"
    before = counts(customer, other_customer)
    again = v2(key, "cancel", order=mine.pk)
    assert again[0]["order"] == mine.pk
    assert set(again[0]["cancel"]) == {"error"}
    assert counts(customer, other_customer) == before


def test_refill_answers_the_refill_id_or_an_error(key, customer, other_customer, sid, fake_adapter):
    likes = place(customer, sid, "likes", quantity=100)
    plays = place(customer, sid)
    theirs = place(other_customer, sid, "likes", quantity=100)
    fake_adapter.deliver_in_full(likes, plays)
    answer = v2(key, "refill", order=likes.pk)
    assert set(answer) == {"refill"}
    assert answer["refill"].isdigit()
    refused = v2(key, "refill", order=plays.pk)
    assert set(refused) == {"error"}
    assert CJK.search(refused["error"])
    assert not CJK.search(v2_en(key, "refill", order=plays.pk)["error"])
    assert v2(key, "refill", order=theirs.pk) == {"error": "Incorrect order ID"}
    assert not theirs.refills.exists()


def test_refill_status_answers_in_the_conventions_words(
    key, customer, other_customer, sid, fake_adapter
):
    mine = place(customer, sid, "likes", quantity=100)
    theirs = place(other_customer, sid, "likes", quantity=100)
    fake_adapter.deliver_in_full(mine, theirs)
    refill_id = v2(key, "refill", order=mine.pk)["refill"]
    their_refill = services.order_refill(customer=other_customer, order_id=theirs.pk).pk
    assert v2(key, "refill_status", refill=refill_id) == {"status": "Pending"}
    services.order_provider_refill(refill_id=int(refill_id))
    external = Refill.objects.get(pk=refill_id).external_id
    fake_adapter.refill_statuses[external] = ProviderRefillStatus.COMPLETED
    services.refills_sync()
    assert v2(key, "refill_status", refill=refill_id) == {"status": "Completed"}
    assert v2(key, "refill_status", refill=their_refill) == {"error": "Refill not found"}
    assert v2(key, "refill_status", refill="x") == {"error": "Refill not found"}
    assert v2(key, "refill_status", refills=f"{refill_id}, {their_refill},x") == [
        {"refill": int(refill_id), "status": "Completed"},
        {"refill": their_refill, "status": {"error": "Refill not found"}},
        {"refill": "x", "status": {"error": "Refill not found"}},
    ]
    assert v2(key, "refill_status") == {"error": "Refill not found"}
    assert v2(key, "refill_status", refills=" , ") == {"error": "Refill not found"}


@pytest.mark.parametrize(
    "data",
    [
        {"action": "balance"},
        {"key": "", "action": "balance"},
        {"key": "dd_test_nope", "action": "balance"},
        {
            "key": "dd_test_nope",
            "action": "add",
            "service": "1",
            "link": VIDEO_URL,
            "quantity": "1000",
        },
    ],
    ids=["no-key", "empty-key", "unknown-key", "unknown-key-add"],
)
def test_a_bad_key_is_an_error_answered_with_200(customer, counts, data):
    before = counts(customer)
    response = Client().post(V2, data)
    assert (response.status_code, response.json()) == (200, {"error": "Invalid API key"})
    assert counts(customer) == before


def test_a_revoked_key_stops_working(customer, api_key_for):
    plain = api_key_for(customer)
    assert "balance" in v2(plain, "balance")
    api_key_revoke(customer=customer, key_id=customer.api_keys.get(prefix=plain[:12]).pk)
    assert v2(plain, "balance") == {"error": "Invalid API key"}


@pytest.mark.parametrize("action", ["", "orders", "ADD", "delete"])
def test_an_unknown_action_is_an_incorrect_request(key, action):
    assert v2(key, action) == {"error": "Incorrect request"}


BAD_ADDS = [
    # (id, params given sid, field named in the error)
    ("quantity-words", lambda s: {"quantity": "lots"}, "quantity"),
    ("quantity-fraction", lambda s: {"quantity": "1000.5"}, "quantity"),
    ("quantity-missing", lambda s: {"quantity": None}, "quantity"),
    ("quantity-too-small", lambda s: {"quantity": "100"}, "quantity"),
    ("quantity-negative", lambda s: {"quantity": "-1000"}, "quantity"),
    ("quantity-huge", lambda s: {"quantity": "9" * 30}, "quantity"),
    ("quantity-superscript", lambda s: {"quantity": "1000²"}, "quantity"),
    ("quantity-arabic-indic-digits", lambda s: {"quantity": "١٠٠٠"}, "quantity"),
    ("link-nul", lambda s: {"link": VIDEO_URL + "\x00"}, "link"),
    ("quantity-off-step", lambda s: {"quantity": "1050"}, "quantity"),
    ("link-foreign", lambda s: {"link": "https://example.com/video/1"}, "link"),
    ("link-wrong-kind", lambda s: {"link": ACCOUNT_URL}, "link"),
    ("link-missing", lambda s: {"link": None}, "link"),
    ("service-missing", lambda s: {"service": None}, "service"),
    ("service-unknown", lambda s: {"service": "987654"}, "service"),
    ("service-not-a-number", lambda s: {"service": "plays"}, "service"),
    ("service-arabic-indic-digit", lambda s: {"service": "٣"}, "service"),
    ("service-plus-sign", lambda s: {"service": "+1"}, "service"),
    ("options-not-json", lambda s: {"options": "{duration: 5"}, "options"),
    ("options-not-object", lambda s: {"options": "[24]"}, "options"),
    (
        "options-duration-5h",
        lambda s: {"options": '{"duration_hours": 5}'},
        "options.duration_hours",
    ),
    (
        "options-age-band",
        lambda s: {"options": '{"audience": "custom", "ages": ["50-60"]}'},
        "options.ages",
    ),
    ("options-targeting-auto", lambda s: {"options": '{"regions": ["成都"]}'}, "options.audience"),
]


@pytest.mark.parametrize(
    ("params", "field"), [pytest.param(*case[1:], id=case[0]) for case in BAD_ADDS]
)
def test_bad_add_is_an_error_in_zh_and_en_and_writes_nothing(
    key, customer, sid, counts, params, field
):
    data = {"service": sid("plays"), "link": VIDEO_URL, "quantity": "1000"} | params(sid)
    data = {k: v for k, v in data.items() if v is not None}
    before = counts(customer)
    zh = v2(key, "add", **data)
    en = v2_en(key, "add", **data)
    assert set(zh) == {"error"}
    assert set(en) == {"error"}
    assert zh["error"].startswith(f"{field}: ")
    assert en["error"].startswith(f"{field}: ")
    assert CJK.search(zh["error"])
    assert not CJK.search(en["error"].replace("成都", ""))
    assert counts(customer) == before


@pytest.mark.parametrize("raw", ["²", "1²", "١", "-1", "9" * 25])
def test_order_ids_that_are_not_plain_digits_are_incorrect_ids(key, customer, sid, raw):
    # str.isdigit() accepts "²" (which int() refuses) and other scripts' digits (which int()
    # reads); only 0-9 name an order.
    mine = place(customer, sid)
    assert v2(key, "status", order=raw) == {"error": INCORRECT_ORDER_ID}
    assert v2(key, "status", orders=f"{mine.pk},{raw}")[raw] == {"error": INCORRECT_ORDER_ID}
    assert v2(key, "cancel", orders=raw) == [
        {"order": raw, "cancel": {"error": INCORRECT_ORDER_ID}}
    ]
    assert v2(key, "refill", order=raw) == {"error": INCORRECT_ORDER_ID}
    assert Order.objects.get(pk=mine.pk).status == "pending"


def test_add_without_money_or_verification_is_an_error(seeded, api_key_for, sid, counts):
    unverified = CustomerFactory()
    fund_customer(unverified, 100_000)
    before = counts(unverified)
    answer = v2_en(
        api_key_for(unverified), "add", service=sid("plays"), link=VIDEO_URL, quantity=1_000
    )
    assert answer == {"error": "customer: Complete identity verification before ordering"}
    assert counts(unverified) == before


def test_add_beyond_the_balance_is_an_error(key, customer, sid, counts):
    before = counts(customer)
    answer = v2_en(key, "add", service=sid("plays"), link=VIDEO_URL, quantity=100_000)
    # The convention's words, which reseller panels recognise, in either language.
    assert answer == {"error": "Not enough funds on balance"}
    assert v2(key, "add", service=sid("plays"), link=VIDEO_URL, quantity=100_000) == answer
    assert counts(customer) == before


def test_status_cancel_and_refill_without_ids_are_errors(key, customer, counts):
    before = counts(customer)
    assert v2(key, "status") == {"error": "Incorrect order ID"}
    assert v2(key, "cancel") == {"error": "Incorrect order ID"}
    assert v2(key, "refill") == {"error": "Incorrect order ID"}
    assert counts(customer) == before


def test_ids_are_the_same_as_rest_v1(key, api, customer, sid):
    order_id = v2(key, "add", service=sid("likes"), link=VIDEO_URL, quantity=100)["order"]
    assert api.get(f"/api/v1/orders/{order_id}").json()["service_id"] == sid("likes")


def test_an_unexpected_error_is_still_an_error_answered_with_200(key, sid, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("doudesk.api.v2.services.order_place", broken)
    answer = v2(key, "add", service=sid("plays"), link=VIDEO_URL, quantity=1_000)
    assert answer == {"error": "Internal error"}


def test_a_get_request_places_nothing(key, customer, sid, counts):
    # The key would sit in the URL: proxy logs, browser history.
    before = counts(customer)
    query = {"key": key, "action": "add", "service": sid("plays"), "link": VIDEO_URL}
    answer = Client().get("/api/v2", {**query, "quantity": "1000"})
    assert (answer.status_code, answer.json()) == (200, {"error": "Incorrect request: use POST"})
    assert counts(customer) == before


def test_the_endpoint_answers_with_a_trailing_slash_too(key):
    response = Client().post(V2 + "/", {"key": key, "action": "balance"})
    assert response.status_code == 200
    assert set(response.json()) == {"balance", "currency"}


def v2_json(body: object):
    """POST ``body`` as JSON and return the decoded answer (HTTP 200 as ever)."""
    response = Client().post(V2, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    return response.json()


def test_a_json_body_is_read_as_the_form_it_stands_for(key, customer, sid):
    # A panel sending JSON was told "Invalid API key" whatever its key.
    added = v2_json(
        {"key": key, "action": "add", "service": sid("plays"), "link": VIDEO_URL, "quantity": 1000}
    )
    order = Order.objects.get(customer=customer)
    assert added == {"order": order.pk}
    other = place(customer, sid)
    statuses = v2_json({"key": key, "action": "status", "orders": [order.pk, other.pk]})
    assert set(statuses) == {str(order.pk), str(other.pk)}
    assert v2_json({"key": key, "action": "balance"})["currency"] == "CNY"


@pytest.mark.parametrize("body", [[], "text", 5, None])
def test_a_json_body_that_is_no_object_is_an_incorrect_request(key, body):
    answer = v2_json(body)
    assert answer == {"error": "Incorrect request: send a form or a JSON object"}
