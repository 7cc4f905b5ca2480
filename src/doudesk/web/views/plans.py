"""智能方案: a need in plain words becomes up to three plans, each ordered in one click."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from doudesk.accounts.services import customer_is_verified
from doudesk.errors import DomainError, FieldError
from doudesk.languages import english_active
from doudesk.matching import services
from doudesk.matching.lexicon import get_lexicon
from doudesk.matching.services import LINK_KINDS
from doudesk.matching.understand import live_start_label
from doudesk.textinput import MAX_JSON_DEPTH, json_depth
from doudesk.web.views.common import customer_required, field_errors

FIELDS = ("need", "budget", "deadline_hours", "target", "live_starts_at")
_UNREADABLE = object()


def _display(
    plan: dict[str, Any], target: str, audience: dict[str, Any] | None, links: dict[str, str]
) -> dict[str, Any]:
    """Add what the page shows next to the API shape: outcome labels and the order payload."""
    labels = get_lexicon().intent_labels
    en = english_active()
    items = [{"service_id": i["service_id"], "quantity": i["quantity"]} for i in plan["items"]]
    kinds = {i["target_kind"] for i in plan["items"]}
    outcomes = [(labels[k][1] if en else labels[k][0], v) for k, v in plan["expected"].items()]
    return {
        **plan,
        # "followers 1,540, plays 20,000" / "涨粉 1,540，播放 20,000" (below 10 one decimal: "0.4")
        "outcomes_text": (", " if en else "，").join(
            f"{label} {v:,}" if isinstance(v, int) else f"{label} {v:,g}" for label, v in outcomes
        ),
        "items_json": json.dumps(items),
        # One link field per kind of link the plan's items take (video, account, live), with
        # what the customer typed there last, else the need's link.
        "link_fields": [(k, links.get(k) or target) for k in LINK_KINDS if k in kinds],
        "audience_json": json.dumps(audience) if audience else "",
        "target": target,
    }


def _typed_links(request: HttpRequest) -> dict[str, str]:
    return {k: request.POST.get(f"target_{k}", "").strip() for k in LINK_KINDS}


def _plan(request: HttpRequest, values: dict[str, str]) -> dict[str, Any]:
    answer = services.plan_need(
        need=values.get("need", ""),
        budget=values.get("budget") or None,
        deadline_hours=values.get("deadline_hours") or None,
        target=values.get("target") or None,
        language="en" if english_active() else "zh",  # the page's language, whatever the need's
        live_starts_at=values.get("live_starts_at") or None,
    )
    target = values.get("target", "")
    understood = answer["understood"]
    # The audience the need asked for travels with the plan into its orders' targeting.
    audience = understood["audience"] if any(understood["audience"].values()) else None
    links = _typed_links(request)
    live_at = understood["live_starts_at"]
    return {
        "understood": understood,
        "live_start": live_at
        and live_start_label(datetime.fromisoformat(live_at), "en" if english_active() else "zh"),
        "plans": [_display(p, target, audience, links) for p in answer["plans"]],
    }


def _json(raw: str, field: str) -> Any:
    """Read the plan's JSON a form carries; anything unreadable or too deep is a field error."""
    try:
        value = json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        value = _UNREADABLE
    if value is _UNREADABLE or json_depth(value) > MAX_JSON_DEPTH:
        raise DomainError(
            FieldError(field, "invalid", "方案数据无效，请重新生成", "Invalid plan; plan again")
        )
    return value


@customer_required
def plans(request: HttpRequest) -> HttpResponse:
    """Show the 智能方案 page: type a need, compare the plans, order one."""
    customer = request.customer  # type: ignore[attr-defined]
    source = request.POST if request.method == "POST" else request.GET
    values = {k: source.get(k, "") for k in FIELDS}
    context: dict[str, Any] = {"values": values, "verified": customer_is_verified(customer)}
    status = 200
    if request.method == "POST" and request.POST.get("action") == "order":
        try:
            services.plan_order(
                customer=customer,
                items=_json(request.POST.get("items", ""), "items"),
                target=request.POST.get("plan_target", ""),
                targets=_typed_links(request),
                audience=_json(request.POST.get("audience", ""), "audience"),
                total=request.POST.get("total") or None,
                deadline_hours=request.POST.get("plan_deadline_hours") or None,
                live_starts_at=request.POST.get("plan_live_starts_at") or None,
            )
        except DomainError as exc:
            by_field = field_errors(exc)
            context["order_errors"] = [m for ms in by_field.values() for m in ms]
            context["needs_topup"] = "balance" in by_field
            status = 400
        else:
            return redirect("web:orders")
    if request.method == "POST" or values["need"].strip():
        try:
            context.update(_plan(request, values))
        except DomainError as exc:
            context["errors"] = field_errors(exc)
            status = 400
    if status != 200 and request.headers.get("HX-Request"):
        status = 200  # htmx swaps only successful answers; the errors are in the page
    return render(request, "web/plans.html", context, status=status)
