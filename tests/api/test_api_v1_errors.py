"""REST v1 bad input: every action answers 4xx with field errors in zh and en and writes nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from doudesk.orders import services
from doudesk.orders.models import IdempotencyRecord, Order
from doudesk.pricing.models import Quote
from doudesk.wallet.models import TopUp
from factories import ACCOUNT_URL, VIDEO_URL, CustomerFactory, fund_customer, make_verified_customer

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
EN = {"Accept-Language": "en-US,en;q=0.9"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def post_json(client: Client, path: str, body: object, **headers: str):
    """POST ``body`` as JSON (a ``str`` body is sent as is)."""
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(V1 + path, data=data, content_type="application/json", headers=headers)


def assert_error(
    response, status: int, field: str, *, lang: str = "zh", code: str | None = None
) -> dict:
    """Check the v1 error shape and return the error about ``field``."""
    assert response.status_code == status, response.content
    body = response.json()
    assert {"detail", "errors"} <= set(body)
    assert body["errors"], body
    for error in body["errors"]:
        assert {"field", "message", "message_zh", "message_en"} <= set(error)
        assert CJK.search(error["message_zh"]), error
        assert not CJK.search(error["message_en"]), error
        assert error["message"] == error["message_zh" if lang == "zh" else "message_en"]
    assert body["detail"] == body["errors"][0]["message"]
    fields = [e["field"] for e in body["errors"]]
    assert field in fields, fields
    error = body["errors"][fields.index(field)]
    if code is not None:
        assert error["code"] == code
    return error


def order_body(sid: Callable[[str], int], **overrides: object) -> dict:
    """Build a valid plays order, with ``overrides``."""
    return {"service_id": sid("plays"), "target": VIDEO_URL, "quantity": 1_000} | overrides


BAD_ORDERS = [
    # (id, overrides given sid, status, field, code)
    (
        "foreign-host-link",
        lambda s: {"target": "https://example.com/video/1"},
        400,
        "target",
        "host",
    ),
    ("no-link-at-all", lambda s: {"target": "看看这个视频"}, 400, "target", "format"),
    ("empty-link", lambda s: {"target": ""}, 400, "target", "empty"),
    ("account-link-for-video", lambda s: {"target": ACCOUNT_URL}, 400, "target", "wrong_kind"),
    (
        "video-link-for-account",
        lambda s: {"service_id": s("followers"), "quantity": 100},
        400,
        "target",
        "wrong_kind",
    ),
    (
        "link-for-no-target-service",
        lambda s: {"service_id": s("video-edit"), "quantity": 1},
        400,
        "target",
        "unexpected",
    ),
    ("quantity-too-small", lambda s: {"quantity": 100}, 400, "quantity", "quantity_out_of_range"),
    (
        "quantity-too-large",
        lambda s: {"quantity": 1_000_100},
        400,
        "quantity",
        "quantity_out_of_range",
    ),
    ("quantity-negative", lambda s: {"quantity": -1_000}, 400, "quantity", "quantity_out_of_range"),
    ("quantity-off-step", lambda s: {"quantity": 1_050}, 400, "quantity", "quantity_off_step"),
    ("quantity-words", lambda s: {"quantity": "a thousand"}, 422, "quantity", "int_parsing"),
    ("quantity-fraction", lambda s: {"quantity": 1000.5}, 422, "quantity", "int_from_float"),
    ("quantity-missing", lambda s: {"quantity": None}, 422, "quantity", None),
    ("unknown-service", lambda s: {"service_id": 987_654}, 404, "service_id", "unknown_service"),
    ("service-not-a-number", lambda s: {"service_id": "plays"}, 422, "service_id", "int_parsing"),
    ("service-boolean", lambda s: {"service_id": True}, 422, "service_id", "int_type"),
    ("quantity-boolean", lambda s: {"quantity": True}, 422, "quantity", "int_type"),
    ("target-not-text", lambda s: {"target": 7301234567890123456}, 422, "target", "string_type"),
    ("options-not-object", lambda s: {"options": [1]}, 422, "options", "dict_type"),
    (
        "options-on-professional-service",
        lambda s: {
            "service_id": s("video-edit"),
            "target": "",
            "quantity": 1,
            "options": {"audience": "auto"},
        },
        400,
        "options",
        "options_not_supported",
    ),
    (
        "duration-5h",
        lambda s: {"options": {"duration_hours": 5}},
        400,
        "options.duration_hours",
        "invalid_option",
    ),
    (
        "duration-732h",
        lambda s: {"options": {"duration_hours": 732}},
        400,
        "options.duration_hours",
        "invalid_option",
    ),
    (
        "unknown-region",
        lambda s: {"options": {"audience": "custom", "regions": ["chengdu", "atlantis"]}},
        400,
        "options.regions",
        "invalid_option",
    ),
    (
        "unknown-interest",
        lambda s: {"options": {"audience": "custom", "interests": ["crypto"]}},
        400,
        "options.interests",
        "invalid_option",
    ),
    (
        "duration-boolean",
        lambda s: {"options": {"duration_hours": True}},
        400,
        "options.duration_hours",
        "invalid_option",
    ),
    (
        "duration-text",
        lambda s: {"options": {"duration_hours": "24h"}},
        400,
        "options.duration_hours",
        "invalid_option",
    ),
    (
        "unknown-age-band",
        lambda s: {"options": {"audience": "custom", "ages": ["10-17"]}},
        400,
        "options.ages",
        "invalid_option",
    ),
    (
        "targeting-without-custom",
        lambda s: {"options": {"gender": "female"}},
        400,
        "options.audience",
        "invalid_option",
    ),
    (
        "unknown-audience",
        lambda s: {"options": {"audience": "everyone"}},
        400,
        "options.audience",
        "invalid_option",
    ),
    (
        "unknown-objective",
        lambda s: {"options": {"objective": "bots"}},
        400,
        "options.objective",
        "invalid_option",
    ),
    (
        "audience-as-list",
        lambda s: {"options": {"audience": ["custom"]}},
        400,
        "options.audience",
        "invalid_option",
    ),
    (
        "gender-as-object",
        lambda s: {"options": {"audience": "custom", "gender": {"x": 1}}},
        400,
        "options.gender",
        "invalid_option",
    ),
    (
        "objective-as-list",
        lambda s: {"options": {"objective": ["plays"]}},
        400,
        "options.objective",
        "invalid_option",
    ),
    (
        "unknown-option",
        lambda s: {"options": {"budget": 100}},
        400,
        "options.budget",
        "invalid_option",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "status", "field", "code"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_ORDERS],
)
def test_bad_order_is_refused_in_both_languages_and_writes_nothing(
    api, customer, sid, counts, overrides, status, field, code
):
    body = order_body(sid, **overrides(sid))
    body = {k: v for k, v in body.items() if v is not None}
    before = counts(customer)
    zh = post_json(api, "/orders", body)
    assert_error(zh, status, field, code=code)
    en = post_json(api, "/orders", body, **EN)
    assert_error(en, status, field, lang="en", code=code)
    keyed = post_json(api, "/orders", body, **{"Idempotency-Key": "bad-1"})
    assert_error(keyed, status, field, code=code)
    assert counts(customer) == before


def test_every_bad_field_is_reported_at_once(api, customer, sid, counts):
    before = counts(customer)
    response = post_json(
        api,
        "/orders",
        order_body(sid, target=ACCOUNT_URL, quantity=550, options={"duration_hours": 5}),
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [
        "quantity",
        "target",
        "options.duration_hours",
    ]
    assert counts(customer) == before


@pytest.mark.parametrize(
    "raw",
    [
        '{"service_id": 1, "quantity": ',
        "service_id=1&quantity=1000",
        "{'service_id': 1}",
        "\x00\xff",
    ],
    ids=["truncated", "form-encoded", "single-quotes", "binary"],
)
def test_malformed_json_is_a_body_error(api, customer, counts, raw):
    before = counts(customer)
    assert_error(post_json(api, "/orders", raw), 400, "body", code="json_invalid")
    assert_error(post_json(api, "/orders", raw, **EN), 400, "body", lang="en", code="json_invalid")
    assert_error(post_json(api, "/quotes", raw), 400, "body")
    assert_error(post_json(api, "/wallet/topups", raw), 400, "body")
    assert counts(customer) == before


@pytest.mark.parametrize(
    "raw", ["[1, 2]", "null", '"plays"', ""], ids=["list", "null", "string", "empty"]
)
def test_a_json_body_that_is_not_an_object_is_refused(api, customer, counts, raw):
    before = counts(customer)
    response = post_json(api, "/orders", raw)
    assert response.status_code == 422
    # An array, text or no body is refused as the body; null misses the fields.
    field = "service_id" if raw == "null" else "body"
    assert_error(response, 422, field)
    assert counts(customer) == before


ENDPOINTS = [
    ("get", "/wallet"),
    ("post", "/wallet/topups"),
    ("get", "/orders"),
    ("post", "/orders"),
    ("get", "/orders/1"),
    ("get", "/orders/1/events"),
    ("post", "/orders/1/cancel"),
    ("post", "/orders/1/refill"),
    ("get", "/orders/1/refills"),
    ("post", "/quotes"),
    ("get", "/api-keys"),
    ("post", "/api-keys"),
    ("delete", "/api-keys/1"),
]
BAD_AUTH = {
    "missing": {},
    "unknown-key": {"Authorization": "Bearer dd_test_not-a-real-key"},
    "basic-scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
    "empty-bearer": {"Authorization": "Bearer "},
    "oversized-key": {"Authorization": "Bearer " + "k" * 500},
}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_private_action_needs_a_valid_key(customer, sid, counts, method, path):
    before = counts(customer)
    body = json.dumps(order_body(sid) | {"amount": "100", "name": "x"})

    def call(auth: dict[str, str], **headers: str):
        # CSRF enforced as for a real client: a bad key must not fall through to the session.
        client = Client(headers=auth, enforce_csrf_checks=True)
        if method == "get":
            return client.get(V1 + path, headers=headers)
        return getattr(client, method)(
            V1 + path, data=body, content_type="application/json", headers=headers
        )

    for auth in BAD_AUTH.values():
        error = assert_error(call(auth), 401, "Authorization", code="unauthenticated")
        assert "Bearer" in error["message_en"]
    assert_error(call(BAD_AUTH["unknown-key"], **EN), 401, "Authorization", lang="en")
    assert counts(customer) == before


def test_services_need_no_key_but_unknown_ids_are_field_errors(seeded):
    assert Client().get(V1 + "/services").status_code == 200
    assert_error(Client().get(V1 + "/services/987654"), 404, "service_id", code="unknown_service")
    assert_error(Client().get(V1 + "/services/plays", headers=EN), 422, "service_id", lang="en")


@pytest.mark.parametrize("action", ["get", "events", "refills", "cancel", "refill"])
def test_another_customers_order_is_not_found_and_never_leaks(
    api, customer, other_customer, sid, counts, action
):
    theirs = services.order_place(
        customer=other_customer, service_id=sid("likes"), target=VIDEO_URL, quantity=100
    )
    missing_id = Order.objects.order_by("-pk").first().pk + 1000
    before = counts(customer, other_customer)

    def call(order_id: int, **headers: str):
        if action in ("get", "events", "refills"):
            suffix = "" if action == "get" else f"/{action}"
            return api.get(f"{V1}/orders/{order_id}{suffix}", headers=headers)
        return api.post(f"{V1}/orders/{order_id}/{action}", headers=headers)

    foreign, missing = call(theirs.pk), call(missing_id)
    assert_error(foreign, 404, "order", code="order_not_found")
    assert foreign.json() == missing.json()
    assert VIDEO_URL not in foreign.content.decode()
    assert_error(call(theirs.pk, **EN), 404, "order", lang="en")
    assert counts(customer, other_customer) == before
    assert Order.objects.get(pk=theirs.pk).status == "pending"


def test_order_ids_that_are_not_numbers_are_field_errors(api):
    assert_error(api.get(V1 + "/orders/abc"), 422, "order_id")
    assert_error(api.post(V1 + "/orders/abc/cancel", headers=EN), 422, "order_id", lang="en")
    assert_error(api.get(V1 + "/orders?limit=ten"), 422, "limit")


@pytest.mark.parametrize("written", ["{id}_0", "+{id}", "{id}%20", "{id}.0", "{id}e0"])
def test_an_id_written_loosely_is_refused_and_nothing_is_cancelled(api, customer, sid, written):
    # "/orders/7_83/cancel" cancelled order 783 (lax integer reading).
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )
    loose = written.format(id=order.pk)
    assert_error(api.post(f"{V1}/orders/{loose}/cancel", headers=EN), 422, "order_id", lang="en")
    assert Order.objects.get(pk=order.pk).cancel_requested_at is None
    assert Order.objects.get(pk=order.pk).status == "pending"


@pytest.mark.parametrize("quantity", ["1_000", " 1000 ", "+1000", "1000.0", "1e3", 1000.0])
def test_a_quantity_written_loosely_is_a_field_error(api, customer, sid, counts, quantity):
    before = counts(customer)
    body = {"service_id": sid("plays"), "target": VIDEO_URL, "quantity": quantity}
    error = assert_error(post_json(api, "/orders", body), 422, "quantity")
    assert error["code"] in ("int_parsing", "int_from_float")
    assert counts(customer) == before
    written = {"service_id": sid("plays"), "target": VIDEO_URL, "quantity": "1000"}
    assert post_json(api, "/quotes", written).status_code == 201  # digits as text still read


@pytest.mark.parametrize("query", ["start=1.0", "start=+1", "start=1_0"])
def test_ledger_positions_written_loosely_are_field_errors(api, query):
    assert_error(api.get(f"{V1}/ledger/entries?{query}"), 422, "start")


@pytest.mark.parametrize("value", ["-1", "abc", str(2**63), "9" * 5000])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("entries?start=", "start"),
        ("entries?start=0&end=", "end"),
        ("proof/inclusion?index=", "index"),
        ("proof/inclusion?index=0&size=", "size"),
        ("proof/consistency?first=", "first"),
        ("proof/consistency?first=0&second=", "second"),
    ],
)
def test_a_ledger_position_that_is_no_position_is_one_422_field_error(api, query, field, value):
    # Negative, not a number and past what the log can ever hold answer alike; a position past
    # the published tree is a 400 of the log's own (test_api_v1_schema).
    answer = api.get(f"{V1}/ledger/{query}{value}", headers=EN)
    error = assert_error(answer, 422, field, lang="en", code="int_range")
    assert error["message_en"] == f"Must be an integer from 0 to {2**63 - 1}"
    assert len(answer.json()["errors"]) == 1


def test_listing_past_the_end_is_empty_and_an_unknown_status_is_a_field_error(api, sid, customer):
    services.order_place(customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500)
    for offset in ("1", "9" * 25):
        answer = api.get(f"{V1}/orders?offset={offset}")
        assert answer.status_code == 200
        assert answer.json() == {"count": 1, "results": []}
    assert_error(api.get(V1 + "/orders?status=done"), 400, "status", code="unknown_status")
    assert_error(api.get(V1 + "/orders?status=done", headers=EN), 400, "status", lang="en")


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/orders", {"target": VIDEO_URL + "\u0000"}, "target"),
        ("post", "/orders", {"quote_id": "q_\u0000"}, "quote_id"),
        ("post", "/orders", {"options": {"regions": ["成都\u0000"]}}, "options.regions.0"),
        ("post", "/api-keys", {"name": "a\u0000b"}, "name"),
        ("get", "/orders?status=%00", None, "status"),
    ],
    ids=["target", "quote", "nested", "key-name", "query"],
)
def test_nul_characters_are_refused_by_field_and_write_nothing(
    api, customer, sid, counts, method, path, body, field
):
    # PostgreSQL text cannot hold NUL: refused up front instead of failing in the write.
    before = counts(customer)
    if method == "get":
        response = api.get(V1 + path)
    else:
        raw = json.dumps(order_body(sid) | body)
        response = api.post(V1 + path, data=raw, content_type="application/json")
    assert_error(response, 400, field, code="nul_character")
    assert counts(customer) == before


def test_unknown_paths_and_wrong_methods_answer_in_the_error_shape(api):
    assert_error(api.get(V1 + "/nope"), 404, "path", code="not_found")
    wrong = api.get(V1 + "/quotes", headers=EN)
    assert_error(wrong, 405, "method", lang="en", code="method_not_allowed")
    assert "POST" in wrong["Allow"]


def test_the_api_docs_load_swagger_from_this_site(seeded):
    page = Client().get(V1 + "/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn." not in page
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_listing_never_shows_another_customers_orders(api, other_customer, sid):
    services.order_place(
        customer=other_customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )
    assert api.get(V1 + "/orders").json() == {"count": 0, "results": []}


# Quotes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"quantity": 550}, 400, "quantity"),
        ({"quantity": 10}, 400, "quantity"),
        ({"quantity": "lots"}, 422, "quantity"),
        ({"service_id": 987_654}, 404, "service_id"),
        ({"service_id": None}, 422, "service_id"),
        ({"quantity": True}, 422, "quantity"),
        ({"service_id": True}, 422, "service_id"),
    ],
    ids=[
        "off-step",
        "too-small",
        "not-integer",
        "unknown-service",
        "missing-service",
        "quantity-boolean",
        "service-boolean",
    ],
)
def test_bad_quote_requests_create_no_quote(api, customer, sid, counts, body, status, field):
    payload = {
        k: v
        for k, v in ({"service_id": sid("plays"), "quantity": 1_000} | body).items()
        if v is not None
    }
    before = counts(customer)
    assert_error(post_json(api, "/quotes", payload), status, field)
    assert_error(post_json(api, "/quotes", payload, **EN), status, field, lang="en")
    assert counts(customer) == before


def _quote(api, sid, quantity: int = 1_000) -> dict:
    return post_json(api, "/quotes", {"service_id": sid("plays"), "quantity": quantity}).json()


def test_an_expired_quote_is_refused_with_a_fresh_quote(api, customer, sid, counts):
    quote = _quote(api, sid)
    Quote.objects.filter(pk=quote["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    before = counts(customer, quotes=False)
    quotes_before = Quote.objects.count()
    response = post_json(api, "/orders", order_body(sid, quote_id=quote["id"]))
    error = assert_error(response, 409, "quote_id", code="quote_expired")
    fresh = response.json()["fresh_quote"]
    assert fresh["id"] != quote["id"]
    assert fresh["id"] in error["message_zh"]
    assert (fresh["total"], fresh["quantity"], fresh["service_id"]) == (
        "16.00",
        1_000,
        sid("plays"),
    )
    assert counts(customer, quotes=False) == before
    assert Quote.objects.count() == quotes_before + 1
    placed = post_json(api, "/orders", order_body(sid, quote_id=fresh["id"]))
    assert (placed.status_code, placed.json()["quote_id"]) == (201, fresh["id"])


def test_another_customers_quote_is_unknown_to_the_caller(
    api, customer, other_customer, api_key_for, sid, counts
):
    theirs = _quote(Client(headers={"Authorization": f"Bearer {api_key_for(other_customer)}"}), sid)
    before = counts(customer, other_customer, quotes=False)
    response = post_json(api, "/orders", order_body(sid, quote_id=theirs["id"]), **EN)
    assert_error(response, 409, "quote_id", lang="en", code="quote_not_found")
    fresh = Quote.objects.get(pk=response.json()["fresh_quote"]["id"])
    assert fresh.customer == customer
    assert counts(customer, other_customer, quotes=False) == before
    assert not Order.objects.filter(quote_id=theirs["id"]).exists()


def test_a_quote_for_another_quantity_or_already_used_is_refused(api, customer, sid, counts):
    quote = _quote(api, sid, 2_000)
    before = counts(customer, quotes=False)
    mismatch = post_json(api, "/orders", order_body(sid, quote_id=quote["id"]))
    assert_error(mismatch, 409, "quote_id", code="quote_mismatch")
    assert counts(customer, quotes=False) == before
    assert (
        post_json(api, "/orders", order_body(sid, quantity=2_000, quote_id=quote["id"])).status_code
        == 201
    )
    used = post_json(api, "/orders", order_body(sid, quantity=2_000, quote_id=quote["id"]))
    assert_error(used, 409, "quote_id", code="quote_used")
    assert Order.objects.filter(customer=customer).count() == 1


# Money and verification -------------------------------------------------------------------


@pytest.fixture
def poor(seeded, api_key_for):
    """Make a verified customer with ¥1, and an API client for them."""
    customer = make_verified_customer()
    fund_customer(customer, 100)
    return customer, Client(headers={"Authorization": f"Bearer {api_key_for(customer)}"})


def test_insufficient_balance_is_402_and_nothing_is_held(poor, sid, counts):
    customer, client = poor
    before = counts(customer)
    zh = post_json(client, "/orders", order_body(sid, quantity=10_000))
    error = assert_error(zh, 402, "balance", code="insufficient_balance")
    assert "160.00" in error["message_zh"]
    assert "1.00" in error["message_zh"]
    assert_error(post_json(client, "/orders", order_body(sid), **EN), 402, "balance", lang="en")
    keyed = post_json(client, "/orders", order_body(sid), **{"Idempotency-Key": "poor-1"})
    assert_error(keyed, 402, "balance")
    assert counts(customer) == before
    assert client.get(V1 + "/wallet").json()["balance"] == "1.00"


def test_an_unverified_customer_cannot_order(seeded, api_key_for, sid, counts):
    customer = CustomerFactory()
    fund_customer(customer, 100_000)
    client = Client(headers={"Authorization": f"Bearer {api_key_for(customer)}"})
    before = counts(customer)
    assert_error(
        post_json(client, "/orders", order_body(sid)), 403, "customer", code="not_verified"
    )
    keyed = post_json(client, "/orders", order_body(sid), **{"Idempotency-Key": "u-1", **EN})
    assert_error(keyed, 403, "customer", lang="en")
    assert counts(customer) == before


def test_a_key_whose_first_attempt_failed_is_not_used_up(api, customer, sid):
    bad = post_json(
        api, "/orders", order_body(sid, quantity=1_050), **{"Idempotency-Key": "retry-me"}
    )
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.filter(customer=customer).exists()
    good = post_json(api, "/orders", order_body(sid), **{"Idempotency-Key": "retry-me"})
    assert good.status_code == 201


def test_an_overlong_idempotency_key_is_refused(api, customer, sid, counts):
    before = counts(customer)
    response = post_json(api, "/orders", order_body(sid), **{"Idempotency-Key": "k" * 256})
    assert_error(response, 400, "Idempotency-Key", code="idempotency_key_invalid")
    assert counts(customer) == before


@pytest.mark.parametrize(
    ("amount", "status"),
    [
        ("0.50", 400),
        ("-5", 400),
        ("0", 400),
        ("1000000.01", 400),
        ("1e30", 400),
        ("1E+999999999", 400),
        ("-1E+999999999", 400),
        ("88.888", 400),
        ("abc", 422),
        ("NaN", 422),
        ("Infinity", 422),
        (None, 422),
        (True, 422),
        (False, 422),
    ],
)
def test_bad_topup_amounts_open_no_payment(api, customer, counts, amount, status):
    body = {} if amount is None else {"amount": amount}
    before = counts(customer)
    assert_error(post_json(api, "/wallet/topups", body), status, "amount")
    assert_error(post_json(api, "/wallet/topups", body, **EN), status, "amount", lang="en")
    assert counts(customer) == before
    assert not TopUp.objects.exists()


def test_api_key_names_must_be_text(api, customer):
    keys = customer.api_keys.count()
    assert_error(post_json(api, "/api-keys", {"name": 5}), 422, "name")
    assert_error(api.delete(V1 + "/api-keys/987654"), 404, "key")
    assert customer.api_keys.count() == keys


def test_an_unexpected_error_keeps_the_v1_error_shape(api, customer, sid, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("doudesk.api.routers.orders.services.order_place", broken)
    response = post_json(api, "/orders", order_body(sid))
    assert_error(response, 500, "body", code="server_error")


def test_an_unknown_region_or_interest_is_named_with_examples(api, customer, sid, counts):
    # Any text was accepted (and cut to 30 characters); plans accept only the known ones.
    before = counts(customer)
    options = {"audience": "custom", "regions": ["atlantis"], "interests": ["crypto", "food"]}
    body = order_body(sid, options=options)
    zh = post_json(api, "/orders", body)
    region = assert_error(zh, 400, "options.regions", code="invalid_option")
    assert (
        region["message_zh"]
        == "不支持的地域：atlantis（可选如：北京、上海、广州、深圳、成都、重庆、杭州、武汉…）"
    )
    interest = assert_error(zh, 400, "options.interests", code="invalid_option")
    assert "crypto" in interest["message_zh"]
    assert "food" not in interest["message_zh"].split("（")[0]
    en = post_json(api, "/orders", body, **EN)
    region = assert_error(en, 400, "options.regions", lang="en")
    assert region["message_en"] == (
        "Unknown region(s): atlantis (e.g. beijing, shanghai, guangzhou, shenzhen, chengdu, "
        "chongqing, hangzhou, wuhan…)"
    )
    assert assert_error(en, 400, "options.interests", lang="en")["message_en"].startswith(
        "Unknown interest(s): crypto (e.g. beauty, food"
    )
    assert counts(customer) == before


@pytest.mark.parametrize(
    ("query", "field", "zh", "en"),
    [
        ("limit=0", "limit", "须为 1 到 200 之间的整数", "Must be an integer from 1 to 200"),
        ("limit=-5", "limit", "须为 1 到 200 之间的整数", "Must be an integer from 1 to 200"),
        ("limit=201", "limit", "须为 1 到 200 之间的整数", "Must be an integer from 1 to 200"),
        ("limit=1.5", "limit", "须为 1 到 200 之间的整数", "Must be an integer from 1 to 200"),
        ("limit=ten", "limit", "须为 1 到 200 之间的整数", "Must be an integer from 1 to 200"),
        ("limit=", "limit", "须为 1 到 200 之间的整数", "Must be an integer from 1 to 200"),
        ("limit=%205", "limit", "须为 1 到 200 之间的整数", "Must be an integer from 1 to 200"),
        ("limit=%2B5", "limit", "须为 1 到 200 之间的整数", "Must be an integer from 1 to 200"),
        ("offset=1_0", "offset", "须为不小于 0 的整数", "Must be an integer of at least 0"),
        ("offset=-1", "offset", "须为不小于 0 的整数", "Must be an integer of at least 0"),
        ("offset=1e3", "offset", "须为不小于 0 的整数", "Must be an integer of at least 0"),
        ("offset=%C2%B2", "offset", "须为不小于 0 的整数", "Must be an integer of at least 0"),
    ],
)
def test_a_page_outside_the_allowed_range_is_a_field_error(
    api, customer, sid, query, field, zh, en
):
    # limit=0 or -5 showed one order, limit=201 two hundred, offset=-1 the first page.
    services.order_place(customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500)
    error = assert_error(api.get(f"{V1}/orders?{query}"), 422, field, code="int_range")
    assert (error["message_zh"], error["message_en"]) == (zh, en)
    assert_error(api.get(f"{V1}/orders?{query}", headers=EN), 422, field, lang="en")


def test_pages_within_the_range_list_as_before(api, customer, sid):
    for _ in range(3):
        services.order_place(
            customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
        )
    assert len(api.get(V1 + "/orders").json()["results"]) == 3  # default limit 50
    assert len(api.get(V1 + "/orders?limit=200").json()["results"]) == 3
    page = api.get(V1 + "/orders?limit=1&offset=2").json()
    assert (page["count"], len(page["results"])) == (3, 1)
    assert api.get(V1 + "/orders?offset=3").json() == {"count": 3, "results": []}


def test_the_api_schema_states_the_page_range(seeded):
    spec = Client().get(V1 + "/openapi.json").json()
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/orders"]["get"]["parameters"]}
    assert (params["limit"]["minimum"], params["limit"]["maximum"]) == (1, 200)
    assert params["limit"]["default"] == 50
    assert (params["offset"]["minimum"], params["offset"]["default"]) == (0, 0)
