"""API authentication: ``Authorization: Bearer <api key>`` or the web session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from doudesk.accounts.models import Customer
from doudesk.accounts.services import api_key_authenticate


class ApiKeyAuth(HttpBearer):
    """Bearer API keys; the authenticated value is the :class:`Customer`."""

    def authenticate(self, request: HttpRequest, token: str) -> Customer | None:
        return api_key_authenticate(token)


class CustomerSessionAuth(SessionAuth):
    """The logged-in web user's customer (CSRF-checked like any session write)."""

    def __call__(self, request: HttpRequest) -> Customer | None:
        # Only a logged-in browser without an API key is judged by its session (and CSRF): a
        # wrong or missing key is a 401, not the session's CSRF failure (403).
        user = getattr(request, "user", None)
        if "Authorization" in request.headers or user is None or not user.is_authenticated:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: Any) -> Customer | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return Customer.objects.filter(user=user).first()


AUTH = [ApiKeyAuth(), CustomerSessionAuth()]
