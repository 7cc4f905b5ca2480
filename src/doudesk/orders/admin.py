"""Orders in the admin; operators record manual deliveries through the order service."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from doudesk.admin_counts import count_field
from doudesk.errors import DomainError
from doudesk.orders import deliverables
from doudesk.orders.deliverables import (
    LINK_LENGTH,
    NAME_LENGTH,
    deliverable_response,
    order_deliverable_add,
    order_deliverable_withdraw,
)
from doudesk.orders.guarantee import NOTE_LENGTH, order_guarantee_pay, units_paid_back
from doudesk.orders.labels import order_event_label
from doudesk.orders.models import (
    TERMINAL_STATUSES,
    Deliverable,
    GuaranteeCause,
    GuaranteePayout,
    Order,
    OrderEvent,
    OrderStatus,
)
from doudesk.orders.services import order_dispatch_reconcile, order_record_manual_delivery
from doudesk.providers.registry import is_operator_driven
from doudesk.uploads import takes_files
from doudesk.wallet.admin_money import yuan_field
from doudesk.wallet.models import AccountKind
from doudesk.wallet.money import typed_yuan, yuan_label
from doudesk.wallet.services import platform_account

#: The order's money columns (integer fen) and the methods that show them in yuan.
ORDER_YUAN = {
    "charge_fen": "charge_yuan",
    "refunded_fen": "refunded_yuan",
    "provider_cost_fen": "provider_cost_yuan",
    "guarantee_paid_fen": "guarantee_paid_yuan",
}
#: Counts shown with thousands separators: the method that shows each field.
ORDER_COUNTS = {
    "quantity": "quantity_shown",
    "delivered": "delivered_shown",
    "remains": "remains_shown",
    "start_count": "start_count_shown",
}


def _typed(field: forms.Field, value: Any) -> str:
    """Write a form's value as the history reads it (是 or 否 for a tick box, a choice's label)."""
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    if isinstance(field, forms.ChoiceField):
        return str(dict(field.choices).get(value, value))
    return str(value)


class _OrderPartInline(admin.TabularInline):
    """A read-only part of the order page, seen by whoever may see the order."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        # The part's own view right is given to no one (it has no admin page of its own).
        user = request.user
        return user.has_perm("orders.view_order") or user.has_perm("orders.change_order")


class OrderEventInline(_OrderPartInline):
    model = OrderEvent
    fields = readonly_fields = (
        "kind_shown", "from_status_shown", "to_status_shown", "data", "created_at",
    )  # fmt: skip

    @admin.display(description=_("事件"))
    def kind_shown(self, event: OrderEvent) -> str:
        """Return the event in words, with its code (which the API and the log use)."""
        return f"{order_event_label(event.kind)} ({event.kind})"

    @admin.display(description=_("原状态"))
    def from_status_shown(self, event: OrderEvent) -> str:
        """Return the status the order left, in words (— for an event that moved none)."""
        return _status_words(event.from_status)

    @admin.display(description=_("新状态"))
    def to_status_shown(self, event: OrderEvent) -> str:
        """Return the status the order entered, in words (— for an event that moved none)."""
        return _status_words(event.to_status)


def _status_words(status: str) -> str:
    """Return an order status as operators read it: ``已完成 (completed)``; an empty one as —."""
    if not status:
        return "—"
    label = OrderStatus(status).label if status in OrderStatus.values else status
    return f"{label} ({status})"


