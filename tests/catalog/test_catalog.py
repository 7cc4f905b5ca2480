"""Catalogue rules: engagement only via official promotion, the seeded demo, promotion options."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from doudesk.catalog.models import (
    OFFICIAL_ONLY_KINDS,
    Category,
    CategoryGroup,
    Channel,
    GrowthPlan,
    ModuleKind,
    Package,
    ServiceModule,
)
from doudesk.catalog.promotion import (
    duration_within,
    valid_duration,
    validate_promotion_options,
)
from doudesk.catalog.seed import seed_demo
from doudesk.catalog.services import module_check_channel, module_save, quantity_errors
from doudesk.errors import DomainError
from doudesk.matching.lexicon import get_lexicon

NOT_OFFICIAL = [Channel.CREATOR_COLLABORATION, Channel.PROFESSIONAL_SERVICE]
FREE_KINDS = [k for k in ModuleKind if k not in OFFICIAL_ONLY_KINDS]


@pytest.mark.parametrize("channel", NOT_OFFICIAL)
@pytest.mark.parametrize("kind", OFFICIAL_ONLY_KINDS)
def test_engagement_outside_official_promotion_is_refused_by_the_service(kind, channel):
    with pytest.raises(DomainError) as err:
        module_check_channel(kind=kind, channel=channel)
    [error] = err.value.errors
    assert (error.field, error.code) == ("channel", "channel_not_allowed")
    assert "官方推广" in error.message_zh
    assert "official promotion" in error.message_en


@pytest.mark.parametrize("kind", list(ModuleKind))
def test_every_kind_may_be_sold_through_official_promotion(kind):
    module_check_channel(kind=kind, channel=Channel.OFFICIAL_PROMOTION)


@pytest.mark.parametrize("channel", NOT_OFFICIAL)
@pytest.mark.parametrize("kind", FREE_KINDS)
def test_other_kinds_may_use_any_channel(kind, channel):
    module_check_channel(kind=kind, channel=channel)


def test_the_engagement_kinds_are_plays_likes_comments_shares_followers():
    assert {k.value for k in OFFICIAL_ONLY_KINDS} == {
        "plays",
        "likes",
        "comments",
        "shares",
        "followers",
    }


def _module(**overrides) -> ServiceModule:
    base = ServiceModule.objects.get(code="plays")
    fields = {
        f.name: getattr(base, f.name)
        for f in ServiceModule._meta.concrete_fields
        if f.name not in ("id", "code")
    }
    return ServiceModule(**(fields | {"code": "bot-plays"} | overrides))


@pytest.mark.django_db
@pytest.mark.parametrize("channel", NOT_OFFICIAL)
@pytest.mark.parametrize("kind", OFFICIAL_ONLY_KINDS)
def test_the_database_refuses_engagement_outside_official_promotion(seeded, kind, channel):
    with pytest.raises(IntegrityError), transaction.atomic():
        _module(kind=kind, channel=channel).save()
    assert not ServiceModule.objects.filter(code="bot-plays").exists()


@pytest.mark.django_db
def test_module_save_refuses_before_the_database_is_asked(seeded):
    with pytest.raises(DomainError):
        module_save(module=_module(channel=Channel.CREATOR_COLLABORATION))
    assert not ServiceModule.objects.filter(code="bot-plays").exists()
    saved = module_save(module=_module(kind=ModuleKind.LBS, channel=Channel.CREATOR_COLLABORATION))
    assert saved.pk is not None


@pytest.mark.django_db
def test_the_database_refuses_an_engagement_module_moved_off_official_promotion(seeded):
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceModule.objects.filter(code="likes").update(channel=Channel.PROFESSIONAL_SERVICE)
    assert ServiceModule.objects.get(code="likes").channel == Channel.OFFICIAL_PROMOTION


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [
        {"min_quantity": 0},
        {"max_quantity": 10, "min_quantity": 20},
        {"step": 0},
        {"rate_per_1000": Decimal(0)},
    ],
    ids=["min-zero", "max-below-min", "step-zero", "free"],
)
def test_the_database_refuses_impossible_quantities_and_prices(seeded, overrides):
    with pytest.raises(IntegrityError), transaction.atomic():
        _module(**overrides).save()


@pytest.mark.django_db
def test_the_seeded_demo_spans_every_group_with_packages_and_a_plan(seeded):
    modules = list(ServiceModule.objects.select_related("category"))
    assert len(modules) >= 12
    assert {m.category.group for m in modules} == {g.value for g in CategoryGroup}
    promotion = {m.kind for m in modules if m.category.group == CategoryGroup.PROMOTION}
    assert {"plays", "likes", "comments", "shares", "followers", "live_viewers"} <= promotion
    assert any(m.kind == ModuleKind.LBS for m in modules)
    assert any(m.kind == ModuleKind.VIDEO_EDIT for m in modules)
    assert any(m.kind == ModuleKind.REPORT for m in modules)
    assert Package.objects.count() == 3
    assert GrowthPlan.objects.count() == 1
    assert all(p.items.count() >= 2 for p in Package.objects.all())


@pytest.mark.django_db
def test_every_seeded_module_declares_a_legal_channel_and_both_languages(seeded):
    for module in ServiceModule.objects.all():
        assert module.channel in Channel.values
        module_check_channel(kind=module.kind, channel=module.channel)
        assert module.name_zh
        assert module.name_en
        assert module.description_zh
        assert module.description_en
        assert module.unit_zh
        assert module.unit_en
        assert module.min_quantity <= module.max_quantity
        assert module.rate_per_1000 > 0
    for kind in OFFICIAL_ONLY_KINDS:
        assert (
            ServiceModule.objects.filter(kind=kind)
            .exclude(channel=Channel.OFFICIAL_PROMOTION)
            .count()
            == 0
        )


@pytest.mark.django_db
def test_seeded_prices_are_believable(seeded):
    plays = ServiceModule.objects.get(code="plays")
    assert plays.price_example(5_000) <= Decimal(100)  # DOU+ sells about 5,000 plays for ¥100
    assert plays.price_example(5_000) >= Decimal(20)
    starter = Package.objects.get(code="starter")
    list_price = sum(i.module.price_example(i.quantity) for i in starter.items.all())
    assert Decimal(starter.price_fen) / 100 < list_price


@pytest.mark.django_db
def test_seeding_twice_writes_nothing_the_second_time(seeded):
    counts = (Category.objects.count(), ServiceModule.objects.count(), Package.objects.count())
    assert seed_demo() is False
    assert (
        Category.objects.count(),
        ServiceModule.objects.count(),
        Package.objects.count(),
    ) == counts


# Promotion options --------------------------------------------------------------------------


@pytest.mark.parametrize("hours", [2, 6, 12, 24, 36, 48, 72, 168, 708, 720])
def test_sold_durations_are_accepted(hours):
    assert valid_duration(hours)
    assert (
        validate_promotion_options({"duration_hours": hours}, official=True)["duration_hours"]
        == hours
    )


@pytest.mark.parametrize(
    ("deadline", "duration"),
    [(0.5, 2), (2, 2), (5.9, 2), (6, 6), (11, 6), (12, 12), (23.9, 12), (24, 24), (35.9, 24),
     (36, 36), (100, 96), (720, 720), (8760, 720)],
)  # fmt: skip
def test_the_longest_sold_duration_within_a_deadline(deadline, duration):
    assert duration_within(deadline) == duration
    assert valid_duration(duration)


@pytest.mark.parametrize("hours", [0, 1, 3, 5, 18, 30, 25, 732, 744, -12])
def test_other_durations_are_refused(hours):
    assert not valid_duration(hours)
    with pytest.raises(DomainError) as err:
        validate_promotion_options({"duration_hours": hours}, official=True)
    assert [e.field for e in err.value.errors] == ["options.duration_hours"]


def test_the_duration_rule_over_the_whole_range():
    accepted = [h for h in range(-24, 800) if valid_duration(h)]
    assert accepted == [2, 6, 12, 24, *range(36, 721, 12)]


@pytest.mark.parametrize("hours", [True, "24", 24.0, None])
def test_a_duration_must_be_an_integer(hours):
    with pytest.raises(DomainError):
        validate_promotion_options({"duration_hours": hours}, official=True)


def test_no_options_mean_automatic_audience_for_a_day():
    assert validate_promotion_options(None, official=True) == {
        "audience": "auto",
        "duration_hours": 24,
    }
    assert validate_promotion_options({}, official=True) == {
        "audience": "auto",
        "duration_hours": 24,
    }
    assert validate_promotion_options(None, official=False) == {}


def test_custom_targeting_is_normalised():
    options = {
        "objective": "engagement",
        "audience": "custom",
        "gender": "male",
        "ages": ["41-49", "18-23", "18-23"],
        "regions": [" 成都 ", "Chongqing", "chengdu"],
        "interests": ["美食"],
        "duration_hours": 6,
    }
    assert validate_promotion_options(options, official=True) == {
        "objective": "engagement",
        "audience": "custom",
        "gender": "male",
        "ages": ["18-23", "41-49"],
        "regions": ["chengdu", "chongqing"],
        "interests": ["food"],
        "duration_hours": 6,
    }


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("女", "female"), (" Male ", "male"), ("男性", "male"), ("不限", "any"), ("women", "female")],
)
def test_a_gender_may_be_named_in_chinese_or_english(typed, stored):
    options = {"audience": "custom", "gender": typed}
    assert validate_promotion_options(options, official=True)["gender"] == stored


@pytest.mark.parametrize(
    ("options", "fields"),
    [
        ({"audience": "custom", "ages": ["13-17"]}, ["options.ages"]),
        ({"audience": "custom", "ages": "18-23"}, ["options.ages"]),
        ({"gender": "male"}, ["options.audience"]),
        ({"audience": "auto", "regions": ["成都"]}, ["options.audience"]),
        ({"audience": "custom", "gender": "other"}, ["options.gender"]),
        ({"audience": "custom", "gender": ["male"]}, ["options.gender"]),
        ({"audience": "custom", "regions": [""]}, ["options.regions"]),
        ({"audience": "custom", "interests": [f"i{n}" for n in range(21)]}, ["options.interests"]),
        ({"audience": "custom", "regions": ["成都", "火星"]}, ["options.regions"]),
        ({"audience": "custom", "regions": ["成都" * 20]}, ["options.regions"]),
        ({"audience": "custom", "interests": ["美食", "炒股"]}, ["options.interests"]),
        ({"objective": "fake_followers"}, ["options.objective"]),
        ({"bid": 1}, ["options.bid"]),
        ({"audience": "vip", "duration_hours": 5}, ["options.audience", "options.duration_hours"]),
    ],
    ids=[
        "age-band",
        "ages-not-list",
        "gender-without-custom",
        "regions-with-auto",
        "gender",
        "gender-list",
        "blank-region",
        "too-many-interests",
        "unknown-region",
        "overlong-region",
        "unknown-interest",
        "objective",
        "unknown-key",
        "two-errors",
    ],
)
def test_bad_options_name_each_bad_key(options, fields):
    with pytest.raises(DomainError) as err:
        validate_promotion_options(options, official=True)
    assert [e.field for e in err.value.errors] == fields
    assert all(e.message_zh and e.message_en for e in err.value.errors)


def test_services_outside_official_promotion_take_no_options():
    with pytest.raises(DomainError) as err:
        validate_promotion_options({"audience": "auto"}, official=False)
    assert err.value.errors[0].code == "options_not_supported"
    with pytest.raises(DomainError):
        validate_promotion_options(["auto"], official=True)


@pytest.mark.django_db
def test_quantity_rules(seeded):
    plays = ServiceModule.objects.get(code="plays")  # 500..1,000,000 step 100
    assert quantity_errors(plays, 500) == quantity_errors(plays, 1_000_000) == []
    assert [e.code for e in quantity_errors(plays, 499)] == ["quantity_out_of_range"]
    assert [e.code for e in quantity_errors(plays, 1_000_100)] == ["quantity_out_of_range"]
    assert [e.code for e in quantity_errors(plays, 550)] == ["quantity_off_step"]
    for junk in ("500", 500.0, True, None):
        assert [e.code for e in quantity_errors(plays, junk)] == ["quantity_not_integer"]
    report = ServiceModule.objects.filter(min_quantity=1, max_quantity=1).first()
    [exactly_one] = quantity_errors(report, 2)
    assert (exactly_one.message_zh, exactly_one.message_en) == ("数量须为 1", "Quantity must be 1")


def test_order_options_accept_the_regions_and_interests_plans_do():
    lexicon = get_lexicon()
    for dim in ("regions", "interests"):
        for name, slug in lexicon.audience[dim].items():
            options = {"audience": "custom", dim: [name]}
            assert validate_promotion_options(options, official=True)[dim] == [slug]
