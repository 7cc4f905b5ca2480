"""Log in with an email address or a mainland mobile number."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from doudesk.accounts.models import User
from doudesk.errors import DomainError


class IdentifierBackend(ModelBackend):
    """Normalises the identifier (case, spaces, +86) before the usual password check."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        from doudesk.accounts.services import normalize_identifier

        if username is None:
            return None
        try:
            _, value = normalize_identifier(username)
        except DomainError:
            value = username
        return super().authenticate(request, username=value, password=password, **kwargs)


#: Width of django-axes' username column, where failed attempts are counted.
AXES_USERNAME_LENGTH = 255


def login_identifier(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """Return the account a log-in attempt names, normalised (django-axes counts failures by it).

    ``Foo@Example.com`` and ``foo@example.com``, or a mobile number with or without ``+86`` and
    spaces, are one account: varying the spelling must not buy more guesses.
    """
    from doudesk.accounts.services import normalize_identifier

    raw = (credentials or {}).get("username") or request.POST.get("username") or ""
    try:
        return normalize_identifier(str(raw))[1]
    except DomainError:
        # No account has it; cut to what django-axes stores (its username column).
        return str(raw).strip().lower()[:AXES_USERNAME_LENGTH]
