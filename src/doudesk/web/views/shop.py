"""Catalogue, order forms with live price and link check, packages and growth plans."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _

from doudesk.accounts.services import customer_is_verified
from doudesk.catalog import selectors, targets
from doudesk.catalog.models import Package, ServiceModule, TargetKind
from doudesk.catalog.promotion import AGE_BANDS
from doudesk.catalog.services import quantity_errors
from doudesk.errors import DomainError
from doudesk.orders import services
from doudesk.pricing.selectors import (
    growth_plan_price_fen,
    growth_plan_prices_fen,
    module_price_at,
)
from doudesk.textinput import ascii_int
from doudesk.wallet.money import yuan_str
from doudesk.web.views.common import (
    customer_required,
    errors_elsewhere,
    field_errors,
    found_or_404,
)

GENDER_CHOICES = (("any", _("不限")), ("male", _("男")), ("female", _("女")))
#: Durations the order form offers, in hours (the channel sells more; the API takes them).
DURATION_CHOICES = ("2", "6", "12", "24", "48", "72", "168", "720")
DEFAULT_DURATION_HOURS = "24"


def catalog(request: HttpRequest) -> HttpResponse:
    """Every category with its modules, the packages and the growth plans."""
    plans = list(selectors.growth_plan_list())
    prices = growth_plan_prices_fen(plans=plans)
    return render(
        request,
        "web/catalog.html",
        {
            "categories": selectors.category_list(),
            "packages": selectors.package_list(),
            "plans": [(g, prices[g.pk]) for g in plans],
        },
    )


def _quantity(raw: str) -> int | str:
    raw = (raw or "").strip().replace(",", "")
    as_int = ascii_int(raw, signed=True)  # "-5" is a number out of range, not a non-number
    return raw if as_int is None else as_int


def _options_from_form(request: HttpRequest) -> dict | None:
    post = request.POST
    if not post.get("audience"):
        return None
    options: dict = {"audience": post.get("audience")}
    raw_hours = post.get("duration_hours", DEFAULT_DURATION_HOURS).strip()
    hours = ascii_int(raw_hours)
    options["duration_hours"] = raw_hours if hours is None else hours
    if post.get("objective"):
        options["objective"] = post.get("objective")
    if options["audience"] == "custom":
        if post.get("gender") and post.get("gender") != "any":
            options["gender"] = post.get("gender")
        if post.getlist("ages"):
            options["ages"] = post.getlist("ages")
        regions = [
            r.strip() for r in post.get("regions", "").replace("，", ",").split(",") if r.strip()
        ]
        if regions:
            options["regions"] = regions
    return options


def _price_context(module: ServiceModule, raw_quantity: str) -> dict:
    """Return the price part of the live check: ``total`` and ``price``, or ``quantity_error``."""
    quantity = _quantity(raw_quantity)
    errors = quantity_errors(module, quantity)
    if errors:
        return {"quantity_error": errors[0]}
    try:
        price = module_price_at(module=module, quantity=int(quantity))
    except DomainError as exc:  # unavailable at this quantity (no offer, floor > ceiling)
        return {"quantity_error": exc.errors[0]}
    return {"total": yuan_str(price.total_fen), "price": price}


def price_check(request: HttpRequest, module_id: int) -> HttpResponse:
    """Render the htmx partial under the order form: live price and link check."""
    module = found_or_404(lambda: selectors.module_get(module_id=module_id))
    context: dict = {"module": module, **_price_context(module, request.GET.get("quantity", ""))}
    raw_target = request.GET.get("target", "")
    if raw_target.strip() or module.target_kind != "none":
        try:
            context["target"] = targets.parse_target(raw_target, module.target_kind)
        except DomainError as exc:
            if raw_target.strip():
                context["target_error"] = exc.errors[0]
    return render(request, "web/_price_check.html", context)


@customer_required
def order_form(request: HttpRequest, module_id: int) -> HttpResponse:
    """Order one module: quantity, target link, promotion options."""
    module = found_or_404(lambda: selectors.module_get(module_id=module_id))
    customer = request.customer  # type: ignore[attr-defined]
    context: dict = {
        "module": module,
        "values": request.POST or {"quantity": module.min_quantity},
        "verified": customer_is_verified(customer),
        "age_bands": AGE_BANDS,
        "genders": GENDER_CHOICES,
        "durations": DURATION_CHOICES,
        # A refused form comes back as the customer filled it, targeting included.
        "chosen_ages": request.POST.getlist("ages"),
        "chosen_duration": request.POST.get("duration_hours", DEFAULT_DURATION_HOURS),
    }
    if request.method == "POST":
        try:
            order = services.order_place(
                customer=customer,
                service_id=module.pk,
                target=request.POST.get("target", ""),
                quantity=_quantity(request.POST.get("quantity", "")),
                options=_options_from_form(request),
                confirmed_total=request.POST.get("confirmed_total"),
                confirmation_required=True,
            )
        except DomainError as exc:
            context["errors"] = errors = field_errors(exc)
            shown = ["quantity", "balance", "customer", "service_id"]
            shown += ["target"] if module.target_kind != TargetKind.NONE else []
            shown += ["options"] if module.is_official_promotion else []
            context["other_errors"] = errors_elsewhere(errors, shown)
            if ("target" in errors or "total" in errors) and "quantity" not in errors:
                # The live check does not run on load over a refused link (its message would
                # show twice), so the price of the quantity, which stands, is shown here instead;
                # after a price change, it is the new price to confirm.
                context.update(_price_context(module, request.POST.get("quantity", "")))
            return render(request, "web/order_form.html", context, status=400)
        return redirect("web:order_detail", order_id=order.pk)
    return render(request, "web/order_form.html", context)


@customer_required
def bundle_order(request: HttpRequest, kind: str, bundle_id: int) -> HttpResponse:
    """Order a package or a growth plan for one target."""
    if kind not in ("package", "plan"):
        raise Http404("unknown bundle kind")
    on_sale = selectors.package_list() if kind == "package" else selectors.growth_plan_list()
    bundle = get_object_or_404(on_sale, pk=bundle_id)
    customer = request.customer  # type: ignore[attr-defined]
    plan_price = None if isinstance(bundle, Package) else growth_plan_price_fen(plan=bundle)
    shown_fen = bundle.price_fen if isinstance(bundle, Package) else plan_price
    context: dict = {
        "bundle": bundle,
        "kind": kind,
        "target_kind": bundle.target_kind
        if isinstance(bundle, Package)
        else bundle.module.target_kind,
        "plan_price_fen": plan_price,
        # The price shown, sent back with the order: charged only if it still holds.
        "confirmed_total": yuan_str(shown_fen) if shown_fen else "",
        "values": request.POST,
        "verified": customer_is_verified(customer),
    }
    if request.method == "POST":
        target = request.POST.get("target", "")
        try:
            services.bundle_order(
                customer=customer,
                bundle=bundle,
                target=target,
                confirmed_total=request.POST.get("confirmed_total"),
                confirmation_required=True,
            )
        except DomainError as exc:
            errors = field_errors(exc)
            context["errors"] = errors
            # The form has one input (the link): every other refusal is shown above the button.
            context["other_errors"] = errors_elsewhere(errors, ("target", "balance"))
            return render(request, "web/bundle_form.html", context, status=400)
        return redirect("web:orders")
    return render(request, "web/bundle_form.html", context)
