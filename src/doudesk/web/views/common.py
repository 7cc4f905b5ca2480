"""Helpers shared by the web views."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import get_language

from doudesk.accounts.models import Customer
from doudesk.errors import DomainError

T = TypeVar("T")


def field_errors(exc: DomainError) -> dict[str, list[str]]:
    """Messages by field, in the active language, for a form to show next to each input."""
    lang = get_language() or "zh-hans"
    out: dict[str, list[str]] = {}
    for error in exc.errors:
        messages = out.setdefault(error.field.split(".")[0], [])
        if error.message(lang) not in messages:  # the text and a form field can say the same
            messages.append(error.message(lang))
    return out


def errors_elsewhere(errors: dict[str, list[str]], shown: Iterable[str]) -> list[str]:
    """Return the messages about fields the page shows no place for, to show above its button.

    A form shows each error next to its input; a refusal about anything else (a link posted to
    a service that takes none, options for a service without them) would be lost.
    """
    placed = set(shown)
    return [m for field, msgs in errors.items() if field not in placed for m in msgs]


def customer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log in first; staff without a customer profile are sent to the admin."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = Customer.objects.filter(user=request.user).first()
        if customer is None:
            return redirect("admin:index")
        request.customer = customer  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def found_or_404(lookup: Callable[[], T]) -> T:
    """Run a selector; its "not found" error (a foreign order, a removed service) is a 404."""
    try:
        return lookup()
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.errors[0].message_en) from None
        raise
