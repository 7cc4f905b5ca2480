"""Operator back-office: customers, the verification review queue, API keys."""

from __future__ import annotations

import logging
import mimetypes

from axes.admin import AccessAttemptAdmin  # registers axes' admin, replaced below
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission
from django.db.models import Case, QuerySet, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

from doudesk.accounts.models import ApiKey, Customer, User, Verification, VerificationStatus
from doudesk.accounts.selectors import verifications_sharing_number
from doudesk.accounts.services import api_key_revoke, verification_review
from doudesk.crypto import decrypt_text
from doudesk.errors import DomainError

#: Who saw which full ID number (personal data) and when.
audit = logging.getLogger("doudesk.audit")
DEFAULT_REJECT_REASON = "资料不符 / details do not match"

admin.site.site_header = _("DouDesk 运营后台")
admin.site.site_title = "DouDesk"


#: The four permissions Django gives every model, worded as operators read them.
MODEL_PERMISSION_WORDS = {
    "add": _("可添加%(model)s"),
    "change": _("可修改%(model)s"),
    "delete": _("可删除%(model)s"),
    "view": _("可查看%(model)s"),
}


def permission_label(permission: Permission) -> str:
    """Return a permission as the permission picker shows it, in the operator's language.

    Django stores a model's built-in permissions with English names made once from its
    untranslated name ("Can view 订单"); they are worded from the codename and the model's
    name in the page's language instead: ``订单管理 | 订单 | 可查看订单``.
    """
    model = permission.content_type.model_class()
    if model is None:  # a permission left behind by a removed model
        return str(permission)
    opts = model._meta
    action, _sep, model_name = permission.codename.partition("_")
    words = MODEL_PERMISSION_WORDS.get(action)
    name = (
        words % {"model": opts.verbose_name}
        if words and model_name == opts.model_name
        else permission.name
    )
    return f"{opts.app_config.verbose_name} | {opts.verbose_name} | {name}"


