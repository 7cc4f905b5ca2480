"""``POST /api/v1/plans`` and ``/plans/order``: plans priced like orders, ordered as one group."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.test import Client

from doudesk.catalog.models import ServiceModule
from doudesk.orders.models import Order, OrderGroup
from doudesk.wallet.selectors import wallet_balances
from factories import ACCOUNT_URL, VIDEO_URL, CustomerFactory, fund_customer

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
EN = {"Accept-Language": "en-US,en;q=0.9"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def post(client: Client, path: str, body: object, **headers: str):
    """POST ``body`` as JSON."""
    return client.post(
        V1 + path, data=json.dumps(body), content_type="application/json", headers=headers
    )


def assert_field_error(response, status: int, field: str, *, lang: str = "zh") -> dict:
    """Check the v1 error shape, the field and the message language; return the error."""
    assert response.status_code == status, response.content
    body = response.json()
    assert {"detail", "errors"} <= set(body)
    error = next((e for e in body["errors"] if e["field"].split(".")[0] == field), None)
    assert error is not None, body
    assert error["message_zh"]
    assert error["message_en"]
    assert bool(CJK.search(error["message"])) == (lang == "zh"), error
    return error


def test_a_chinese_need_gets_plans_priced_like_orders(api, customer, sid):
    r = post(api, "/plans", {"need": "新开的美妆店，想涨粉和播放，预算500元，一周内见效"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["understood"]["budget"] == "500.00"
    assert body["understood"]["deadline_hours"] is not None
    assert {"followers", "plays"} <= set(body["understood"]["intents"])
    assert 1 <= len(body["plans"]) <= 3
    assert body["plans"][-1]["name"] == "均衡"
    ids = set(dict.fromkeys(sid(code) for code in ("plays", "followers", "likes")))
    for plan in body["plans"]:
        assert plan["currency"] == "CNY"
        assert Decimal(plan["total"]) <= 500
        assert plan["explanation"]
        assert plan["eta_hours"] <= body["understood"]["deadline_hours"]
        total = sum(Decimal(item["cost"]) for item in plan["items"])
        assert total == Decimal(plan["total"])
        # The fields, and the kind of link each item takes (to order the plan).
        assert set(plan["items"][0]) == {"service_id", "name", "quantity", "cost", "target_kind"}
        for item in plan["items"]:
            module = ServiceModule.objects.get(pk=item["service_id"])
            assert item["target_kind"] == module.target_kind
        assert {item["service_id"] for item in plan["items"]} & ids


@pytest.mark.parametrize(
    "need", ["帮我做个账号诊断", "预算500，要口播", "要一份竞品分析报告，不要账号诊断"]
)
def test_a_need_ending_in_the_start_of_a_longer_module_name_is_understood(api, customer, need):
    # "账号诊断" at the end was read against "账号诊断报告" past the text's end: a 500.
    r = post(api, "/plans", {"need": need, "budget": "1000"})
    assert r.status_code == 200, r.content
    assert r.json()["plans"]


def test_a_budget_for_one_goal_buys_the_most_of_it_to_the_step(api, customer, sid):
    # Long quantity ranges used to be searched on 16 points: 4,300 followers, and the rest
    # of the budget spent on plays, likes and live viewers that bring almost none.
    r = post(api, "/plans", {"need": "只要涨粉，预算1000元"})
    balanced = next(p for p in r.json()["plans"] if p["name"] == "均衡")
    [item] = balanced["items"]
    assert item["service_id"] == sid("followers")
    followers = ServiceModule.objects.get(pk=sid("followers"))
    more = item["quantity"] + followers.step
    quote = post(api, "/quotes", {"service_id": sid("followers"), "quantity": more}).json()
    assert Decimal(quote["total"]) > 1000  # one step more would not fit the budget
    assert Decimal(balanced["total"]) <= 1000


def test_an_english_need_gets_english_plans(api, customer):
    r = post(
        api,
        "/plans",
        {"need": "launch video for my café, 20k plays and some comments, budget ¥300"},
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["understood"]["language"] == "en"
    assert body["understood"]["budget"] == "300.00"
    assert body["plans"][-1]["name"] == "Balanced"
    assert not CJK.search(body["plans"][-1]["explanation"].split(";")[0])
    for plan in body["plans"]:
        for item in plan["items"]:
            # "Video plays × 20,000 (¥…": the count is not followed by the unit again.
            assert re.search(rf"{re.escape(item['name'])} × [\d,]+ \(¥", plan["explanation"])


def test_structured_fields_override_the_text(api, customer):
    r = post(api, "/plans", {"need": "涨粉，预算500元", "budget": 80, "deadline_hours": 72})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["understood"]["budget"] == "80.00"
    assert body["understood"]["deadline_hours"] == 72
    assert all(Decimal(p["total"]) <= 80 for p in body["plans"])


def test_a_video_link_keeps_only_modules_that_take_it(api, customer, sid):
    r = post(api, "/plans", {"need": "播放和涨粉，预算300元", "target": VIDEO_URL})
    assert r.status_code == 200, r.content
    for plan in r.json()["plans"]:
        assert sid("followers") not in {item["service_id"] for item in plan["items"]}


def test_ordering_a_plan_places_one_group_with_one_hold(api, customer, counts):
    plans = post(api, "/plans", {"need": "视频播放和点赞，预算200元", "target": VIDEO_URL}).json()
    plan = plans["plans"][-1]
    before = counts(customer)
    r = post(
        api,
        "/plans/order",
        {
            "items": [
                {"service_id": i["service_id"], "quantity": i["quantity"]} for i in plan["items"]
            ],
            "target": VIDEO_URL,
            "total": plan["total"],
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["total"] == plan["total"]
    group = OrderGroup.objects.get(pk=body["group_id"])
    assert group.kind == "matched_plan"
    orders = Order.objects.filter(group=group)
    assert orders.count() == len(plan["items"]) == len(body["orders"])
    for item in plan["items"]:
        order = orders.get(module_id=item["service_id"])
        assert order.quantity == item["quantity"]
        assert f"{Decimal(order.charge_fen) / 100:.2f}" == item["cost"]
    after = counts(customer)
    total_fen = int(Decimal(plan["total"]) * 100)
    assert before["balance0"] - after["balance0"] == total_fen
    assert after["held0"] - before["held0"] == total_fen
    assert after["entries"] - before["entries"] == 1  # one hold for the whole plan
    assert after["orders"] - before["orders"] == len(plan["items"])


@pytest.mark.parametrize(("deadline", "duration"), [(None, 24), (12, 12), (7.5, 6), (50, 48)])
def test_an_ordered_plan_promotes_within_its_deadline(api, customer, deadline, duration):
    # Orders of a plan "within 12 hours" used to run the channel's default 24-hour promotion.
    need = {"need": "视频播放和点赞，预算200元", "target": VIDEO_URL, "deadline_hours": deadline}
    plans = post(api, "/plans", need).json()
    assert plans["understood"]["deadline_hours"] == deadline
    plan = plans["plans"][0]
    items = [{"service_id": i["service_id"], "quantity": i["quantity"]} for i in plan["items"]]
    order = {"items": items, "target": VIDEO_URL, "total": plan["total"]}
    r = post(api, "/plans/order", {**order, "deadline_hours": deadline})
    assert r.status_code == 201, r.content
    group = r.json()["group_id"]
    orders = Order.objects.filter(group_id=group, module__channel="official_promotion")
    assert orders.exists()
    assert {o.options["duration_hours"] for o in orders} == {duration}


def test_a_bad_deadline_on_an_ordered_plan_is_a_field_error(api, customer, sid, counts):
    before = counts(customer)
    body = {"items": [{"service_id": sid("plays"), "quantity": 1000}], "target": VIDEO_URL}
    r = post(api, "/plans/order", {**body, "deadline_hours": -3}, **EN)
    assert_field_error(r, 400, "deadline_hours", lang="en")
    assert counts(customer) == before


def test_ordering_with_a_stale_total_is_a_conflict_and_writes_nothing(api, customer, sid, counts):
    before = counts(customer)
    r = post(
        api,
        "/plans/order",
        {
            "items": [{"service_id": sid("plays"), "quantity": 1000}],
            "target": VIDEO_URL,
            "total": "1.00",
        },
    )
    assert_field_error(r, 409, "total")
    assert counts(customer) == before


@pytest.mark.parametrize(
    "total", ["NaN", "Infinity", "-inf", "abc", "1e999999", "-1e999999", "9e999998", "1e13"]
)
def test_ordering_with_a_total_that_is_not_an_amount_is_a_field_error(
    api, customer, sid, counts, total
):
    before = counts(customer)
    item = {"service_id": sid("plays"), "quantity": 1000}
    r = post(api, "/plans/order", {"items": [item], "target": VIDEO_URL, "total": total})
    assert_field_error(r, 400, "total")
    assert r.json()["errors"][0]["code"] == "invalid"
    assert counts(customer) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"need": "涨粉，预算1元"}, "budget"),
        ({"need": "涨粉", "budget": 0}, "budget"),
        ({"need": "涨粉", "budget": -5}, "budget"),
        ({"need": "涨粉", "budget": "1e30"}, "budget"),
        ({"need": "涨粉", "budget": "abc"}, "budget"),
        ({"need": "涨粉和播放"}, "budget"),
        ({"need": "涨粉", "budget": 500, "audience": {"regions": ["atlantis"]}}, "audience"),
        ({"need": "涨粉", "budget": 500, "audience": {"planet": "mars"}}, "audience"),
        ({"need": "涨粉", "budget": 500, "audience": {"gender": 1}}, "audience"),
        ({"need": "涨粉", "budget": 500, "audience": {"regions": True}}, "audience"),
        ({"need": "涨粉", "budget": 500, "target": "https://example.com/video/1"}, "target"),
        ({"need": "直播间人气", "budget": 500, "target": ACCOUNT_URL + "x"}, "target"),
        ({"need": "涨粉", "budget": 500, "deadline_hours": -3}, "deadline_hours"),
        ({"need": "涨粉", "budget": [500]}, "budget"),
        ({"need": "涨粉", "budget": 500, "deadline_hours": {"h": 3}}, "deadline_hours"),
        ({"need": "涨粉", "budget": True}, "budget"),
        ({"need": "涨粉", "budget": False}, "budget"),
        ({"need": "涨粉", "budget": 500, "deadline_hours": True}, "deadline_hours"),
    ],
)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bad_plan_requests_are_field_errors_and_write_nothing(
    api, customer, counts, body, field, lang
):
    before = counts(customer)
    headers = EN if lang == "en" else {}
    r = post(api, "/plans", body, **headers)
    assert 400 <= r.status_code < 500
    assert_field_error(r, r.status_code, field, lang=lang)
    assert counts(customer) == before


def test_a_value_of_none_of_the_accepted_types_is_one_error_about_its_field(api, customer):
    # budget takes a number or a numeric string: a list fails every member of that union.
    r = post(api, "/plans", {"need": "涨粉", "budget": [500], "deadline_hours": None}, **EN)
    assert r.status_code == 422
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("budget", "invalid_type")]


@pytest.mark.parametrize(
    ("items", "target", "field"),
    [
        ([], VIDEO_URL, "items"),
        ([{"service_id": 999_999, "quantity": 1000}], VIDEO_URL, "items"),
        ("plays", VIDEO_URL, "items"),
        (None, VIDEO_URL, "items"),
    ],
)
def test_bad_plan_orders_write_nothing(api, customer, counts, items, target, field):
    before = counts(customer)
    r = post(api, "/plans/order", {"items": items, "target": target})
    assert 400 <= r.status_code < 500, r.content
    assert_field_error(r, r.status_code, field)
    assert counts(customer) == before


def test_bad_quantity_or_wrong_link_in_an_ordered_plan_writes_nothing(api, customer, sid, counts):
    before = counts(customer)
    r = post(
        api,
        "/plans/order",
        {"items": [{"service_id": sid("plays"), "quantity": 7}], "target": VIDEO_URL},
        **EN,
    )
    assert_field_error(r, 400, "items", lang="en")
    r = post(
        api,
        "/plans/order",
        {
            "items": [
                {"service_id": sid("plays"), "quantity": 1000},
                {"service_id": sid("followers"), "quantity": 100},
            ],
            "target": VIDEO_URL,
        },
    )
    assert_field_error(r, 400, "target")
    assert counts(customer) == before


def test_an_unfunded_customer_cannot_order_a_plan_and_nothing_is_written(
    api_key_for, seeded, sid, counts
):
    from factories import make_verified_customer

    poor = make_verified_customer()
    fund_customer(poor, 100)  # ¥1
    client = Client(headers={"Authorization": f"Bearer {api_key_for(poor)}"})
    before = counts(poor)
    r = post(
        client,
        "/plans/order",
        {"items": [{"service_id": sid("plays"), "quantity": 1000}], "target": VIDEO_URL},
    )
    assert 400 <= r.status_code < 500
    assert counts(poor) == before
    assert wallet_balances(customer=poor)["available_fen"] == 100


def test_an_unverified_customer_cannot_order_a_plan(api_key_for, seeded, sid, counts):
    stranger = CustomerFactory()
    fund_customer(stranger, 100_000)
    client = Client(headers={"Authorization": f"Bearer {api_key_for(stranger)}"})
    before = counts(stranger)
    r = post(
        client,
        "/plans/order",
        {"items": [{"service_id": sid("plays"), "quantity": 1000}], "target": VIDEO_URL},
    )
    assert 400 <= r.status_code < 500
    assert counts(stranger) == before


def test_plans_need_an_api_key(seeded):
    r = post(Client(), "/plans", {"need": "涨粉，预算500元"})
    assert r.status_code == 401


def test_a_plan_whose_items_take_different_links_is_ordered_with_one_link_per_kind(
    api, customer, sid, counts
):
    items = [
        {"service_id": sid("plays"), "quantity": 1000},
        {"service_id": sid("followers"), "quantity": 100},
    ]
    before = counts(customer)
    # One link cannot be both a video and a profile: each item's link is named by its kind.
    r = post(api, "/plans/order", {"items": items, "target": VIDEO_URL})
    assert_field_error(r, 400, "target")
    r = post(
        api,
        "/plans/order",
        {"items": items, "targets": {"video": VIDEO_URL, "account": VIDEO_URL}},
    )
    error = assert_field_error(r, 400, "targets")
    assert error["field"] == "targets.account"
    assert counts(customer) == before
    r = post(
        api,
        "/plans/order",
        {"items": items, "targets": {"video": VIDEO_URL, "account": ACCOUNT_URL}},
    )
    assert r.status_code == 201, r.content
    orders = {o["service_id"]: o["target"] for o in r.json()["orders"]}
    assert orders == {sid("plays"): VIDEO_URL, sid("followers"): ACCOUNT_URL}


@pytest.mark.parametrize(
    "targets", [{"photo": VIDEO_URL}, ["video", VIDEO_URL], {"video": 7}, "video"]
)
def test_links_by_kind_must_name_a_kind_that_takes_a_link(api, customer, sid, counts, targets):
    before = counts(customer)
    items = [{"service_id": sid("plays"), "quantity": 1000}]
    r = post(api, "/plans/order", {"items": items, "targets": targets})
    assert 400 <= r.status_code < 500, r.content
    assert_field_error(r, r.status_code, "targets")
    assert counts(customer) == before


#: A number no amount, count, duration or date can be (400 digits).
BIG = "1" + "0" * 400


def _strict_json(response) -> dict:
    """Parse an answer as strict JSON: ``Infinity`` or ``NaN`` in it fails the test."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the answer")

    return json.loads(response.content, parse_constant=refuse)


