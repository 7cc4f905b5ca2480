"""Money in the operators' admin: integer fen shown as yuan (``¥1,234.56``), never as raw fen.

A model admin names ``yuan_field("charge_fen", _("订单金额（元）"))`` as a method in place of
the fen column (in ``list_display``, ``readonly_fields`` and ``fields``); the column's title says
元 (yuan in English) and it still sorts by the fen column. The database keeps integer fen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.utils.functional import Promise

from doudesk.wallet.money import yuan_label


def yuan_display(fen: int | None) -> str:
    """Return fen as an operator reads it: ``123456`` → ``¥1,234.56`` (``-`` when unknown)."""
    return "-" if fen is None else yuan_label(fen)


def yuan_field(field: str, description: str | Promise) -> Callable[[Any, Any], str]:
    """Return a model-admin method showing the fen field ``field`` in yuan under ``description``."""

    @admin.display(description=description, ordering=field)
    def show(model_admin: Any, obj: Any) -> str:
        return yuan_display(getattr(obj, field))

    return show
