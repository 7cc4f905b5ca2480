"""Counts in the operators' admin: quantities with thousands separators (``100,000``).

The admin shows integers bare (``100000``), where the site, the API errors and the plans show
``100,000``. A model admin names ``count_field(Order, "quantity")`` as a method in place of the
column (in ``list_display``, ``readonly_fields`` and ``fields``); the column keeps its title and
still sorts by the field. Editable fields stay plain numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import Model


def count_display(value: int | None) -> str:
    """Return a count as an operator reads it: ``100000`` → ``100,000`` (``-`` when unknown)."""
    return "-" if value is None else f"{value:,}"


def count_field(model: type[Model], field: str) -> Callable[[Any, Any], str]:
    """Return a model-admin method showing the integer ``field`` with thousands separators."""

    @admin.display(description=model._meta.get_field(field).verbose_name, ordering=field)
    def show(model_admin: Any, obj: Any) -> str:
        return count_display(getattr(obj, field))

    return show