@pytest.mark.parametrize(
    "need", [f"涨粉，每天{BIG}元", f"涨粉，每天20元，做{BIG}天", f"涨粉，预算{BIG}元"]
)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_absurd_amount_in_the_need_is_the_budget_limit_error(api, customer, counts, need, lang):
    # A daily amount or a period this long was a 500 (decimal and float overflow).
    before = counts(customer)
    r = post(api, "/plans", {"need": need}, **(EN if lang == "en" else {}))
    error = assert_field_error(r, 400, "budget", lang=lang)
    assert error["code"] == "too_large"
    assert "10,000,000" in error["message_zh"]
    assert "10,000,000" in error["message_en"]
    assert counts(customer) == before


def test_an_absurd_number_elsewhere_in_the_need_breaks_nothing(api, customer):
    # A date this far was a 500 (no date holds it); a duration this long was Infinity hours.
    r = post(api, "/plans", {"need": f"涨粉，预算500元，{BIG}号前"})
    assert r.status_code == 200, r.content
    understood = _strict_json(r)["understood"]
    assert (understood["budget"], understood["deadline_hours"]) == ("500.00", None)
    r = post(api, "/plans", {"need": f"涨粉，预算500元，{BIG}天内"})
    assert r.status_code == 200, r.content
    assert _strict_json(r)["understood"]["deadline_hours"] > 24 * 366
    # A second, absurd budget is named in the note, not printed with 400 digits (it was a 500).
    r = post(api, "/plans", {"need": f"涨粉，预算500元，预算{BIG}元"})
    assert r.status_code == 200, r.content
    understood = _strict_json(r)["understood"]
    assert understood["budget"] == "500.00"
    [note] = [n for n in understood["notes"] if "¥500.00" in n["message"]]
    assert "¥1,000,000,000,000,000+" in note["message"]


