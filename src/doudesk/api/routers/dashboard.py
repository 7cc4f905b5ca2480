"""The caller's dashboard: orders now, and delivery and money over the last 30 days."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router

from doudesk.api.auth import AUTH
from doudesk.api.schemas import DashboardOut, answers
from doudesk.api.serializers import dashboard_dict
from doudesk.orders.selectors import dashboard_get

router = Router(tags=["dashboard"], auth=AUTH)


@router.get("/dashboard", response=answers(DashboardOut, 401))
def dashboard(request: HttpRequest) -> dict[str, Any]:
    """Read the figures of the web dashboard (数据看板): the caller's orders only.

    Days are Beijing days (Asia/Shanghai), the last one today. Delivery is counted on the day
    each order's progress was recorded; money from the wallet's journal.
    """
    return dashboard_dict(dashboard_get(customer=request.auth), timezone=settings.TIME_ZONE)