class PermissionPickerMixin:
    """Shows the permission picker's choices with :func:`permission_label`."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.name in ("permissions", "user_permissions"):
            field.label_from_instance = permission_label
        return field


admin.site.unregister(Group)


@admin.register(Group)
class DoudeskGroupAdmin(PermissionPickerMixin, GroupAdmin):
    """Django's group admin, with permissions named in the operator's language."""


if admin.site.is_registered(AccessAttempt):  # django-axes' admin, unless switched off
    admin.site.unregister(AccessAttempt)

    @admin.register(AccessAttempt)
    class LoginAttemptAdmin(AccessAttemptAdmin):
        """django-axes' log-in attempts, their status column named and worded as operators read.

        Axes heads it with the method's name ("Status") and words it "3 Attempt Remaining".
        """

        @admin.display(description=_("状态"))
        def status(self, obj: AccessAttempt) -> str:
            """Return how many wrong passwords are left before the lock, or that it is locked."""
            left = settings.AXES_FAILURE_LIMIT - obj.failures_since_start
            if left <= 0:
                return gettext("已锁定")
            return ngettext("还可再试 %(n)s 次", "还可再试 %(n)s 次", left) % {"n": left}


@admin.register(User)
class DoudeskUserAdmin(PermissionPickerMixin, UserAdmin):
    list_display = ("username", "email", "phone", "is_staff", "date_joined")
    search_fields = ("username", "email", "phone")
    fieldsets = (*UserAdmin.fieldsets, (_("手机号"), {"fields": ("phone",)}))


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("pk", "display_name", "user", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("display_name", "user__username")
    raw_id_fields = ("user",)

    def get_readonly_fields(self, request: HttpRequest, obj: Customer | None = None) -> list[str]:
        """Fix the kind once the customer has submitted a verification: it was checked as one."""
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.verifications.exists():
            fields.append("kind")
        return fields


@admin.register(Verification)
class VerificationAdmin(admin.ModelAdmin):
    """The review queue: pending submissions first; approve or reject on the page or in bulk.

    A reviewer (who may change verifications) sees the full number above the licence, to
    compare them (each such view is logged), and every other submission with that number.
    """

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
        "customer", "kind", "legal_name", "number_masked", "same_number",
        "licence_image", "submitted_at", "reviewed_at", "reviewed_by", "status",
    )  # fmt: skip
    fields = (*readonly_fields, "reject_reason")
    actions = ("approve", "reject")
    change_form_template = "admin/accounts/verification/change_form.html"

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

    @admin.display(description=_("同号码的其他认证"))
    def same_number(self, obj: Verification) -> str:
        others = verifications_sharing_number(verification=obj)
        if not others:
            return _("无")
        return format_html_join(
            "、",
            '<a href="{}">#{} {} · {}（{}）</a>',
            (
                (
                    reverse("admin:accounts_verification_change", args=[v.pk]),
                    v.pk,
                    v.legal_name,
                    v.customer,
                    v.get_status_display(),
                )
                for v in others
            ),
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        """Show the review page; a reviewer also sees the full number (each view is logged)."""
        extra = dict(extra_context or {})
        obj = self.get_object(request, object_id)
        if obj is not None and self.has_change_permission(request, obj):
            audit.info("verification %s: full number shown to %s", obj.pk, request.user)
            extra["number_full"] = decrypt_text(obj.number_encrypted)
            extra["reviewable"] = obj.status == VerificationStatus.PENDING
        return super().change_view(request, object_id, form_url, extra)

    def response_change(self, request: HttpRequest, obj: Verification) -> HttpResponse:
        """Approve or reject from the page's buttons (the reason field is saved first)."""
        decision = "_approve" in request.POST or "_reject" in request.POST
        if not decision:
            return super().response_change(request, obj)
        try:
            verification_review(
                verification=obj,
                reviewer=request.user,
                approve="_approve" in request.POST,
                reason=obj.reject_reason or DEFAULT_REJECT_REASON,
            )
        except DomainError as exc:
            messages.error(request, exc.errors[0].message(get_language() or "zh-hans"))
            return redirect("admin:accounts_verification_change", obj.pk)
        messages.success(request, _("已通过") if "_approve" in request.POST else _("已驳回"))
        return redirect("admin:accounts_verification_changelist")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers submit; operators review

    def get_queryset(self, request: HttpRequest) -> QuerySet[Verification]:
        # Annotated before ordering (ModelAdmin.get_queryset orders by get_ordering at once).
        pending_first = Case(When(status=VerificationStatus.PENDING, then=0), default=1)
        return (
            Verification.objects.select_related("customer__user")
            .annotate(queue=pending_first)
            .order_by(*self.get_ordering(request))
        )

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return ["queue", "-submitted_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Verification | None = None) -> bool:
        """Submissions are records of a review (实名制): never deleted, a rejection says no."""
        return False

    def get_readonly_fields(
        self, request: HttpRequest, obj: Verification | None = None
    ) -> tuple[str, ...]:
        """Once reviewed, the reason is part of the record: a later save must not change it."""
        if obj is not None and obj.status != VerificationStatus.PENDING:
            return (*self.readonly_fields, "reject_reason")
        return tuple(self.readonly_fields)

    @admin.action(description=_("通过所选认证"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Verification]) -> None:
        self._review_all(request, queryset, approve=True)

    @admin.action(description=_("驳回所选认证"), permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Verification]) -> None:
        self._review_all(request, queryset, approve=False)

    def _review_all(
        self, request: HttpRequest, queryset: QuerySet[Verification], *, approve: bool
    ) -> None:
        done = skipped = 0
        for verification in queryset.select_related("customer"):
            if verification.status != VerificationStatus.PENDING:
                skipped += 1
                continue
            try:
                verification_review(
                    verification=verification,
                    reviewer=request.user,
                    approve=approve,
                    reason=verification.reject_reason or DEFAULT_REJECT_REASON,
                )
            except DomainError as exc:  # e.g. the number is verified on another account
                message = exc.errors[0].message(get_language() or "zh-hans")
                messages.error(request, f"#{verification.pk}: {message}")
                continue
            done += 1
        messages.success(
            request,
            _("已处理 %(done)d 条，跳过 %(skipped)d 条已审核的认证")
            % {"done": done, "skipped": skipped},
        )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "customer", "name", "created_at", "last_used_at", "revoked_at")
    # A revoked key stays revoked (it may have leaked): operators revoke with the action only.
    readonly_fields = (
        "prefix", "digest", "customer", "created_at", "last_used_at", "revoked_at",
    )  # fmt: skip
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a key is created by its customer, who alone sees it (once)

    @admin.action(description=_("吊销所选密钥"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        done = sum(
            api_key_revoke(customer=key.customer, key_id=key.pk)
            for key in queryset.select_related("customer")
        )
        messages.success(
            request,
            ngettext("已吊销 %(done)d 个密钥", "已吊销 %(done)d 个密钥", done) % {"done": done},
        )