@pytest.mark.parametrize(
    ("need", "budget"),
    [
        ("涨粉，预算1e3元", "1000.00"),
        ("followers, budget 1e3 yuan", "1000.00"),
        ("more views, budget 2.5e4 yuan", "25000.00"),
        ("涨粉，预算1.5e3元", "1500.00"),
    ],
)
def test_a_budget_in_scientific_notation_is_read_as_its_value(api, customer, need, budget):
    # "1e3" was read as ¥1 (the exponent left as text).
    r = post(api, "/plans", {"need": need})
    assert r.status_code == 200, r.content
    assert r.json()["understood"]["budget"] == budget


@pytest.mark.parametrize(
    ("need", "code"),
    [
        ("涨粉，预算1e999元", "too_large"),
        ("followers, budget 1e99999999999999999999 yuan", "too_large"),
        ("涨粉，每天1e999999元", "too_large"),
        ("涨粉，预算1e-3元", "not_positive"),
    ],
)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_absurd_exponent_is_a_budget_field_error(api, customer, counts, need, code, lang):
    before = counts(customer)
    r = post(api, "/plans", {"need": need}, **(EN if lang == "en" else {}))
    assert assert_field_error(r, 400, "budget", lang=lang)["code"] == code
    assert counts(customer) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"need": "涨粉", "budget": True}, "budget"),
        ({"need": "涨粉，预算500元", "deadline_hours": True}, "deadline_hours"),
        ({"need": "涨粉，预算500元", "deadline_hours": False}, "deadline_hours"),
    ],
)
def test_a_boolean_is_no_budget_or_deadline(api, customer, body, field):
    # true was read as ¥1 (then "below the minimum order") or as one hour.
    for headers, lang in (({}, "zh"), (EN, "en")):
        r = post(api, "/plans", body, **headers)
        error = assert_field_error(r, 422, field, lang=lang)
        assert (error["field"], error["code"]) == (field, "number_type")
        assert "true" in error["message_zh"]
        assert error["message_en"] == "Must be a number, not true or false"


