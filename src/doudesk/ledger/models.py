"""Transparency log storage: leaves, complete-subtree hashes and signed checkpoints."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LogLeaf(models.Model):
    """One leaf: the exact canonical JSON text hashed into the log.

    Written in the same transaction as the order event it records, with ``index`` unset; the
    sequencer assigns indexes in batches and integrates the leaves into the tree.
    """

    index = models.BigIntegerField(unique=True, null=True, blank=True)
    leaf = models.TextField()
    leaf_hash = models.BinaryField(max_length=32)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="log_leaves"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("日志叶子")
        verbose_name_plural = _("日志叶子")
        indexes = [models.Index(fields=["index"], name="ledger_leaf_unsequenced", condition=models.Q(index__isnull=True))]

    def __str__(self) -> str:
        return f"leaf {self.index if self.index is not None else '(pending)'}"
