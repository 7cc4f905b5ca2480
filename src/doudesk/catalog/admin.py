"""Catalogue administration; saving a module goes through the channel rule.

A package's price is typed in yuan (two decimals at most) and stored as exact integer fen.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, ModelForm
from django.utils.translation import gettext_lazy as _

from doudesk.admin_counts import count_field
from doudesk.catalog.models import (
    Category,
    GrowthPlan,
    Package,
    PackageItem,
    ServiceModule,
    TargetKind,
)
from doudesk.catalog.services import module_check_channel, quantity_errors
from doudesk.errors import DomainError
from doudesk.wallet.admin_money import yuan_field
from doudesk.wallet.money import yuan_str, yuan_to_fen

#: Most units one module sells in an order: within an order's quantity column on every database.
MAX_MODULE_QUANTITY = 1_000_000_000


class ServiceModuleForm(ModelForm):
    class Meta:
        model = ServiceModule
        fields = "__all__"

    def clean(self) -> dict:
        data = super().clean()
        try:
            module_check_channel(kind=data.get("kind", ""), channel=data.get("channel", ""))
        except DomainError as exc:
            raise ValidationError({"channel": exc.errors[0].message_zh}) from None
        # Said per field here: the database constraints would only name themselves.
        low, high = data.get("min_quantity"), data.get("max_quantity")
        for name in ("min_quantity", "step"):
            if data.get(name) is not None and data[name] < 1:
                self.add_error(name, _("须至少为 1"))
        if high is not None and high > MAX_MODULE_QUANTITY:
            self.add_error(
                "max_quantity",
                _("最大数量不能超过 %(most)s") % {"most": f"{MAX_MODULE_QUANTITY:,}"},
            )
        if low is not None and high is not None and high < low:
            self.add_error("max_quantity", _("最大数量不能小于最小数量"))
        rate = data.get("rate_per_1000")
        if rate is not None and rate <= 0:
            self.add_error("rate_per_1000", _("单价须大于 0"))
        hours = data.get("avg_completion_hours")
        if hours is not None and hours <= 0:
            self.add_error("avg_completion_hours", _("平均完成时间须大于 0"))
        return data


class PackageItemFormSet(BaseInlineFormSet):
    """A package's items: at least one, each orderable as it stands, all for the package's link."""

    def clean(self) -> None:
        super().clean()
        package = self.instance
        kept = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            raise ValidationError(_("套餐至少需要一个项目"))
        for form in kept:
            module, quantity = form.cleaned_data.get("module"), form.cleaned_data.get("quantity")
            if module is None or quantity is None:
                continue
            for error in quantity_errors(module, quantity):
                form.add_error("quantity", error.message_zh)
            if module.target_kind not in (package.target_kind, TargetKind.NONE):
                form.add_error("module", _("此服务需要的链接类型与套餐不同"))


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_zh", "name_en", "group", "sort")


@admin.register(ServiceModule)
class ServiceModuleAdmin(admin.ModelAdmin):
    form = ServiceModuleForm
    list_display = (
        "pk", "name_zh", "kind", "channel", "target_kind", "rate_per_1000", "min_quantity_shown",
        "max_quantity_shown", "provider", "active",
    )  # fmt: skip
    list_filter = ("category", "channel", "kind", "active")
    search_fields = ("name_zh", "name_en", "code")
    min_quantity_shown = count_field(ServiceModule, "min_quantity")
    max_quantity_shown = count_field(ServiceModule, "max_quantity")


class PackageItemInline(admin.TabularInline):
    model = PackageItem
    formset = PackageItemFormSet
    extra = 1


class GrowthPlanForm(ModelForm):
    class Meta:
        model = GrowthPlan
        fields = "__all__"

    def clean(self) -> dict:
        data = super().clean()
        module, daily = data.get("module"), data.get("daily_quantity")
        if module is not None and daily is not None:
            for error in quantity_errors(module, daily):
                self.add_error("daily_quantity", error.message_zh)
        return data


class PackageForm(ModelForm):
    """The package form: the price in yuan, kept as integer fen (no float on the way)."""

    price = forms.DecimalField(
        label=_("价格（元）"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2
    )

    class Meta:
        model = Package
        fields = (
            "code", "name_zh", "name_en", "description_zh", "description_en", "price",
            "target_kind", "active",
        )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["price"] = yuan_str(self.instance.price_fen)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("price") is not None:
            # Exact: at most two decimals are accepted, so yuan × 100 is a whole number of fen.
            self.instance.price_fen = yuan_to_fen(data["price"])
        return data


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin):
    form = PackageForm
    list_display = ("code", "name_zh", "price_yuan", "target_kind", "active")
    inlines = [PackageItemInline]
    price_yuan = yuan_field("price_fen", _("价格（元）"))


@admin.register(GrowthPlan)
class GrowthPlanAdmin(admin.ModelAdmin):
    form = GrowthPlanForm
    list_display = ("code", "name_zh", "module", "daily_quantity_shown", "days", "active")
    daily_quantity_shown = count_field(GrowthPlan, "daily_quantity")
