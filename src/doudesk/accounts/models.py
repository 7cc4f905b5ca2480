"""Users, customers, identity verification (KYC) and API keys."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A login; ``username`` holds the identifier used to sign in (email or mobile number)."""

    phone = models.CharField(_("手机号"), max_length=20, unique=True, null=True, blank=True)


class CustomerKind(models.TextChoices):
    INDIVIDUAL = "individual", _("个人")
    ENTERPRISE = "enterprise", _("企业")


def _new_salt() -> str:
    return secrets.token_hex(16)


class Customer(models.Model):
    """The buyer behind a user: an individual creator or an enterprise."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.PROTECT
    )
    kind = models.CharField(_("类型"), max_length=20, choices=CustomerKind.choices)
    display_name = models.CharField(_("名称"), max_length=100, blank=True)
    # Salt for hashing the customer id into public transparency-log leaves.
    ledger_salt = models.CharField(_("日志盐值"), max_length=32, default=_new_salt, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户")

    def __str__(self) -> str:
        return self.display_name or self.user.username


class VerificationStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("已驳回")


class Verification(models.Model):
    """One identity-verification submission; the latest approved one unlocks ordering."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="verifications"
    )
    kind = models.CharField(_("类型"), max_length=20, choices=CustomerKind.choices)
    status = models.CharField(
        _("状态"),
        max_length=20,
        choices=VerificationStatus.choices,
        default=VerificationStatus.PENDING,
        db_index=True,
    )
    legal_name = models.CharField(_("姓名/企业名称"), max_length=100)
    number_encrypted = models.TextField(_("证件号码（加密）"), editable=False)
    number_masked = models.CharField(_("证件号码"), max_length=32)
    #: Blind index of the number (:func:`doudesk.crypto.blind_index`): finds other
    #: submissions with the same number for the reviewer without decrypting them all.
    number_digest = models.CharField(
        _("证件号码索引"), max_length=64, blank=True, db_index=True, editable=False
    )
    licence = models.FileField(_("营业执照"), upload_to="licences/%Y/%m/", blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reject_reason = models.CharField(_("驳回原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("实名认证")
        verbose_name_plural = _("实名认证")
        ordering = ["-submitted_at"]
        constraints = [
            # One person, one verified account (实名制): also against two reviews at once.
            models.UniqueConstraint(
                fields=["number_digest"],
                condition=models.Q(status="approved", kind="individual")
                & ~models.Q(number_digest=""),
                name="resident_id_verifies_one_account",
            )
        ]

    def __str__(self) -> str:
        return f"{self.legal_name} {self.number_masked} ({self.get_status_display()})"


class ApiKey(models.Model):
    """A customer's API key; only its SHA-256 digest is stored, the key is shown once."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(_("名称"), max_length=50, default="default")
    prefix = models.CharField(_("前缀"), max_length=12, db_index=True)
    digest = models.CharField(_("密钥摘要"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 密钥")
        verbose_name_plural = _("API 密钥")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"
