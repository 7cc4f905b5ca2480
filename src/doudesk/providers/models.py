"""Fulfilment providers the platform routes orders to."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AdapterKind(models.TextChoices):
    SMM_V2 = "smm_v2", _("SMM API v2 (HTTP)")
    MANUAL = "manual", _("人工交付")


class Provider(models.Model):
    """A vetted provider (MCN, creators, official promotion buyer) reached through an adapter."""

    code = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    adapter = models.CharField(max_length=20, choices=AdapterKind.choices)
    api_url = models.URLField(blank=True)
    # The sandbox provider's URL and key come from settings, so its row needs neither.
    is_sandbox = models.BooleanField(default=False)
    api_key = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("服务商")
        verbose_name_plural = _("服务商")

    def __str__(self) -> str:
        return f"{self.name}{' [沙盒 Sandbox]' if self.is_sandbox else ''}"
