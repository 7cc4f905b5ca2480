"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    """Operator facts for the footer and the sandbox banner."""
    return {
        "ICP_FILING": settings.ICP_FILING,
        "OPERATOR_NAME": settings.OPERATOR_NAME,
        "SUPPORT_EMAIL": settings.SUPPORT_EMAIL,
        "SANDBOX_MODE": settings.SANDBOX,
    }
