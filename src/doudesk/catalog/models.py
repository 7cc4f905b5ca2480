"""Catalogue: categories, service modules, packages and daily growth plans."""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doudesk.languages import english_active


class Localized:
    """Mixin picking ``name_zh``/``name_en`` (and descriptions) by the active language."""

    name_zh: str
    name_en: str

    @property
    def name(self) -> str:
        return self.name_en if english_active() else self.name_zh

    @property
    def description(self) -> str:
        zh = getattr(self, "description_zh", "")
        en = getattr(self, "description_en", "")
        return en if english_active() else zh


class CategoryGroup(models.TextChoices):
    PROMOTION = "promotion", _("推广")
    LOCAL = "local", _("本地推广")
    CONTENT = "content", _("内容制作")
    DATA = "data", _("数据服务")


class Category(Localized, models.Model):
    slug = models.SlugField(_("标识"), unique=True)
    group = models.CharField(_("分组"), max_length=20, choices=CategoryGroup.choices)
    name_zh = models.CharField(_("中文名称"), max_length=50)
    name_en = models.CharField(_("英文名称"), max_length=50)
    sort = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        ordering = ["sort", "pk"]
        verbose_name = _("分类")
        verbose_name_plural = _("分类")

    def __str__(self) -> str:
        return self.name_zh


class ModuleKind(models.TextChoices):
    PLAYS = "plays", _("播放")
    LIKES = "likes", _("点赞")
    COMMENTS = "comments", _("评论")
    SHARES = "shares", _("分享")
    FOLLOWERS = "followers", _("粉丝")
    LIVE_VIEWERS = "live_viewers", _("直播间人气")
    LBS = "lbs", _("本地推广")
    VIDEO_EDIT = "video_edit", _("视频剪辑")
    REPORT = "report", _("账号诊断")


# Bought bot traffic (刷量) is illegal in China: these kinds may only be fulfilled through the
# platform's official promotion channel (DOU+-style), never by creators or "services".
OFFICIAL_ONLY_KINDS = (
    ModuleKind.PLAYS,
    ModuleKind.LIKES,
    ModuleKind.COMMENTS,
    ModuleKind.SHARES,
    ModuleKind.FOLLOWERS,
)


class TargetKind(models.TextChoices):
    VIDEO = "video", _("视频")
    ACCOUNT = "account", _("账号")
    LIVE = "live", _("直播间")
    NONE = "none", _("无")


class Channel(models.TextChoices):
    OFFICIAL_PROMOTION = "official_promotion", _("官方推广")
    CREATOR_COLLABORATION = "creator_collaboration", _("达人合作")
    PROFESSIONAL_SERVICE = "professional_service", _("专业服务")


