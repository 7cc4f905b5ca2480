"""The language a request is answered in."""

from __future__ import annotations

from django.utils.translation import get_language


def english_active() -> bool:
    """Say whether the active language is English (else Simplified Chinese, the default)."""
    return (get_language() or "zh-hans").startswith("en")
