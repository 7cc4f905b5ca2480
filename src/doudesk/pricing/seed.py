"""Sandbox demo pricing data: provider offers, market references and per-module settings.

Offers are the sandbox provider's cost rates (``sandbox.provider_server.SERVICES``) with a success
rate, completion time and daily capacity. References are believable market prices with their
source, observed when seeded and valid for 90 days (e.g. DOU+ sells about 5,000 plays for ¥100:
¥20 per 1,000). Modules delivered by hand have neither and keep their static list rate.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from doudesk.catalog.models import ServiceModule
from doudesk.pricing.models import ModulePricingConfig, ProviderOffer, ReferencePrice
from doudesk.sandbox.provider_server import SERVICES

REFERENCE_VALID_DAYS = 90

# module code → (success rate, capacity per day)
OFFER_QUALITY: dict[str, tuple[str, int]] = {
    "plays": ("0.98", 5_000_000),
    "likes": ("0.97", 500_000),
    "comments": ("0.95", 50_000),
    "shares": ("0.96", 200_000),
    "followers": ("0.95", 300_000),
    "live-viewers": ("0.96", 200_000),
    "lbs-exposure": ("0.97", 5_000_000),
    "video-edit": ("0.99", 200),
    "talking-head": ("0.99", 100),
    "account-report": ("1", 100),
    "competitor-report": ("1", 100),
}

# module code → [(source, its English name, rate per 1,000)]: the lowest one is the market ceiling.
REFERENCES: dict[str, list[tuple[str, str, str]]] = {
    "plays": [
        ("DOU+ 官方价 2026-11", "DOU+ official price 2026-11", "20.00"),
        ("某 SMM 面板 2026-11", "An SMM panel 2026-11", "22.00"),
    ],
    "likes": [("DOU+ 点赞目标 2026-11", "DOU+ likes objective 2026-11", "60.00")],
    "comments": [("DOU+ 评论目标 2026-11", "DOU+ comments objective 2026-11", "450.00")],
    "shares": [("DOU+ 分享目标 2026-11", "DOU+ shares objective 2026-11", "120.00")],
    "followers": [
        ("DOU+ 涨粉目标 2026-11", "DOU+ follower-growth objective 2026-11", "220.00"),
        ("巨量千川 2026-11", "Ocean Engine Qianchuan 2026-11", "240.00"),
    ],
    "live-viewers": [("DOU+ 直播加热 2026-11", "DOU+ live-room boost 2026-11", "90.00")],
    "lbs-exposure": [("抖音来客 本地推 2026-11", "Douyin Laike local promotion 2026-11", "30.00")],
    "video-edit": [
        ("猪八戒网 剪辑均价 2026-11", "Zhubajie average editing price 2026-11", "260000.00")
    ],
    "talking-head": [
        ("猪八戒网 口播均价 2026-11", "Zhubajie average talking-head price 2026-11", "480000.00")
    ],
    "account-report": [("新榜 账号诊断 2026-11", "Newrank account diagnosis 2026-11", "129000.00")],
    "competitor-report": [
        ("蝉妈妈 竞品分析 2026-11", "Chanmama competitor analysis 2026-11", "199000.00")
    ],
}

# Modules sold by the piece: publish for one piece, small-volume tiers.
PIECE_TIERS = [{"min_quantity": 1, "discount": "0"}, {"min_quantity": 5, "discount": "0.03"}]
PIECE_MODULES = ("video-edit", "talking-head", "account-report", "competitor-report")


@transaction.atomic
def pricing_seed_demo(*, now: datetime | None = None) -> bool:
    """Seed demo offers, references and settings once; returns whether anything was written."""
    if ProviderOffer.objects.exists() or ReferencePrice.objects.exists():
        return False
    now = now or timezone.now()
    costs = {str(s.service_id): s for s in SERVICES}
    wrote = False
    for module in ServiceModule.objects.select_related("provider").order_by("pk"):
        service = costs.get(module.provider_service_id) if module.provider.is_sandbox else None
        quality = OFFER_QUALITY.get(module.code)
        if service is None or quality is None:
            continue
        success, capacity = quality
        ProviderOffer.objects.create(
            module=module,
            provider=module.provider,
            rate=service.rate,
            success_rate=Decimal(success),
            completion_hours=module.avg_completion_hours,
            capacity_per_day=capacity,
            min_quantity=service.min_quantity,
            max_quantity=service.max_quantity,
        )
        for source, source_en, rate in REFERENCES.get(module.code, []):
            ReferencePrice.objects.create(
                module=module,
                source=source,
                source_en=source_en,
                rate=Decimal(rate),
                observed_at=now,
                expires_at=now + timedelta(days=REFERENCE_VALID_DAYS),
            )
        piece = module.code in PIECE_MODULES
        ModulePricingConfig.objects.create(
            module=module,
            tiers=PIECE_TIERS if piece else ModulePricingConfig._meta.get_field("tiers").default(),
            base_quantity=1 if piece else None,
        )
        wrote = True
    return wrote