def test_a_boolean_is_no_total_or_item_of_an_ordered_plan(api, customer, sid, counts):
    before = counts(customer)
    item = {"service_id": sid("plays"), "quantity": 1000}
    r = post(api, "/plans/order", {"items": [item], "target": VIDEO_URL, "total": True})
    assert assert_field_error(r, 422, "total")["code"] == "number_type"
    for bad in ({"service_id": True}, {"quantity": True}):
        r = post(api, "/plans/order", {"items": [item | bad], "target": VIDEO_URL}, **EN)
        error = assert_field_error(r, 400, "items", lang="en")
        assert error["field"] == f"items.0.{next(iter(bad))}"
    assert counts(customer) == before


@pytest.mark.parametrize(
    ("raw", "field", "code"),
    [
        ('{"need": "涨粉", "budget": 1e999}', "budget", "too_large"),
        ('{"need": "涨粉", "budget": -1e999}', "budget", "not_positive"),
        ('{"need": "涨粉", "budget": "1e999"}', "budget", "too_large"),
        ('{"need": "涨粉", "budget": 500, "deadline_hours": 1e999}', "deadline_hours", "too_large"),
    ],
)
def test_a_json_number_beyond_a_float_is_over_the_limit(api, customer, counts, raw, field, code):
    # JSON 1e999 parses as infinity: it was "not a valid amount" / "not a number of hours".
    before = counts(customer)
    for headers, lang in (({}, "zh"), (EN, "en")):
        r = api.post(V1 + "/plans", data=raw, content_type="application/json", headers=headers)
        assert assert_field_error(r, 400, field, lang=lang)["code"] == code
    assert counts(customer) == before


