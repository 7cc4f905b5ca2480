"""Deployment checks of the accounts app (``doudesk check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

from doudesk.crypto import derived_field_key


@register(Tags.security, deploy=True)
def field_key_given(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Warn when personal data is encrypted with a key derived from the secret key.

    Also when the key given is that derived one.
    """
    derived = derived_field_key(settings.SECRET_KEY)
    if settings.SANDBOX or settings.FIELD_ENCRYPTION_KEY not in ("", derived):
        return []
    which = (
        "is the key derived from DOUDESK_SECRET_KEY"
        if settings.FIELD_ENCRYPTION_KEY
        else "is not set"
    )
    return [
        Warning(
            f"DOUDESK_FIELD_KEY {which}: ID numbers and provider API keys are encrypted with a "
            "key derived from DOUDESK_SECRET_KEY, and become unreadable if it changes.",
            hint="Set DOUDESK_FIELD_KEY to a Fernet key and keep it (and back it up) for good.",
            id="doudesk.W001",
        )
    ]
