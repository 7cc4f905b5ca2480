"""Input the views could not read or the database could not store is refused at the door.

Each interface answers in its own shape (v1 ``{"detail", "errors"}`` with a 4xx, v2
``{"error"}`` with HTTP 200, web pages a plain 4xx), names the field, and writes nothing.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from doudesk.orders import services
from factories import VIDEO_URL

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
V2 = "/api/v2"
EN = {"Accept-Language": "en"}
CJK = re.compile(r"[\u4e00-\u9fff]")
DEEP = "[" * 5_000 + "]" * 5_000
DEEP_WITH_NUL = '{"target": "\\u0000", "x": ' + DEEP + "}"


def v1_error(response, status: int) -> dict:
    """Check the v1 error shape in both languages; return the first error."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["errors"][0]
    assert CJK.search(error["message_zh"])
    assert not CJK.search(error["message_en"])
    return error


def v2_error(response) -> str:
    """Check the convention's error shape (HTTP 200, one ``error`` string); return it."""
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def order_json(sid, **overrides: object) -> str:
    return json.dumps(
        {"service_id": sid("plays"), "target": VIDEO_URL, "quantity": 1_000} | overrides
    )


@pytest.mark.parametrize("path", [V1 + "/plans", V1 + "/orders", V1 + "/services"])
def test_deep_json_with_a_nul_escape_gets_a_v1_error_without_a_key(path):
    response = Client().post(path, data=DEEP_WITH_NUL, content_type="application/json")
    assert v1_error(response, 400) | {"message": ""} == {
        "field": "body",
        "code": "too_deep",
        "message": "",
        "message_zh": "JSON 嵌套超过 32 层",
        "message_en": "The JSON nests deeper than 32 levels",
    }


def test_deep_json_gets_the_conventions_error_on_v2_and_a_plain_400_on_pages():
    v2 = Client().post(V2, data=DEEP_WITH_NUL, content_type="application/json", headers=EN)
    assert v2_error(v2) == "body: The JSON nests deeper than 32 levels"
    page = Client().post("/login/", data=DEEP_WITH_NUL, content_type="application/json")
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/plain")
    assert "JSON 嵌套超过 32 层" in page.content.decode()


def test_an_order_nested_past_the_limit_is_refused_and_writes_nothing(api, sid, customer, counts):
    before = counts(customer)
    nested: object = "x"
    for _ in range(40):
        nested = [nested]
    response = api.post(
        V1 + "/orders", data=order_json(sid, options=nested), content_type="application/json"
    )
    assert v1_error(response, 400)["code"] == "too_deep"
    assert counts(customer) == before


@pytest.mark.parametrize("path", ["/sandbox/pay/%00/", "/orders/1%00/", "/ledger/tile/0/%00"])
def test_a_path_holding_unstorable_text_is_not_found(web, path):
    # Looked up as a key, "/sandbox/pay/%00/" failed PostgreSQL with a 500.
    page = web.get(path)
    assert page.status_code == 404
    assert b"path:" in page.content
    api = Client().get(V1 + "/orders/%00")
    assert v1_error(api, 404)["field"] == "path"


BUNDLE_ORDERS = ["/packages/1/orders", "/growth-plans/1/orders"]  # refused before the id is read


@pytest.mark.parametrize(
    "path", ["/plans", "/orders", "/quotes", "/plans/order", "/api-keys", *BUNDLE_ORDERS]
)
def test_a_multipart_form_to_v1_is_told_it_is_not_json_and_writes_nothing(
    api, customer, sid, counts, path
):
    # It answered 500: the guard's read of the form took the body the API then read.
    before = counts(customer)
    form = {"service_id": sid("plays"), "quantity": "1000", "target": VIDEO_URL}
    error = v1_error(api.post(V1 + path, form), 400)  # the test client sends multipart
    assert (error["field"], error["code"]) == ("body", "json_invalid")
    assert counts(customer) == before