class CancelRequestedFilter(admin.SimpleListFilter):
    """Open orders whose customer asked to cancel: an operator-driven provider must act on them."""

    title = _("取消申请")
    parameter_name = "cancel_requested"

    def lookups(self, request, model_admin):
        return [("open", _("待处理"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(cancel_requested_at__isnull=False).exclude(
                status__in=TERMINAL_STATUSES
            )
        return queryset


class DeliverableInline(_OrderPartInline):
    """An order's deliverables (added and withdrawn on pages of their own)."""

    model = Deliverable
    fields = readonly_fields = (
        "name", "file_shown", "url", "sha256", "source_url", "created_at", "withdrawn_at",
        "withdraw",
    )  # fmt: skip

    @admin.display(description=_("文件"))
    def file_shown(self, deliverable: Deliverable) -> str:
        """Link the file to the staff download (uploads are not served publicly)."""
        if not deliverable.file:
            return "—"
        url = reverse(
            "admin:orders_order_deliverable_file", args=[deliverable.order_id, deliverable.pk]
        )
        return format_html('<a href="{}">{}</a>', url, _("下载"))

    def get_fields(self, request, obj=None):
        """Offer withdrawing only to staff who may change orders (others would get a 403)."""
        fields = super().get_fields(request, obj)
        if request.user.has_perm("orders.change_order"):
            return fields
        return [f for f in fields if f != "withdraw"]

    @admin.display(description=_("撤回"))
    def withdraw(self, deliverable: Deliverable) -> str:
        """Link to withdrawing a deliverable given by mistake."""
        if deliverable.withdrawn_at is not None:
            return "—"
        url = reverse(
            "admin:orders_order_deliverable_withdraw", args=[deliverable.order_id, deliverable.pk]
        )
        return format_html('<a href="{}">{}</a>', url, _("撤回"))


class GuaranteePayoutInline(_OrderPartInline):
    """What the guarantee fund paid back for the order (paid on a page of its own)."""

    model = GuaranteePayout
    fields = readonly_fields = ("created_at", "units", "amount_yuan", "cause", "note")
    amount_yuan = yuan_field("amount_fen", _("赔付金额（元）"))


class GuaranteePayoutForm(forms.Form):
    units = forms.IntegerField(
        label=_("赔付数量"), min_value=1, help_text=_("已交付但确认缺失的数量，按订单单价赔付")
    )
    cause = forms.ChoiceField(label=_("原因"), choices=GuaranteeCause.choices)
    note = forms.CharField(
        label=_("说明"),
        max_length=NOTE_LENGTH,
        required=False,
        help_text=_("客户在订单页看到这段说明"),
    )


class DeliverableForm(forms.Form):
    name = forms.CharField(
        label=_("名称"), max_length=NAME_LENGTH, required=False, help_text=_("留空则用文件名")
    )
    file = forms.FileField(label=_("文件"), required=False)
    url = forms.CharField(
        label=_("或链接"),
        max_length=LINK_LENGTH,
        required=False,
        help_text=_("以 https:// 开头，如网盘链接"),
    )


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
    cost = forms.CharField(
        label=_("服务商费用（元）"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_(
            "交付结束时必填（无费用填 0）：服务商就已交付部分收取的费用，记为应付服务商款项。"
        ),
    )

    def clean_cost(self) -> Decimal | None:
        """Read the cost as yuan are typed everywhere (``typed_yuan``); blank is no cost given."""
        text = self.cleaned_data["cost"]
        if not text:
            return None
        amount = typed_yuan(text)
        if amount is None or amount < 0:
            raise forms.ValidationError(_("请输入金额（元），最多两位小数"))
        return amount


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "customer",
        "module",
        "quantity_shown",
        "delivered_shown",
        "status",
        "charge_yuan",
        "refunded_yuan",
        "created_at",
    )
    list_filter = (
        "status",
        "provider",
        "dispatch_uncertain_at",
        CancelRequestedFilter,
        "provider_claim_disputed",
    )
    search_fields = ("pk", "external_id", "target")
    # Every field is read-only (orders change through the services); money shows in yuan.
    fields = readonly_fields = [
        ORDER_YUAN.get(f.name, ORDER_COUNTS.get(f.name, f.name)) for f in Order._meta.fields
    ]
    quantity_shown = count_field(Order, "quantity")
    delivered_shown = count_field(Order, "delivered")
    remains_shown = count_field(Order, "remains")
    start_count_shown = count_field(Order, "start_count")
    charge_yuan = yuan_field("charge_fen", _("订单金额（元）"))
    refunded_yuan = yuan_field("refunded_fen", _("已退款（元）"))
    provider_cost_yuan = yuan_field("provider_cost_fen", _("服务商费用（元）"))
    guarantee_paid_yuan = yuan_field("guarantee_paid_fen", _("保障金赔付（元）"))
    inlines = [DeliverableInline, GuaranteePayoutInline, OrderEventInline]
    change_form_template = "admin/orders/order/change_form.html"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # An order is never deleted: its events, log leaves and journal entries refer to it.
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
            path(
                "<int:order_id>/guarantee/",
                self.admin_site.admin_view(self.guarantee_view),
                name="orders_order_guarantee",
            ),
            path(
                "<int:order_id>/deliverable/",
                self.admin_site.admin_view(self.deliverable_view),
                name="orders_order_deliverable",
            ),
            path(
                "<int:order_id>/deliverable/<int:deliverable_id>/file/",
                self.admin_site.admin_view(self.deliverable_file_view),
                name="orders_order_deliverable_file",
            ),
            path(
                "<int:order_id>/deliverable/<int:deliverable_id>/withdraw/",
                self.admin_site.admin_view(self.deliverable_withdraw_view),
                name="orders_order_deliverable_withdraw",
            ),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change) -> None:
        """Write nothing: every field is read-only.

        Saving the whole row could undo a status or count the worker wrote meanwhile.
        """

    def reconcile_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """Settle a dispatch the provider may have taken without answering."""
        order = get_object_or_404(Order.objects.select_related("provider", "module"), pk=order_id)
        self._require_change_permission(request, order)
        form = ReconcileForm(request.POST or None)

        def apply(data: dict[str, Any]) -> None:
            order_dispatch_reconcile(order_id=order.pk, external_id=data["external_id"])

        return self._order_form(
            request, order, form, apply, refusal_field=None, done=_("已核实"),
            title=_("核实提交"), template="admin/orders/order/reconcile.html",
        )  # fmt: skip

    def deliver_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """Record what a manual provider delivered."""
        order = get_object_or_404(Order.objects.select_related("provider"), pk=order_id)
        self._require_change_permission(request, order)
        form = ManualDeliveryForm(request.POST or None, initial={"delivered": order.delivered})
        if not is_operator_driven(order.provider):
            messages.error(request, _("只有人工交付的服务商需要手动记录"))
            return redirect("admin:orders_order_change", order_id)

        def apply(data: dict[str, Any]) -> None:
            order_record_manual_delivery(
                order_id=order.pk,
                delivered=data["delivered"],
                final=data["final"],
                cost=data["cost"],
            )

        return self._order_form(
            request, order, form, apply, refusal_field="delivered", done=_("已记录交付"),
            title=_("记录交付"), template="admin/orders/order/deliver.html",
        )  # fmt: skip

    def guarantee_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """Pay the customer back from the guarantee fund for delivered units found missing."""
        order = get_object_or_404(Order.objects.select_related("module"), pk=order_id)
        self._require_change_permission(request, order)
        form = GuaranteePayoutForm(request.POST or None)

        def apply(data: dict[str, Any]) -> None:
            order_guarantee_pay(
                order_id=order.pk, units=data["units"], cause=data["cause"], note=data["note"]
            )

        facts = _(
            "已交付 %(delivered)s · 实付 %(paid)s · 已赔付 %(back)s（%(units)s 个单位）"
            " · 保障金可用 %(fund)s"
        ) % {
            "delivered": f"{order.delivered:,}",
            "paid": yuan_label(order.paid_fen),
            "back": yuan_label(order.guarantee_paid_fen),
            "units": f"{units_paid_back(order):,}",
            "fund": yuan_label(platform_account(AccountKind.GUARANTEE_FUND).balance_fen),
        }
        return self._order_form(
            request, order, form, apply, refusal_field="units", done=_("已赔付"),
            title=_("保障金赔付"), template="admin/orders/order/guarantee.html",
            extra={"facts": facts},
        )  # fmt: skip

    @takes_files(lambda: deliverables.DELIVERABLE_MAX_BYTES)
    def deliverable_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """Add a deliverable (a report's file, a video's link) for the customer to download."""
        order = get_object_or_404(Order.objects.select_related("module"), pk=order_id)
        self._require_change_permission(request, order)
        form = DeliverableForm(request.POST or None, request.FILES or None)

        def apply(data: dict[str, Any]) -> None:
            order_deliverable_add(
                order_id=order.pk, name=data["name"], file=data["file"], url=data["url"]
            )

        return self._order_form(
            request, order, form, apply, refusal_field="file", done=_("已上传交付物"),
            title=_("上传交付物"), template="admin/orders/order/deliverable.html",
        )  # fmt: skip

    def deliverable_file_view(
        self, request: HttpRequest, order_id: int, deliverable_id: int
    ) -> FileResponse:
        """Serve a deliverable's file to staff who may see the order."""
        found = get_object_or_404(
            Deliverable.objects.exclude(file=""), pk=deliverable_id, order_id=order_id
        )
        if not self.has_view_permission(request, found.order):
            raise PermissionDenied
        return deliverable_response(found)

    def deliverable_withdraw_view(
        self, request: HttpRequest, order_id: int, deliverable_id: int
    ) -> HttpResponse:
        """Withdraw a deliverable given by mistake, after asking (its customer loses it)."""
        found = get_object_or_404(
            Deliverable.objects.select_related("order__module"),
            pk=deliverable_id,
            order_id=order_id,
        )
        self._require_change_permission(request, found.order)
        if request.method == "POST":
            try:
                order_deliverable_withdraw(deliverable_id=found.pk)
            except DomainError as exc:
                messages.error(request, exc.errors[0].message(get_language() or "zh-hans"))
            else:
                self.log_change(request, found.order, f"{_('撤回交付物')}（{found.name}）")
                messages.success(request, _("已撤回交付物"))
            return redirect("admin:orders_order_change", order_id)
        context = {
            **self.admin_site.each_context(request),
            "order": found.order,
            "deliverable": found,
            "title": _("撤回交付物"),
        }
        return render(request, "admin/orders/order/deliverable_withdraw.html", context)

    def _require_change_permission(self, request: HttpRequest, order: Order) -> None:
        """Refuse an operator who may not change orders (a view-only staff member)."""
        if not self.has_change_permission(request, order):
            raise PermissionDenied

    def _order_form(
        self,
        request: HttpRequest,
        order: Order,
        form: forms.Form,
        apply: Callable[[dict[str, Any]], None],
        *,
        refusal_field: str | None,
        done: str,
        title: str,
        template: str,
        extra: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Run an operator's form on one order.

        Applied, it is written to the order's admin history (who did what) and goes back to
        the order page; a service's refusal shows on the form, on the field it names if the
        form has it, else on ``refusal_field`` (or above the fields).
        """
        if request.method == "POST" and form.is_valid():
            try:
                apply(form.cleaned_data)
            except DomainError as exc:
                error = exc.errors[0]
                field = error.field if error.field in form.fields else refusal_field
                form.add_error(field, error.message(get_language() or "zh-hans"))
            else:
                typed = "，".join(
                    f"{form.fields[k].label}: {_typed(form.fields[k], v)}"
                    for k, v in form.cleaned_data.items()
                    if v not in (None, "")
                )
                self.log_change(request, order, f"{title}（{typed}）")
                messages.success(request, done)
                return redirect("admin:orders_order_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "order": order,
            "form": form,
            "title": title,
            **(extra or {}),
        }
        return render(request, template, context)
