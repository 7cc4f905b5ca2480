"""My orders (progress bars, live) and the order detail with its timeline."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from doudesk.errors import DomainError
from doudesk.ledger.selectors import ledger_evidence
from doudesk.ledger.verify import dump_bundle
from doudesk.orders import selectors, services
from doudesk.orders.models import TERMINAL_STATUSES
from doudesk.web.views.common import (
    HTMX_STOP_POLLING,
    customer_required,
    field_errors,
    found_or_404,
)

ORDERS_PER_PAGE = 50


@customer_required
def orders(request: HttpRequest) -> HttpResponse:
    """Show the customer's orders, newest first, a page at a time.

    htmx refreshes the table while the page shows an open order.
    """
    qs = selectors.order_list(customer=request.customer)  # type: ignore[attr-defined]
    page = Paginator(qs, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    polling = any(o.status not in TERMINAL_STATUSES for o in rows)
    context = {"orders": rows, "page": page, "polling": polling}
    if request.headers.get("HX-Request"):
        status = 200 if polling else HTMX_STOP_POLLING
        return render(request, "web/_orders_table.html", context, status=status)
    return render(request, "web/orders.html", context)


@customer_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    """One order with its timeline."""
    customer = request.customer  # type: ignore[attr-defined]
    order = found_or_404(lambda: selectors.order_get(customer=customer, order_id=order_id))
    context = {"order": order, "events": selectors.order_events(order=order)}
    template = (
        "web/_order_live.html" if request.headers.get("HX-Request") else "web/order_detail.html"
    )
    return render(request, template, context)


@customer_required
@require_POST
def order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    """Cancel from the order page."""
    customer = request.customer  # type: ignore[attr-defined]
    found_or_404(lambda: selectors.order_get(customer=customer, order_id=order_id))
    try:
        services.order_cancel(customer=customer, order_id=order_id)
    except DomainError as exc:
        order = selectors.order_get(customer=customer, order_id=order_id)
        context = {
            "order": order,
            "events": selectors.order_events(order=order),
            "errors": field_errors(exc),
        }
        return render(request, "web/order_detail.html", context, status=exc.status)
    return redirect("web:order_detail", order_id=order_id)


@customer_required
def order_evidence(request: HttpRequest, order_id: int) -> HttpResponse:
    """Download the order's evidence bundle (verify offline with ``doudesk verify``)."""
    customer = request.customer  # type: ignore[attr-defined]
    order = found_or_404(lambda: selectors.order_get(customer=customer, order_id=order_id))
    try:
        bundle = ledger_evidence(order=order)
    except DomainError as exc:
        context = {
            "order": order,
            "events": selectors.order_events(order=order),
            "errors": {"evidence": [e.message(get_language() or "zh-hans") for e in exc.errors]},
        }
        return render(request, "web/order_detail.html", context, status=exc.status)
    response = HttpResponse(dump_bundle(bundle), content_type="application/json; charset=utf-8")
    name = f"doudesk-order-{order.pk}-evidence.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
