"""Fulfilment providers the platform routes orders to."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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
    api_key = models.CharField(_("服务商 API 密钥"), max_length=200, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("服务商")
        verbose_name_plural = _("服务商")

    def __str__(self) -> str:
        return f"{self.name}{' [沙盒 Sandbox]' if self.is_sandbox else ''}"
