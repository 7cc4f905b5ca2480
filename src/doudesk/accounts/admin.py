"""Operator back-office: customers, the verification review queue, API keys."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from doudesk.accounts.models import ApiKey, Customer, User, Verification, VerificationStatus
from doudesk.accounts.services import verification_review

admin.site.site_header = _("DouDesk 运营后台")
admin.site.site_title = "DouDesk"


@admin.register(User)
class DoudeskUserAdmin(UserAdmin):
    list_display = ("username", "email", "phone", "is_staff", "date_joined")
    search_fields = ("username", "email", "phone")
    fieldsets = (*UserAdmin.fieldsets, (_("手机号"), {"fields": ("phone",)}))


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("pk", "display_name", "user", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("display_name", "user__username")
    raw_id_fields = ("user",)


@admin.register(Verification)
class VerificationAdmin(admin.ModelAdmin):
    """The review queue: pending submissions first; approve or reject in bulk."""

    list_display = (
        "pk",
        "customer",
        "kind",
        "legal_name",
        "number_masked",
        "status",
        "submitted_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("legal_name", "customer__user__username")
    readonly_fields = (
        "customer", "kind", "legal_name", "number_masked", "licence", "submitted_at",
        "reviewed_at", "reviewed_by", "status",
    )  # fmt: skip
    fields = (*readonly_fields, "reject_reason")
    actions = ("approve", "reject")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers submit; operators review

    def get_queryset(self, request: HttpRequest) -> QuerySet[Verification]:
        return super().get_queryset(request).select_related("customer__user")

    @admin.action(description=_("通过所选认证"))
    def approve(self, request: HttpRequest, queryset: QuerySet[Verification]) -> None:
        for verification in queryset.filter(status=VerificationStatus.PENDING):
            verification_review(verification=verification, reviewer=request.user, approve=True)
        messages.success(request, _("已处理"))

    @admin.action(description=_("驳回所选认证"))
    def reject(self, request: HttpRequest, queryset: QuerySet[Verification]) -> None:
        for verification in queryset.filter(status=VerificationStatus.PENDING):
            verification_review(
                verification=verification,
                reviewer=request.user,
                approve=False,
                reason=verification.reject_reason or "资料不符 / details do not match",
            )
        messages.success(request, _("已处理"))


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "customer", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest", "customer", "created_at", "last_used_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a key is created by its customer, who alone sees it (once)
