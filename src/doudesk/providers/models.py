"""Fulfilment providers the platform routes orders to."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from doudesk.crypto import decrypt_text, encrypt_text


class AdapterKind(models.TextChoices):
    SMM_V2 = "smm_v2", _("SMM API v2 (HTTP)")
    MANUAL = "manual", _("人工交付")


class Provider(models.Model):
    """A vetted provider (MCN, creators, official promotion buyer) reached through an adapter."""

    code = models.SlugField(_("代码"), unique=True)
    name = models.CharField(_("名称"), max_length=100)
    adapter = models.CharField(_("接入方式"), max_length=20, choices=AdapterKind.choices)
    api_url = models.URLField(_("API 地址"), blank=True)
    # The sandbox provider's URL and key come from settings, so its row needs neither.
    is_sandbox = models.BooleanField(_("沙盒"), default=False)
    #: Encrypted at rest like customers' ID numbers (:mod:`doudesk.crypto`): read it with
    #: :meth:`plain_api_key`, write it with :meth:`set_api_key`.
    api_key = models.TextField(_("服务商 API 密钥（加密）"), blank=True)
    active = models.BooleanField(_("启用"), default=True)
    reports_units = models.BooleanField(
        _("报告已交付单位"),
        default=False,
        help_text=_(
            "服务商的状态应答列出已交付单位的哈希（如粉丝账号的哈希）时开启：每个单位在平台上只计入"
            "一个订单，重复的记为重复销售事件且不计费。沙盒服务商可模拟此功能（每次查询返回订单的全部"
            "单位，订单量大时较慢）。"
        ),
    )

    class Meta:
        verbose_name = _("服务商")
        verbose_name_plural = _("服务商")

    def __str__(self) -> str:
        return f"{self.name}{' [沙盒 Sandbox]' if self.is_sandbox else ''}"

    def set_api_key(self, plain: str) -> None:
        """Store ``plain`` (the provider's key) encrypted; an empty key stays empty."""
        self.api_key = encrypt_text(plain) if plain else ""

    def plain_api_key(self) -> str:
        """Return the provider's key in plain text, for the adapter's calls ("" if none)."""
        return decrypt_text(self.api_key) if self.api_key else ""
