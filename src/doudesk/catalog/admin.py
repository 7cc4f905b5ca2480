"""Catalogue administration; saving a module goes through the channel rule."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm

from doudesk.catalog.models import Category, GrowthPlan, Package, PackageItem, ServiceModule
from doudesk.catalog.services import module_check_channel
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
        return data


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
    extra = 1


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "price_fen", "target_kind", "active")
    inlines = [PackageItemInline]


@admin.register(GrowthPlan)
class GrowthPlanAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "module", "daily_quantity", "days", "active")
