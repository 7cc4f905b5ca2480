"""Packages and daily growth plans: list them (``GET``) and order one for a link (``POST``).

A package (播放+点赞+评论) is a fixed bundle of services at a bundle price; a growth plan is
``daily_quantity`` units of one service a day for ``days`` days, at today's price, the first day
at once and the others one day apart. Ordering one places a group of orders in one transaction
with one hold of its total, and answers as ``POST /plans/order`` does. Send the ``total`` the
listing showed to be sure the price has not moved: another amount is refused (409).
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Header, Router, Schema, Status

from doudesk.api.auth import AUTH
from doudesk.api.schemas import GrowthPlanOut, PackageOut, PlanOrderOut, answers
from doudesk.api.serializers import group_dict, growth_plan_dict, package_dict
from doudesk.api.types import Int, NumberOrText
from doudesk.catalog.selectors import bundle_get, growth_plan_list, package_list
from doudesk.orders import services
from doudesk.pricing.selectors import growth_plan_prices_fen

router = Router(tags=["packages and growth plans"])
ORDERED = answers({201: PlanOrderOut}, 400, 401, 402, 403, 404, 409, 422)


class BundleOrderIn(Schema):
    target: str = ""
    total: NumberOrText = None


@router.get("/packages", auth=None, response=answers(list[PackageOut]))
def packages_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Every package on sale, with its services and bundle price."""
    return [package_dict(package) for package in package_list()]


@router.get("/growth-plans", auth=None, response=answers(list[GrowthPlanOut]))
def growth_plans_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Every growth plan on sale, with today's price of all its days."""
    plans = list(growth_plan_list())
    prices = growth_plan_prices_fen(plans=plans)
    return [growth_plan_dict(plan, prices[plan.pk]) for plan in plans]


@router.post("/packages/{package_id}/orders", auth=AUTH, response=ORDERED)
def packages_order(
    request: HttpRequest,
    package_id: Int,
    payload: BundleOrderIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status[dict[str, Any]]:
    """Order a package for one link at its bundle price; a retried key gets the first answer."""
    return _ordered(request, "package", package_id, payload, idempotency_key)


@router.post("/growth-plans/{plan_id}/orders", auth=AUTH, response=ORDERED)
def growth_plans_order(
    request: HttpRequest,
    plan_id: Int,
    payload: BundleOrderIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status[dict[str, Any]]:
    """Order a growth plan for one link, every day held now; a retried key gets the first answer."""
    return _ordered(request, "growth_plan", plan_id, payload, idempotency_key)


def _ordered(
    request: HttpRequest,
    kind: Literal["package", "growth_plan"],
    bundle_id: int,
    payload: BundleOrderIn,
    idempotency_key: str | None,
) -> Status[dict[str, Any]]:
    if idempotency_key is None:
        group = services.bundle_order(
            customer=request.auth,
            bundle=bundle_get(kind=kind, bundle_id=bundle_id),
            target=payload.target,
            confirmed_total=payload.total,
        )
        return Status(201, group_dict(group))
    # The bundle is looked up inside: a retry gets its first answer after the bundle left sale.
    return Status(
        *services.bundle_order_idempotent(
            customer=request.auth,
            idempotency_key=idempotency_key,
            kind=kind,
            bundle_id=bundle_id,
            target=payload.target,
            confirmed_total=payload.total,
            render=group_dict,
        )
    )
