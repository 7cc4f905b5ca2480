"""Wallet pages, top-up, the sandbox gateway page and the gateway callback."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from doudesk.errors import DomainError
from doudesk.orders.selectors import group_hold_labels_en
from doudesk.sandbox.payment import sandbox_payment_confirm
from doudesk.wallet import selectors
from doudesk.wallet.models import TopUp, TopUpStatus
from doudesk.wallet.services import topup_amount_fen, topup_create, topup_notify_apply
from doudesk.web.sse import fragment_stream
from doudesk.web.views.common import customer_required, field_errors

TOPUP_PRESETS = (50, 100, 500, 1000)
#: Statement lines a page shows; older ones are a page further (none is left out).
STATEMENT_PER_PAGE = 50


def _wallet_context(request: HttpRequest) -> dict:
    customer = request.customer  # type: ignore[attr-defined]
    statement = selectors.wallet_statement(customer=customer)
    page = Paginator(statement, STATEMENT_PER_PAGE).get_page(request.GET.get("page"))
    journal = list(page.object_list)
    return {
        "balances": selectors.wallet_balances(customer=customer),
        "journal": journal,
        "page": page,
        "group_labels_en": group_hold_labels_en(
            customer=customer, refs=[entry.ref for entry in journal]
        ),
        "topups": selectors.wallet_topups(customer=customer),
        "presets": TOPUP_PRESETS,
        # The sandbox gateway is the only online one so far; production credits bank transfers.
        "online_topup": settings.SANDBOX,
    }


@customer_required
def wallet(request: HttpRequest) -> HttpResponse:
    """Balances, the journal and the top-up form."""
    context = _wallet_context(request)
    if request.method == "POST":
        try:
            # A typed amount wins over the preset radio button.
            typed = request.POST.get("amount_other", "").strip()
            amount = topup_amount_fen(typed or request.POST.get("amount", ""))
            topup = topup_create(customer=request.customer, amount_fen=amount)  # type: ignore[attr-defined]
        except DomainError as exc:
            context["errors"] = field_errors(exc)
            # Keep what the customer chose: the typed amount and the preset picked.
            context["amount_other"] = request.POST.get("amount_other", "")
            context["amount_preset"] = request.POST.get("amount", "")
            return render(request, "web/wallet.html", context, status=400)
        return redirect("web:sandbox_pay", out_trade_no=topup.out_trade_no)
    return render(request, "web/wallet.html", context)


@customer_required
def wallet_stream(request: HttpRequest) -> HttpResponse:
    """Stream the balances and journal (event ``wallet``) until the top-up just paid is settled.

    The wallet page follows it after a payment (``?paid=<out_trade_no>``, passed on), so the
    credit shows up by itself; an older top-up left unpaid does not keep the stream open.
    Without ``paid`` it follows every top-up awaiting its callback.
    """
    paid = request.GET.get("paid", "")

    def state() -> tuple[dict, bool]:
        context = _wallet_context(request)
        waiting = any(
            t.status == TopUpStatus.PENDING and t.out_trade_no == (paid or t.out_trade_no)
            for t in context["topups"]
        )
        return context, not waiting

    return fragment_stream(request, "wallet", "web/_wallet_body.html", state)


@customer_required
def sandbox_pay(request: HttpRequest, out_trade_no: str) -> HttpResponse:
    """Show the sandbox gateway's cashier page (clearly labelled as a test mode).

    Only a top-up opened through the sandbox gateway has one, and only in sandbox mode: a
    credited bank transfer, or any top-up in production, is not found here.
    """
    if not settings.SANDBOX:
        raise Http404("no sandbox gateway in production")
    topup = get_object_or_404(
        TopUp,
        out_trade_no=out_trade_no,
        customer=request.customer,  # type: ignore[attr-defined]
        gateway="sandbox",
    )
    if request.method == "POST":
        path = reverse("web:payment_notify")
        notify_url = (
            settings.SITE_URL + path if settings.SITE_URL else request.build_absolute_uri(path)
        )
        try:
            sandbox_payment_confirm(topup=topup, notify_url=notify_url)
        except DomainError as exc:
            return render(
                request,
                "web/sandbox_pay.html",
                {"topup": topup, "errors": field_errors(exc)},
                status=403,
            )
        return redirect(reverse("web:wallet") + f"?paid={topup.out_trade_no}")
    return render(request, "web/sandbox_pay.html", {"topup": topup})


@csrf_exempt
@require_POST
def payment_notify(request: HttpRequest) -> HttpResponse:
    """Apply the gateway's signed notification; answer ``success`` once applied."""
    try:
        topup_notify_apply(params={k: v for k, v in request.POST.items()})
    except DomainError as exc:
        return HttpResponse(exc.errors[0].message_en, status=400, content_type="text/plain")
    return HttpResponse("success", content_type="text/plain")
