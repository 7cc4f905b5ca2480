"""Reads of the catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet

from doudesk.catalog.error_codes import CatalogErrorCode
from doudesk.catalog.models import Category, GrowthPlan, Package, PackageItem, ServiceModule
from doudesk.errors import DomainError
from doudesk.rowselect import row_get

Bundle = TypeVar("Bundle", Package, GrowthPlan)


def on_sale() -> Q:
    """Return the condition for a module to be on sale: active, and orderable in this mode.

    Outside sandbox mode the sandbox provider is disabled, so its modules (left over from a
    demo database served in production) are not offered: their orders could never be sent.
    """
    condition = Q(active=True)
    if not settings.SANDBOX:
        condition &= Q(provider__is_sandbox=False)
    return condition


def modules_on_sale() -> QuerySet[ServiceModule]:
    """Return the modules on sale (:func:`on_sale`)."""
    return ServiceModule.objects.filter(on_sale())


def module_list() -> QuerySet[ServiceModule]:
    """Modules on sale with their category, in catalogue order."""
    return modules_on_sale().select_related("category")


def category_list() -> QuerySet[Category]:
    """Categories with their modules on sale prefetched."""
    return Category.objects.prefetch_related(Prefetch("modules", queryset=modules_on_sale()))


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
    if module is not None and not module.is_on_sale:
        module = None  # its provider is disabled in this mode (see on_sale)
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
    """Return the packages on sale with their items (active, and every module in them on sale)."""
    return (
        Package.objects.filter(active=True)
        .exclude(items__module__in=ServiceModule.objects.exclude(on_sale()))
        .prefetch_related(Prefetch("items", queryset=PackageItem.objects.select_related("module")))
    )


def growth_plan_list() -> QuerySet[GrowthPlan]:
    """Return the growth plans on sale (active, of a module on sale)."""
    return GrowthPlan.objects.filter(active=True, module__in=modules_on_sale()).select_related(
        "module"
    )


def package_get(*, package_id: object) -> Package:
    """Return the package ``package_id`` on sale (:func:`package_list`), or a 404 field error."""
    package = _on_sale(package_list(), package_id)
    if package is None:
        raise DomainError.single(
            "package_id",
            CatalogErrorCode.UNKNOWN_PACKAGE,
            "套餐不存在或已下架",
            "Unknown or unavailable package",
            status=404,
        )
    return package


def growth_plan_get(*, plan_id: object) -> GrowthPlan:
    """Return the growth plan ``plan_id`` on sale (:func:`growth_plan_list`), or a 404 error."""
    plan = _on_sale(growth_plan_list(), plan_id)
    if plan is None:
        raise DomainError.single(
            "plan_id",
            CatalogErrorCode.UNKNOWN_GROWTH_PLAN,
            "增长计划不存在或已下架",
            "Unknown or unavailable growth plan",
            status=404,
        )
    return plan


def bundle_get(*, kind: str, bundle_id: object) -> Package | GrowthPlan:
    """Return the ``"package"`` or ``"growth_plan"`` ``bundle_id`` on sale, or its 404 error."""
    if kind == "package":
        return package_get(package_id=bundle_id)
    return growth_plan_get(plan_id=bundle_id)


def _on_sale(on_sale: QuerySet[Bundle], pk: object) -> Bundle | None:
    try:
        return on_sale.filter(pk=int(str(pk))).first()
    except (TypeError, ValueError):
        return None
