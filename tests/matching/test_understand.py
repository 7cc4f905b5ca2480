"""Need understanding on written needs (Chinese and English), fields overriding text, errors."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from doudesk.errors import DomainError
from doudesk.matching.numerals import encode_numbers
from doudesk.matching.offers import Offer
from doudesk.matching.understand import classify_target, naming_table, understand

# A Wednesday morning in Beijing time; relative dates below are counted from it.
NOW = datetime(2025, 6, 4, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MISSING = "missing"
DEFAULT = {"followers", "plays", "likes"}

# (text, structured fields, intents read, budget in yuan or MISSING, deadline hours or None)
NEEDS: list[tuple[str, dict, set[str], str, float | None]] = [
    # ---- Chinese
    ("新开的美妆店，想在成都本地涨粉，预算500元，一周内见效", {}, {"lbs", "followers"}, "500", 168),
    ("预算1.5万，下周一前要2万播放和500个赞", {}, {"plays", "likes"}, "15000", 110),
    ("每天20元，做三个月，想涨粉", {}, {"followers"}, "1800", 2160),
    ("五百元，三天内，直播间人气", {}, {"live_viewers"}, "500", 72),
    ("不要评论，只要点赞，¥200", {}, {"likes"}, "200", None),
    # A negation stops at the next ask (it used to rule out both: "no clear goal").
    ("不要涨粉要播放，预算500元", {}, {"plays"}, "500", None),
    ("no likes but plays, budget 300", {}, {"plays"}, "300", None),
    ("3条视频剪辑和一份数据报告，预算2000元，月底前", {}, {"content", "report"}, "2000", 638),
    ("预算两千元，想要一万粉丝，48小时内完成", {}, {"followers"}, "2000", 48),
    ("视频播放量达到10w，点赞1000，预算300块", {}, {"plays", "likes"}, "300", None),
    ("想上热门，预算一千", {}, {"plays", "likes"}, "1000", None),
    ("同城探店推广，预算800元，周五前", {}, {"lbs", "content"}, "800", 38),
    ("直播带货需要人气，今天晚上开播，预算300元", {}, {"live_viewers", "plays"}, "300", 14),
    ("涨粉1000，预算100元，明天", {}, {"followers"}, "100", 38),
    ("想要评论和转发，预算2k", {}, {"comments", "shares"}, "2000", None),
    ("日预算50元，做两周，增加播放", {}, {"plays"}, "700", 336),
    ("每月1000元，做半年，账号涨粉", {}, {"followers"}, "6000", 4320),
    ("想涨粉", {}, {"followers"}, MISSING, None),
    ("帮我做个方案，三天内出效果", {}, DEFAULT, MISSING, 72),
    ("预算0元，想要涨粉", {}, {"followers"}, "error", None),
    ("预算-500元", {}, DEFAULT, "error", None),
    ("预算1亿，全网曝光", {}, {"plays"}, "error", None),
    ("粉底液卖得好，想要一万粉丝，预算￥3000", {}, {"followers"}, "3000", None),
    ("要评论，不要评论，预算100元", {}, DEFAULT, "100", None),
    ("预算500元，预算800元，涨粉", {}, {"followers"}, "500", None),
    ("本周内完成1万播放，预算50元", {}, {"plays"}, "50", 110),
    ("15号前要完成，转发5000，预算600元", {}, {"shares"}, "600", 254),
    ("大学生群体，女性为主，武汉本地，预算400元涨粉", {}, {"followers", "lbs"}, "400", None),
    ("预算三百元，做一个账号诊断报告", {}, {"report"}, "300", None),
    ("抖音直播间在线人数，预算1200，两天内", {}, {"live_viewers"}, "1200", 48),
    ("啊啊啊啊啊，随便，预算100元", {}, DEFAULT, "100", None),
    ("预算500元", {"budget": 800}, DEFAULT, "800", None),
    ("一周内涨粉，预算300元", {"deadline_hours": 24}, {"followers"}, "300", 24),
    ("想要播放，预算300-500元", {}, {"plays"}, "500", None),
    # Scientific notation is its value (it was read as ¥1), huge exponents hit the budget limit.
    ("涨粉，预算1e3元", {}, {"followers"}, "1000", None),
    ("预算1e999元，涨粉", {}, {"followers"}, "error", None),
    ("预算1e-3元，涨粉", {}, {"followers"}, "error", None),
    # ---- English
    (
        "launch video for my café, 20k plays and some comments, budget ¥300",
        {},
        {"plays", "comments"},
        "300",
        None,
    ),
    (
        "2k budget, need 1000 followers by friday, women aged 18-30 in shanghai",
        {},
        {"followers"},
        "2000",
        62,
    ),
    ("budget ¥20 a day for two weeks, more views", {}, {"plays"}, "280", 336),
    ("I need 5,000 likes within 3 days, budget 150 yuan", {}, {"likes"}, "150", 72),
    ("Get my live stream more viewers tonight, spend up to ¥400", {}, {"live_viewers"}, "400", 14),
    (
        "local foot traffic for my restaurant in chengdu, budget of 1,000 rmb, within a week",
        {},
        {"lbs"},
        "1000",
        168,
    ),
    (
        "video editing for 3 videos plus a data report, budget ¥1500",
        {},
        {"content", "report"},
        "1500",
        None,
    ),
    ("grow my followers", {}, {"followers"}, MISSING, None),
    ("asdf qwer zxcv", {}, DEFAULT, MISSING, None),
    (
        "no comments please, just likes and shares, budget 500 CNY",
        {},
        {"likes", "shares"},
        "500",
        None,
    ),
    ("I want to go viral, budget ¥800, by tomorrow", {}, {"plays", "likes", "shares"}, "800", 38),
    ("10k views before friday, ¥60", {}, {"plays"}, "60", 38),
    ("engagement boost: budget is 2.5k", {}, {"likes", "comments", "shares"}, "2500", None),
    ("daily budget of ¥30 for 3 months to get followers", {}, {"followers"}, "2700", 2160),
    ("budget ¥0 for followers", {}, {"followers"}, "error", None),
    ("budget ¥50,000,000 for views", {}, {"plays"}, "error", None),
    ("brand awareness campaign, budget ¥5000, in 2 weeks", {}, {"plays", "followers"}, "5000", 336),
    ("more impressions by the end of the month, ¥900", {}, {"plays"}, "900", 638),
    ("followers for my gym, budget 700 yuan", {"budget": "1200"}, {"followers"}, "1200", None),
    (
        "100 comments and 2,000 likes, budget ¥250, 48 hours deadline",
        {},
        {"comments", "likes"},
        "250",
        48,
    ),
    (
        "I want more followers and views, ¥10 per day for a month",
        {},
        {"followers", "plays"},
        "300",
        720,
    ),
    ("followers please", {"budget": 300, "deadline_hours": 72}, {"followers"}, "300", 72),
    (
        "views and likes, budget ¥300",
        {"goal_weights": {"likes": 3, "plays": 1}},
        {"likes", "plays"},
        "300",
        None,
    ),
    ("Budget: ¥600. Need 30,000 plays in 24 hours.", {}, {"plays"}, "600", 24),
    ("grow my pet account fast, budget ¥350 within 5 days", {}, {"followers"}, "350", 120),
    ("qwertyuiop lorem ipsum, budget ¥120", {}, DEFAULT, "120", None),
    ("women 24-30, beauty niche, budget ¥450, more likes", {}, {"likes"}, "450", None),
    ("data report only, budget ¥90", {}, {"report"}, "90", None),
    ("shares and reposts, 1.5 thousand, budget ¥99", {}, {"shares"}, "99", None),
    ("Views within 2 days, budget ¥200 and also budget ¥300", {}, {"plays"}, "200", 48),
    ("more views, budget 2.5e4 yuan", {}, {"plays"}, "25000", None),
    ("1e4 plays, budget 1e3 yuan", {}, {"plays"}, "1000", None),
    ("followers, budget 1e99999999999999999999 yuan", {}, {"followers"}, "error", None),
]


@pytest.mark.parametrize(("text", "fields", "intents", "budget", "deadline"), NEEDS)
def test_written_need_is_understood(
    text: str, fields: dict, intents: set[str], budget: str, deadline: float | None
) -> None:
    if budget in (MISSING, "error"):
        with pytest.raises(DomainError) as exc:
            understand(text, now=NOW, **fields)
        assert [e.field for e in exc.value.errors] == ["budget"]
        if budget == MISSING:
            assert exc.value.errors[0].code == "missing"
        return
    u = understand(text, now=NOW, **fields)
    assert set(u.intents) == intents
    assert u.budget == Decimal(budget)
    assert u.deadline_hours == deadline
    assert abs(sum(u.intents.values()) - 1) < 1e-9


def test_table_covers_both_languages_and_is_long_enough() -> None:
    zh = [n for n in NEEDS if any("\u4e00" <= ch <= "\u9fff" for ch in n[0])]
    assert len(NEEDS) >= 60
    assert len(zh) >= 30
    assert len(NEEDS) - len(zh) >= 30


def test_language_follows_the_text() -> None:
    assert understand("预算500元涨粉", now=NOW).language == "zh"
    assert understand("followers, budget ¥500", now=NOW).language == "en"


def test_quantities_are_read_next_to_their_intent() -> None:
    u = understand("预算1.5万，下周一前要2万播放和500个赞", now=NOW)
    assert u.quantities == {"plays": 20000, "likes": 500}
    u = understand("1e4 plays, budget 1e3 yuan", now=NOW)
    assert u.quantities == {"plays": 10000}
    u = understand("launch video, 20k plays and some comments, budget ¥300", now=NOW)
    assert u.quantities == {"plays": 20000}
    u = understand("I want 1.5m plays on my video, budget 20000", now=NOW)
    assert u.quantities == {"plays": 1_500_000}  # "1m" was read as 1


def test_a_daily_budget_becomes_a_growth_plan() -> None:
    u = understand("每天20元，做三个月，想涨粉", now=NOW)
    assert (u.budget, u.daily_budget, u.period_days) == (Decimal("1800"), Decimal("20"), 90)
    assert u.budget_source == "periodic"


def test_a_daily_budget_without_a_period_assumes_thirty_days() -> None:
    u = understand("每天10元涨粉", now=NOW)
    assert u.budget == Decimal("300")
    assert "period_assumed" in {n.code for n in u.notes}


def test_audience_is_read_from_the_text() -> None:
    u = understand("2k budget, 1000 followers, women aged 18-30 in shanghai", now=NOW)
    assert u.audience.genders == {"female"}
    assert u.audience.ages == {"18-23", "24-30"}
    assert u.audience.regions == {"shanghai"}
    u = understand("新开的美妆店，成都本地涨粉，预算500元", now=NOW)
    assert u.audience.regions == {"chengdu"}
    assert u.audience.interests == {"beauty"}


def test_structured_fields_override_the_text_and_say_so() -> None:
    u = understand(
        "女性粉丝，北京，预算500元，三天内",
        budget="800",
        deadline_hours=24,
        audience={"gender": "male", "regions": ["成都"]},
        now=NOW,
    )
    assert u.budget == Decimal("800")
    assert u.deadline_hours == 24
    assert u.audience.genders == {"male"}
    assert u.audience.regions == {"chengdu"}
    codes = {n.code for n in u.notes}
    assert {
        "budget_field_overrides_text",
        "deadline_field_overrides_text",
        "audience_genders_field_overrides_text",
        "audience_regions_field_overrides_text",
    } <= codes


def test_contradictions_are_noted() -> None:
    u = understand("预算500元，预算800元，涨粉", now=NOW)
    assert "several_budgets" in {n.code for n in u.notes}
    u = understand("要评论，不要评论，预算100元", now=NOW)
    assert "intent_contradiction" in {n.code for n in u.notes}


def test_ten_thousand_characters_are_read() -> None:
    filler = "这是一段很长的描述，我们的店铺主要卖咖啡和甜点。" * 500
    text = filler[:9_987] + "。" + "预算300元，涨粉，三天内"
    assert len(text) == 10_001
    u = understand(text, now=NOW)
    assert u.budget == Decimal("300")
    assert "followers" in u.intents
    assert u.deadline_hours == 72


@pytest.mark.parametrize(
    ("audience", "field"),
    [
        ({"regions": ["atlantis"]}, "audience.regions"),
        ({"gender": "robot"}, "audience.gender"),
        ({"ages": ["12-15"]}, "audience.ages"),
        ({"interests": ["knitting-on-mars"]}, "audience.interests"),
        ({"shoe_size": 42}, "audience.shoe_size"),
        ({"gender": 1}, "audience.gender"),
        ({"ages": True}, "audience.ages"),
        ({"regions": -1.5}, "audience.regions"),
        ({"interests": ["beauty", 2**63]}, "audience.interests"),
    ],
)
def test_unknown_audience_values_are_field_errors(audience: dict, field: str) -> None:
    with pytest.raises(DomainError) as exc:
        understand("涨粉", budget=100, audience=audience, now=NOW)
    assert [e.field for e in exc.value.errors] == [field]
    assert exc.value.errors[0].message_zh
    assert exc.value.errors[0].message_en
    assert "、" not in exc.value.errors[0].message_en  # English lists take commas


def test_notes_carry_both_languages_as_error_items_do() -> None:
    notes = understand("asdf qwer", budget=100, now=NOW, language="en").as_dict()["notes"]
    assert notes == [
        {
            "code": "no_goal_recognised",
            "message": "No clear goal recognised; planning for general growth (followers, "
            "plays, likes).",
            "message_zh": "没有识别出明确目标，按综合增长（涨粉、播放、点赞）规划。",
            "message_en": "No clear goal recognised; planning for general growth (followers, "
            "plays, likes).",
        }
    ]


def test_a_need_longer_than_twenty_thousand_characters_is_refused() -> None:
    within = understand("涨粉，预算300元" + "很" * (20_000 - 9), now=NOW)
    assert within.budget == Decimal("300")
    with pytest.raises(DomainError) as exc:
        understand("涨粉，预算300元" + "很" * (20_001 - 9), now=NOW)
    assert [(e.field, e.code) for e in exc.value.errors] == [("need", "too_long")]


@pytest.mark.parametrize("budget", [0, -5, "-1", "abc", "10000001", float("nan"), True])
def test_bad_budget_fields_are_refused(budget: object) -> None:
    with pytest.raises(DomainError) as exc:
        understand("涨粉", budget=budget, now=NOW)
    assert exc.value.errors[0].field == "budget"


@pytest.mark.parametrize("hours", [0, -3, "soon", 10**6])
def test_bad_deadlines_are_refused(hours: object) -> None:
    with pytest.raises(DomainError) as exc:
        understand("涨粉", budget=100, deadline_hours=hours, now=NOW)
    assert exc.value.errors[0].field == "deadline_hours"


@pytest.mark.parametrize(
    ("weights", "fields"),
    [
        ({"fame": 1}, ["goal_weights.fame"]),
        ({"followers": 1e308, "plays": 1e308}, ["goal_weights.followers", "goal_weights.plays"]),
        ({"followers": True}, ["goal_weights.followers"]),
        (
            {"followers": "NaN", "plays": -1, "x": 1},
            [f"goal_weights.{k}" for k in ("followers", "plays", "x")],
        ),
        ({"followers": 0, "plays": 0}, ["goal_weights"]),
        (["followers"], ["goal_weights"]),
    ],
)
def test_bad_goal_weights_are_refused(weights: object, fields: list[str]) -> None:
    with pytest.raises(DomainError) as exc:
        understand("涨粉", budget=100, goal_weights=weights, now=NOW)  # type: ignore[arg-type]
    assert [e.field for e in exc.value.errors] == fields


def test_goal_weights_up_to_the_bound_are_relative() -> None:
    u = understand("涨粉", budget=100, goal_weights={"followers": 1e6, "live": "1e6"}, now=NOW)
    assert dict(u.intents) == {"followers": 0.5, "live_viewers": 0.5}


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("https://www.douyin.com/video/7312345678901234567", "video"),
        ("https://www.douyin.com/user/MS4wLjABAAAA", "user"),
        ("https://live.douyin.com/123456789", "live"),
        ("https://v.douyin.com/iRNBho6u/", "short"),
    ],
)
def test_douyin_targets_are_classified(target: str, kind: str) -> None:
    assert classify_target(target) == kind


def test_a_target_of_the_wrong_kind_is_a_field_error() -> None:
    with pytest.raises(DomainError) as exc:
        understand("涨粉", budget=100, target="https://example.com/x", now=NOW)
    assert exc.value.errors[0].field == "target"
    with pytest.raises(DomainError) as exc:
        understand("直播间人气", budget=100, target="https://www.douyin.com/video/7312345", now=NOW)
    assert exc.value.errors[0].code == "wrong_kind"


def test_numbers_in_every_notation_are_read() -> None:
    enc = encode_numbers("1.5万 五百 2k 1,000 two 3w 二十五")
    assert [str(v.normalize()) for v in enc.values] == [
        "1.5E+4",
        "5E+2",
        "2E+3",
        "1E+3",
        "2",
        "3E+4",
        "25",
    ]


def test_as_dict_is_json_ready() -> None:
    d = understand("每天20元，做三个月，想涨粉", now=NOW).as_dict()
    assert d["budget"] == "1800.00"
    assert d["currency"] == "CNY"
    assert d["daily_budget"] == "20.00"
    assert d["period_days"] == 90


# Two modules of one kind, as the seeded catalogue has them, each with the phrases naming it.
AUDIT = Offer("audit", "report", "账号诊断报告", "Account diagnosis report", 990_000, 1, 1)
RIVALS = Offer("rivals", "report", "竞品分析报告", "Competitor analysis report", 1_490_000, 1, 1)
TALKING = Offer("talking", "video_edit", "口播视频制作", "Talking-head video", 3_990_000, 1, 20)
NAMING = naming_table(
    [(AUDIT.name_zh, AUDIT), ("账号诊断", AUDIT), (RIVALS.name_zh, RIVALS), ("竞品分析", RIVALS)]
    + [(RIVALS.name_en, RIVALS), ("口播", TALKING), ("talking head", TALKING)]
)


@pytest.mark.parametrize(
    ("need", "named", "intents"),
    [
        ("我要一份竞品分析报告，预算2000", ("rivals",), {"report"}),
        ("竞品分析，预算2000", ("rivals",), {"report"}),
        ("a competitor analysis report, budget 2000", ("rivals",), {"report"}),
        # A name outside the lexicon still says what the need is for.
        ("想做口播视频，预算2000", ("talking",), {"content"}),
        ("talking-head videos for my shop, budget 2000", ("talking",), {"content"}),
        ("账号诊断和竞品分析，预算3000", ("audit", "rivals"), {"report"}),
    ],
)
def test_a_need_naming_a_module_names_it(need: str, named: tuple, intents: set) -> None:
    understood = understand(need, now=NOW, naming=NAMING)
    assert understood.named_services == named
    assert understood.excluded_services == ()
    assert set(understood.intents) == intents
    assert understood.as_dict()["named_services"] == list(named)


@pytest.mark.parametrize(
    "need",
    ["precompetitor analysis report, budget 2000", "competitor analysis reports, budget 2000"],
)
def test_an_english_name_inside_a_longer_word_names_nothing(need: str) -> None:
    assert understand(need, now=NOW, naming=NAMING).named_services == ()


def test_a_negated_name_rules_the_module_out_and_keeps_the_goal() -> None:
    understood = understand("不要竞品分析，要账号诊断，预算2000", now=NOW, naming=NAMING)
    assert understood.named_services == ("audit",)
    assert understood.excluded_services == ("rivals",)
    assert set(understood.intents) == {"report"}
    notes = {n.code: n for n in understood.notes}
    assert "竞品分析报告" in notes["excluded_services"].message_zh
    assert "Competitor analysis report" in notes["excluded_services"].message_en
    assert understood.as_dict()["excluded_services"] == ["rivals"]


def test_a_count_next_to_a_name_is_the_quantity_of_its_goal() -> None:
    understood = understand("3条口播，预算2000", now=NOW, naming=NAMING)
    assert understood.quantities == {"content": 3}


def test_without_names_a_need_names_no_module() -> None:
    understood = understand("我要一份竞品分析报告，预算2000", now=NOW)
    assert understood.named_services == understood.excluded_services == ()
    assert set(understood.intents) == {"report"}


@pytest.mark.parametrize(
    "need",
    [
        "新店开业想让附近3公里的人知道，预算500",
        "奶茶店想让周边5公里的人知道，预算500",
        "附近2千米的人，同城推广，预算500",
        "本地推广，500米内的人，预算500",
        "local customers within 3 km, budget 500",
        "people in a 3-5 km radius, local promotion, budget 500",
        "附近500m的门店引流，预算500元",  # read as 500 million visitors when m meant million
    ],
)
def test_a_distance_is_no_quantity(need: str) -> None:
    # "附近3公里" was read as 3 local visitors asked for, then dropped without a word.
    understood = understand(need, now=NOW)
    assert understood.quantities == {}
    assert "distance_not_targeted" in {note.code for note in understood.notes}
    assert understood.budget == Decimal("500")
    assert understood.deadline_hours is None


def test_a_quantity_beside_a_distance_is_still_read() -> None:
    understood = understand("周边5公里，到店2000人，预算500", now=NOW)
    assert understood.quantities == {"lbs": 2000}


@pytest.mark.parametrize(
    "need",
    [
        "budget 1.5k, more followers, women 25-35 in Shanghai",
        "预算1.5k，涨粉，女性25-35，上海",
        "budget 1.5k, more followers from 25 to 35 women in shanghai",
        "预算1.5k，涨粉，女性25到35岁，上海",
    ],
)
def test_an_age_range_beside_a_gender_word_is_the_audience_age(need: str) -> None:
    # Without "岁" or "aged", "women 25-35" lost its ages.
    understood = understand(need, now=NOW)
    assert understood.audience.genders == {"female"}
    assert understood.audience.ages == {"24-30", "31-40"}
    assert understood.audience.regions == {"shanghai"}
    assert understood.budget == Decimal("1500")


def test_a_range_beside_a_gender_word_that_is_no_age_is_left_alone() -> None:
    understood = understand("女性500-800，预算300，涨粉", now=NOW)
    assert understood.audience.ages == frozenset()
    assert "age_out_of_range" not in {n.code for n in understood.notes}


@pytest.mark.parametrize(
    ("need", "quantities", "deadline"),
    [
        ("Grow my followers by 5k, budget 1500 RMB", {"followers": 5000}, None),
        ("increase my views by 20,000 by friday, budget 300", {"plays": 20000}, 62),
        ("grow followers by 5k within 3 days, budget 500", {"followers": 5000}, 72),
        ("followers by friday, budget 300", {}, 62),
    ],
)
def test_a_goal_grown_by_a_number_asks_for_that_quantity(
    need: str, quantities: dict, deadline: float | None
) -> None:
    # "Grow my followers by 5k" asked for no quantity.
    understood = understand(need, now=NOW)
    assert understood.quantities == quantities
    assert understood.deadline_hours == deadline


@pytest.mark.parametrize(
    ("need", "budget", "low", "high"),
    [
        ("预算500-800，涨粉", "800", "¥500.00", "¥800.00"),
        ("预算800-500，涨粉", "800", "¥500.00", "¥800.00"),
        ("budget ¥500 to ¥800 for likes", "800", "¥500.00", "¥800.00"),
        ("每天20-30元，做一周，涨粉", "210", "¥20.00", "¥30.00"),
    ],
)
def test_a_budget_range_is_read_as_its_upper_end_and_says_so(
    need: str, budget: str, low: str, high: str
) -> None:
    # "预算500-800" became ¥800 without a word.
    understood = understand(need, now=NOW)
    assert understood.budget == Decimal(budget)
    note = next(n for n in understood.notes if n.code == "budget_range_upper")
    assert low in note.message_zh
    assert high in note.message_zh
    assert f"{low} to {high}" in note.message_en


def test_a_single_budget_draws_no_range_note() -> None:
    understood = understand("预算500，涨粉", now=NOW)
    assert "budget_range_upper" not in {n.code for n in understood.notes}


@pytest.mark.parametrize(
    "need",
    [
        "涨粉1万 预算不限",
        "不限预算，涨粉1万",
        "followers 10000 budget unlimited",
        "10000 followers, no budget limit",
        "budget: no limit, 10k followers",
    ],
)
def test_a_need_without_a_budget_limit_keeps_its_goal_as_the_goal(need: str) -> None:
    # "涨粉1万 预算不限" read the 10,000 followers as a budget of ¥10,000 and lost the goal.
    understood = understand(need, now=NOW)
    assert understood.quantities == {"followers": 10000}
    assert understood.budget_source == "unlimited"


@pytest.mark.parametrize(
    ("need", "lang"), [("涨粉 预算不限", "zh"), ("followers, any budget", "en")]
)
def test_a_need_without_a_budget_limit_or_a_quantity_is_asked_for_a_ceiling(
    need: str, lang: str
) -> None:
    with pytest.raises(DomainError) as exc:
        understand(need, now=NOW)
    [error] = exc.value.errors
    assert (error.field, error.code) == ("budget", "missing")
    assert "上限" in error.message_zh
    assert "ceiling" in error.message_en


@pytest.mark.parametrize(
    ("need", "budget"),
    [("预算不限，最多花2000元，涨粉1万", "2000"), ("预算不限于500元，涨粉1万", "500")],
)
def test_an_amount_beside_a_budget_without_limit_is_still_the_budget(
    need: str, budget: str
) -> None:
    understood = understand(need, now=NOW)
    assert understood.budget == Decimal(budget)
    assert understood.budget_source == "text"
    assert understood.quantities == {"followers": 10000}


def test_no_budget_is_not_an_unlimited_one() -> None:
    with pytest.raises(DomainError) as exc:
        understand("no budget, 1000 followers", now=NOW)
    assert [(e.field, e.code) for e in exc.value.errors] == [("budget", "missing")]
    assert "ceiling" not in exc.value.errors[0].message_en