@pytest.mark.parametrize("path", ["/plans", "/orders", "/quotes", "/plans/order", *BUNDLE_ORDERS])
@pytest.mark.parametrize("body", ["[]", '"text"', "5", "true", ' [{"service_id": 1}]'])
def test_a_json_body_that_is_not_an_object_is_refused_as_such(api, customer, counts, path, body):
    # It used to be read as an empty object: "budget missing", "service_id required".
    before = counts(customer)
    response = api.post(V1 + path, data=body, content_type="application/json")
    assert v1_error(response, 422) | {"message": ""} == {
        "field": "body",
        "code": "not_an_object",
        "message": "",
        "message_zh": "请求内容须为 JSON 对象（{...}）",
        "message_en": "The request body must be a JSON object ({...})",
    }
    assert counts(customer) == before


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_json_object_with_a_byte_order_mark_is_read_as_an_object(api, sid, encoding):
    # A BOM or UTF-16 body was told it was not an object.
    body = json.dumps({"service_id": sid("plays"), "quantity": 1000}).encode(encoding)
    response = api.post(V1 + "/quotes", data=body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["quantity"] == 1000


@pytest.mark.parametrize("field", ["quote_id", "target"])
def test_a_lone_surrogate_is_refused_by_field_and_writes_nothing(api, sid, customer, counts, field):
    # JSON's "\ud800" decodes to a string no database can store as UTF-8.
    before = counts(customer)
    raw = order_json(sid, **{field: "PLACEHOLDER"}).replace("PLACEHOLDER", "\\ud800")
    response = api.post(V1 + "/orders", data=raw, content_type="application/json", headers=EN)
    error = v1_error(response, 400)
    assert (error["field"], error["code"]) == (field, "invalid_text")
    assert error["message"] == error["message_en"]
    assert counts(customer) == before


def test_a_paired_surrogate_escape_is_ordinary_text(api, sid, customer):
    # "\ud83d\ude00" is one emoji: storable, so the guard lets it through to the view.
    raw = order_json(sid, target="看 \\ud83d\\ude00 " + VIDEO_URL)
    response = api.post(V1 + "/orders", data=raw, content_type="application/json")
    assert response.status_code == 201, response.content


def test_too_many_query_parameters_answer_in_each_shape():
    query = "&".join(f"a{i}=1" for i in range(1_100))
    error = v1_error(Client().get(f"{V1}/services?{query}"), 400)
    assert (error["field"], error["code"]) == ("query", "too_many_fields")
    assert (
        v2_error(Client().post(f"{V2}?{query}", headers=EN)) == "query: More than 1,000 parameters"
    )
    assert Client().get(f"/?{query}").status_code == 400


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"key=a&action=balance"),  # no boundary
        ("application/x-www-form-urlencoded; charset=latin-1", b"key=a&action=balance"),
    ],
    ids=["multipart-without-boundary", "latin-1-form"],
)
def test_an_unreadable_form_body_answers_in_each_shape(content_type, body):
    v2 = Client().post(V2, data=body, content_type=content_type, headers=EN)
    assert v2_error(v2) == "body: The request body could not be read: send a UTF-8 form or JSON"
    v1 = Client().post(V1 + "/orders", data=body, content_type=content_type)
    assert v1_error(v1, 400)["code"] == "unreadable"


