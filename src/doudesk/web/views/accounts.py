"""Sign-up, log-in, verification (KYC) and API keys pages."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from doudesk.accounts import services as account_services
from doudesk.accounts.models import ApiKey, CustomerKind
from doudesk.accounts.services import (
    api_key_create,
    api_key_revoke,
    customer_is_verified,
    customer_sign_up,
    verification_submit,
)
from doudesk.errors import DomainError
from doudesk.textinput import ascii_id
from doudesk.uploads import takes_files
from doudesk.web.views.common import customer_required, errors_elsewhere, field_errors


def signup(request: HttpRequest) -> HttpResponse:
    """Create an account (email or mobile number, password, individual or enterprise)."""
    context: dict = {"kinds": CustomerKind.choices, "values": request.POST}
    if request.method == "POST":
        try:
            customer = customer_sign_up(
                identifier=request.POST.get("identifier", ""),
                password=request.POST.get("password", ""),
                kind=request.POST.get("kind", ""),
                display_name=request.POST.get("display_name", ""),
            )
        except DomainError as exc:
            context["errors"] = field_errors(exc)
            return render(request, "web/signup.html", context, status=400)
        login(request, customer.user, backend="doudesk.accounts.backends.IdentifierBackend")
        return redirect("web:verify")
    return render(request, "web/signup.html", context)


def login_view(request: HttpRequest) -> HttpResponse:
    """Log in with email or mobile number."""
    context: dict = {"values": request.POST, "next": request.GET.get("next", "")}
    if request.method == "POST":
        user = authenticate(
            request,
            username=request.POST.get("identifier", ""),
            password=request.POST.get("password", ""),
        )
        if user is None:
            context["errors"] = {"identifier": [_("账号或密码错误")]}
            return render(request, "web/login.html", context, status=400)
        login(request, user)
        target = request.POST.get("next") or ""
        return redirect(
            target if target.startswith("/") and not target.startswith("//") else "web:catalog"
        )
    return render(request, "web/login.html", context)


def login_locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """Answer a log-in refused for too many wrong passwords (django-axes' lockout response)."""
    message = _("密码错误次数过多，请 15 分钟后再试")
    if not request.path.startswith("/login"):
        return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    context = {"values": request.POST, "errors": {"identifier": [message]}}
    return render(request, "web/login.html", context, status=429)


def logout_view(request: HttpRequest) -> HttpResponse:
    """Log out (by POST: a link someone else plants cannot log a customer out)."""
    if request.method == "POST":
        logout(request)
    return redirect("web:catalog")


@takes_files(lambda: account_services.LICENCE_MAX_BYTES)
@customer_required
def verify(request: HttpRequest) -> HttpResponse:
    """Identity verification: resident ID for individuals, credit code + licence for companies."""
    customer = request.customer  # type: ignore[attr-defined]
    context: dict = {
        "verified": customer_is_verified(customer),
        "latest": customer.verifications.first(),
        "values": request.POST,
    }
    if request.method == "POST":
        try:
            verification_submit(
                customer=customer,
                legal_name=request.POST.get("legal_name", ""),
                number=request.POST.get("number", ""),
                licence=request.FILES.get("licence"),
            )
        except DomainError as exc:
            context["errors"] = errors = field_errors(exc)
            shown = ["legal_name", "credit_code", "licence", "id_number", "customer"]
            context["other_errors"] = errors_elsewhere(errors, shown)
            return render(request, "web/verify.html", context, status=exc.status)
        return redirect("web:verify")
    return render(request, "web/verify.html", context)


#: Session key carrying a new API key's plain text from its creation to the page that shows it.
NEW_KEY_SESSION = "api_key_shown_once"


@customer_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """List keys; create one (shown once) or revoke one.

    Both writes redirect back to the list, so reloading the page repeats neither (a reload
    after "create" used to make a second key). The new key's plain text rides in the session
    to that one page view, which shows it and forgets it.
    """
    customer = request.customer  # type: ignore[attr-defined]
    context: dict = {}
    if request.method == "POST":
        if "revoke" in request.POST:
            raw = request.POST.get("revoke", "")
            api_key_revoke(customer=customer, key_id=ascii_id(raw) or 0)
            return redirect("web:api_keys")
        try:
            _, plain = api_key_create(customer=customer, name=request.POST.get("name", "default"))
        except DomainError as exc:
            context["errors"] = field_errors(exc)
            context["name"] = request.POST.get("name", "")
        else:
            request.session[NEW_KEY_SESSION] = plain
            return redirect("web:api_keys")
    else:
        context["new_key"] = request.session.pop(NEW_KEY_SESSION, None)
    context["keys"] = ApiKey.objects.filter(customer=customer).order_by("-pk")
    status = 400 if "errors" in context else 200
    return render(request, "web/api_keys.html", context, status=status)