@pytest.mark.parametrize(
    ("weights", "field", "code"),
    [
        ('{"followers": 1e308}', "goal_weights.followers", "invalid"),
        ('{"followers": 1e308, "plays": 1e308}', "goal_weights.followers", "invalid"),
        ('{"followers": 1e999}', "goal_weights.followers", "invalid"),
        ('{"followers": -1}', "goal_weights.followers", "invalid"),
        ('{"followers": "NaN"}', "goal_weights.followers", "invalid"),
        ('{"followers": "lots"}', "goal_weights.followers", "invalid"),
        ('{"followers": true}', "goal_weights.followers", "invalid"),
        ('{"followers": null}', "goal_weights.followers", "invalid"),
        ('{"followers": [1]}', "goal_weights.followers", "invalid"),
        ('{"fame": 1, "plays": 1}', "goal_weights.fame", "unknown_goal"),
        ('{"followers": 0}', "goal_weights", "all_zero"),
        ("[1, 2]", "goal_weights", "dict_type"),
        ('"followers"', "goal_weights", "dict_type"),
    ],
)
def test_bad_goal_weights_are_errors_on_goal_weights(api, customer, counts, weights, field, code):
    # Two weights of 1e308 overflowed their sum: "no service serves this need" on need.
    raw = '{"need": "涨粉和播放", "budget": 500, "goal_weights": ' + weights + "}"
    before = counts(customer)
    for headers, lang in (({}, "zh"), (EN, "en")):
        r = api.post(V1 + "/plans", data=raw, content_type="application/json", headers=headers)
        assert r.status_code in (400, 422), r.content
        error = assert_field_error(r, r.status_code, "goal_weights", lang=lang)
        assert (error["field"], error["code"]) == (field, code)
    assert counts(customer) == before
    if code == "invalid":
        assert "1,000,000" in error["message_zh"]
        assert error["message_en"] == "A goal weight must be a number from 0 to 1,000,000."
    if code == "unknown_goal":
        assert "fame" in error["message_en"]
        assert "followers" in error["message_en"]


def test_goal_weights_steer_the_plan(api, customer):
    r = post(api, "/plans", {"need": "涨粉和播放", "budget": 500, "goal_weights": {"plays": 1}})
    assert r.status_code == 200, r.content
    assert r.json()["understood"]["intents"] == {"plays": 1.0}


@pytest.mark.parametrize(
    ("need", "named", "passed_over"),
    [
        ("想做一份竞品分析报告，预算2000元", "competitor-report", "account-report"),
        ("a competitor analysis report, budget 2000", "competitor-report", "account-report"),
        ("3条口播视频，预算3000元", "talking-head", "video-edit"),
        ("达人探店，预算5000元", "lbs-store-visit", "lbs-exposure"),
    ],
)
def test_a_need_naming_a_module_is_planned_with_it(api, customer, sid, need, named, passed_over):
    # Planning by kind alone gave the cheaper module of the kind ("竞品分析" got 账号诊断).
    body = post(api, "/plans", {"need": need}).json()
    assert body["understood"]["named_services"] == [sid(named)]
    assert body["plans"]
    for plan in body["plans"]:
        ids = {item["service_id"] for item in plan["items"]}
        assert sid(named) in ids
        assert sid(passed_over) not in ids
    note = next(n for n in body["understood"]["notes"] if n["code"] == "named_services")
    module = ServiceModule.objects.get(pk=sid(named))
    assert module.name_zh in note["message_zh"]
    assert module.name_en in note["message_en"]


def test_a_need_ruling_a_module_out_is_planned_without_it(api, customer, sid):
    body = post(api, "/plans", {"need": "不要竞品分析，要一份账号诊断，预算3000元"}).json()
    assert body["understood"]["excluded_services"] == [sid("competitor-report")]
    for plan in body["plans"]:
        ids = {item["service_id"] for item in plan["items"]}
        assert ids == {sid("account-report")}
    codes = [n["code"] for n in body["understood"]["notes"]]
    assert "excluded_services" in codes


def test_an_operator_phrase_names_its_module_at_once(api, customer, sid):
    need = {"need": "要两条真人讲解视频，预算3000元"}
    before = post(api, "/plans", need).json()
    assert before["understood"]["named_services"] == []
    ServiceModule.objects.filter(code="talking-head").update(match_phrases="真人讲解\ntalk show")
    after = post(api, "/plans", need).json()
    assert after["understood"]["named_services"] == [sid("talking-head")]
    assert after["understood"]["quantities"] == {"content": 2}
    [item] = after["plans"][0]["items"]
    assert (item["service_id"], item["quantity"]) == (sid("talking-head"), 2)


