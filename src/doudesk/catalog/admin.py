"""Catalogue administration; saving a module goes through the channel rule."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, ModelForm
from django.utils.translation import gettext_lazy as _

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
        if low is not None and high is not None and high < low:
            self.add_error("max_quantity", _("最大数量不能小于最小数量"))
        rate = data.get("rate_per_1000")
        if rate is not None and rate <= 0:
            self.add_error("rate_per_1000", _("单价须大于 0"))
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
        "pk", "name_zh", "kind", "channel", "target_kind", "rate_per_1000", "min_quantity",
        "max_quantity", "provider", "active",
    )  # fmt: skip
    list_filter = ("category", "channel", "kind", "active")
    search_fields = ("name_zh", "name_en", "code")


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


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "price_fen", "target_kind", "active")
    inlines = [PackageItemInline]


@admin.register(GrowthPlan)
class GrowthPlanAdmin(admin.ModelAdmin):
    form = GrowthPlanForm
    list_display = ("code", "name_zh", "module", "daily_quantity", "days", "active")
