"""A live stream's start read from a need (Chinese and English) or given as a field."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from doudesk.errors import DomainError
from doudesk.matching.understand import live_start_label, understand

TZ = ZoneInfo("Asia/Shanghai")
# A Wednesday morning in Beijing time, as in test_understand; the December one is a Tuesday night.
NOW = datetime(2025, 6, 4, 10, 0, tzinfo=TZ)
NOW_DEC = datetime(2026, 12, 1, 21, 0, tzinfo=TZ)


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


# (need, now, live start read, quantities read)
PHRASINGS: list[tuple[str, datetime, datetime, dict[str, int]]] = [
    ("今晚8点开播，要直播间人气，预算300元", NOW, at(6, 4, 20), {}),
    ("明天下午3点直播，要直播间人气，预算300元", NOW, at(6, 5, 15), {}),
    ("周六晚上8点开播，想要直播间人气，预算500元", NOW, at(6, 7, 20), {}),
    ("下周五20:00开播，直播间人气2000，预算500元", NOW, at(6, 13, 20), {"live_viewers": 2000}),
    ("12月5日晚8点直播，预算500元", NOW_DEC, at(12, 5, 20, year=2026), {}),
    ("开播时间：周六晚8点，直播间人气，预算500元", NOW, at(6, 7, 20), {}),
    ("明晚八点半直播，预算300元", NOW, at(6, 5, 20, 30), {}),
    ("live at 8pm Saturday, budget ¥300", NOW, at(6, 7, 20), {}),
    ("going live tomorrow at 20:00, budget ¥300", NOW, at(6, 5, 20), {}),
    ("stream starts Friday 7:30pm, budget ¥300", NOW, at(6, 6, 19, 30), {}),
    (
        "going live Friday 8pm, need 2000 live viewers, budget ¥500",
        NOW,
        at(6, 6, 20),
        {"live_viewers": 2000},
    ),
    ("tonight at 9 going live, budget ¥300", NOW, at(6, 4, 21), {}),
    ("I go live on Dec 5th at 8 pm, budget ¥300", NOW_DEC, at(12, 5, 20, year=2026), {}),
]


@pytest.mark.parametrize(("need", "now", "start", "quantities"), PHRASINGS)
def test_a_live_start_is_read_in_beijing_time_and_is_no_deadline_or_quantity(
    need, now, start, quantities
):
    u = understand(need, now=now)
    assert u.live_starts_at == start
    assert u.live_starts_at.utcoffset().total_seconds() == 8 * 3600
    # "今晚", "明天" or "下周五" there say when the stream starts, not when the plan must be done,
    # and the hour is no number of viewers.
    assert u.deadline_hours is None
    assert dict(u.quantities) == quantities
    assert "live_viewers" in u.intents
    assert u.as_dict()["live_starts_at"] == start.isoformat()


@pytest.mark.parametrize(
    ("need", "start"),
    [
        ("周六晚上8点开播，直播间人气，预算500元", at(6, 14, 20)),
        ("live at 8pm Saturday, budget 300", at(6, 14, 20)),
    ],
)
def test_a_weekday_said_on_a_sunday_is_the_coming_one(need, start):
    sunday = datetime(2025, 6, 8, 10, 0, tzinfo=TZ)
    assert understand(need, now=sunday).live_starts_at == start


def test_a_bare_weekday_whose_hour_has_passed_today_is_next_weeks():
    wednesday_night = at(6, 4, 21)
    u = understand("周三晚8点开播，直播间人气，预算300元", now=wednesday_night)
    assert u.live_starts_at == at(6, 11, 20)
    assert [n.code for n in u.notes] == ["live_start_moved_on"]
    assert "下周" in u.notes[0].message_zh
    assert "next week" in u.notes[0].message_en


def test_an_hour_without_a_day_that_has_passed_is_tomorrows():
    u = understand("晚上8点开播，直播间人气，预算300元", now=at(6, 4, 21))
    assert u.live_starts_at == at(6, 5, 20)
    assert [n.code for n in u.notes] == ["live_start_moved_on"]


@pytest.mark.parametrize(
    "need", ["今晚8点开播，直播间人气，预算300元", "going live tonight at 8pm, budget ¥300"]
)
def test_a_start_tonight_already_past_means_the_stream_is_on(need):
    u = understand(need, now=at(6, 4, 21))
    assert u.live_starts_at is None  # its items go at once
    (note,) = u.notes
    assert note.code == "live_start_passed"
    assert "已过" in note.message_zh
    assert "has passed" in note.message_en
    assert u.deadline_hours is None  # "今晚" still says when the stream starts


@pytest.mark.parametrize(
    ("need", "start"),
    [("8点开播，直播间人气，预算300元", at(6, 4, 20)), ("明天3点直播，预算300元", at(6, 5, 15))],
)
def test_an_hour_without_am_or_pm_is_read_as_the_likely_one_and_said_so(need, start):
    u = understand(need, now=NOW)
    assert u.live_starts_at == start
    assert [n.code for n in u.notes] == ["live_start_hour_assumed"]
    assert live_start_label(start, "zh", now=NOW) in u.notes[0].message_zh


def test_a_day_without_an_hour_is_no_start_and_says_so():
    u = understand("直播带货需要人气，今天晚上开播，预算300元", now=NOW)
    assert u.live_starts_at is None
    assert "live_start_without_time" in [n.code for n in u.notes]
    assert u.deadline_hours == 14  # as before: the end of today


@pytest.mark.parametrize(
    ("need", "now"),
    [("6月3日晚8点直播，预算300元", NOW), ("going live Dec 5 8pm, budget 300", NOW)],
)
def test_a_start_more_than_90_days_ahead_is_a_field_error_on_the_need(need, now):
    with pytest.raises(DomainError) as exc:
        understand(need, now=now)
    (error,) = exc.value.errors
    assert (error.field, error.code) == ("need", "too_far")
    assert "90" in error.message_zh
    assert "90 days" in error.message_en


def test_the_field_overrides_the_text_and_says_so():
    u = understand("今晚8点开播，直播间人气，预算300元", live_starts_at="2025-06-06T19:00", now=NOW)
    assert u.live_starts_at == at(6, 6, 19)  # a time without a zone is Beijing time
    (note,) = u.notes
    assert note.code == "live_start_field_overrides_text"
    assert "6月6日（周五）19:00" in note.message_zh
    assert "6月4日（周三）20:00" in note.message_zh
    assert "Fri 6 Jun 19:00" in note.message_en


def test_a_field_with_a_zone_is_read_in_beijing_time():
    u = understand("直播间人气，预算300元", live_starts_at="2025-06-06T12:00:00Z", now=NOW)
    assert u.live_starts_at == at(6, 6, 20)
    assert u.as_dict()["live_starts_at"] == "2025-06-06T20:00:00+08:00"
    assert u.notes == ()


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("tomorrow", "invalid"),
        ("2025-06-06", "invalid"),  # a day is no start
        ("2025-13-06T20:00", "invalid"),
        (1749211200, "invalid"),
        (True, "invalid"),
        ({"at": "2025-06-06T20:00"}, "invalid"),
        ("2025-06-04T09:00", "in_past"),
        ("2025-06-04T10:00+08:00", "in_past"),
        ("2025-09-03T20:00", "too_far"),
    ],
)
def test_a_bad_live_start_field_is_a_field_error_in_both_languages(value, code):
    with pytest.raises(DomainError) as exc:
        understand("直播间人气，预算300元", live_starts_at=value, now=NOW)
    (error,) = exc.value.errors
    assert (error.field, error.code) == ("live_starts_at", code)
    assert error.message_zh
    assert error.message_en
    assert error.message_zh != error.message_en


def test_labels_name_the_day_in_each_language():
    start = at(12, 6, 20, year=2026)
    assert live_start_label(start, "zh", now=NOW_DEC) == "12月6日（周日）20:00"
    assert live_start_label(start, "en", now=NOW_DEC) == "Sun 6 Dec 20:00"
    assert live_start_label(start, "en", now=NOW) == "Sun 6 Dec 2026 20:00"


@pytest.mark.parametrize(
    ("need", "quantities"),
    [
        ("we live at 5 locations, 1000 live viewers, budget ¥300", {"live_viewers": 1000}),
        ("预算500:直播带货，直播间人气", {}),  # 500 is no hour
        ("直播间人气2000，三天内，预算500元", {"live_viewers": 2000}),
    ],
)
def test_a_need_without_a_live_start_reads_as_before(need, quantities):
    u = understand(need, now=NOW)
    assert u.live_starts_at is None
    assert dict(u.quantities) == quantities
    assert not [n for n in u.notes if n.code.startswith("live_start")]
