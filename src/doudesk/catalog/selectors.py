"""Reads of the catalogue."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Prefetch, QuerySet

from doudesk.catalog.error_codes import CatalogErrorCode
from doudesk.catalog.models import Category, GrowthPlan, Package, PackageItem, ServiceModule
from doudesk.errors import DomainError
from doudesk.rowselect import row_get


def module_list() -> QuerySet[ServiceModule]:
    """Active modules with their category, in catalogue order."""
    return ServiceModule.objects.filter(active=True).select_related("category")


def category_list() -> QuerySet[Category]:
    """Categories with their active modules prefetched."""
    return Category.objects.prefetch_related(
        Prefetch("modules", queryset=ServiceModule.objects.filter(active=True))
    )


def module_get(
    *, module_id: object, field: str = "service_id", related: Sequence[str] = ()
) -> ServiceModule:
    """Return the active module ``module_id``, or a field error naming ``field``.

    ``related`` names further one-to-one relations to read in the same query (e.g. the pricing
    app's ``PRICING_RELATED``).
    """
    try:
        pk = int(str(module_id))
    except (TypeError, ValueError):
        pk = None
    module = None
    if pk is not None:
        module = row_get(ServiceModule, pk, related=("category", "provider", *related), active=True)
    if module is None:
        raise DomainError.single(
            field,
            CatalogErrorCode.UNKNOWN_SERVICE,
            "服务不存在或已下架",
            "Unknown or unavailable service",
            status=404 if pk is not None else 400,
        )
    return module


def package_list() -> QuerySet[Package]:
    """Return the packages on sale with their items (active, and every module in them too)."""
    return (
        Package.objects.filter(active=True)
        .exclude(items__module__active=False)
        .prefetch_related(Prefetch("items", queryset=PackageItem.objects.select_related("module")))
    )


def growth_plan_list() -> QuerySet[GrowthPlan]:
    """Return the growth plans on sale (active, of an active module)."""
    return GrowthPlan.objects.filter(active=True, module__active=True).select_related("module")
