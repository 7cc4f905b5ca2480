"""My orders (progress bars, live) and the order detail with its timeline.

Both pages follow open orders live over Server-Sent Events (:mod:`doudesk.web.sse`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, ngettext

from doudesk.errors import DomainError
from doudesk.ledger.selectors import ledger_evidence
from doudesk.ledger.verify import dump_bundle
from doudesk.matching.services import GROUP_KIND
from doudesk.orders import selectors, services
from doudesk.orders.deliverables import (
    deliverable_get,
    deliverable_response,
    order_deliverables,
)
from doudesk.orders.models import TERMINAL_STATUSES, Order
from doudesk.web.sse import fragment_stream
from doudesk.web.views.common import customer_required, field_errors, found_or_404

ORDERS_PER_PAGE = 50


def _orders_page(request: HttpRequest) -> dict:
    customer = request.customer  # type: ignore[attr-defined]
    qs = selectors.order_list_under_way(customer=customer)
    page = Paginator(qs, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    live = any(o.status not in TERMINAL_STATUSES for o in rows)
    return {
        "orders": rows,
        "page": page,
        "live": live,
        "later_days": selectors.plans_later_days(customer=customer) if page.number == 1 else [],
        "canceled_days": (
            selectors.plans_canceled_days(customer=customer) if page.number == 1 else []
        ),
    }


@customer_required
def orders(request: HttpRequest) -> HttpResponse:
    """Show the customer's orders, newest first, a page at a time.

    While the page shows an open order, the table follows it live (:func:`orders_stream`).
    """
    return render(request, "web/orders.html", _orders_page(request))


@customer_required
def orders_stream(request: HttpRequest) -> HttpResponse:
    """Stream the table of one page of my orders (event ``orders``) until none is open."""

    def state() -> tuple[dict, bool]:
        context = _orders_page(request)
        return context, not context["live"]

    return fragment_stream(request, "orders", "web/_orders_table.html", state)


def _order_page(order: Order) -> dict:
    # Refills and payouts exist only once an order is finished: an open order's stream reads none.
    refills = list(selectors.order_refills(order=order)) if order.is_finished else []
    payouts = list(selectors.order_guarantee_payouts(order=order)) if order.is_finished else []
    return {
        "order": order,
        "events": selectors.order_events(order=order),
        "scheduled_in_group": selectors.scheduled_in_group(order=order),
        "refills": refills,
        "refill_next_at": selectors.refill_next_at(refills=refills),
        "deliverables": list(order_deliverables(order=order)),
        "payouts": payouts,
    }


def _order_context(customer: object, order_id: int) -> dict:
    return _order_page(
        found_or_404(lambda: selectors.order_get(customer=customer, order_id=order_id))
    )


@customer_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    """One order with its timeline; while it is open it follows it live (:func:`order_stream`)."""
    context = _order_context(request.customer, order_id)  # type: ignore[attr-defined]
    return render(request, "web/order_detail.html", context)


@customer_required
def order_stream(request: HttpRequest, order_id: int) -> HttpResponse:
    """Stream the order's status, progress and timeline (event ``order``) until it is final.

    Another customer's order is a 404 before any stream starts.
    """
    customer = request.customer  # type: ignore[attr-defined]
    _order_context(customer, order_id)

    def state() -> tuple[dict, bool]:
        context = _order_context(customer, order_id)
        return context, context["order"].is_finished

    return fragment_stream(request, "order", "web/_order_live.html", state)


def _order_action(
    request: HttpRequest, order_id: int, action: Callable[..., object]
) -> HttpResponse:
    """Run ``action(customer=, order_id=)`` from the order page; a refusal shows on the page.

    The action's address opened again (from history, by GET) just shows the order.
    """
    customer = request.customer  # type: ignore[attr-defined]
    found_or_404(lambda: selectors.order_get(customer=customer, order_id=order_id))
    if request.method == "POST":
        try:
            action(customer=customer, order_id=order_id)
        except DomainError as exc:
            context = {**_order_context(customer, order_id), "errors": field_errors(exc)}
            return render(request, "web/order_detail.html", context, status=exc.status)
    return redirect("web:order_detail", order_id=order_id)


@customer_required
def order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    """Cancel from the order page."""
    return _order_action(request, order_id, services.order_cancel)


@customer_required
def order_refill(request: HttpRequest, order_id: int) -> HttpResponse:
    """Ask for a refill from the order page (its guarantee: units that dropped are restored)."""
    return _order_action(request, order_id, services.order_refill)


@customer_required
def group_cancel_scheduled(request: HttpRequest, order_id: int) -> HttpResponse:
    """Cancel the days of the order's growth plan that have not started (from an order page)."""
    customer = request.customer  # type: ignore[attr-defined]
    order = found_or_404(lambda: selectors.order_get(customer=customer, order_id=order_id))
    if request.method == "POST" and order.group_id is not None:
        count = services.order_group_cancel_scheduled(customer=customer, group_id=order.group_id)
        if count and order.group.kind == GROUP_KIND:
            # A smart plan's only scheduled items are its live-room ones, waiting for the stream.
            messages.success(
                request,
                ngettext(
                    "已取消方案中尚未开始的 %(n)d 项，金额已全额退回钱包",
                    "已取消方案中尚未开始的 %(n)d 项，金额已全额退回钱包",
                    count,
                )
                % {"n": count},
            )
        elif count:
            messages.success(
                request,
                ngettext(
                    "已取消计划剩余的 %(n)d 天，金额已全额退回钱包",
                    "已取消计划剩余的 %(n)d 天，金额已全额退回钱包",
                    count,
                )
                % {"n": count},
            )
    return redirect("web:order_detail", order_id=order_id)


@customer_required
def order_deliverable(request: HttpRequest, order_id: int, deliverable_id: int) -> FileResponse:
    """Download a file the order delivered (its customer only; another's is a 404)."""
    customer = request.customer  # type: ignore[attr-defined]
    found = found_or_404(
        lambda: deliverable_get(customer=customer, order_id=order_id, deliverable_id=deliverable_id)
    )
    return deliverable_response(found)


@customer_required
def order_evidence(request: HttpRequest, order_id: int) -> HttpResponse:
    """Download the order's evidence bundle (verify offline with ``doudesk verify``)."""
    customer = request.customer  # type: ignore[attr-defined]
    order = found_or_404(lambda: selectors.order_get(customer=customer, order_id=order_id))
    try:
        bundle = ledger_evidence(order=order)
    except DomainError as exc:
        context = {
            **_order_page(order),
            "errors": {"evidence": [e.message(get_language() or "zh-hans") for e in exc.errors]},
        }
        return render(request, "web/order_detail.html", context, status=exc.status)
    response = HttpResponse(dump_bundle(bundle), content_type="application/json; charset=utf-8")
    name = f"doudesk-order-{order.pk}-evidence.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
