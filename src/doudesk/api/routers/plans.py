"""Intelligent matching: plan a need (``POST /plans``) and order a plan (``POST /plans/order``).

Ordering is stateless: send back the chosen plan's ``items`` (``service_id`` + ``quantity``), the
``target`` link (or ``targets``, one link per kind, for items that take different kinds: each
plan item names its ``target_kind``) and, to be sure the price has not moved, the ``total`` the
plan showed, and the plan's ``deadline_hours`` so its promotions end within it, and its
``live_starts_at`` so its live-room items start with the stream; the plan becomes a group of
orders placed in one transaction with one hold of its total.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Header, Router, Schema, Status
from pydantic import Field

from doudesk.api.auth import AUTH
from doudesk.api.schemas import PlanOrderOut, PlansOut, answers
from doudesk.api.serializers import group_dict
from doudesk.api.types import NumberOrText
from doudesk.matching import services

router = Router(tags=["plans"], auth=AUTH)


#: A live start is checked by the service (field errors in Chinese and English), so any JSON
#: value reaches it; the schema documents what it takes.
LIVE_START_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
    "description": "When the live stream starts (ISO 8601; without a zone, Beijing time); "
    "overrides a start written in the need",
}


class PlanIn(Schema):
    need: str = ""
    budget: NumberOrText = None
    deadline_hours: NumberOrText = None
    target: str | None = None
    audience: dict[str, Any] | None = None
    goal_weights: dict[str, Any] | None = None
    language: str | None = None
    live_starts_at: Any = Field(None, json_schema_extra=LIVE_START_SCHEMA)


class PlanItemIn(Schema):
    service_id: Any = None
    quantity: Any = None


class PlanOrderIn(Schema):
    items: list[PlanItemIn] | None = None
    plan: list[PlanItemIn] | None = None
    target: str = ""
    targets: dict[str, Any] | None = None
    audience: dict[str, Any] | None = None
    total: NumberOrText = None
    deadline_hours: NumberOrText = None
    live_starts_at: Any = Field(None, json_schema_extra=LIVE_START_SCHEMA)


@router.post("/plans", response=answers(PlansOut, 400, 401))
def plans_create(request: HttpRequest, payload: PlanIn) -> dict[str, Any]:
    """Read a need (Chinese or English) and answer up to three optimal plans; writes nothing."""
    return services.plan_need(**payload.dict())


@router.post(
    "/plans/order",
    response=answers({201: PlanOrderOut}, 400, 401, 402, 403, 404, 409, 422),
)
def plans_order(
    request: HttpRequest,
    payload: PlanOrderIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status[dict[str, Any]]:
    """Order a plan's items as one group: one transaction, funds held once for the total.

    With ``Idempotency-Key``, a retry gets the first answer unchanged; the key with other
    parameters is refused (422).
    """
    raw = payload.items if payload.items is not None else payload.plan
    params = {
        "items": None if raw is None else [item.dict() for item in raw],
        "target": payload.target,
        "targets": payload.targets,
        "audience": payload.audience,
        "total": payload.total,
        "deadline_hours": payload.deadline_hours,
    }
    if payload.live_starts_at is not None:
        # Only when given: a retry of a request made before the field existed is the same one.
        params["live_starts_at"] = payload.live_starts_at
    if idempotency_key is not None:
        return Status(
            *services.plan_order_idempotent(
                customer=request.auth,
                idempotency_key=idempotency_key,
                params=params,
                render=group_dict,
            )
        )
    return Status(201, group_dict(services.plan_order(customer=request.auth, **params)))
