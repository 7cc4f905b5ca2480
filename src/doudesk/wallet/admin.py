"""The journal is read-only in the admin: legs are never edited, only reversed.

Money enters by hand only through :func:`~doudesk.wallet.services.topup_credit_manual` (a bank
transfer an operator has checked), from the top-ups list, and each credit is logged.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from doudesk.accounts.models import Customer
from doudesk.accounts.services import normalize_identifier
from doudesk.errors import DomainError
from doudesk.textinput import ascii_id
from doudesk.wallet.admin_money import yuan_field
from doudesk.wallet.memos import entry_kind_label, entry_memo
from doudesk.wallet.models import Account, JournalEntry, Leg, TopUp
from doudesk.wallet.money import yuan_label
from doudesk.wallet.services import topup_amount_fen, topup_credit_manual, topup_reverse_manual


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class LegInline(admin.TabularInline):
    model = Leg
    extra = 0
    can_delete = False
    fields = readonly_fields = ("account", "amount_yuan")
    amount_yuan = yuan_field("amount_fen", _("金额（元）"))


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "customer", "provider", "balance_yuan")
    fields = readonly_fields = ("code", "kind", "customer", "provider", "balance_yuan")
    list_filter = ("kind",)
    search_fields = ("code",)
    balance_yuan = yuan_field("balance_fen", _("余额（元）"))


class EntryKindFilter(admin.SimpleListFilter):
    """Filter journal entries by kind, named in words with the code (the column's form)."""

    title = _("类型")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        kinds = JournalEntry.objects.order_by("kind").values_list("kind", flat=True).distinct()
        return [(kind, f"{entry_kind_label(kind)} ({kind})") for kind in kinds]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("pk", "ref", "kind_shown", "memo_shown", "order", "created_at")
    # The page shows the kind and memo worded as in the list (the stored memo is Chinese).
    fields = readonly_fields = ("ref", "kind_shown", "memo_shown", "order", "created_at")
    list_filter = (EntryKindFilter,)
    search_fields = ("ref",)
    inlines = [LegInline]

    @admin.display(description=_("类型"), ordering="kind")
    def kind_shown(self, entry: JournalEntry) -> str:
        """Return the entry's kind in words, with its code."""
        return f"{entry_kind_label(entry.kind)} ({entry.kind})"

    @admin.display(description=_("摘要"))
    def memo_shown(self, entry: JournalEntry) -> str:
        """Return the memo in the operator's language, as the customer's statement words it."""
        return entry_memo(entry)


class ManualCreditForm(forms.Form):
    customer = forms.CharField(
        label=_("客户"),
        max_length=150,
        help_text=_("客户编号，或其注册的邮箱、手机号（同名客户以此区分）。"),
    )
    amount = forms.CharField(label=_("金额（元）"), max_length=20)
    reference = forms.CharField(
        label=_("付款凭证号"),
        max_length=64,
        help_text=_("银行流水号等；同一凭证只能入账一次。"),
    )

    def clean_customer(self) -> Customer:
        """Find the one customer the operator named by number, e-mail or mobile number.

        Display names repeat (two customers called 张三), so they do not name a customer here.
        """
        text = self.cleaned_data["customer"].strip()
        customers = Customer.objects.select_related("user")
        try:  # as sign-up stores it: "+86 138 0013 8000" is 13800138000
            username = normalize_identifier(text)[1]
        except DomainError:
            username = text
        found = customers.filter(user__username__iexact=username).first()
        pk = ascii_id(text.removeprefix("#"))
        if found is None and pk is not None:
            found = customers.filter(pk=pk).first()
        if found is None:
            raise forms.ValidationError(_("没有这个客户：请填写客户编号、邮箱或手机号"))
        return found


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyAdmin):
    list_display = (
        "out_trade_no", "customer", "amount_yuan", "gateway", "gateway_txn", "status",
        "created_at", "paid_at",
    )  # fmt: skip
    fields = readonly_fields = list_display
    list_filter = ("status", "gateway")
    search_fields = ("out_trade_no", "gateway_txn")
    amount_yuan = yuan_field("amount_fen", _("金额（元）"))
    actions = ("reverse_credits",)

    def has_credit_permission(self, request: HttpRequest) -> bool:
        """Whether the operator may credit bank transfers (and so take a mistaken one back)."""
        return request.user.has_perm("wallet.add_topup")

    @admin.action(description=_("冲正所选人工入账"), permissions=["credit"])
    def reverse_credits(self, request: HttpRequest, queryset: QuerySet[TopUp]) -> None:
        """Take back mistaken manual credits, each with one balanced reversing entry."""
        for topup in queryset.order_by("pk"):
            try:
                topup_reverse_manual(topup_id=topup.pk)
            except DomainError as exc:
                message = exc.errors[0].message(get_language() or "zh-hans")
                messages.error(request, f"{topup.out_trade_no}: {message}")
                continue
            self.log_change(request, topup, f"人工入账冲正 {topup.gateway_txn}")
            messages.success(
                request,
                _("已冲正 %(no)s：%(amount)s")
                % {"no": topup.out_trade_no, "amount": yuan_label(topup.amount_fen)},
            )

    def get_urls(self):
        return [
            path(
                "credit/",
                self.admin_site.admin_view(self.credit_view),
                name="wallet_topup_credit",
            ),
            *super().get_urls(),
        ]

    def credit_view(self, request: HttpRequest) -> HttpResponse:
        """Credit a customer's wallet with a bank transfer the operator has checked."""
        if not self.has_credit_permission(request):
            raise PermissionDenied
        form = ManualCreditForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                topup = topup_credit_manual(
                    customer=data["customer"],
                    amount_fen=topup_amount_fen(data["amount"]),
                    reference=data["reference"],
                )
            except DomainError as exc:
                for error in exc.errors:
                    field = error.field if error.field in form.fields else None
                    form.add_error(field, error.message(get_language() or "zh-hans"))
            else:
                self.log_addition(request, topup, f"人工入账 {topup.gateway_txn}")
                customer = data["customer"]
                messages.success(
                    request,
                    _("已为客户 #%(id)s %(name)s（%(account)s）入账 %(amount)s")
                    % {
                        "id": customer.pk,
                        "name": customer,
                        "account": customer.user.username,
                        "amount": yuan_label(topup.amount_fen),
                    },
                )
                return redirect("admin:wallet_topup_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("人工入账"),
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/wallet/topup/credit.html", context)
