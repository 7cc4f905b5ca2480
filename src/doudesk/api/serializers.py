"""Plain-dict API shapes of domain objects (v1)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from doudesk.catalog.models import GrowthPlan, Package, ServiceModule
from doudesk.orders.models import Order, OrderGroup
from doudesk.orders.selectors import Dashboard
from doudesk.wallet.money import rate_str, yuan_str


def service_dict(module: ServiceModule, rate: Decimal) -> dict[str, Any]:
    """Return a catalogue module as v1 shows it; ``rate`` is today's price per 1,000 units.

    ``list_rate`` is the catalogue's list price, which dynamic pricing replaces.
    """
    return {
        "id": module.pk,
        "code": module.code,
        "name": module.name,
        "name_zh": module.name_zh,
        "name_en": module.name_en,
        "description": module.description,
        "category": module.category.name,
        "kind": module.kind,
        "target_kind": module.target_kind,
        "channel": module.channel,
        "unit": module.unit,
        "min": module.min_quantity,
        "max": module.max_quantity,
        "step": module.step,
        "rate": rate_str(rate),
        "list_rate": rate_str(module.rate_per_1000),
        "rate_per": 1000,
        "currency": "CNY",
        "avg_completion_hours": rate_str(module.avg_completion_hours),
        "refill_days": module.refill_days,
        "cancel": module.cancel_allowed,
        "refill": module.refill_allowed,
    }


def order_dict(order: Order) -> dict[str, Any]:
    """Return an order as v1 shows it; ``charge`` is what the customer pays after any refund.

    ``guarantee_paid`` is what the guarantee fund paid back later for delivered units found
    missing (not taken off ``charge``, which stays the price of what was delivered).
    """
    return {
        "id": order.pk,
        "service_id": order.module_id,
        "target": order.target,
        "quantity": order.quantity,
        "status": order.status,
        "charge": yuan_str(order.paid_fen),
        "held": yuan_str(order.charge_fen),
        "refunded": yuan_str(order.refunded_fen),
        "guarantee_paid": yuan_str(order.guarantee_paid_fen),
        "unit_rate": rate_str(order.unit_rate),
        "currency": "CNY",
        "start_count": order.start_count,
        "delivered": order.delivered,
        "remains": order.quantity - order.delivered if order.remains is None else order.remains,
        "quote_id": order.quote_id,
        "group_id": order.group_id,
        "options": order.options,
        "scheduled_for": order.scheduled_for.isoformat() if order.scheduled_for else None,
        "created_at": order.created_at.isoformat() if order.created_at else None,
        "finished_at": order.finished_at.isoformat() if order.finished_at else None,
    }


def group_dict(group: OrderGroup) -> dict[str, Any]:
    """Return orders placed together (a plan, package or growth plan): its total and orders."""
    return {
        "group_id": group.pk,
        "total": yuan_str(group.total_fen),
        "currency": "CNY",
        "orders": [order_dict(o) for o in group.orders.order_by("pk")],
    }


def package_dict(package: Package) -> dict[str, Any]:
    """Return a package as v1 shows it: its services and quantities, at the bundle price."""
    return {
        "id": package.pk,
        "code": package.code,
        "name": package.name,
        "name_zh": package.name_zh,
        "name_en": package.name_en,
        "description": package.description,
        "target_kind": package.target_kind,
        "price": yuan_str(package.price_fen),
        "currency": "CNY",
        "items": [
            {"service_id": item.module_id, "name": item.module.name, "quantity": item.quantity}
            for item in package.items.all()
        ],
    }


def growth_plan_dict(plan: GrowthPlan, price_fen: int | None) -> dict[str, Any]:
    """Return a growth plan as v1 shows it; ``price_fen``: today's price of all its days.

    A plan whose service cannot be priced today has ``price`` null (it cannot be ordered now).
    """
    return {
        "id": plan.pk,
        "code": plan.code,
        "name": plan.name,
        "name_zh": plan.name_zh,
        "name_en": plan.name_en,
        "description": plan.description,
        "service_id": plan.module_id,
        "target_kind": plan.module.target_kind,
        "daily_quantity": plan.daily_quantity,
        "days": plan.days,
        "price": None if price_fen is None else yuan_str(price_fen),
        "currency": "CNY",
    }


def dashboard_dict(dashboard: Dashboard, *, timezone: str) -> dict[str, Any]:
    """Return a customer's dashboard as v1 shows it; days are ISO dates in ``timezone``."""
    return {
        "first_day": dashboard.first_day.isoformat(),
        "last_day": dashboard.last_day.isoformat(),
        "timezone": timezone,
        "under_way": dashboard.under_way,
        "scheduled_days": dashboard.scheduled_days,
        "pipeline": {c.status: c.count for c in dashboard.pipeline},
        "finished": {c.status: c.count for c in dashboard.finished},
        "charged": yuan_str(dashboard.charged_fen),
        "refunded": yuan_str(dashboard.refunded_fen),
        "spent": yuan_str(dashboard.spent_fen),
        "currency": "CNY",
        "units_delivered": dashboard.units_delivered,
        "services": [
            {
                "service_id": delivery.module.pk,
                "name": delivery.module.name,
                "unit": delivery.module.unit,
                "units": delivery.units,
            }
            for delivery in dashboard.modules
        ],
        "days": [
            {
                "date": day.day.isoformat(),
                "units": day.units,
                "charged": yuan_str(day.charged_fen),
                "refunded": yuan_str(day.refunded_fen),
                "services": [
                    {"service_id": delivery.module.pk, "units": delivery.per_day[n]}
                    for delivery in dashboard.modules
                    if delivery.per_day[n]
                ],
            }
            for n, day in enumerate(dashboard.days)
        ],
    }
