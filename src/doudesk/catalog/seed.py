"""The sandbox demo catalogue: 13 modules, 3 packages and a growth plan, seeded once.

Prices are believable CNY retail rates (DOU+ sells about 5,000 plays for ¥100; DouDesk's plays
are ¥16 per 1,000). Provider service ids are those of the sandbox provider.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from doudesk.catalog.models import (
    Category,
    Channel,
    GrowthPlan,
    ModuleKind,
    Package,
    PackageItem,
    ServiceModule,
    TargetKind,
)
from doudesk.catalog.services import module_save
from doudesk.pricing.seed import pricing_seed_demo
from doudesk.providers.models import AdapterKind, Provider

CATEGORIES = [
    ("promotion", "promotion", "官方推广", "Official promotion"),
    ("local", "local", "本地推广", "Local promotion"),
    ("content", "content", "内容制作", "Content production"),
    ("data", "data", "数据服务", "Data services"),
]

OFFICIAL = Channel.OFFICIAL_PROMOTION
CREATOR = Channel.CREATOR_COLLABORATION
PRO = Channel.PROFESSIONAL_SERVICE
V, A, L, N = TargetKind.VIDEO, TargetKind.ACCOUNT, TargetKind.LIVE, TargetKind.NONE

# code, category, kind, zh, en, desc zh, desc en, target, unit zh/en, min, max, step, rate/1000,
# hours, refill days, cancel, refill, channel, provider ("sandbox"/"manual"), provider service
MODULES = [
    ("plays", "promotion", ModuleKind.PLAYS, "视频播放", "Video plays",
     "官方推广加热，真实用户观看", "Official promotion to real viewers", V, "次", "plays",
     500, 1_000_000, 100, "16.00", "2", 0, True, False, OFFICIAL, "sandbox", "1"),
    ("likes", "promotion", ModuleKind.LIKES, "视频点赞", "Video likes",
     "以互动为目标的官方推广", "Official promotion optimised for likes", V, "个", "likes",
     50, 100_000, 10, "50.00", "6", 7, True, True, OFFICIAL, "sandbox", "2"),
    ("comments", "promotion", ModuleKind.COMMENTS, "视频评论", "Video comments",
     "以评论互动为目标的官方推广", "Official promotion optimised for comments", V, "条", "comments",
     10, 5_000, 5, "380.00", "12", 0, True, False, OFFICIAL, "sandbox", "3"),
    ("shares", "promotion", ModuleKind.SHARES, "视频分享", "Video shares",
     "以分享为目标的官方推广", "Official promotion optimised for shares", V, "次", "shares",
     50, 50_000, 10, "100.00", "12", 0, True, False, OFFICIAL, "sandbox", "4"),
    ("followers", "promotion", ModuleKind.FOLLOWERS, "账号涨粉", "Account followers",
     "以粉丝增长为目标的官方推广，30 天补量", "Official follower-growth promotion, 30-day refill",
     A, "个", "followers", 100, 100_000, 10, "180.00", "24", 30, True, True, OFFICIAL, "sandbox",
     "5"),
    ("live-viewers", "promotion", ModuleKind.LIVE_VIEWERS, "直播间人气", "Live-room viewers",
     "直播加热，为直播间带来真实观众", "Live promotion bringing real viewers", L, "人次", "viewers",
     100, 50_000, 10, "75.00", "2", 0, True, False, OFFICIAL, "sandbox", "6"),
    ("lbs-exposure", "local", ModuleKind.LBS, "同城曝光", "Local exposure",
     "面向门店周边人群的同城推广", "Promotion to people near your shop", V, "次", "views",
     1_000, 1_000_000, 500, "25.00", "12", 0, True, False, OFFICIAL, "sandbox", "7"),
    ("lbs-store-visit", "local", ModuleKind.LBS, "达人探店", "Creator store visit",
     "本地达人到店拍摄探店视频（人工交付）", "A local creator visits and films your shop (manual)",
     A, "场", "visits", 1, 10, 1, "299000.00", "72", 0, False, False, CREATOR, "manual", "visit"),
    ("video-edit", "content", ModuleKind.VIDEO_EDIT, "短视频剪辑", "Short-video editing",
     "专业剪辑师为您的素材剪辑成片", "A professional editor cuts your footage", N, "条", "videos",
     1, 20, 1, "199000.00", "48", 0, False, False, PRO, "sandbox", "8"),
    ("talking-head", "content", ModuleKind.VIDEO_EDIT, "口播视频制作", "Talking-head video",
     "脚本撰写 + 口播拍摄剪辑", "Script, shoot and edit of a talking-head video", N, "条", "videos",
     1, 20, 1, "399000.00", "72", 0, False, False, PRO, "sandbox", "8"),
    ("creator-seeding", "content", ModuleKind.VIDEO_EDIT, "达人种草视频", "Creator seeding video",
     "腰部达人发布种草视频（人工交付）", "A mid-tier creator posts a seeding video (manual)", A,
     "条", "videos", 1, 10, 1, "599000.00", "120", 0, False, False, CREATOR, "manual", "seeding"),
    ("account-report", "data", ModuleKind.REPORT, "账号诊断报告", "Account diagnosis report",
     "内容、粉丝画像与增长建议报告", "Content, audience and growth recommendations", A, "份",
     "reports", 1, 1, 1, "99000.00", "24", 0, False, False, PRO, "sandbox", "9"),
    ("competitor-report", "data", ModuleKind.REPORT, "竞品分析报告", "Competitor analysis report",
     "同类账号对标与爆款拆解", "Benchmark of similar accounts and their hits", A, "份", "reports",
     1, 1, 1, "149000.00", "48", 0, False, False, PRO, "sandbox", "10"),
]  # fmt: skip

# How customers name a module when another of its kind would also serve the need (smart
# matching keeps the named one); the module's names always count. Only phrases that ask for
# the service: "竞品" or "competitors" alone is often said in passing ("竞品的播放量比我高").
MATCH_PHRASES = {
    "lbs-exposure": "同城推广\nlocal promotion",
    "lbs-store-visit": "达人探店\n探店视频\n到店拍摄\nstore visit\nshop visit\nstore visits",
    "video-edit": "剪辑成片\n素材剪辑\nedit my footage\nfootage editing",
    "talking-head": "口播\n口播视频\n真人出镜\ntalking head\ntalking-head videos",
    "creator-seeding": "达人种草\n种草视频\nseeding video\nseeding videos",
    "account-report": "账号诊断\n诊断报告\naccount diagnosis\naccount audit",
    "competitor-report": (
        "竞品分析\n竞品报告\n竞争对手分析\n对标分析\n爆款拆解\ncompetitor analysis\n"
        "competitor report\ncompetitive analysis\nbenchmark report"
    ),
}

PACKAGES = [
    ("starter", "新视频起量包", "New video starter", "播放+点赞+评论，新作品冷启动",
     "Plays + likes + comments to start a new video", V, 16_800,
     [("plays", 10_000), ("likes", 300), ("comments", 20)]),
    ("hit", "爆款冲刺包", "Go-viral sprint", "播放+点赞+评论+分享，冲击热门",
     "Plays, likes, comments and shares for a push to trending", V, 86_800,
     [("plays", 50_000), ("likes", 1_500), ("comments", 100), ("shares", 200)]),
    ("grow", "涨粉诊断组合", "Followers + diagnosis", "1,000 粉丝 + 账号诊断报告",
     "1,000 followers and an account diagnosis report", A, 25_900,
     [("followers", 1_000), ("account-report", 1)]),
]  # fmt: skip


def _providers() -> dict[str, Provider]:
    sandbox, _ = Provider.objects.get_or_create(
        code="sandbox",
        defaults={
            "name": "沙盒服务商 Sandbox provider",
            "adapter": AdapterKind.SMM_V2,
            "is_sandbox": True,
        },
    )
    manual, _ = Provider.objects.get_or_create(
        code="xinghe-mcn",
        defaults={"name": "星河 MCN（人工交付）", "adapter": AdapterKind.MANUAL},
    )
    return {"sandbox": sandbox, "manual": manual}


@transaction.atomic
def seed_demo() -> bool:
    """Seed the demo catalogue once; returns whether anything was written."""
    if ServiceModule.objects.exists():
        return False
    providers = _providers()
    categories = {}
    for sort, (slug, group, zh, en) in enumerate(CATEGORIES):
        categories[slug] = Category.objects.create(
            slug=slug, group=group, name_zh=zh, name_en=en, sort=sort
        )
    modules = {}
    for sort, row in enumerate(MODULES):
        (code, cat, kind, zh, en, dzh, den, target, uzh, uen, lo, hi, step, rate, hours,
         refill_days, cancel, refill, channel, provider, service) = row  # fmt: skip
        modules[code] = module_save(
            module=ServiceModule(
                category=categories[cat],
                code=code,
                kind=kind,
                name_zh=zh,
                name_en=en,
                description_zh=dzh,
                description_en=den,
                target_kind=target,
                unit_zh=uzh,
                unit_en=uen,
                min_quantity=lo,
                max_quantity=hi,
                step=step,
                rate_per_1000=Decimal(rate),
                avg_completion_hours=Decimal(hours),
                refill_days=refill_days,
                cancel_allowed=cancel,
                refill_allowed=refill,
                channel=channel,
                provider=providers[provider],
                provider_service_id=service,
                sort=sort,
                match_phrases=MATCH_PHRASES.get(code, ""),
            )  # fmt: skip
        )
    for code, zh, en, dzh, den, target, price, items in PACKAGES:
        package = Package.objects.create(
            code=code, name_zh=zh, name_en=en, description_zh=dzh, description_en=den,
            target_kind=target, price_fen=price,
        )  # fmt: skip
        for module_code, quantity in items:
            PackageItem.objects.create(
                package=package, module=modules[module_code], quantity=quantity
            )
    GrowthPlan.objects.create(
        code="daily-followers", name_zh="每日涨粉计划", name_en="Daily follower growth",
        description_zh="每天 100 粉丝，连续 30 天，稳步增长",
        description_en="100 followers a day for 30 days of steady growth",
        module=modules["followers"], daily_quantity=100, days=30,
    )  # fmt: skip
    # Pricing inputs only (offers, references, settings): prices are published after seeding.
    pricing_seed_demo()
    return True