def test_a_module_alone_in_its_kind_is_not_named_by_its_goal(api, customer):
    # "视频播放" is the plays module's name and the goal's word: naming it chooses nothing, and
    # it is not forced into plans that reach the plays asked for better with shares.
    body = post(api, "/plans", {"need": "视频播放量达到10w，预算300块"}).json()
    assert body["understood"]["quantities"] == {"plays": 100_000}
    assert body["understood"]["named_services"] == []
    assert not [n for n in body["understood"]["notes"] if n["code"].startswith("named")]


def _plan_order_body(api) -> dict:
    plan = post(api, "/plans", {"need": "视频播放和点赞，预算200元", "target": VIDEO_URL}).json()
    items = [
        {"service_id": i["service_id"], "quantity": i["quantity"]}
        for i in plan["plans"][-1]["items"]
    ]
    return {"items": items, "target": VIDEO_URL, "total": plan["plans"][-1]["total"]}


def test_retries_of_a_plan_order_with_one_key_place_it_once(api, customer, counts):
    # A client retrying after a timeout used to place the plan (and hold its total) again.
    body = _plan_order_body(api)
    before = counts(customer)
    answers = [post(api, "/plans/order", body, **{"Idempotency-Key": "plan-1"}) for _ in range(3)]
    assert {r.status_code for r in answers} == {201}
    assert len({r.content for r in answers}) == 1
    after = counts(customer)
    total_fen = int(Decimal(body["total"]) * 100)
    assert after["held0"] - before["held0"] == total_fen
    assert after["orders"] - before["orders"] == len(body["items"])
    assert after["idempotency"] - before["idempotency"] == 1
    assert OrderGroup.objects.filter(customer=customer).count() == 1


def test_a_retry_writing_the_total_another_way_is_the_same_plan_order(api, customer, counts):
    # A retry sending the total as a number where the first sent text used to be refused (422).
    body = _plan_order_body(api)
    first = post(api, "/plans/order", body, **{"Idempotency-Key": "plan-4"})
    assert first.status_code == 201, first.content
    before = counts(customer)
    retry = post(
        api, "/plans/order", body | {"total": float(body["total"])}, **{"Idempotency-Key": "plan-4"}
    )
    assert (retry.status_code, retry.content) == (201, first.content)
    assert counts(customer) == before


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_plan_order_key_reused_with_other_items_is_refused(api, customer, counts, lang):
    body = _plan_order_body(api)
    post(api, "/plans/order", body, **{"Idempotency-Key": "plan-2"})
    before = counts(customer)
    other = body | {"items": body["items"][:1], "total": None}
    headers = {"Idempotency-Key": "plan-2", **(EN if lang == "en" else {})}
    r = post(api, "/plans/order", other, **headers)
    error = assert_field_error(r, 422, "Idempotency-Key", lang=lang)
    assert error["code"] == "idempotency_key_reused"
    assert counts(customer) == before


def test_a_key_that_placed_an_order_cannot_place_a_plan(api, customer, sid, counts):
    single = {"service_id": sid("plays"), "target": VIDEO_URL, "quantity": 1_000}
    assert post(api, "/orders", single, **{"Idempotency-Key": "k"}).status_code == 201
    before = counts(customer)
    r = post(api, "/plans/order", _plan_order_body(api), **{"Idempotency-Key": "k"})
    assert_field_error(r, 422, "Idempotency-Key")
    assert counts(customer) == before


def test_a_refused_plan_order_records_no_answer_under_its_key(api, customer, sid, counts):
    body = _plan_order_body(api) | {"target": "https://example.com/not-douyin"}
    before = counts(customer)
    r = post(api, "/plans/order", body, **{"Idempotency-Key": "plan-3"})
    assert_field_error(r, 400, "target")
    assert counts(customer) == before
    # The corrected request under the same key is placed.
    fixed = post(api, "/plans/order", body | {"target": VIDEO_URL}, **{"Idempotency-Key": "plan-3"})
    assert fixed.status_code == 201, fixed.content


def test_a_named_module_is_in_every_plan_beside_the_other_goals(api, customer, sid):
    # The optimiser used to leave the report out: the budget bought more followers without it.
    body = post(api, "/plans", {"need": "竞品分析报告和涨粉，预算500元"}).json()
    assert body["understood"]["named_services"] == [sid("competitor-report")]
    for plan in body["plans"]:
        ids = {item["service_id"] for item in plan["items"]}
        assert ids == {sid("competitor-report"), sid("followers")}
        assert Decimal(plan["total"]) <= 500
    codes = [n["code"] for n in body["understood"]["notes"]]
    assert "named_services" in codes
    assert "named_not_planned" not in codes


@pytest.mark.parametrize(
    ("need", "reason_zh", "reason_en"),
    [
        ("要口播视频，预算300元，还想涨粉", "最低 ¥399.00，超出预算", "over the budget"),
        (
            "要口播视频，还要涨播放，24小时内完成，预算3000元",
            "无法在您要求的24小时内完成",
            "within your 24 h deadline",
        ),
    ],
)
def test_a_named_module_left_out_of_the_plans_is_said_so_with_the_reason(
    api, customer, sid, need, reason_zh, reason_en
):
    # The note used to say the plans used it while none did.
    body = post(api, "/plans", {"need": need}).json()
    codes = {n["code"]: n for n in body["understood"]["notes"]}
    assert "named_services" not in codes
    assert reason_zh in codes["named_not_planned"]["message_zh"]
    assert reason_en in codes["named_not_planned"]["message_en"]
    assert not CJK.search(codes["named_not_planned"]["message_en"])
    named = body["understood"]["named_services"]
    assert not {i["service_id"] for p in body["plans"] for i in p["items"]} & set(named)


