"""The v1 OpenAPI document describes the answers the API really gives, field for field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from ninja.responses import NinjaJSONEncoder

from doudesk.ledger import selectors as ledger
from doudesk.ledger.notes import generate_signer
from doudesk.ledger.services import ledger_integrate
from doudesk.ledger.verify import dump_bundle
from doudesk.orders import services
from factories import ACCOUNT_URL, VIDEO_URL

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
PREFIX = "/api/v1"


def _resolve(spec: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]


_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def problems(spec: dict, schema: dict, value: Any, where: str = "$") -> list[str]:
    """Return where ``value`` breaks ``schema`` (the JSON Schema subset pydantic writes).

    Stricter than JSON Schema on objects: one with ``properties`` and no
    ``additionalProperties`` must have exactly those keys, so an undocumented field fails too.
    """
    schema = _resolve(spec, schema)
    if "anyOf" in schema:
        options = [problems(spec, option, value, where) for option in schema["anyOf"]]
        return [] if any(not p for p in options) else [f"{where}: fits no anyOf member"]
    if "const" in schema and value != schema["const"]:
        return [f"{where}: {value!r} is not {schema['const']!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    kind = schema.get("type")
    if kind is None:
        return []  # Any
    if not _TYPES[kind](value):
        return [f"{where}: {value!r} is not {kind}"]
    found: list[str] = []
    if kind == "array":
        for n, item in enumerate(value):
            found += problems(spec, schema.get("items", {}), item, f"{where}[{n}]")
    if kind == "object":
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if props is not None:
            missing = set(schema.get("required", ())) - set(value)
            undocumented = set(value) - set(props) if extra is None else set()
            found += [f"{where}: missing {k}" for k in sorted(missing)]
            found += [f"{where}: undocumented {k}" for k in sorted(undocumented)]
        for key, item in value.items():
            if props is not None and key in props:
                found += problems(spec, props[key], item, f"{where}.{key}")
            elif isinstance(extra, dict):
                found += problems(spec, extra, item, f"{where}.{key}")
    return found


@pytest.fixture
def spec(seeded) -> dict:
    """Return the published OpenAPI document."""
    return Client().get(V1 + "/openapi.json").json()


def check(spec: dict, method: str, path: str, response) -> Any:
    """Assert ``response`` is what the document says ``method path`` answers with its status."""
    operation = spec["paths"][PREFIX + path][method]
    documented = operation["responses"][str(response.status_code)]
    schema = documented["content"]["application/json"]["schema"]
    body = response.json()
    assert problems(spec, schema, body) == [], (method, path, body)
    return body


def post(client: Client, path: str, body: object, **headers: str):
    """POST ``body`` as JSON."""
    return client.post(
        V1 + path, data=json.dumps(body), content_type="application/json", headers=headers
    )


def test_main_answers_validate_against_the_published_schema(api, customer, spec, sid, fake_adapter):
    check(spec, "get", "/services", Client().get(V1 + "/services"))
    check(spec, "get", "/services/{service_id}", Client().get(f"{V1}/services/{sid('plays')}"))
    quote = post(api, "/quotes", {"service_id": sid("plays"), "quantity": 1000})
    assert quote.status_code == 201
    quote_id = check(spec, "post", "/quotes", quote)["id"]

    body = {"service_id": sid("plays"), "target": VIDEO_URL, "quantity": 1000, "quote_id": quote_id}
    placed = post(api, "/orders", body | {"options": {"audience": "auto"}})
    assert placed.status_code == 201
    order = check(spec, "post", "/orders", placed)
    keyed = post(
        api, "/orders", body | {"quantity": 2000, "quote_id": None}, **{"Idempotency-Key": "s"}
    )
    check(spec, "post", "/orders", keyed)
    check(
        spec,
        "post",
        "/orders",
        post(
            api, "/orders", body | {"quantity": 2000, "quote_id": None}, **{"Idempotency-Key": "s"}
        ),
    )
    check(spec, "get", "/orders", api.get(V1 + "/orders"))
    check(spec, "get", "/orders/{order_id}", api.get(f"{V1}/orders/{order['id']}"))
    check(spec, "post", "/orders/{order_id}/cancel", api.post(f"{V1}/orders/{order['id']}/cancel"))
    events = check(
        spec, "get", "/orders/{order_id}/events", api.get(f"{V1}/orders/{order['id']}/events")
    )
    assert None in [e["status"] for e in events]  # null is documented too

    likes = services.order_place(
        customer=customer, service_id=sid("likes"), target=VIDEO_URL, quantity=100
    )
    fake_adapter.deliver_in_full(likes)
    refill = api.post(f"{V1}/orders/{likes.pk}/refill")
    assert refill.status_code == 201
    check(spec, "post", "/orders/{order_id}/refill", refill)
    listed = api.get(f"{V1}/orders/{likes.pk}/refills")
    assert check(spec, "get", "/orders/{order_id}/refills", listed)[0]["status"] == "requested"

    check(spec, "get", "/wallet", api.get(V1 + "/wallet"))
    dashboard = check(spec, "get", "/dashboard", api.get(V1 + "/dashboard"))
    assert dashboard["units_delivered"] == 100  # the likes: per-day services are checked too
    topup = post(api, "/wallet/topups", {"amount": "100"})
    assert topup.status_code == 201
    check(spec, "post", "/wallet/topups", topup)

    created = post(api, "/api-keys", {"name": "ci"})
    assert created.status_code == 201
    key = check(spec, "post", "/api-keys", created)
    check(spec, "get", "/api-keys", api.get(V1 + "/api-keys"))
    check(spec, "delete", "/api-keys/{key_id}", api.delete(f"{V1}/api-keys/{key['id']}"))


@pytest.mark.parametrize(
    "need",
    [
        {"need": "新开的美妆店，想在成都本地涨粉和播放，预算500元，一周内见效"},
        {"need": "每天10元，想涨粉和播放", "deadline_hours": 72},
        {"need": "launch video, 20k plays, budget 300 yuan", "target": VIDEO_URL},
    ],
)
def test_plans_validate_against_the_published_schema(api, customer, spec, need):
    plans = check(spec, "post", "/plans", post(api, "/plans", need))
    plan = plans["plans"][-1]
    items = [{"service_id": i["service_id"], "quantity": i["quantity"]} for i in plan["items"]]
    ordered = post(
        api,
        "/plans/order",
        {"items": items, "targets": {"video": VIDEO_URL, "account": ACCOUNT_URL}},
    )
    assert ordered.status_code == 201, ordered.content
    check(spec, "post", "/plans/order", ordered)


def test_packages_and_growth_plans_validate_against_the_published_schema(api, customer, spec):
    from doudesk.catalog.models import GrowthPlan, Package
    from factories import fund_customer

    fund_customer(customer, 1_000_000)
    check(spec, "get", "/packages", Client().get(V1 + "/packages"))
    check(spec, "get", "/growth-plans", Client().get(V1 + "/growth-plans"))
    starter = Package.objects.get(code="starter").pk
    ordered = post(api, f"/packages/{starter}/orders", {"target": VIDEO_URL})
    assert ordered.status_code == 201, ordered.content
    check(spec, "post", "/packages/{package_id}/orders", ordered)
    plan = GrowthPlan.objects.get().pk
    ordered = post(api, f"/growth-plans/{plan}/orders", {"target": ACCOUNT_URL})
    assert ordered.status_code == 201, ordered.content
    check(spec, "post", "/growth-plans/{plan_id}/orders", ordered)
    refused = post(api, "/packages/999999/orders", {"target": VIDEO_URL})
    assert refused.status_code == 404
    check(spec, "post", "/packages/{package_id}/orders", refused)


def test_refusals_validate_against_the_published_schema(
    api, customer, spec, sid, api_key_for, seeded
):
    from factories import CustomerFactory

    plays = sid("plays")
    order = {"service_id": plays, "target": VIDEO_URL, "quantity": 1000}
    seen = set()

    def refused(method: str, path: str, response, status: int) -> None:
        assert response.status_code == status, response.content
        body = check(spec, method, path, response)
        assert body["detail"] == body["errors"][0]["message"]
        seen.add(status)

    refused("get", "/orders", Client().get(V1 + "/orders"), 401)
    refused("get", "/dashboard", Client().get(V1 + "/dashboard"), 401)
    malformed = api.post(V1 + "/orders", data="{", content_type="application/json")
    refused("post", "/orders", malformed, 400)
    refused("post", "/orders", post(api, "/orders", {"target": VIDEO_URL}), 422)
    refused("post", "/orders", post(api, "/orders", order | {"target": "https://x.cn/1"}), 400)
    refused("get", "/orders/{order_id}", api.get(f"{V1}/orders/99999999"), 404)
    refused("post", "/orders", post(api, "/orders", order | {"quantity": 1_000_000}), 402)
    quote = post(api, "/quotes", {"service_id": plays, "quantity": 1000}).json()["id"]
    assert post(api, "/orders", order | {"quote_id": quote}).status_code == 201
    refused("post", "/orders", post(api, "/orders", order | {"quote_id": quote}), 409)
    stranger = Client(headers={"Authorization": f"Bearer {api_key_for(CustomerFactory())}"})
    refused("post", "/orders", post(stranger, "/orders", order), 403)
    assert seen == {400, 401, 402, 403, 404, 409, 422}
    # Every route documents the error shape for a malformed request and an unexpected fault.
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert {"422", "500"} <= set(operation["responses"]), (method, path)


def rendered(data: object) -> bytes:
    """Return the bytes the API writes for ``data`` with no response schema in between."""
    return json.dumps(data, cls=NinjaJSONEncoder).encode()


@pytest.fixture
def ledger_key(settings) -> str:
    """Sign the log with a throw-away key; return its verifier key."""
    signer = generate_signer("doudesk.test/ledger")
    settings.LEDGER_ORIGIN = "doudesk.test/ledger"
    settings.LEDGER_SIGNER_KEY = signer.signer_key
    return signer.verifier_key


def test_ledger_answers_validate_against_the_published_schema_and_keep_their_bytes(
    api, customer, other_customer, api_key_for, spec, sid, ledger_key, monkeypatch
):
    log, as_json = Client(), {"Accept": "application/json"}

    def refused(path: str, response, status: int) -> None:
        assert response.status_code == status, (path, response.content)
        body = check(spec, "get", path, response)
        assert body["detail"] == body["errors"][0]["message"]

    def answered(path: str, response, expected: bytes) -> dict:
        assert response.status_code == 200, (path, response.content)
        assert response["Content-Type"] == "application/json; charset=utf-8"
        assert response.content == expected  # the schema changed nothing, not even key order
        return check(spec, "get", path, response)

    orders = [
        services.order_place(customer=customer, service_id=sid(code), target=url, quantity=1000)
        for code, url in [("plays", VIDEO_URL), ("likes", VIDEO_URL), ("plays", VIDEO_URL)]
    ]
    order = orders[0]
    evidence = f"{V1}/orders/{order.pk}/evidence"
    refused("/ledger/checkpoint", log.get(V1 + "/ledger/checkpoint", headers=as_json), 404)
    refused("/ledger/entries", log.get(V1 + "/ledger/entries", {"start": 0}), 400)
    refused("/orders/{order_id}/evidence", api.get(evidence), 409)
    ledger_integrate()
    checkpoint = ledger.ledger_checkpoint_get()
    size = checkpoint.size
    assert size >= 3

    # The signed note and the key stay text/plain by default; JSON is asked for.
    text = log.get(V1 + "/ledger/checkpoint")
    assert (text.status_code, text["Content-Type"]) == (200, "text/plain; charset=utf-8")
    assert text.content == checkpoint.note.encode()
    assert log.get(V1 + "/ledger/checkpoint", headers={"Accept": "*/*"}).content == text.content
    body = answered(
        "/ledger/checkpoint",
        log.get(V1 + "/ledger/checkpoint", headers=as_json),
        rendered(ledger.ledger_checkpoint_dict(checkpoint)),
    )
    assert list(body) == ["tree_size", "root_hash", "note"]
    key = log.get(V1 + "/ledger/public-key")
    assert (key.status_code, key["Content-Type"]) == (200, "text/plain; charset=utf-8")
    assert key.content == f"{ledger_key}\n".encode()
    answered(
        "/ledger/public-key",
        log.get(V1 + "/ledger/public-key", headers=as_json),
        rendered({"public_key": ledger_key}),
    )
    for path in ("/ledger/checkpoint", "/ledger/public-key"):
        content = spec["paths"][PREFIX + path]["get"]["responses"]["200"]["content"]
        assert content["text/plain"] == {"schema": {"type": "string"}}

    entries = answered(
        "/ledger/entries",
        log.get(V1 + "/ledger/entries", {"start": 0}),
        rendered({"entries": ledger.ledger_entries(start=0)}),
    )
    assert [e["index"] for e in entries["entries"]] == list(range(size))
    refused("/ledger/entries", log.get(V1 + "/ledger/entries", {"start": size}), 400)
    refused("/ledger/entries", log.get(V1 + "/ledger/entries", {"start": "x"}), 422)
    answered(
        "/ledger/proof/inclusion",
        log.get(V1 + "/ledger/proof/inclusion", {"index": 1}),
        rendered(ledger.ledger_inclusion(index=1)),
    )
    refused(
        "/ledger/proof/inclusion", log.get(V1 + "/ledger/proof/inclusion", {"index": size}), 400
    )
    answered(
        "/ledger/proof/consistency",
        log.get(V1 + "/ledger/proof/consistency", {"first": 1}),
        rendered(ledger.ledger_consistency(first=1)),
    )
    too_far = log.get(V1 + "/ledger/proof/consistency", {"first": 2, "second": 1})
    refused("/ledger/proof/consistency", too_far, 400)

    # The bundle is dump_bundle's text, byte for byte, and fits the documented schema.
    bundle = api.get(evidence)
    assert bundle.status_code == 200
    assert bundle["Content-Type"] == "application/json; charset=utf-8"
    assert bundle.content == dump_bundle(ledger.ledger_evidence(order=order)).encode()
    assert check(spec, "get", "/orders/{order_id}/evidence", bundle)["entries"]
    stranger = Client(headers={"Authorization": f"Bearer {api_key_for(other_customer)}"})
    refused("/orders/{order_id}/evidence", stranger.get(evidence), 404)
    refused("/orders/{order_id}/evidence", Client().get(evidence), 401)

    # A fault reading the key answers the documented error shape too.
    def broken() -> str:
        raise RuntimeError("no key")

    monkeypatch.setattr(ledger, "ledger_public_key", broken)
    refused("/ledger/public-key", log.get(V1 + "/ledger/public-key", headers=as_json), 500)


def test_price_history_validates_against_the_published_schema_and_keeps_its_bytes(spec, sid):
    from doudesk.catalog.models import ServiceModule
    from doudesk.pricing.models import PriceChange
    from doudesk.pricing.selectors import price_history_dict
    from doudesk.pricing.services import pricing_publish_all

    pricing_publish_all()
    module = ServiceModule.objects.get(pk=sid("plays"))
    # A publication that found no price: its rates are null.
    PriceChange.objects.create(
        module=module,
        at=timezone.now(),
        old_price=None,
        new_price=None,
        changed=False,
        code="unavailable",
        reason_zh="暂无可用供应商",
        reason_en="No provider available",
    )
    path = "/services/{service_id}/price-history"
    response = Client().get(f"{V1}/services/{module.pk}/price-history")
    assert response.status_code == 200
    assert response.content == rendered(price_history_dict(module=module))
    body = check(spec, "get", path, response)
    assert None in [p["unit_rate"] for p in body["points"]]  # null is documented too
    assert body["tiers"]
    unknown = Client().get(f"{V1}/services/99999999/price-history")
    assert unknown.status_code == 404
    check(spec, "get", path, unknown)


def test_the_checker_catches_an_undocumented_or_missing_field(spec):
    schema = {"$ref": "#/components/schemas/QuoteOut"}
    quote = {
        "id": "q_1",
        "service_id": 1,
        "quantity": 1000,
        "unit_rate": "16",
        "total": "16.00",
        "currency": "CNY",
        "expires_at": "2025-01-01T00:00:00+00:00",
    }
    assert problems(spec, schema, quote) == []
    assert problems(spec, schema, quote | {"extra": 1}) == ["$: undocumented extra"]
    assert problems(spec, schema, {k: v for k, v in quote.items() if k != "total"}) == [
        "$: missing total"
    ]
    assert problems(spec, schema, quote | {"quantity": "1000"}) == [
        "$.quantity: '1000' is not integer"
    ]


def test_the_schema_lists_the_fields_of_each_main_answer(spec):
    def fields(path: str, method: str, status: str = "200") -> set[str]:
        operation = spec["paths"][PREFIX + path][method]
        schema = _resolve(
            spec, operation["responses"][status]["content"]["application/json"]["schema"]
        )
        if schema.get("type") == "array":
            schema = _resolve(spec, schema["items"])
        return set(schema["properties"])

    order = {"id", "service_id", "target", "quantity", "status", "charge", "held", "refunded"}
    assert order <= fields("/orders", "post", "201")
    assert order <= fields("/orders/{order_id}", "get")
    assert fields("/orders", "get") == {"count", "results"}
    assert fields("/quotes", "post", "201") == {
        "id",
        "service_id",
        "quantity",
        "unit_rate",
        "total",
        "currency",
        "expires_at",
    }
    assert fields("/wallet", "get") == {"balance", "held", "currency", "journal"}
    assert {"pipeline", "finished", "charged", "refunded", "spent", "currency"} <= fields(
        "/dashboard", "get"
    )
    assert {"under_way", "units_delivered", "services", "days"} <= fields("/dashboard", "get")
    assert fields("/plans", "post") == {"understood", "plans"}
    assert {"rate", "min", "max", "step"} <= fields("/services", "get")
    assert fields("/orders/{order_id}/events", "get") == {"kind", "status", "data", "at"}
    refill = {"refill", "order", "status", "created_at"}
    assert fields("/orders/{order_id}/refills", "get") == refill
