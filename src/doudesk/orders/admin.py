"""Orders in the admin; operators record manual deliveries through the order service."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from doudesk.errors import DomainError
from doudesk.orders.models import Order, OrderEvent
from doudesk.orders.services import order_dispatch_reconcile, order_record_manual_delivery
from doudesk.providers.registry import is_operator_driven


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "from_status", "to_status", "data", "created_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ReconcileForm(forms.Form):
    external_id = forms.CharField(
        label=_("服务商订单号"),
        max_length=64,
        required=False,
        help_text=_("服务商确认收到时填写其订单号；确认未收到则留空，订单将重新提交"),
    )


class ManualDeliveryForm(forms.Form):
    delivered = forms.IntegerField(label=_("已交付数量"), min_value=0)
    final = forms.BooleanField(label=_("交付结束（未交付部分退款）"), required=False)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "customer",
        "module",
        "quantity",
        "delivered",
        "status",
        "charge_fen",
        "refunded_fen",
        "created_at",
    )
    list_filter = ("status", "provider", "dispatch_uncertain_at")
    search_fields = ("pk", "external_id", "target")
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [OrderEventInline]
    change_form_template = "admin/orders/order/change_form.html"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path(
                "<int:order_id>/deliver/",
                self.admin_site.admin_view(self.deliver_view),
                name="orders_order_deliver",
            ),
            path(
                "<int:order_id>/reconcile/",
                self.admin_site.admin_view(self.reconcile_view),
                name="orders_order_reconcile",
            ),
            *super().get_urls(),
        ]

    def reconcile_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """Settle a dispatch the provider may have taken without answering."""
        order = get_object_or_404(Order.objects.select_related("provider", "module"), pk=order_id)
        form = ReconcileForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                order_dispatch_reconcile(
                    order_id=order.pk, external_id=form.cleaned_data["external_id"]
                )
            except DomainError as exc:
                form.add_error(None, exc.errors[0].message(get_language() or "zh-hans"))
            else:
                messages.success(request, _("已核实"))
                return redirect("admin:orders_order_change", order_id)
        context = {
            **self.admin_site.each_context(request),
            "order": order,
            "form": form,
            "title": _("核实提交"),
        }
        return render(request, "admin/orders/order/reconcile.html", context)

    def deliver_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """Record what a manual provider delivered."""
        order = get_object_or_404(Order.objects.select_related("provider"), pk=order_id)
        form = ManualDeliveryForm(request.POST or None, initial={"delivered": order.delivered})
        if not is_operator_driven(order.provider):
            messages.error(request, _("只有人工交付的服务商需要手动记录"))
            return redirect("admin:orders_order_change", order_id)
        if request.method == "POST" and form.is_valid():
            delivered = min(form.cleaned_data["delivered"], order.quantity)
            try:
                order_record_manual_delivery(
                    order_id=order.pk, delivered=delivered, final=form.cleaned_data["final"]
                )
            except DomainError as exc:
                form.add_error("delivered", exc.errors[0].message(get_language() or "zh-hans"))
            else:
                messages.success(request, _("已记录交付"))
                return redirect("admin:orders_order_change", order_id)
        context = {
            **self.admin_site.each_context(request),
            "order": order,
            "form": form,
            "title": _("记录交付"),
        }
        return render(request, "admin/orders/order/deliver.html", context)