class ServiceModule(Localized, models.Model):
    """One standard service a customer can order alone, routed to one provider service."""

    category = models.ForeignKey(
        Category, verbose_name=_("分类"), on_delete=models.PROTECT, related_name="modules"
    )
    code = models.SlugField(_("代码"), unique=True)
    kind = models.CharField(_("类型"), max_length=20, choices=ModuleKind.choices)
    name_zh = models.CharField(_("中文名称"), max_length=80)
    name_en = models.CharField(_("英文名称"), max_length=80)
    description_zh = models.TextField(_("中文介绍"), blank=True)
    description_en = models.TextField(_("英文介绍"), blank=True)
    target_kind = models.CharField(_("链接类型"), max_length=10, choices=TargetKind.choices)
    unit_zh = models.CharField(_("中文单位"), max_length=10)
    unit_en = models.CharField(_("英文单位"), max_length=20)
    min_quantity = models.PositiveIntegerField(_("最小数量"))
    max_quantity = models.PositiveIntegerField(_("最大数量"))
    step = models.PositiveIntegerField(_("步长"), default=1)
    rate_per_1000 = models.DecimalField(_("每千单位价格(元)"), max_digits=12, decimal_places=4)
    avg_completion_hours = models.DecimalField(
        _("平均完成时间（小时）"), max_digits=8, decimal_places=2
    )
    refill_days = models.PositiveSmallIntegerField(_("补量天数"), default=0)
    cancel_allowed = models.BooleanField(_("允许取消"), default=False)
    refill_allowed = models.BooleanField(_("允许补量"), default=False)
    channel = models.CharField(_("交付渠道"), max_length=30, choices=Channel.choices)
    provider = models.ForeignKey(
        "providers.Provider",
        verbose_name=_("服务商"),
        on_delete=models.PROTECT,
        related_name="modules",
    )
    provider_service_id = models.CharField(_("服务商服务编号"), max_length=50)
    active = models.BooleanField(_("上架"), default=True)
    sort = models.PositiveSmallIntegerField(_("排序"), default=0)
    match_phrases = models.TextField(
        _("点名说法"),
        blank=True,
        help_text=_(
            "客户在智能匹配中点名此服务的说法，每行一个（中文或英文，逗号也可分隔）；"
            "中英文名称总是算作点名。"
        ),
    )

    class Meta:
        ordering = ["category__sort", "sort", "pk"]
        verbose_name = _("服务模块")
        verbose_name_plural = _("服务模块")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind__in=[k.value for k in OFFICIAL_ONLY_KINDS])
                | Q(channel=Channel.OFFICIAL_PROMOTION),
                name="engagement_only_through_official_promotion",
            ),
            models.CheckConstraint(
                condition=Q(min_quantity__gte=1)
                & Q(max_quantity__gte=models.F("min_quantity"))
                & Q(step__gte=1),
                name="module_quantity_bounds",
            ),
            models.CheckConstraint(condition=Q(rate_per_1000__gt=0), name="module_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.name_zh}"

    @property
    def unit(self) -> str:
        return self.unit_en if english_active() else self.unit_zh

    @property
    def is_on_sale(self) -> bool:
        """Whether it can be ordered now: active, and not of a provider disabled in this mode.

        Kept in step with :func:`doudesk.catalog.selectors.on_sale`.
        """
        return self.active and (settings.SANDBOX or not self.provider.is_sandbox)

    @property
    def is_official_promotion(self) -> bool:
        return self.channel == Channel.OFFICIAL_PROMOTION

    def price_example(self, quantity: int = 1000) -> Decimal:
        return (self.rate_per_1000 * quantity / 1000).quantize(Decimal("0.01"))

    def naming_phrases(self) -> list[str]:
        """Return the phrases that name this module in a need: its names and ``match_phrases``."""
        given = re.split(r"[\n,，、;；]+", self.match_phrases)
        phrases = [self.name_zh, self.name_en, *given]
        return list(dict.fromkeys(p.strip() for p in phrases if p.strip()))


class Package(Localized, models.Model):
    """A fixed bundle of modules at a bundle price, e.g. 播放+点赞+评论."""

    code = models.SlugField(_("代码"), unique=True)
    name_zh = models.CharField(_("中文名称"), max_length=80)
    name_en = models.CharField(_("英文名称"), max_length=80)
    description_zh = models.TextField(_("中文介绍"), blank=True)
    description_en = models.TextField(_("英文介绍"), blank=True)
    price_fen = models.BigIntegerField(_("价格（分）"))
    target_kind = models.CharField(_("链接类型"), max_length=10, choices=TargetKind.choices)
    active = models.BooleanField(_("上架"), default=True)

    class Meta:
        verbose_name = _("套餐")
        verbose_name_plural = _("套餐")
        constraints = [
            models.CheckConstraint(condition=Q(price_fen__gt=0), name="package_price_positive")
        ]

    def __str__(self) -> str:
        return self.name_zh


class PackageItem(models.Model):
    package = models.ForeignKey(
        Package, verbose_name=_("套餐"), on_delete=models.CASCADE, related_name="items"
    )
    module = models.ForeignKey(ServiceModule, verbose_name=_("服务模块"), on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(_("数量"))

    class Meta:
        verbose_name = _("套餐项目")
        verbose_name_plural = _("套餐项目")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["package", "module"], name="package_module_once")
        ]

    def __str__(self) -> str:
        return f"{self.module.name_zh} × {self.quantity}"


class GrowthPlan(Localized, models.Model):
    """N units of one module a day for D days, placed as one order per day."""

    code = models.SlugField(_("代码"), unique=True)
    name_zh = models.CharField(_("中文名称"), max_length=80)
    name_en = models.CharField(_("英文名称"), max_length=80)
    description_zh = models.TextField(_("中文介绍"), blank=True)
    description_en = models.TextField(_("英文介绍"), blank=True)
    module = models.ForeignKey(ServiceModule, verbose_name=_("服务模块"), on_delete=models.PROTECT)
    daily_quantity = models.PositiveIntegerField(_("每日数量"))
    days = models.PositiveSmallIntegerField(_("天数"))
    active = models.BooleanField(_("上架"), default=True)

    class Meta:
        verbose_name = _("每日增长计划")
        verbose_name_plural = _("每日增长计划")
        constraints = [
            models.CheckConstraint(
                condition=Q(days__gte=1) & Q(days__lte=365), name="growth_plan_days"
            )
        ]

    def __str__(self) -> str:
        return self.name_zh
