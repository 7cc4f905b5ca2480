"""Pricing back-office: settings with the kill switch, offers, references, state and change log.

Saving a module's settings, an offer or a reference republishes that module at once (so a kill
switch or a cheaper competitor takes effect without waiting for the hourly run); each publication
writes a price-history row with its reason, and the rows that moved a price are the change log.
Reference prices can also be imported from a CSV file (``导入 CSV`` on the reference list, or the
``import_reference_prices`` management command).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doudesk.admin_counts import count_field
from doudesk.catalog.models import ServiceModule
from doudesk.errors import DomainError
from doudesk.pricing.models import (
    ModulePriceState,
    ModulePricingConfig,
    PriceChange,
    PriceChangeLog,
    ProviderOffer,
    Quote,
    ReferencePrice,
)
from doudesk.pricing.selectors import config_from_row
from doudesk.pricing.services import (
    pricing_modules,
    pricing_publish,
    reference_prices_import_csv,
)
from doudesk.uploads import takes_files
from doudesk.wallet.admin_money import yuan_field


def _republish(request: HttpRequest, module: ServiceModule) -> None:
    if module not in pricing_modules():
        return
    change = pricing_publish(module=module)
    new = "—" if change.new_price is None else change.new_price
    messages.info(request, f"{module.name_zh}: {change.code} → {new}. {change.reason_zh}")


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = (
        "id", "customer", "module", "quantity_shown", "unit_rate", "total_yuan", "source",
        "expires_at",
    )  # fmt: skip
    list_filter = ("source",)
    fields = readonly_fields = (
        "id", "customer", "module", "quantity_shown", "unit_rate", "total_yuan", "expires_at",
        "source", "floor", "ceiling", "reference_rate", "point", "grid_version", "tier",
    )  # fmt: skip
    quantity_shown = count_field(Quote, "quantity")
    total_yuan = yuan_field("total_fen", _("总价（元）"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # quotes come from the pricing engine


class ModulePricingConfigForm(forms.ModelForm):
    class Meta:
        model = ModulePricingConfig
        fields = "__all__"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        module = data.get("module") or getattr(self.instance, "module", None)
        if module is None or self.errors:
            return data
        probe = ModulePricingConfig(**{k: v for k, v in data.items() if k != "module"})
        try:
            config_from_row(module, probe)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError(_("定价设置无效：%(error)s"), params={"error": exc}) from None
        return data


@admin.register(ModulePricingConfig)
class ModulePricingConfigAdmin(admin.ModelAdmin):
    form = ModulePricingConfigForm
    list_display = (
        "module", "enabled", "kill_switch", "min_margin", "static_markup", "step_per_hour",
        "min_success_rate", "max_completion_hours", "updated_at",
    )  # fmt: skip
    list_editable = ("kill_switch", "min_margin", "static_markup", "step_per_hour")
    list_filter = ("enabled", "kill_switch")
    search_fields = ("module__code", "module__name_zh")
    actions = ["kill_switch_on", "kill_switch_off", "republish"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("module",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _republish(request, obj.module)

    @admin.action(description=_("打开紧急开关（固定加价）并立即重新定价"), permissions=["change"])
    def kill_switch_on(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._switch(request, queryset, on=True)

    @admin.action(description=_("关闭紧急开关并立即重新定价"), permissions=["change"])
    def kill_switch_off(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._switch(request, queryset, on=False)

    @admin.action(description=_("立即重新定价"), permissions=["change"])
    def republish(self, request: HttpRequest, queryset: QuerySet) -> None:
        for row in queryset.select_related("module"):
            _republish(request, row.module)

    def _switch(self, request: HttpRequest, queryset: QuerySet, *, on: bool) -> None:
        for row in queryset.select_related("module"):
            row.kill_switch = on
            row.save(update_fields=["kill_switch", "updated_at"])
            self.log_change(request, row, f"kill_switch={on}")
            _republish(request, row.module)


@admin.register(ProviderOffer)
class ProviderOfferAdmin(admin.ModelAdmin):
    list_display = (
        "module", "provider", "rate", "success_rate", "completion_hours", "capacity_per_day",
        "active", "updated_at",
    )  # fmt: skip
    list_filter = ("active", "provider")
    search_fields = ("module__code", "module__name_zh")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _republish(request, obj.module)


#: The largest reference-price CSV taken (tens of thousands of rows; read whole into memory).
REFERENCE_CSV_MAX_BYTES = 2 * 1024 * 1024


class ReferenceCsvForm(forms.Form):
    file = forms.FileField(label=_("CSV 文件"))

    def clean_file(self) -> Any:
        """Refuse a file over :data:`REFERENCE_CSV_MAX_BYTES` (stopped as it streamed)."""
        file = self.cleaned_data["file"]
        if file.size > REFERENCE_CSV_MAX_BYTES:
            raise ValidationError(_("CSV 文件不能超过 2 MB"))
        return file


@admin.register(ReferencePrice)
class ReferencePriceAdmin(admin.ModelAdmin):
    list_display = (
        "module", "source", "source_en", "rate", "observed_at", "expires_at", "is_valid",
    )  # fmt: skip
    list_filter = ("module",)
    search_fields = ("source", "source_en", "module__code", "module__name_zh")
    change_list_template = "admin/pricing/referenceprice/change_list.html"

    @admin.display(boolean=True, description=_("有效"))
    def is_valid(self, obj: ReferencePrice) -> bool:
        return obj.expires_at > timezone.now()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _republish(request, obj.module)

    def get_urls(self) -> list:
        custom = [
            path(
                "import-csv/",
                self.admin_site.admin_view(self.import_csv),
                name="pricing_referenceprice_import_csv",
            )
        ]
        return custom + super().get_urls()

    @takes_files(lambda: REFERENCE_CSV_MAX_BYTES)
    def import_csv(self, request: HttpRequest) -> HttpResponse:
        """Upload a CSV of reference prices (all rows or none)."""
        if not self.has_add_permission(request):
            return redirect("admin:pricing_referenceprice_changelist")
        form = ReferenceCsvForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            raw = form.cleaned_data["file"].read()
            try:
                created = reference_prices_import_csv(text=raw.decode("utf-8-sig"))
            except UnicodeDecodeError:
                form.add_error("file", _("文件须为 UTF-8 编码"))
            except DomainError as exc:
                for error in exc.errors:
                    form.add_error(None, error.message_zh)
            else:
                messages.success(request, _("已导入 %(n)d 条参考价") % {"n": len(created)})
                return redirect("admin:pricing_referenceprice_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("导入市场参考价 CSV"),
        }
        return TemplateResponse(request, "admin/pricing/referenceprice/import_csv.html", context)


@admin.register(ModulePriceState)
class ModulePriceStateAdmin(admin.ModelAdmin):
    list_display = ("module", "price", "available", "published_at", "updated_at")
    readonly_fields = ("module", "state", "price", "available", "published_at", "updated_at")
    actions = ["republish"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("立即重新定价"), permissions=["change"])
    def republish(self, request: HttpRequest, queryset: QuerySet) -> None:
        for row in queryset.select_related("module"):
            _republish(request, row.module)


class _ReadOnlyHistory(admin.ModelAdmin):
    list_display = (
        "at", "module", "old_price", "new_price", "code", "floor", "ceiling", "cost",
        "reference_rate", "reason_zh",
    )  # fmt: skip
    list_filter = ("code", "module")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PriceChange)
class PriceChangeAdmin(_ReadOnlyHistory):
    list_filter = ("changed", "code", "module")


@admin.register(PriceChangeLog)
class PriceChangeLogAdmin(_ReadOnlyHistory):
    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).filter(changed=True)