def test_named_modules_too_dear_together_are_left_to_the_optimiser(api, customer, sid):
    # Each fits ¥500 alone (¥399 and ¥149), not both: neither is forced, and the note says so.
    body = post(api, "/plans", {"need": "要口播视频和竞品分析报告，预算500元"}).json()
    for plan in body["plans"]:
        assert Decimal(plan["total"]) <= 500
    planned = {i["service_id"] for p in body["plans"] for i in p["items"]}
    [left_out] = {sid("talking-head"), sid("competitor-report")} - planned
    note = next(n for n in body["understood"]["notes"] if n["code"] == "named_not_planned")
    assert "与您点名的其他服务合计超出预算" in note["message_zh"]
    assert ServiceModule.objects.get(pk=left_out).name_zh in note["message_zh"]


def test_two_named_modules_of_one_kind_are_alternatives(api, customer, sid):
    body = post(api, "/plans", {"need": "竞品分析报告和账号诊断报告，预算3000元"}).json()
    named = {sid("competitor-report"), sid("account-report")}
    assert set(body["understood"]["named_services"]) == named
    planned = [{i["service_id"] for i in p["items"]} for p in body["plans"]]
    assert all(len(ids & named) == 1 for ids in planned)
    notes = {n["code"]: n for n in body["understood"]["notes"]}
    assert set(notes) == {"named_same_kind"}
    assert "属于同一类" in notes["named_same_kind"]["message_zh"]
    assert "of one kind" in notes["named_same_kind"]["message_en"]


@pytest.mark.parametrize(
    "need",
    [
        "竞品的播放量都比我高，想涨播放，预算300元",
        "竞争对手都在做抖音，我想涨粉，预算500元",
        "I want more followers than my competitors, budget 500 yuan",
    ],
)
def test_a_module_mentioned_in_passing_is_not_named(api, customer, need):
    understood = post(api, "/plans", {"need": need}).json()["understood"]
    assert understood["named_services"] == []
    assert "report" not in understood["intents"]


def test_a_name_asked_for_after_a_ruled_out_goal_is_named(api, customer, sid):
    # "不要涨粉要竞品分析报告" read the negation across 要 and ruled the report out.
    understood = post(api, "/plans", {"need": "不要涨粉要竞品分析报告，预算2000元"}).json()[
        "understood"
    ]
    assert understood["named_services"] == [sid("competitor-report")]
    assert understood["excluded_services"] == []
    assert set(understood["intents"]) == {"report"}


def test_a_named_module_off_sale_is_not_swapped_for_another(api, customer, sid):
    ServiceModule.objects.filter(code="competitor-report").update(active=False)
    alone = post(api, "/plans", {"need": "想做一份竞品分析报告，预算2000元"})
    error = assert_field_error(alone, 400, "need")
    assert error["code"] == "off_sale"
    assert "竞品分析报告" in error["message_zh"]
    mixed = post(api, "/plans", {"need": "竞品分析报告和涨粉，预算500元"}).json()
    assert "named_off_sale" in [n["code"] for n in mixed["understood"]["notes"]]
    ids = {i["service_id"] for p in mixed["plans"] for i in p["items"]}
    assert ids == {sid("followers")}  # not the account report in its place


def test_private_use_characters_in_a_need_name_nothing(api, customer):
    need = "想涨粉\U000f0000\U000f0010\ue005，预算3000元"
    understood = post(api, "/plans", {"need": need}).json()["understood"]
    assert understood["named_services"] == []
    assert set(understood["intents"]) == {"followers"}


def test_a_module_named_beside_its_off_sale_sibling_is_still_named(api, customer, sid):
    # With its sibling off sale the account report read as "alone in its kind", was not
    # counted as named, and the sibling's dropped kind took it along: a 400.
    ServiceModule.objects.filter(code="competitor-report").update(active=False)
    both = post(api, "/plans", {"need": "要账号诊断报告和竞品分析报告，预算3000元"})
    assert both.status_code == 200, both.content
    body = both.json()
    assert body["understood"]["named_services"] == [sid("account-report")]
    assert all(
        sid("account-report") in {i["service_id"] for i in p["items"]} for p in body["plans"]
    )
    assert "named_off_sale" in [n["code"] for n in body["understood"]["notes"]]
    alone = post(api, "/plans", {"need": "要账号诊断报告，还想涨粉，预算300元"}).json()
    assert alone["understood"]["named_services"] == [sid("account-report")]
    for plan in alone["plans"]:
        assert sid("account-report") in {i["service_id"] for i in plan["items"]}


