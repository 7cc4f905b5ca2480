"""Pricing records: quotes, operator settings, market inputs, engine state and price history.

Design overview
---------------
* :class:`Quote` is every price a customer sees (held ten minutes, charged exactly). Quotes priced
  by the engine also keep the engine's bookkeeping (floor, ceiling, grid point, tier) so the order
  placed on them can teach the demand model.
* :class:`ModulePricingConfig` holds the operator's settings per module (margins, step limit, kill
  switch, quality bar, tiers). A module without a row uses the field defaults, which equal the
  engine's defaults except for a 90 % success-rate quality bar.
* :class:`ProviderOffer` and :class:`ReferencePrice` are the market the engine prices against:
  provider cost offers and dated market references (which expire).
* :class:`ModulePriceState` is the engine's learned state per module (JSON) plus the published
  base rate; its row is the lock taken (``select_for_update``) whenever the state changes.
* :class:`PriceChange` is one row per publication with its reason in Chinese and English; the rows
  whose price moved form the operator change log (:class:`PriceChangeLog`).

A module *is priced dynamically* when it has a :class:`ModulePriceState` row and its config (if
any) is enabled; every other module sells at its static list rate ``rate_per_1000``.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from doudesk.wallet.money import yuan_label


def _quote_id() -> str:
    return "q_" + secrets.token_hex(10)


def _default_tiers() -> list[dict[str, object]]:
    return [
        {"min_quantity": 1, "discount": "0"},
        {"min_quantity": 5_000, "discount": "0.03"},
        {"min_quantity": 20_000, "discount": "0.06"},
    ]


class QuoteSource(models.TextChoices):
    STATIC = "static", _("固定价")
    ENGINE = "engine", _("动态定价")


class Quote(models.Model):
    """A price shown to one customer for one module and quantity, valid until ``expires_at``."""

    id = models.CharField(
        _("报价编号"), primary_key=True, max_length=24, default=_quote_id, editable=False
    )
    customer = models.ForeignKey(
        "accounts.Customer", verbose_name=_("客户"), on_delete=models.CASCADE
    )
    module = models.ForeignKey(
        "catalog.ServiceModule", verbose_name=_("服务模块"), on_delete=models.CASCADE
    )
    quantity = models.PositiveIntegerField(_("数量"))
    unit_rate = models.DecimalField(_("单价（元/千）"), max_digits=12, decimal_places=4)
    total_fen = models.BigIntegerField(_("总价（分）"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("失效时间"))
    source = models.CharField(
        _("来源"), max_length=10, choices=QuoteSource.choices, default=QuoteSource.STATIC
    )
    floor = models.DecimalField(
        _("底价（元/千）"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    ceiling = models.DecimalField(
        _("上限（元/千）"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    reference_rate = models.DecimalField(
        _("市场参考价（元/千）"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    point = models.PositiveSmallIntegerField(_("价格档位"), null=True, blank=True)
    grid_version = models.PositiveIntegerField(_("档位版本"), default=0)
    tier = models.PositiveSmallIntegerField(_("阶梯"), default=0)

    class Meta:
        verbose_name = _("报价")
        verbose_name_plural = _("报价")

    def __str__(self) -> str:
        return f"{self.id} {self.module_id}×{self.quantity} = {yuan_label(self.total_fen)}"


class ModulePricingConfig(models.Model):
    """The operator's pricing settings for one module."""

    module = models.OneToOneField(
        "catalog.ServiceModule",
        verbose_name=_("服务模块"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="pricing_config",
    )
    enabled = models.BooleanField(
        _("启用动态定价"), default=True, help_text=_("关闭后按目录固定价 rate_per_1000 销售")
    )
    kill_switch = models.BooleanField(
        _("紧急开关（固定加价）"),
        default=False,
        help_text=_("开启后立即按 成本 ×（1 + 固定加价率）定价，仍受底价与市场最低价约束"),
    )
    min_margin = models.DecimalField(
        _("最低利润率"), max_digits=6, decimal_places=4, default=Decimal("0.05")
    )
    static_markup = models.DecimalField(
        _("固定加价率"), max_digits=6, decimal_places=4, default=Decimal("0.30")
    )
    max_markup_without_reference = models.DecimalField(
        _("无市场参考价时的最高加价率"), max_digits=6, decimal_places=4, default=Decimal("1.00")
    )
    step_per_hour = models.DecimalField(
        _("每小时最大调价幅度"), max_digits=6, decimal_places=4, default=Decimal("0.10")
    )
    min_success_rate = models.DecimalField(
        _("服务商最低成功率"), max_digits=5, decimal_places=4, default=Decimal("0.90")
    )
    max_completion_hours = models.DecimalField(
        _("服务商最长完成时间(小时)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    tiers = models.JSONField(
        _("阶梯折扣"),
        default=_default_tiers,
        help_text=_('如 [{"min_quantity": 5000, "discount": "0.03"}]'),
    )
    base_quantity = models.PositiveIntegerField(
        _("基准数量"), null=True, blank=True, help_text=_("留空为 1000（限于模块数量范围内）")
    )
    grid_size = models.PositiveSmallIntegerField(_("价格档位数"), default=8)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("定价设置")
        verbose_name_plural = _("定价设置")
        constraints = [
            models.CheckConstraint(
                condition=Q(min_margin__gte=0)
                & Q(static_markup__gte=0)
                & Q(max_markup_without_reference__gte=0)
                & Q(step_per_hour__gt=0),
                name="pricing_config_margins",
            ),
            models.CheckConstraint(
                condition=Q(min_success_rate__gte=0) & Q(min_success_rate__lte=1),
                name="pricing_config_success_rate",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.module_id} pricing"


class ProviderOffer(models.Model):
    """One provider's cost for a module (yuan per 1,000 units), its quality and daily capacity."""

    module = models.ForeignKey(
        "catalog.ServiceModule",
        verbose_name=_("服务模块"),
        on_delete=models.CASCADE,
        related_name="provider_offers",
    )
    provider = models.ForeignKey(
        "providers.Provider",
        verbose_name=_("服务商"),
        on_delete=models.CASCADE,
        related_name="offers",
    )
    rate = models.DecimalField(_("成本价(元/千)"), max_digits=12, decimal_places=4)
    success_rate = models.DecimalField(
        _("成功率"), max_digits=5, decimal_places=4, default=Decimal("1")
    )
    completion_hours = models.DecimalField(
        _("完成时间(小时)"), max_digits=8, decimal_places=2, default=Decimal("0")
    )
    capacity_per_day = models.PositiveBigIntegerField(
        _("日产能"), null=True, blank=True, help_text=_("留空为不限")
    )
    min_quantity = models.PositiveIntegerField(_("最小数量"), default=1)
    max_quantity = models.PositiveIntegerField(_("最大数量"), null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("服务商报价")
        verbose_name_plural = _("服务商报价")
        ordering = ["module", "rate", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["module", "provider"], name="offer_module_provider"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="offer_rate_positive"),
            models.CheckConstraint(
                condition=Q(success_rate__gte=0) & Q(success_rate__lte=1),
                name="offer_success_rate",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.module_id} @ {self.provider_id}: {self.rate}"


class ReferencePrice(models.Model):
    """A market reference price for a module, with its source; it counts until ``expires_at``."""

    module = models.ForeignKey(
        "catalog.ServiceModule",
        verbose_name=_("服务模块"),
        on_delete=models.CASCADE,
        related_name="reference_prices",
    )
    source = models.CharField(_("来源"), max_length=100)
    #: The source's name in English for English pages (``source`` is Chinese); blank: none given.
    source_en = models.CharField(_("来源（英文）"), max_length=100, blank=True, default="")
    rate = models.DecimalField(_("参考价(元/千)"), max_digits=12, decimal_places=4)
    observed_at = models.DateTimeField(_("采集时间"))
    expires_at = models.DateTimeField(_("失效时间"))
    min_quantity = models.PositiveIntegerField(_("最小数量"), default=1)
    max_quantity = models.PositiveIntegerField(_("最大数量"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("市场参考价")
        verbose_name_plural = _("市场参考价")
        ordering = ["module", "rate", "pk"]
        indexes = [models.Index(fields=["module", "expires_at"], name="refprice_module_expiry")]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gt=0), name="refprice_rate_positive"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("observed_at")), name="refprice_expires_after"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.module_id} {self.source}: {self.rate}"


class ModulePriceState(models.Model):
    """The engine's learned state for one module and its published base rate."""

    module = models.OneToOneField(
        "catalog.ServiceModule",
        verbose_name=_("服务模块"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="price_state",
    )
    state = models.JSONField(_("引擎状态"))
    price = models.DecimalField(
        _("基准价（元/千）"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    available = models.BooleanField(_("可售"), default=False)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    # Quotes and orders up to this instant are folded into ``state`` (see pricing.services).
    observed_through = models.DateTimeField(_("已学习至"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("定价状态")
        verbose_name_plural = _("定价状态")

    def __str__(self) -> str:
        return f"{self.module_id}: {self.price}"


class PriceChange(models.Model):
    """One publication of a module's base rate, with the reason, floor, ceiling and cost."""

    module = models.ForeignKey(
        "catalog.ServiceModule",
        verbose_name=_("服务模块"),
        on_delete=models.CASCADE,
        related_name="price_changes",
    )
    at = models.DateTimeField(_("发布时间"))
    old_price = models.DecimalField(
        _("原价（元/千）"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    new_price = models.DecimalField(
        _("新价（元/千）"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    changed = models.BooleanField(_("已调价"), default=False)
    code = models.CharField(_("原因代码"), max_length=20)
    reason_zh = models.TextField(_("中文原因"))
    reason_en = models.TextField(_("英文原因"))
    floor = models.DecimalField(
        _("底价（元/千）"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    ceiling = models.DecimalField(
        _("上限（元/千）"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    cost = models.DecimalField(
        _("成本（元/千）"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    target = models.DecimalField(
        _("目标价（元/千）"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    reference_rate = models.DecimalField(
        _("市场参考价（元/千）"), max_digits=12, decimal_places=4, null=True, blank=True
    )

    class Meta:
        verbose_name = _("价格发布记录")
        verbose_name_plural = _("价格发布记录")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["module", "at"], name="pricechange_module_at")]

    def __str__(self) -> str:
        return f"{self.module_id} {self.at:%Y-%m-%d %H:%M} {self.old_price} → {self.new_price}"


class PriceChangeLog(PriceChange):
    """The operator change log: the publications that moved a price (same table)."""

    class Meta:
        proxy = True
        verbose_name = _("调价日志")
        verbose_name_plural = _("调价日志")
