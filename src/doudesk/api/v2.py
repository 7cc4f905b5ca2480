"""``/api/v2``: the SMM-panel reseller convention (form POST with ``key`` and ``action``).

Answers keep the convention's exact shapes and field names, amounts in CNY; every failure is
``{"error": "..."}`` with HTTP 200, as existing reseller clients expect.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import get_language
from django.views.decorators.csrf import csrf_exempt

from doudesk.accounts.models import Customer
from doudesk.accounts.services import api_key_authenticate
from doudesk.api.errors import unstorable_text_error
from doudesk.catalog.error_codes import CatalogErrorCode
from doudesk.catalog.selectors import module_list
from doudesk.errors import DomainError
from doudesk.orders import selectors, services
from doudesk.orders.models import Order, OrderStatus, RefillStatus
from doudesk.pricing.selectors import module_rates_today
from doudesk.textinput import (
    MAX_JSON_DEPTH,
    ascii_id,
    ascii_int,
    json_depth,
    unstorable_text,
)
from doudesk.wallet.error_codes import WalletErrorCode
from doudesk.wallet.money import rate_str, yuan_str
from doudesk.wallet.selectors import wallet_balances

logger = logging.getLogger(__name__)

MAX_IDS = 100
INCORRECT_ORDER_ID = "Incorrect order ID"
STATUS_WORDS = {
    OrderStatus.PENDING: "Pending",
    OrderStatus.IN_PROGRESS: "In progress",
    OrderStatus.PROCESSING: "Processing",
    OrderStatus.COMPLETED: "Completed",
    OrderStatus.PARTIAL: "Partial",
    OrderStatus.CANCELED: "Canceled",
}

REFILL_NOT_FOUND = "Refill not found"  # the convention's words for an unknown refill id
REFILL_WORDS = {
    RefillStatus.REQUESTED: "Pending",
    RefillStatus.SENT: "Pending",
    RefillStatus.IN_PROGRESS: "In progress",
    RefillStatus.COMPLETED: "Completed",
    RefillStatus.REJECTED: "Rejected",
    RefillStatus.ERROR: "Error",
}


def _error(message: str) -> JsonResponse:
    return JsonResponse({"error": message})


#: The convention's parameter names for the fields the services name (errors name them so).
V2_FIELDS = {"service_id": "service", "target": "link"}


#: Refusals reseller panels recognise by the convention's exact words, in any language.
CONVENTION_WORDS = {WalletErrorCode.INSUFFICIENT_BALANCE: "Not enough funds on balance"}


def _domain_message(exc: DomainError) -> str:
    lang = get_language() or "zh-hans"
    for error in exc.errors:
        if error.code in CONVENTION_WORDS:
            return CONVENTION_WORDS[error.code]
    return "; ".join(f"{V2_FIELDS.get(e.field, e.field)}: {e.message(lang)}" for e in exc.errors)


def _status_dict(order: Order) -> dict[str, str]:
    remains = order.quantity - order.delivered if order.remains is None else order.remains
    return {
        "charge": yuan_str(order.paid_fen),
        "start_count": str(order.start_count if order.start_count is not None else 0),
        "status": STATUS_WORDS[order.status],
        "remains": str(remains),
        "currency": "CNY",
    }


def _parse_ids(raw: str, field: str) -> list[str]:
    """Split a comma-separated id list; more than :data:`MAX_IDS` ids refuse the whole request."""
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    if len(ids) > MAX_IDS:
        raise DomainError.single(
            field,
            "too_many_ids",
            f"一次最多 {MAX_IDS} 个编号（收到 {len(ids):,} 个）",
            f"At most {MAX_IDS} ids per request ({len(ids):,} given)",
        )
    return ids


def _id_echo(raw: str) -> int | str:
    """Return an id as answers repeat it: the number when it is one (0 included), else the text."""
    pk = ascii_id(raw)
    return raw if pk is None else pk


def _services(customer: Customer, data: dict[str, str]) -> Any:
    modules = module_list()
    rates = module_rates_today(modules=modules)
    return [
        {
            "service": m.pk,
            "name": m.name,
            "type": "Default",
            "category": m.category.name,
            "rate": rate_str(rates[m.pk]),
            "min": str(m.min_quantity),
            "max": str(m.max_quantity),
            "refill": m.refill_allowed,
            "cancel": m.cancel_allowed,
            "dripfeed": False,  # panels send runs/interval only to services that say true
        }
        for m in modules
    ]


#: ``add`` fields of the convention for what no DouDesk service does: drip-feed (``runs``,
#: ``interval``), custom comments and the like. Ignored, they would place a different order
#: than the reseller's customer bought (100 units for 10 runs of 100), so they are refused.
UNSUPPORTED_ADD_FIELDS = (
    "runs", "interval", "comments", "usernames", "username", "hashtags", "hashtag", "keywords",
    "media", "answer_number", "groups", "posts", "old_posts", "delay", "expiry",
)  # fmt: skip


def _add(customer: Customer, data: dict[str, str]) -> Any:
    quantity_raw = data.get("quantity", "").strip()
    as_int = ascii_int(quantity_raw, signed=True)
    quantity: Any = quantity_raw if as_int is None else as_int
    if "service" not in data:
        raise DomainError.single("service", "missing", "缺少 service 参数", "Missing service")
    asked = [name for name in UNSUPPORTED_ADD_FIELDS if data.get(name, "").strip()]
    if asked:
        raise DomainError.single(
            asked[0],
            "unsupported",
            "该服务不支持此参数（不支持分批投放或自定义内容）",
            "not available for this service (no drip-feed or custom content)",
        )
    service_id = ascii_id(data["service"].strip())
    if service_id is None:  # "٣" or "+1" would otherwise read as a service id
        raise DomainError.single(
            "service", CatalogErrorCode.UNKNOWN_SERVICE, "服务不存在或已下架",
            "Unknown or unavailable service",
        )  # fmt: skip
    options = _options(data["options"]) if data.get("options") else None
    order = services.order_place(
        customer=customer,
        service_id=service_id,
        target=data.get("link", ""),
        quantity=quantity,
        options=options,
    )
    return {"order": order.pk}


def _options(raw: str) -> Any:
    """Read the ``options`` field: JSON, not nested too deeply, holding storable text only."""
    try:
        options = json.loads(raw)
        readable = json_depth(options) <= MAX_JSON_DEPTH
    except (ValueError, RecursionError):
        readable = False
    if not readable:
        raise DomainError.single(
            "options",
            "invalid_json",
            f"options 须为 JSON（嵌套不超过 {MAX_JSON_DEPTH} 层）",
            f"options must be JSON (nested at most {MAX_JSON_DEPTH} levels)",
        )
    found = unstorable_text(options, "options")
    if found is not None:
        raise DomainError(unstorable_text_error(*found))
    return options


def _status(customer: Customer, data: dict[str, str]) -> Any:
    if "orders" in data:
        ids = _parse_ids(data["orders"], "orders")
        if not ids:
            return {"error": INCORRECT_ORDER_ID}
        found = selectors.orders_by_ids(
            customer=customer, ids=[i for i in map(ascii_id, ids) if i is not None]
        )
        answer: dict[str, Any] = {}
        for raw in ids:
            pk = ascii_id(raw)
            order = found.get(pk) if pk is not None else None
            answer[raw] = _status_dict(order) if order else {"error": INCORRECT_ORDER_ID}
        return answer
    pk = ascii_id(data.get("order", "").strip())
    order = selectors.orders_by_ids(customer=customer, ids=[pk]).get(pk) if pk else None
    if order is None:
        return {"error": INCORRECT_ORDER_ID}
    return _status_dict(order)


def _balance(customer: Customer, data: dict[str, str]) -> Any:
    return {
        "balance": yuan_str(wallet_balances(customer=customer)["available_fen"]),
        "currency": "CNY",
    }


def _cancel_one(customer: Customer, raw: str) -> Any:
    pk = ascii_id(raw)
    if pk is None:
        return {"error": INCORRECT_ORDER_ID}
    try:
        services.order_cancel(customer=customer, order_id=pk)
    except DomainError as exc:
        if exc.status == 404:
            return {"error": INCORRECT_ORDER_ID}
        return {"error": _domain_message(exc)}
    return 1


def _cancel(customer: Customer, data: dict[str, str]) -> Any:
    ids = _parse_ids(data.get("orders") or data.get("order", ""), "orders")
    if not ids:
        return {"error": INCORRECT_ORDER_ID}
    return [{"order": _id_echo(raw), "cancel": _cancel_one(customer, raw)} for raw in ids]


def _refill_one(customer: Customer, raw: str) -> Any:
    pk = ascii_id(raw)
    if pk is None:
        return {"error": INCORRECT_ORDER_ID}
    try:
        return services.order_refill(customer=customer, order_id=pk).pk
    except DomainError as exc:
        if exc.status == 404:
            return {"error": INCORRECT_ORDER_ID}
        return {"error": _domain_message(exc)}


def _refill(customer: Customer, data: dict[str, str]) -> Any:
    if "orders" in data:
        ids = _parse_ids(data["orders"], "orders")
        if not ids:
            return {"error": INCORRECT_ORDER_ID}
        return [{"order": _id_echo(raw), "refill": _refill_one(customer, raw)} for raw in ids]
    result = _refill_one(customer, data.get("order", "").strip())
    return result if isinstance(result, dict) else {"refill": str(result)}


def _refill_status(customer: Customer, data: dict[str, str]) -> Any:
    if "refills" in data:
        ids = _parse_ids(data["refills"], "refills")
        if not ids:
            return {"error": REFILL_NOT_FOUND}
        found = selectors.refills_by_ids(
            customer=customer, ids=[i for i in map(ascii_id, ids) if i is not None]
        )
        answer = []
        for raw in ids:
            pk = ascii_id(raw)
            refill = found.get(pk) if pk is not None else None
            status = REFILL_WORDS[refill.status] if refill else {"error": REFILL_NOT_FOUND}
            answer.append({"refill": _id_echo(raw), "status": status})
        return answer
    pk = ascii_id(data.get("refill", "").strip())
    refill = selectors.refills_by_ids(customer=customer, ids=[pk]).get(pk) if pk else None
    if refill is None:
        return {"error": REFILL_NOT_FOUND}
    return {"status": REFILL_WORDS[refill.status]}


ACTIONS: dict[str, Callable[[Customer, dict[str, str]], Any]] = {
    "services": _services,
    "add": _add,
    "status": _status,
    "balance": _balance,
    "cancel": _cancel,
    "refill": _refill,
    "refill_status": _refill_status,
}


def _json_params(body: bytes) -> dict[str, str] | None:
    """Read a JSON object body as the form fields it stands for (None if it is no object).

    Some reseller panels send the convention's fields as JSON: numbers become their text, and a
    list (``"orders": [1, 2]``) the comma-separated text the form would carry.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None

    def as_text(value: object) -> str:
        if value is None:
            return ""  # as an empty form field: nothing asked
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return ",".join(as_text(item) for item in value)
        return json.dumps(value)

    return {str(key): as_text(value) for key, value in data.items()}


@csrf_exempt
def api_v2(request: HttpRequest) -> JsonResponse:
    """Dispatch one reseller action (form POST: a key in a URL ends up in logs and history)."""
    if request.method != "POST":
        return _error("Incorrect request: use POST")
    if request.content_type == "application/json":
        data = _json_params(request.body)
        if data is None:
            return _error("Incorrect request: send a form or a JSON object")
    else:
        data = dict(request.POST.items())
        for name in UNSUPPORTED_ADD_FIELDS:  # given twice ("runs=2&runs="), any value asks
            asked = [value for value in request.POST.getlist(name) if value.strip()]
            if asked:
                data[name] = asked[0]
    customer = api_key_authenticate(data.get("key", ""))
    if customer is None:
        return _error("Invalid API key")
    action = ACTIONS.get(data.get("action", ""))
    if action is None:
        return _error("Incorrect request")
    try:
        answer = action(customer, data)
    except DomainError as exc:
        return _error(_domain_message(exc))
    except Exception:
        # A bug, not a refusal: logged with its traceback; the reseller still gets the shape.
        logger.exception("unhandled error in /api/v2 action %s", data.get("action"))
        return _error("Internal error")
    return JsonResponse(answer, safe=False)
