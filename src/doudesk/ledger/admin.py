"""The transparency log in the admin: read-only leaves and checkpoints, units, incidents, health.

Nothing here writes to the log: it is append-only and changes only through the services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from doudesk.ledger.models import (
    Checkpoint,
    DeliveredUnit,
    DoubleSellingIncident,
    LogLeaf,
    ProviderIntegrity,
)
from doudesk.ledger.selectors import ProviderHealth


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and shows rows; never adds, edits or deletes them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LogLeaf)
class LogLeafAdmin(ReadOnlyAdmin):
    list_display = ("pk", "index", "order", "created_at")
    search_fields = ("=index", "=order__id")
    readonly_fields = ("index", "leaf", "leaf_hash_hex", "order", "created_at")
    exclude = ("leaf_hash",)

    @admin.display(description=_("叶哈希"))
    def leaf_hash_hex(self, obj: LogLeaf) -> str:
        return bytes(obj.leaf_hash).hex()


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ("size", "root_hex", "created_at")
    readonly_fields = ("size", "root_hex", "note", "created_at")
    exclude = ("root",)


@admin.register(DeliveredUnit)
class DeliveredUnitAdmin(ReadOnlyAdmin):
    list_display = ("unit_hash", "order", "provider", "created_at")
    list_filter = ("provider",)
    search_fields = ("=unit_hash", "=order__id")


@admin.register(DoubleSellingIncident)
class DoubleSellingIncidentAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "provider", "order", "other_order", "unit_hash")
    list_filter = ("provider",)
    search_fields = ("=unit_hash", "=order__id", "=other_order__id")
    date_hierarchy = "created_at"


@admin.register(ProviderIntegrity)
class ProviderIntegrityAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "units", "incidents", "score")
    fields = ("code", "name", "units", "incidents", "score")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProviderIntegrity]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_units=Count("delivered_units", distinct=True),
                n_incidents=Count("double_selling_incidents", distinct=True),
            )
        )

    def _of(self, obj: ProviderIntegrity) -> ProviderHealth:
        return ProviderHealth(obj.pk, obj.n_units, obj.n_incidents)  # type: ignore[attr-defined]

    @admin.display(description=_("已交付单元"), ordering="n_units")
    def units(self, obj: ProviderIntegrity) -> int:
        return self._of(obj).units

    @admin.display(description=_("重复售卖事件"), ordering="n_incidents")
    def incidents(self, obj: ProviderIntegrity) -> int:
        return self._of(obj).incidents

    @admin.display(description=_("健康度"))
    def score(self, obj: ProviderIntegrity) -> str:
        return f"{self._of(obj).score:.2%}"
