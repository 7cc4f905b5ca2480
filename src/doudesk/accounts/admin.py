"""Operator back-office: customers, the verification review queue, API keys."""

from __future__ import annotations

import mimetypes

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
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
        "customer", "kind", "legal_name", "number_masked", "licence_image", "submitted_at",
        "reviewed_at", "reviewed_by", "status",
    )  # fmt: skip
    fields = (*readonly_fields, "reject_reason")
    actions = ("approve", "reject")

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.licence_view)
        name = "accounts_verification_licence"
        return [path("<int:pk>/licence/", view, name=name), *super().get_urls()]

    def licence_view(self, request: HttpRequest, pk: int) -> FileResponse:
        """Serve a submission's licence image to reviewers (uploads are not public)."""
        verification = get_object_or_404(Verification, pk=pk)
        if not self.has_view_permission(request, verification) or not verification.licence:
            raise Http404
        content_type = mimetypes.guess_type(verification.licence.name)[0]
        return FileResponse(verification.licence.open("rb"), content_type=content_type)

    @admin.display(description=_("营业执照"))
    def licence_image(self, obj: Verification) -> str:
        if not obj.licence:
            return "-"
        url = reverse("admin:accounts_verification_licence", args=[obj.pk])
        return format_html(
            '<a href="{}" target="_blank"><img src="{}" style="max-width:480px"></a>', url, url
        )

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
