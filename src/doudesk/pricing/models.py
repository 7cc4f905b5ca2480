"""Quotes: every price a customer sees, held for ten minutes."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _


def _quote_id() -> str:
    return "q_" + secrets.token_hex(10)


class Quote(models.Model):
    id = models.CharField(primary_key=True, max_length=24, default=_quote_id, editable=False)
    customer = models.ForeignKey("accounts.Customer", on_delete=models.CASCADE)
    module = models.ForeignKey("catalog.ServiceModule", on_delete=models.CASCADE)
    quantity = models.PositiveIntegerField()
    unit_rate = models.DecimalField(max_digits=12, decimal_places=4)
    total_fen = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("报价")
        verbose_name_plural = _("报价")

    def __str__(self) -> str:
        return f"{self.id} {self.module_id}×{self.quantity} = {self.total_fen}"
