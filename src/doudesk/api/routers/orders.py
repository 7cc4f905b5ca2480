"""Orders: place (with Idempotency-Key), list, get, cancel, refill and its status."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest
from django.urls import reverse
from ninja import Header, Router, Schema, Status

from doudesk.api.auth import AUTH
from doudesk.api.schemas import (
    DeliverableOut,
    OrderEventOut,
    OrderListOut,
    OrderOut,
    RefillOut,
    RefillStatusOut,
    answers,
)
from doudesk.api.serializers import order_dict
from doudesk.api.types import Int, Limit, Offset
from doudesk.orders import selectors, services
from doudesk.orders.deliverables import deliverable_get, deliverable_response, order_deliverables
from doudesk.orders.transitions import customer_event_data

router = Router(tags=["orders"], auth=AUTH)


class OrderIn(Schema):
    service_id: Int
    target: str = ""
    quantity: Int
    quote_id: str | None = None
    options: dict[str, Any] | None = None


@router.post(
    "/orders",
    response=answers({200: OrderOut, 201: OrderOut}, 400, 401, 402, 403, 404, 409),
)
def orders_create(
    request: HttpRequest,
    payload: OrderIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status[dict[str, Any]]:
    """Place an order; funds are held at once and released to delivery or refunded."""
    params = payload.dict()
    if idempotency_key is not None:
        return Status(
            *services.order_place_idempotent(
                customer=request.auth,
                idempotency_key=idempotency_key,
                params=params,
                render=order_dict,
            )
        )
    return Status(201, order_dict(services.order_place(customer=request.auth, **params)))


@router.get("/orders", response=answers(OrderListOut, 400, 401))
def orders_list(
    request: HttpRequest, status: str | None = None, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    """Return the caller's orders, newest first (``limit`` 1-200; past the end, none)."""
    qs = selectors.order_list(customer=request.auth, status=status)
    count = qs.count()
    offset = min(offset, count)  # past the end: no results (and no huge OFFSET in SQL)
    return {
        "count": count,
        "results": [order_dict(o) for o in qs[offset : offset + limit]],
    }


@router.get("/orders/{order_id}", response=answers(OrderOut, 401, 404))
def orders_get(request: HttpRequest, order_id: Int) -> dict[str, Any]:
    """One of the caller's orders."""
    return order_dict(selectors.order_get(customer=request.auth, order_id=order_id))


@router.get("/orders/{order_id}/events", response=answers(list[OrderEventOut], 401, 404))
def orders_events(request: HttpRequest, order_id: Int) -> list[dict[str, Any]]:
    """Return the order's timeline; ``status`` is the status an event moved to, else null."""
    order = selectors.order_get(customer=request.auth, order_id=order_id)
    return [
        {
            "kind": e.kind,
            "status": e.to_status or None,  # stored blank for events that change no status
            "data": customer_event_data(e.data),
            "at": e.created_at.isoformat(),
        }
        for e in selectors.order_events(order=order)
    ]


@router.post("/orders/{order_id}/cancel", response=answers(OrderOut, 401, 404, 409))
def orders_cancel(request: HttpRequest, order_id: Int) -> dict[str, Any]:
    """Cancel: refunded at once before dispatch, else when the provider reports."""
    return order_dict(services.order_cancel(customer=request.auth, order_id=order_id))


@router.post("/orders/{order_id}/refill", response=answers({201: RefillOut}, 401, 404, 409))
def orders_refill(request: HttpRequest, order_id: Int) -> Status[dict[str, Any]]:
    """Ask for a refill within the service's guarantee period."""
    refill = services.order_refill(customer=request.auth, order_id=order_id)
    return Status(201, {"refill": refill.pk, "order": order_id, "status": refill.status})


@router.get("/orders/{order_id}/refills", response=answers(list[RefillStatusOut], 401, 404))
def orders_refills(request: HttpRequest, order_id: Int) -> list[dict[str, Any]]:
    """Return the order's refill requests, oldest first, with what the provider made of them."""
    order = selectors.order_get(customer=request.auth, order_id=order_id)
    return [
        {
            "refill": r.pk,
            "order": order.pk,
            "status": r.status,
            "created_at": r.created_at.isoformat(),
        }
        for r in selectors.order_refills(order=order)
    ]


@router.get("/orders/{order_id}/deliverables", response=answers(list[DeliverableOut], 401, 404))
def orders_deliverables(request: HttpRequest, order_id: Int) -> list[dict[str, Any]]:
    """Return what the order delivered beyond a count (a report's file, a video's link)."""
    order = selectors.order_get(customer=request.auth, order_id=order_id)
    return [
        {
            "id": d.pk,
            "name": d.name,
            "sha256": d.sha256 or None,
            "download": reverse("api_v1:orders_deliverable", args=[order.pk, d.pk])
            if d.file
            else None,
            "link": d.url or None,
            "created_at": d.created_at.isoformat(),
        }
        for d in order_deliverables(order=order)
    ]


@router.get(
    "/orders/{order_id}/deliverables/{deliverable_id}",
    response=answers({200: None}, 401, 404),
    url_name="orders_deliverable",
)
def orders_deliverable(request: HttpRequest, order_id: Int, deliverable_id: Int) -> FileResponse:
    """Download a deliverable's file (as an attachment; its SHA-256 is in the list)."""
    found = deliverable_get(customer=request.auth, order_id=order_id, deliverable_id=deliverable_id)
    return deliverable_response(found)