def test_a_body_over_the_upload_limit_answers_413_on_v1_and_an_error_on_v2(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    padding = b"x" * (2 * 1024 * 1024)
    v1 = Client().post(
        V1 + "/orders", data=b'{"pad": "' + padding + b'"}', content_type="application/json"
    )
    assert v1_error(v1, 413)["code"] == "too_large"
    v2 = Client().post(
        V2,
        data=b"key=a&action=balance&pad=" + padding,
        content_type="application/x-www-form-urlencoded",
        headers=EN,
    )
    assert v2_error(v2) == "body: The request body is larger than 1 MB"


# /api/v2 fields ----------------------------------------------------------------------------


@pytest.fixture
def key(customer, api_key_for) -> str:
    return api_key_for(customer)


def v2(key: str, action: str, **params: object):
    response = Client().post(V2, {"key": key, "action": action, **params}, headers=EN)
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            '{"a":' * 950 + "1" + "}" * 950,
            "options: options must be JSON (nested at most 32 levels)",
        ),
        ("[" * 40 + "]" * 40, "options: options must be JSON (nested at most 32 levels)"),
        (
            '{"audience": "\\ud800"}',
            "options.audience: Contains a character that cannot be stored"
            " (a lone UTF-16 surrogate)",
        ),
    ],
    ids=["past-the-recursion-limit", "past-the-depth-limit", "lone-surrogate"],
)
def test_v2_add_refuses_unreadable_options_by_field(key, sid, customer, counts, options, expected):
    before = counts(customer)
    answer = v2(key, "add", service=sid("plays"), link=VIDEO_URL, quantity=1000, options=options)
    assert answer == {"error": expected}
    assert counts(customer) == before


def test_v2_add_answers_a_quantity_too_long_to_read_as_out_of_range(key, sid, customer, counts):
    before = counts(customer)
    answer = v2(key, "add", service=sid("plays"), link=VIDEO_URL, quantity="9" * 5_000)
    assert answer["error"].startswith("quantity: Quantity must be between")
    assert counts(customer) == before


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ("status", "orders"),
        ("cancel", "orders"),
        ("refill", "orders"),
        ("refill_status", "refills"),
    ],
)
def test_v2_refuses_more_than_100_ids_instead_of_dropping_the_rest(key, action, field):
    ids = ",".join(str(n) for n in range(1, 106))
    assert v2(key, action, **{field: ids}) == {
        "error": f"{field}: At most 100 ids per request (105 given)"
    }


@pytest.mark.parametrize("action", ["status", "cancel", "refill"])
def test_v2_answers_an_empty_order_list_alike(key, action):
    assert v2(key, action, orders=" , ") == {"error": "Incorrect order ID"}


def test_v2_echoes_id_zero_as_a_number_like_every_other_id(key, sid, customer):
    order = services.order_place(
        customer=customer, service_id=sid("plays"), target=VIDEO_URL, quantity=1_000
    )
    answer = v2(key, "cancel", orders=f"0,{order.pk},x")
    assert [item["order"] for item in answer] == [0, order.pk, "x"]
    refills = v2(key, "refill_status", refills="0")
    assert refills == [{"refill": 0, "status": {"error": "Refill not found"}}]


def test_an_answer_lists_at_most_fifty_errors_and_counts_the_rest(api, customer, sid, counts):
    # 300,000 unknown keys drew an answer of 180 MB, one error each.
    plans = api.post(
        V1 + "/plans",
        data=json.dumps(
            {"need": "涨粉 预算500元", "goal_weights": {f"k{i}": 1 for i in range(2_000)}}
        ),
        content_type="application/json",
    )
    errors = plans.json()["errors"]
    assert len(errors) == 50
    assert errors[-1]["code"] == "too_many_errors"
    assert errors[-1]["message_en"] == "1,951 more errors not listed"
    before = counts(customer)
    options = {f"k{i}": 1 for i in range(2_000)}
    order = api.post(
        V1 + "/orders", data=order_json(sid, options=options), content_type="application/json"
    )
    assert len(order.json()["errors"]) == 50
    assert counts(customer) == before


def test_a_message_names_at_most_ten_unknown_values(api, sid):
    regions = [f"火星{i}" for i in range(500)]
    body = {"need": "涨粉 预算500元", "audience": {"regions": regions}}
    plans = api.post(V1 + "/plans", data=json.dumps(body), content_type="application/json")
    options = {"audience": "custom", "regions": regions[:15]}  # an order takes up to 20
    order = api.post(
        V1 + "/orders", data=order_json(sid, options=options), content_type="application/json"
    )
    for response, more in ((plans, "(+490)"), (order, "(+5)")):
        [error] = response.json()["errors"]
        assert error["message_zh"].count("火星") == error["message_en"].count("火星") == 10
        assert more in error["message_en"]