def test_named_modules_are_alternatives_only_when_each_could_be_planned(api, customer, sid):
    # The competitor report (48 h) misses the deadline: it is not an alternative to the account
    # report, which is planned, and the note says why the other is not.
    need = "竞品分析报告和账号诊断报告，30小时内完成，还要涨粉，预算1000元"
    body = post(api, "/plans", {"need": need}).json()
    for plan in body["plans"]:
        assert sid("account-report") in {i["service_id"] for i in plan["items"]}
    notes = {n["code"]: n for n in body["understood"]["notes"]}
    assert "named_same_kind" not in notes
    assert "账号诊断报告" in notes["named_services"]["message_zh"]
    assert "无法在您要求的30小时内完成" in notes["named_not_planned"]["message_zh"]


def test_a_named_module_that_does_not_take_the_link_is_said_so(api, customer, sid):
    # It used to be dropped without a word.
    need = {"need": "要竞品分析报告和涨播放，预算3000元", "target": VIDEO_URL}
    body = post(api, "/plans", need).json()
    assert sid("competitor-report") not in {
        i["service_id"] for p in body["plans"] for i in p["items"]
    }
    note = next(n for n in body["understood"]["notes"] if n["code"] == "named_not_planned")
    assert "竞品分析报告" in note["message_zh"]
    assert "账号主页链接" in note["message_zh"]
    assert "profile link" in note["message_en"]


def test_a_distance_in_a_need_is_not_planned_as_a_quantity(api, customer):
    r = post(api, "/plans", {"need": "新店开业想让附近3公里的人知道，预算500"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["understood"]["quantities"] == {}
    assert "lbs" in body["understood"]["intents"]
    assert body["plans"]


def test_a_budget_range_is_planned_at_its_upper_end_and_the_answer_says_so(api, customer):
    r = post(api, "/plans", {"need": "预算500-800，涨粉"}, **EN)
    assert r.status_code == 200, r.content
    understood = r.json()["understood"]
    assert understood["budget"] == "800.00"
    [note] = [n for n in understood["notes"] if n["code"] == "budget_range_upper"]
    assert note["message"] == note["message_zh"]  # the need's language, as every note
    assert "¥500.00" in note["message_en"]
    assert "¥800.00" in note["message_en"]


@pytest.mark.parametrize(
    ("need", "asked", "lang"),
    [
        ("预算50，涨粉1万", "10,000", "zh"),
        ("视频播放量达到10w，预算300", "100,000", "zh"),
        ("budget ¥50, 10,000 followers", "10,000", "en"),
    ],
)
def test_a_goal_beyond_the_budget_is_said_so_with_what_it_would_cost(
    api, customer, need, asked, lang
):
    # The plans fell short of the quantity asked without a word.
    r = post(api, "/plans", {"need": need})
    assert r.status_code == 200, r.content
    body = r.json()
    [note] = [n for n in body["understood"]["notes"] if n["code"] == "goal_not_reached"]
    assert bool(CJK.search(note["message"])) == (lang == "zh")
    reached = max(max(p["expected"].values()) for p in body["plans"])
    assert f"{reached:,.0f}" in note["message_zh"]
    assert asked in note["message_zh"]
    assert asked in note["message_en"]
    cost = re.search(r"about ¥([\d,]+\.\d\d)", note["message_en"])
    assert cost is not None
    assert Decimal(cost.group(1).replace(",", "")) > Decimal(body["understood"]["budget"])


def test_a_goal_within_the_budget_draws_no_shortfall_note(api, customer):
    body = post(api, "/plans", {"need": "涨粉1000，预算500元"}).json()
    assert "goal_not_reached" not in {n["code"] for n in body["understood"]["notes"]}
    assert "预计效果满足您要求的数量" in body["plans"][0]["explanation"]


@pytest.mark.parametrize("need", ["涨粉1万 预算不限", "followers 10000 budget unlimited"])
def test_a_goal_without_a_budget_limit_is_planned_at_what_it_costs(api, customer, need):
    r = post(api, "/plans", {"need": need})
    assert r.status_code == 200, r.content
    body = r.json()
    understood = body["understood"]
    assert understood["quantities"] == {"followers": 10000}
    assert understood["budget_source"] == "unlimited"
    budget = Decimal(understood["budget"])
    # The budget is what the goal costs (a margin aside), not the 10,000 followers read as yuan.
    assert budget != Decimal("10000")
    # Every plan reaches the goal, none buys much more: 10,200 followers were bought with the
    # margin the budget had, and 最省钱 kept to 60 % of that.
    for plan in body["plans"]:
        assert 10000 <= plan["expected"]["followers"] < 10100
        assert Decimal(plan["total"]) <= budget
    codes = {n["code"] for n in understood["notes"]}
    assert "budget_unlimited" in codes
    assert "goal_not_reached" not in codes
    [note] = [n for n in understood["notes"] if n["code"] == "budget_unlimited"]
    assert f"¥{budget:,.2f}" in note["message_zh"]
    assert f"¥{budget:,.2f}" in note["message_en"]


def test_a_need_without_a_budget_limit_or_a_quantity_asks_for_a_ceiling(api, customer):
    r = post(api, "/plans", {"need": "涨粉 预算不限"}, **EN)
    error = assert_field_error(r, 400, "budget", lang="en")
    assert error["code"] == "missing"
    assert "ceiling" in error["message_en"]
