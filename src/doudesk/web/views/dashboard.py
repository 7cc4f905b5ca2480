"""The customer's dashboard (数据看板): their orders from order to delivered result, on one page.

While an order is under way, the headline figures and the pipeline follow it live over
Server-Sent Events (:mod:`doudesk.web.sse`); the charts are drawn once, from the page.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from doudesk.accounts.models import Customer
from doudesk.orders.selectors import Dashboard, dashboard_get
from doudesk.web.sse import fragment_stream
from doudesk.web.views.common import customer_required


def _live_context(customer: Customer) -> dict[str, Any]:
    dashboard = dashboard_get(customer=customer)
    return {"dashboard": dashboard, "live": dashboard.under_way > 0}


def _chart_data(dashboard: Dashboard) -> dict[str, Any]:
    """Return what the two charts draw: units per service, fen charged and given back, per day."""
    return {
        "days": [day.day.strftime("%m-%d") for day in dashboard.days],
        "delivery": [
            {"name": delivery.module.name, "units": list(delivery.per_day)}
            for delivery in dashboard.modules
        ],
        "charged_fen": [day.charged_fen for day in dashboard.days],
        "refunded_fen": [day.refunded_fen for day in dashboard.days],
    }


@customer_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Show the customer's orders now, and delivery and spending over the last 30 days."""
    context = _live_context(request.customer)  # type: ignore[attr-defined]
    context["charts"] = _chart_data(context["dashboard"])
    return render(request, "web/dashboard.html", context)


@customer_required
def dashboard_stream(request: HttpRequest) -> HttpResponse:
    """Stream the headline figures and pipeline (event ``dashboard``) until none is under way."""
    customer = request.customer  # type: ignore[attr-defined]

    def state() -> tuple[dict[str, Any], bool]:
        context = _live_context(customer)
        return context, not context["live"]

    return fragment_stream(request, "dashboard", "web/_dashboard_live.html", state)
