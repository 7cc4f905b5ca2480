"""Need understanding: free text (Chinese or English) plus structured fields -> :class:`Understood`.

Design:

1. Normalise (NFKC, lower case) and replace every number by a placeholder character
   (:mod:`.numerals`: Arabic, Chinese via cn2an, shorthand such as "1.5万" / "2k").
2. Read money and time with regular expressions over that text, where one character class
   stands for "a number": periodic budgets ("每天20元，做三个月" -> ¥1,800 over 90 days), total
   budgets ("预算500元", "budget ¥300", "五百元"), deadlines ("三天内", "一周内见效",
   "下周一前" relative to ``now``, "by Friday"), age ranges ("18-30岁", "aged 18-30", or
   beside a gender word: "women 25-35"). Numbers used there are consumed. A live stream's
   start ("周六晚上8点开播", "going live Friday 8pm", Beijing time) is read before all of them
   and blanked, so its day is no deadline and its hour no quantity.
3. Segment with jieba (a private tokenizer, initialised once, lazily and quietly, with the
   domain user dictionary) and match token n-grams against the lexicon (:mod:`.lexicon`):
   intents, negations ("不要评论"), audience words (gender, age words, regions, interests),
   urgency. A number token next to an intent phrase ("2万播放", "涨粉1000", "20k plays") is
   the quantity asked for that intent; a distance ("附近3公里", "5 km") is none. Phrases
   that name a particular module ("竞品分析", "口播"; see :func:`naming_table`) are read in
   the same pass: a named module is the one planned for its kind, a negated one
   ("不要达人探店") is left out.
   A budget with no limit ("预算不限", "budget unlimited") is no amount: the need is planned at
   what its quantities cost, and without quantities a ceiling is asked for.
4. Structured fields override what the text says (budget, deadline, target, audience, goal
   weights, live start); every override or inconsistency is kept as a :class:`Note`.

Input the user can get wrong raises :class:`doudesk.errors.DomainError` with a field-level
message in Chinese and English; a missing budget is the one thing we must ask for.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache, cached_property
from typing import Any
from zoneinfo import ZoneInfo

from doudesk.errors import DomainError, FieldError, listed

from .lexicon import USERDICT_PATH, get_lexicon
from .numerals import CEILING, NUM, Encoded, encode_numbers, is_number, parse_number
from .offers import Audience, Offer

TIMEZONE = ZoneInfo("Asia/Shanghai")
MAX_BUDGET = Decimal("10000000")
#: Longest need read (characters): twice a long brief; reading takes ~16 µs a character.
MAX_NEED_CHARS = 20_000
MAX_DEADLINE_HOURS = 24 * 366
DEFAULT_PERIOD_DAYS = 30
MAX_QUANTITY = 1_000_000_000
#: Goal weights are relative; this bound keeps their sum finite (1e308 twice overflowed it).
MAX_GOAL_WEIGHT = 1_000_000

_P = NUM
_CUR_PRE = r"(?:¥|\$|rmb|cny|人民币)"
_CUR_POST = r"(?:块钱|块|元|圆|rmb|cny|yuan|kuai|人民币)"
_AMOUNT = (
    rf"(?P<neg>-)?\s*(?P<pre>{_CUR_PRE})?\s*(?P<amt>{_P})\s*(?P<cur1>{_CUR_POST})?"
    rf"(?:\s*(?:-|~|到|至|—|to)\s*{_CUR_PRE}?\s*(?P<amt2>{_P}))?\s*(?P<cur2>{_CUR_POST})?"
)
_FILLER = (
    r"(?:是|为|有|大概|大约|约|在|:|：|=|不超过|最多|控制在|差不多|左右|"
    r"of|is|around|about|approx\.?|roughly|up to|under|below|max|~|\s)*"
)
_UNIT_DAYS = {
    "天": 1,
    "日": 1,
    "day": 1,
    "daily": 1,
    "周": 7,
    "星期": 7,
    "礼拜": 7,
    "week": 7,
    "weekly": 7,
    "月": 30,
    "个月": 30,
    "month": 30,
    "monthly": 30,
    "年": 365,
    "year": 365,
}
_UNIT_HOURS = {"小时": 1, "钟头": 1, "h": 1, "hr": 1, "hour": 1}

_PERIODIC_RES = (
    # 每天20元 / 日预算20 / 一天20块
    re.compile(
        rf"(?:每(?:一|{_P})?\s*个?|日均|(?P<one>{_P})\s*个?)(?P<unit>天|日|周|星期|礼拜|月)"
        rf"\s*(?P<kw>预算|花|投|投入|花费|消费|充值)?{_FILLER}{_AMOUNT}"
    ),
    re.compile(rf"(?P<unit>日|周|月)(?P<kw>预算|投入){_FILLER}{_AMOUNT}"),
    re.compile(rf"(?P<unit>日)均(?P<kw>预算|花费|投入|消费)?{_FILLER}{_AMOUNT}"),
    # 20元/天 / 20元每天 / 20块一天
    re.compile(
        rf"{_AMOUNT}\s*(?:/|每|(?P<one>{_P}))\s*个?\s*(?P<unit>天|日|周|星期|礼拜|月|day|week|month)"
    ),
    re.compile(rf"(?P<unit>daily|weekly|monthly)\s+(?P<kw>budget){_FILLER}{_AMOUNT}"),
    re.compile(rf"{_AMOUNT}\s*(?:per|a|an|each|every)\s+(?P<unit>day|week|month)\b"),
    re.compile(rf"{_AMOUNT}\s+(?P<unit>daily|weekly|monthly)\b"),
)
_PERIOD_RES = (
    re.compile(
        rf"(?:做|投|持续|坚持|连续|跑|为期|周期|投放|推广|坚持做|共|总共)\s*(?P<n>{_P}|半)\s*"
        rf"(?P<unit>个月|天|日|周|星期|礼拜|月|年)(?!内|以内|之内)"
    ),
    re.compile(
        rf"\b(?:for|over|during|lasting|across)\s+(?:the\s+next\s+)?(?P<n>{_P}|a|an|half\s+a)\s*"
        rf"(?P<unit>day|week|month|year)s?\b"
    ),
)
_PERIOD_FALLBACK_RE = re.compile(
    rf"(?P<n>{_P}|半)\s*(?P<unit>个月|天|周|星期|年)(?!内|以内|之内|前|之前|后)"
)
_STRONG_BUDGET_RES = (
    re.compile(rf"(?:总预算|预算|经费|总费用|费用|budget|total budget){_FILLER}{_AMOUNT}"),
    re.compile(rf"{_AMOUNT}\s*(?:的)?(?:总预算|预算|经费|(?:total\s+)?budget\b)"),
)
_WEAK_BUDGET_RES = (
    re.compile(
        rf"(?:花费|投入|最多花|最多|不超过|控制在|花|spend|spending|up to|at most|no more than|"
        rf"maximum|max|cap){_FILLER}{_AMOUNT}"
    ),
)
_MONEY_RE = re.compile(_AMOUNT)
#: A budget without a ceiling ("预算不限", "budget unlimited", "any budget"): no amount, and
#: a number before it ("涨粉1万 预算不限") is no budget either.
_UNLIMITED_BUDGET_RE = re.compile(
    r"(?:总预算|预算|经费|费用|budget)\s*(?:是|为|:|：|is|\s)*"
    r"(?:不限(?!于)|无上限|没有上限|不设上限|无限制?|没有限制|随意|无所谓|unlimited|no limit|"
    r"not limited|open\b)|"
    r"不限预算|(?:unlimited|any|open)\s+budget|no\s+budget\s+(?:limit|cap|ceiling)|"
    r"money is no object"
)

_DURATION_DEADLINE_RES = (
    re.compile(
        rf"(?P<n>{_P}|半)\s*个?\s*(?P<half>半)?\s*(?P<unit>小时|钟头|h|天|日|周|星期|礼拜|个月|月|年)\s*"
        r"(?:之内|以内|内|完成|搞定|见效|出效果|到账|上线|交付|做完|起效|必须|要)"
    ),
    re.compile(
        r"\b(?:within|in|under|inside|less than|in the next|no more than|by)\s+(?:the\s+next\s+)?"
        rf"(?P<n>{_P}|a|an|one|half\s+a|a\s+couple\s+of)\s*(?P<unit>hours?|hrs?|h|days?|weeks?|months?)\b"
    ),
    re.compile(
        rf"(?P<n>{_P})\s*-?\s*(?P<unit>hours?|hrs?|h|days?|weeks?)\s+(?:deadline|turnaround|delivery)"
    ),
)
_WEEKDAYS_EN = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
_ZH_WEEKDAY_RE = re.compile(
    rf"(?P<which>下|这|本)?个?(?:周|星期|礼拜)(?P<day>{_P}|日|天)\s*(?P<rel>之前|以前|前|内|截止|为止)?"
)
_EN_WEEKDAY_RE = re.compile(
    r"\b(?P<rel>by|before|until|till|no later than|due)\s+(?:(?P<which>next|this|coming)\s+)?"
    rf"(?P<day>{'|'.join(sorted(_WEEKDAYS_EN, key=len, reverse=True))})\b"
)
_NAMED_DEADLINES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(?:下周|下个星期|下星期|下礼拜)(?:之内|以内|内)|by the end of next week"),
        "end_next_week",
    ),
    (
        re.compile(r"(?:下周|下个星期|下星期)(?:之前|以前|前)|before next week|by next week"),
        "end_week",
    ),
    (
        re.compile(
            r"(?:这周|本周|这个星期|这星期|本星期)(?:之内|以内|内)?(?:完成|见效|内|之内|以内)|"
            r"by the end of (?:the |this )?week|by end of (?:the )?week|end of this week|"
            r"by the weekend|this week"
        ),
        "end_week",
    ),
    (re.compile(r"周末(?:之前|以前|前)|before the weekend"), "start_weekend"),
    (
        re.compile(
            r"(?:月底|月末|本月内|这个月内|这个月底)|by the end of (?:the |this )?month|"
            r"end of (?:the |this )?month|by month end|this month"
        ),
        "end_month",
    ),
    (
        re.compile(r"年底|年末|by the end of (?:the |this )?year|end of (?:the |this )?year"),
        "end_year",
    ),
    (re.compile(r"后天|day after tomorrow"), "day_after_tomorrow"),
    (re.compile(r"明天|明日|明早|明晚|tomorrow"), "tomorrow"),
    (re.compile(r"今天|今日|今晚|当天|today|tonight|end of day|\beod\b"), "today"),
)
_DATE_RE = re.compile(
    rf"(?:(?P<month>{_P})\s*月\s*)?(?P<day>{_P})\s*(?:号|日)\s*(?P<rel>之前|以前|前|截止|为止)"
)
# ---- A live stream's start ("周六晚上8点开播", "going live Friday 8pm"): a moment, not a
# deadline. The day is optional; an hour is not (a day alone gets a note). Every pattern's
# ``when`` group is the moment, blanked once read so that "今晚" or "下周五" there is no deadline.
#: A live start further ahead than this is refused: the field's on ``live_starts_at``, the
#: text's on ``need``.
MAX_LIVE_AHEAD_DAYS = 90
_ZH_LIVE_DAY = (
    r"(?:(?P<rel>大后天|后天|明天|明日|明晚|明早|今天|今日|今晚|今夜|今早)"
    rf"|(?P<which>下|这|本)?个?(?:周|星期|礼拜)(?P<wd>{_P}|日|天)"
    rf"|(?:(?P<month>{_P})\s*月\s*)?(?P<mday>{_P})\s*(?:日|号)"
    rf"(?:\s*[(（]?\s*(?:周|星期|礼拜)(?:{_P}|日|天)\s*[)）]?)?)"
)
_ZH_PERIOD = (
    r"(?P<period>凌晨|清晨|早上|早晨|上午|中午|午后|下午|傍晚|晚上|晚间|夜里|夜间|半夜|晚|夜|早)"
)
_ZH_CLOCK = rf"(?P<hour>{_P})\s*(?:点钟|点|时|:)\s*(?:(?P<minute>{_P})\s*分?|(?P<half>半)|整)?"
_ZH_LIVE_VERB = r"(?:准时|正式|开始|要|会|就|将)?\s*(?:开播|开直播|上播|直播(?!间))"
_ZH_LIVE_WHEN = rf"(?P<when>(?:{_ZH_LIVE_DAY}\s*的?\s*)?{_ZH_PERIOD}?\s*{_ZH_CLOCK})"
_ZH_LIVE_RES = (
    re.compile(rf"{_ZH_LIVE_WHEN}\s*的?\s*(?={_ZH_LIVE_VERB})"),
    re.compile(rf"(?:开播|直播)时间\s*(?:是|为|定在|在|:)?\s*{_ZH_LIVE_WHEN}"),
)
_ZH_LIVE_DAY_ONLY_RE = re.compile(
    rf"(?P<when>{_ZH_LIVE_DAY}\s*的?\s*{_ZH_PERIOD}?)\s*(?={_ZH_LIVE_VERB})"
)
_EN_MONTHS = {
    name: n
    for n, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_EN_MONTH_NAMES = "|".join(sorted(_EN_MONTHS, key=len, reverse=True))
_EN_WEEKDAY_NAMES = "|".join(sorted(_WEEKDAYS_EN, key=len, reverse=True))
_EN_LIVE_DAY = (
    r"(?:(?P<rel>the day after tomorrow|day after tomorrow|tomorrow|tonight|today)"
    rf"|(?:(?P<which>next|this|coming)\s+)?(?P<wd>{_EN_WEEKDAY_NAMES})\b"
    rf"|(?P<mon>{_EN_MONTH_NAMES})\.?\s*(?P<mday>{_P})(?:st|nd|rd|th)?"
    rf"|(?P<mday2>{_P})(?:st|nd|rd|th)?\s*(?:of\s+)?(?P<mon2>{_EN_MONTH_NAMES})\b)"
    r"(?:\s+(?P<part>night|evening|afternoon|morning))?"
)
_EN_CLOCK = (
    rf"(?:(?:(?:at|@)\s*)?(?:(?P<hour>{_P})(?:\s*:\s*(?P<minute>{_P}))?\s*(?P<ampm>[ap])\.?\s?m(?![a-z])\.?"
    rf"|(?P<hour24>{_P})\s*:\s*(?P<minute24>{_P})|(?P<noon>noon|midnight))"
    # A bare hour ("at 9") only where a time of day ends: not "live at 5 locations".
    rf"|(?:at|@)\s*(?P<hourat>{_P})(?=\s*(?:$|[,.;!?，。；！？]|(?:tonight|today|tomorrow|on|"
    rf"this|next|coming|oclock|o clock|go(?:ing|es)?\s+live|live|stream|{_EN_WEEKDAY_NAMES})\b)))"
)
_EN_LIVE_LEAD = (
    r"(?:go(?:ing|es)?\s+live"
    r"|(?:live\s*stream|livestream|stream|live|broadcast)\s+"
    r"(?:starts?|begins?|kicks?\s+off|is\s+on|goes\s+live|will\s+(?:start|begin))"
    r"|start(?:s|ing)?\s+(?:the\s+|my\s+|our\s+|a\s+)?"
    r"(?:live\s*stream|livestream|stream|streaming|broadcast|live)"
    r"|(?:live\s*stream(?:ing)?|livestream(?:ing)?|streaming|on\s+air|live)"
    r"(?=\s+(?:at|on|this|next|coming|tomorrow|tonight|today|@)\b|\s*@))"
    r"\s*,?\s*(?:(?:on|from|at)\s+(?=[^\s]))?"
)
#: What follows a moment that comes first ("tonight at 9 going live", "Sat 8pm livestream").
_EN_LIVE_AFTER = (
    r"\s*,?\s*(?=(?:(?:i|we)\s*(?:am|m|are|re|will|ll)?\s+)?"
    r"(?:go(?:ing|es)?\s+live|live\s*stream|livestream|stream(?:ing)?\s+(?:starts?|begins?)))"
)
_EN_LIVE_RES = (
    re.compile(rf"{_EN_LIVE_LEAD}(?P<when>{_EN_LIVE_DAY}\s*,?\s*{_EN_CLOCK})"),
    re.compile(rf"{_EN_LIVE_LEAD}(?P<when>{_EN_CLOCK}\s*,?\s*(?:on\s+)?{_EN_LIVE_DAY})"),
    re.compile(rf"{_EN_LIVE_LEAD}(?P<when>{_EN_CLOCK})"),
    re.compile(rf"(?P<when>{_EN_LIVE_DAY}\s*,?\s*{_EN_CLOCK}){_EN_LIVE_AFTER}"),
    re.compile(rf"(?P<when>{_EN_CLOCK}\s*,?\s*(?:on\s+)?{_EN_LIVE_DAY}){_EN_LIVE_AFTER}"),
)
_EN_LIVE_DAY_ONLY_RE = re.compile(rf"{_EN_LIVE_LEAD}(?P<when>{_EN_LIVE_DAY})")
#: Every live start names its stream so: a need without any is not searched further.
_LIVE_WORD_RE = re.compile(r"播|live|stream|broadcast|on\s+air")
_AGE_RES = (
    re.compile(
        rf"(?P<a>{_P})\s*(?:-|~|到|至|—|–|to)\s*(?P<b>{_P})\s*(?:周岁|岁|years?\s*old|year\s*olds?|yo\b)"
    ),
    re.compile(
        rf"(?:aged?|ages|年龄|年龄段)\s*(?:of|between|:|：|在|\s)*(?P<a>{_P})\s*"
        rf"(?:-|~|到|至|—|–|to|and)\s*(?P<b>{_P})"
    ),
)
#: A distance ("附近3公里", "within 5 km", "500米内"): a radius, never a quantity or an amount.
#: "m" after a number is a metre unless a count follows: "1m plays" is a million
#: (:mod:`.numerals`).
_DISTANCE_RE = re.compile(
    rf"(?P<a>{_P})(?:\s*(?:-|~|到|至|—|–|to)\s*(?P<b>{_P}))?\s*-?\s*"
    r"(?:公里|千米|米|kms?(?![a-z])|kilomet(?:er|re)s?|miles?|met(?:er|re)s?|m(?![a-z]))"
)
_SKIP_AFTER_NUMBER = frozenset(
    "个 次 条 位 名 人 人次 份 篇 场 支 多 左右 以上 真实 真人 活跃 优质 精准 的 新 视频 条视频 "
    "个视频 + x new real more extra active organic genuine local video videos targeted quality "
    "high 有效".split()
)
_SKIP_BEFORE_NUMBER = frozenset(
    "量 数 数量 达到 到 破 涨 增加 突破 至少 超过 冲 冲到 : ： of to at least about around ~ "
    "再 加 刷 by "
    "要 需要 上 目标 个 有 做 大概 约 大约 = is target goal reach hit 能 涨到 增长 增长到".split()
)
_STOP_TOKENS = frozenset("，。,.;；!！?？、\n")
#: Words that start a positive ask after a negated one ("不要涨粉要播放", "no likes but plays"):
#: a negation does not reach past them.
_AFFIRM_TOKENS = frozenset("要 只要 想要 需要 而是 但 但是 只想 but instead only".split())
#: Private-use characters stand for numbers and module names while a need is read; any in the
#: text itself are dropped first.
_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd]")
_TARGET_RES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^https?://(?:www\.)?douyin\.com/video/\d+"), "video"),
    (re.compile(r"^https?://(?:www\.)?iesdouyin\.com/share/video/\d+"), "video"),
    (re.compile(r"^https?://(?:www\.)?douyin\.com/user/[\w-]+"), "user"),
    (re.compile(r"^https?://(?:www\.)?iesdouyin\.com/share/user/[\w-]+"), "user"),
    (re.compile(r"^https?://live\.douyin\.com/\d+"), "live"),
    (re.compile(r"^https?://v\.douyin\.com/[\w-]+/?$"), "short"),
)
_DOUYIN_ID_RE = re.compile(r"^@?[a-z0-9_.]{2,40}$")


@dataclass(frozen=True)
class Note:
    """Something understood with a caveat: an override, a contradiction, an assumption."""

    code: str
    message_zh: str
    message_en: str

    def message(self, language: str) -> str:
        """Return the message in ``language`` (``zh`` or ``en``)."""
        return self.message_en if language.startswith("en") else self.message_zh


@dataclass(frozen=True)
class Understood:
    """What a need asks for, ready for the optimiser.

    ``intents`` are normalised weights (sum 1) over the lexicon's intents; ``budget`` is the
    total in yuan (for a periodic budget, ``daily_budget`` x ``period_days``); ``budget_source``
    says where it came from: ``text``, ``periodic``, ``field``, or ``unlimited`` for a need
    with no budget limit that asks for quantities ("涨粉1万 预算不限"), whose ``budget`` is
    :data:`MAX_BUDGET` until the goal is costed (``matching.services`` does);
    ``quantities`` are the amounts asked per intent; ``deadline_hours`` is None when no deadline
    was given; ``max_per_kind`` is how many modules of one kind a plan may use;
    ``named_services`` are the modules the need names (the only ones of their kind to plan) and
    ``excluded_services`` those it rules out; ``live_starts_at`` is when the need's live stream
    starts (Beijing time), None when it gave none or the stream is on already.
    """

    language: str
    intents: Mapping[str, float]
    budget: Decimal
    budget_source: str
    deadline_hours: float | None
    quantities: Mapping[str, int] = field(default_factory=dict)
    audience: Audience = field(default_factory=Audience)
    daily_budget: Decimal | None = None
    period_days: int | None = None
    target: str | None = None
    target_kind: str | None = None
    urgent: bool = False
    max_per_kind: int = 1
    notes: tuple[Note, ...] = ()
    named_services: tuple[int | str, ...] = ()
    excluded_services: tuple[int | str, ...] = ()
    live_starts_at: datetime | None = None

    @property
    def budget_fen(self) -> int:
        """Return the budget in integer fen."""
        return int(self.budget * 100)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape the API shows as ``understood`` (amounts as yuan strings)."""
        return {
            "language": self.language,
            "intents": {k: round(v, 3) for k, v in self.intents.items()},
            "budget": f"{self.budget:.2f}",
            "currency": "CNY",
            "budget_source": self.budget_source,
            "daily_budget": None if self.daily_budget is None else f"{self.daily_budget:.2f}",
            "period_days": self.period_days,
            "deadline_hours": self.deadline_hours,
            "quantities": dict(self.quantities),
            "audience": self.audience.as_dict(),
            "target": self.target,
            "target_kind": self.target_kind,
            "urgent": self.urgent,
            "named_services": list(self.named_services),
            "excluded_services": list(self.excluded_services),
            "live_starts_at": (
                None if self.live_starts_at is None else self.live_starts_at.isoformat()
            ),
            "notes": [
                {
                    "code": n.code,
                    "message": n.message(self.language),
                    "message_zh": n.message_zh,
                    "message_en": n.message_en,
                }
                for n in self.notes
            ],
        }


# --------------------------------------------------------------------------- jieba, lazily

_TOKENIZER: Any = None
_TOKENIZER_LOCK = threading.Lock()


def _tokenizer() -> Any:
    """Return the shared jieba tokenizer, initialising it once (quietly) on first use."""
    global _TOKENIZER
    if _TOKENIZER is None:
        with _TOKENIZER_LOCK:
            if _TOKENIZER is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                tok.initialize()
                tok.load_userdict(str(USERDICT_PATH))
                for word in get_lexicon().domain_words:
                    tok.add_word(word, freq=1000)
                _TOKENIZER = tok
    return _TOKENIZER


def warm_up() -> None:
    """Load jieba and the lexicon now (e.g. at worker start) instead of on the first request."""
    _tokenizer()


#: Module phrases are marked in a need by characters of Supplementary Private Use Area-A
#: (numbers use the BMP's private-use block), one per phrase, so each reads as one token.
_MARK_BASE = 0xF0000
_MARK_LIMIT = 0xFFFE
_WORD_CHAR = re.compile(r"[a-z0-9]")


@dataclass(frozen=True)
class Naming:
    """Phrases that name particular offers: normalised phrase -> the offers it names."""

    phrases: Mapping[str, tuple[Offer, ...]]

    @cached_property
    def _marks(self) -> dict[str, str]:
        return {p: chr(_MARK_BASE + i) for i, p in enumerate(self.phrases)}

    @cached_property
    def _named_by_mark(self) -> dict[str, tuple[Offer, ...]]:
        return {mark: self.phrases[p] for p, mark in self._marks.items()}

    @cached_property
    def _lengths_by_first(self) -> dict[str, tuple[int, ...]]:
        lengths: dict[str, set[int]] = {}
        for p in self.phrases:
            lengths.setdefault(p[0], set()).add(len(p))
        return {ch: tuple(sorted(ls, reverse=True)) for ch, ls in lengths.items()}

    def mark(self, text: str) -> str:
        """Replace each phrase in normalised ``text`` by its mark, longest phrase first.

        A phrase that starts or ends with a Latin letter or digit must stand as a whole word
        there ("benchmark" is not read in "benchmarking").
        """
        if not self.phrases:
            return text
        out: list[str] = []
        i = 0
        while i < len(text):
            for size in self._lengths_by_first.get(text[i], ()):
                piece = text[i : i + size]
                # At the text's end a piece may be cut short, and match a shorter phrase:
                # that phrase's own size comes later in the loop.
                if (
                    len(piece) == size
                    and piece in self.phrases
                    and self._stands_alone(text, i, size)
                ):
                    out.append(self._marks[piece])
                    i += size
                    break
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    @staticmethod
    def _stands_alone(text: str, start: int, size: int) -> bool:
        before = text[start - 1 : start]
        after = text[start + size : start + size + 1]
        return not (
            (_WORD_CHAR.match(text[start]) and before and _WORD_CHAR.match(before))
            or (_WORD_CHAR.match(text[start + size - 1]) and after and _WORD_CHAR.match(after))
        )

    def named(self, token: str) -> tuple[Offer, ...] | None:
        """Return the offers a marked token names, or None for any other token."""
        return self._named_by_mark.get(token)


def naming_table(pairs: Iterable[tuple[str, Offer]]) -> Naming:
    """Build the :class:`Naming` of ``(phrase, offer)`` pairs, e.g. a catalogue's module names.

    Phrases are normalised as needs are; beyond the marks available, phrases are left out.
    """
    phrases: dict[str, dict[str, Offer]] = {}
    for phrase, offer in pairs:
        text = _normalise(phrase).strip()
        if text and (text in phrases or len(phrases) < _MARK_LIMIT):
            phrases.setdefault(text, {})[str(offer.service_id)] = offer
    return Naming({k: tuple(v.values()) for k, v in phrases.items()})


_NO_NAMING = Naming({})


# --------------------------------------------------------------------------- helpers


def _note(code: str, zh: str, en: str) -> Note:
    return Note(code, zh, en)


def _yuan(value: Decimal) -> str:
    if value >= CEILING:  # a number read at the ceiling: its written value was at least this
        return f"¥{CEILING:,}+"
    return f"¥{value.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"


def _error(field_name: str, code: str, zh: str, en: str) -> DomainError:
    return DomainError(FieldError(field_name, code, zh, en))


def detect_language(text: str) -> str:
    """Return ``zh`` when the text is mostly Chinese (or empty), else ``en``."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if cjk == 0 and latin > 0:
        return "en"
    return "zh" if cjk * 3 >= latin else "en"


def _normalise(text: str) -> str:
    s = _PRIVATE_USE.sub("", unicodedata.normalize("NFKC", text).lower())
    s = re.sub(r"(?<=[a-z])['’](?=[a-z])", "", s)
    return re.sub(r"(?<=[a-z])-(?=[a-z])", " ", s)


def _quantize(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def _check_budget(value: Decimal, source: str) -> Decimal:
    """Validate a budget in yuan; raise a field error on the ``budget`` field."""
    if value <= 0:
        raise _error(
            "budget",
            "not_positive",
            "预算必须大于0元。",
            "The budget must be more than ¥0.",
        )
    if value > MAX_BUDGET:
        raise _error(
            "budget",
            "too_large",
            f"预算不能超过{_yuan(MAX_BUDGET)}，请联系客服定制方案。",
            f"The budget cannot exceed {_yuan(MAX_BUDGET)}; please contact us for a custom plan.",
        )
    q = _quantize(value)
    if q <= 0:
        raise _error(
            "budget", "not_positive", "预算必须大于0元。", "The budget must be more than ¥0."
        )
    return q


def parse_budget_field(value: object) -> Decimal:
    """Parse and validate a structured budget in yuan (number, Decimal or text like "1.5万")."""
    if isinstance(value, bool):
        value = None
    parsed: Decimal | None
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, int):
        parsed = Decimal(value)
    elif isinstance(value, float):
        if math.isnan(value):
            parsed = None
        elif math.isfinite(value):
            parsed = Decimal(repr(value))
        else:  # a JSON number beyond a float (1e999) arrives as infinity: over the limit
            parsed = Decimal(value)
    elif isinstance(value, str):
        raw = _normalise(value).strip().replace("¥", "").replace("元", "").strip()
        try:
            parsed = Decimal(raw.replace(",", ""))
        except InvalidOperation:
            negative = raw.startswith("-")
            parsed = parse_number(raw.lstrip("-").strip())
            if parsed is not None and negative:
                parsed = -parsed
        if parsed is not None and not parsed.is_finite():
            parsed = None
    else:
        parsed = None
    if parsed is None:
        raise _error(
            "budget",
            "invalid",
            "预算格式不正确，请填写金额（元），例如 500。",
            "The budget is not a valid amount; give yuan, e.g. 500.",
        )
    return _check_budget(parsed, "field")


def parse_deadline_field(value: object) -> float:
    """Validate a structured deadline in hours (0 < hours <= one year)."""
    try:
        hours = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        hours = float("nan")
    if isinstance(value, float) and hours == math.inf:
        hours = MAX_DEADLINE_HOURS + 1  # a JSON number beyond a float (1e999): over a year
    if isinstance(value, bool) or not math.isfinite(hours) or hours <= 0:
        raise _error(
            "deadline_hours",
            "invalid",
            "完成时限必须是大于0的小时数。",
            "The deadline must be a positive number of hours.",
        )
    if hours > MAX_DEADLINE_HOURS:
        raise _error(
            "deadline_hours",
            "too_large",
            "完成时限不能超过一年。",
            "The deadline cannot be more than a year away.",
        )
    return hours


_AUDIENCE_KEYS = {
    "gender": "genders",
    "genders": "genders",
    "age": "ages",
    "ages": "ages",
    "age_bands": "ages",
    "region": "regions",
    "regions": "regions",
    "city": "regions",
    "cities": "regions",
    "interest": "interests",
    "interests": "interests",
}


def parse_audience_field(value: Mapping[str, Any] | None) -> Audience:
    """Validate a structured audience (zh or en names, or slugs) into canonical slugs.

    Keys: ``gender``/``genders``, ``ages``/``age_bands``, ``regions``/``cities``,
    ``interests``; each a string or a list of strings. Unknown keys or values raise a
    :class:`DomainError` naming the field (e.g. ``audience.regions``).
    """
    if value is None:
        return Audience()
    if not isinstance(value, Mapping):
        raise _error("audience", "invalid", "受众格式不正确。", "The audience must be an object.")
    lex = get_lexicon()
    dims: dict[str, set[str]] = {
        "genders": set(),
        "ages": set(),
        "regions": set(),
        "interests": set(),
    }
    errors: list[FieldError] = []
    for key, raw in value.items():
        dim = _AUDIENCE_KEYS.get(str(key).lower())
        if dim is None:
            errors.append(
                FieldError(
                    f"audience.{key}",
                    "unknown_field",
                    f"不支持的受众条件“{key}”；可用：gender、ages、regions、interests。",
                    f"Unknown audience option “{key}”; use gender, ages, regions or interests.",
                )
            )
            continue
        items = [raw] if isinstance(raw, str) else [] if raw is None else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            errors.append(
                FieldError(
                    f"audience.{key}",
                    "invalid",
                    "须为文本或文本列表。",
                    "Must be a text or a list of texts.",
                )
            )
            continue
        unknown: list[str] = []
        for item in items:
            name = _normalise(str(item)).strip()
            if dim == "ages":
                slug = name.replace("岁", "").replace("~", "-").replace(" ", "")
                if slug in lex.slugs["ages"]:
                    dims[dim].add(slug)
                elif name in lex.age_words:
                    dims[dim].update(lex.age_words[name])
                else:
                    unknown.append(str(item))
                continue
            found = lex.audience[dim].get(name)
            if found is None:
                unknown.append(str(item))
            else:
                dims[dim].add(found)
        if unknown:
            unknown = listed(unknown)
            examples = lex.slugs[dim][:8]
            errors.append(
                FieldError(
                    f"audience.{key}",
                    "unknown_value",
                    f"不支持的受众取值：{'、'.join(unknown)}（可选如：{'、'.join(examples)}…）。",
                    f"Unknown audience value(s): {', '.join(unknown)} "
                    f"(e.g. {', '.join(examples)}…).",
                )
            )
    if errors:
        raise DomainError(*errors)
    return Audience(**{k: frozenset(v) for k, v in dims.items()})


def classify_target(target: str | None) -> str | None:
    """Return the kind of a Douyin target: video, user, live, short (v.douyin.com), account.

    Raise a ``target`` field error for links that are not Douyin links.
    """
    if target is None or not target.strip():
        return None
    t = target.strip()
    low = t.lower()
    for pattern, kind in _TARGET_RES:
        if pattern.match(low):
            return kind
    if _DOUYIN_ID_RE.match(low) and not low.startswith(("http", "www.")):
        return "account"
    raise _error(
        "target",
        "not_douyin",
        "目标必须是抖音视频、主页或直播间链接（douyin.com），或抖音号。",
        "The target must be a Douyin video, profile or live-room link (douyin.com) or a Douyin ID.",
    )


def goal_weights_not_an_object() -> DomainError:
    """Return the error of goal weights given as anything but an object (a mapping)."""
    return _error(
        "goal_weights",
        "invalid",
        '目标权重须为对象，例如 {"followers": 2, "plays": 1}。',
        'Goal weights must be an object, e.g. {"followers": 2, "plays": 1}.',
    )


def parse_goal_weights(value: Mapping[str, Any]) -> dict[str, float]:
    """Validate goal weights (intent -> number from 0 to :data:`MAX_GOAL_WEIGHT`, not all 0).

    Weights are relative (``{"followers": 2, "plays": 1}``) and are normalised to sum 1. Each
    unknown goal or bad weight is an error on ``goal_weights.<key>`` (the key as given); all
    weights zero is an error on ``goal_weights``.
    """
    lex = get_lexicon()
    if not isinstance(value, Mapping):
        raise goal_weights_not_an_object()
    aliases = {k: k for k in lex.intents}
    aliases.update({"live": "live_viewers", "local": "lbs", "video_edit": "content"})
    goals = "、".join(lex.intents)
    weights: dict[str, float] = {}
    errors: list[FieldError] = []
    for key, raw in value.items():
        intent = aliases.get(str(key).lower())
        if intent is None:
            errors.append(
                FieldError(
                    f"goal_weights.{key}",
                    "unknown_goal",
                    f"未知的目标“{key}”；可用：{goals}。",
                    f"Unknown goal “{key}”; use {goals.replace('、', ', ')}.",
                )
            )
            continue
        try:
            # true is no weight; text that is a number ("2") is, as before.
            w = math.nan if isinstance(raw, bool) else float(raw)
        except (TypeError, ValueError):
            w = math.nan
        if not 0 <= w <= MAX_GOAL_WEIGHT:  # NaN, infinity, negative or absurd
            errors.append(
                FieldError(
                    f"goal_weights.{key}",
                    "invalid",
                    f"目标权重须为 0 到 {MAX_GOAL_WEIGHT:,} 之间的数字。",
                    f"A goal weight must be a number from 0 to {MAX_GOAL_WEIGHT:,}.",
                )
            )
            continue
        weights[intent] = weights.get(intent, 0.0) + w
    if errors:
        raise DomainError(*errors)
    total = sum(weights.values())
    if total <= 0:
        raise _error(
            "goal_weights",
            "all_zero",
            "目标权重至少要有一个大于 0。",
            "At least one goal weight must be above 0.",
        )
    return {k: v / total for k, v in weights.items() if v > 0}


# --------------------------------------------------------------------------- text reading


@dataclass
class _Reading:
    """Mutable scratchpad of one understanding pass."""

    enc: Encoded
    now: datetime
    used: set[str] = field(default_factory=set)
    notes: list[Note] = field(default_factory=list)

    def value(self, ch: str) -> Decimal:
        return self.enc.value(ch)

    def take(self, m: re.Match[str], *groups: str) -> None:
        for g in groups:
            ch = m.groupdict().get(g)
            if ch and is_number(ch):
                self.used.add(ch)

    def fresh(self, m: re.Match[str], *groups: str) -> bool:
        return all(not (m.groupdict().get(g) and m.group(g) in self.used) for g in groups)


def _count(reading: _Reading, raw: str | None) -> Decimal | None:
    """Value of a duration count: a number placeholder, 半, or an English article."""
    if raw is None:
        return Decimal(1)
    raw = raw.strip()
    if is_number(raw):
        return reading.value(raw)
    if raw in ("半", "half a"):
        return Decimal("0.5")
    if raw in ("a", "an", "one"):
        return Decimal(1)
    if raw == "a couple of":
        return Decimal(2)
    return None


def _unit_days(unit: str) -> int:
    if unit.endswith("s") and unit[:-1] in _UNIT_DAYS:
        unit = unit[:-1]
    return _UNIT_DAYS[unit]


def _amount(reading: _Reading, m: re.Match[str]) -> Decimal:
    """Read an amount match: the upper end of a range, negative when written with a minus.

    A range ("预算500-800") is read as its upper end (a budget is a ceiling), and a note says
    so.
    """
    value = reading.value(m.group("amt"))
    if m.groupdict().get("amt2"):
        low, high = sorted((value, reading.value(m.group("amt2"))))
        value = high
        if low < high and not m.groupdict().get("neg"):
            reading.notes.append(_range_note(low, high))
    if m.groupdict().get("neg"):
        value = -value
    return value


def _range_note(low: Decimal, high: Decimal) -> Note:
    return _note(
        "budget_range_upper",
        f"金额写的是范围（{_yuan(low)}至{_yuan(high)}），按上限{_yuan(high)}理解。",
        f"The amount is a range ({_yuan(low)} to {_yuan(high)}); we read it as its upper end, "
        f"{_yuan(high)}.",
    )


def _has_currency(m: re.Match[str]) -> bool:
    return bool(m.group("pre") or m.group("cur1") or m.group("cur2"))


def _read_unlimited_budget(reading: _Reading) -> bool:
    """Blank out every "预算不限"; return whether the text says the budget has no limit."""
    text, n = _UNLIMITED_BUDGET_RE.subn(" ", reading.enc.text)
    if n:
        reading.enc = Encoded(text, reading.enc.values)
    return bool(n)


def _asked(tokens: _Tokens) -> bool:
    """Whether the text asks for a quantity of a goal it does not rule out."""
    return any(q > 0 for k, q in tokens.quantities.items() if k not in tokens.negated)


def _read_periodic(reading: _Reading) -> tuple[Decimal, int] | None:
    """Find "每天20元"-style budgets; return (amount per period, days per period)."""
    s = reading.enc.text
    for pattern in _PERIODIC_RES:
        for m in pattern.finditer(s):
            if not reading.fresh(m, "amt", "amt2", "one"):
                continue
            if m.groupdict().get("one") and reading.value(m.group("one")) != 1:
                continue
            if not (_has_currency(m) or m.groupdict().get("kw")):
                continue
            reading.take(m, "amt", "amt2", "one")
            return _amount(reading, m), _unit_days(m.group("unit"))
    return None


def _read_period_days(reading: _Reading, fallback: bool) -> int | None:
    s = reading.enc.text
    patterns = [*_PERIOD_RES, _PERIOD_FALLBACK_RE] if fallback else list(_PERIOD_RES)
    for pattern in patterns:
        for m in pattern.finditer(s):
            if not reading.fresh(m, "n"):
                continue
            n = _count(reading, m.group("n"))
            if n is None or n <= 0:
                continue
            reading.take(m, "n")
            unit = m.group("unit")
            if unit in ("年", "year") and n != n.to_integral_value():
                return max(1, int(n * 12) * 30)  # half a year is six months of 30 days
            return max(1, int((n * _unit_days(unit)).to_integral_value(ROUND_HALF_UP)))
    return None


def _read_total_budgets(reading: _Reading) -> list[tuple[Decimal, bool]]:
    """Return (amount, stated-with-a-budget-word) for every total amount in the text."""
    s = reading.enc.text
    found: list[tuple[int, Decimal, bool]] = []
    for patterns, strong in ((_STRONG_BUDGET_RES, True), (_WEAK_BUDGET_RES, False)):
        for n_pattern, pattern in enumerate(patterns):
            if strong and n_pattern > 0 and found:
                break  # "预算500" wins over "500预算"
            for m in pattern.finditer(s):
                if not reading.fresh(m, "amt", "amt2"):
                    continue
                if not strong and not _has_currency(m):
                    continue
                reading.take(m, "amt", "amt2")
                found.append((m.start(), _amount(reading, m), True))
                if m.group("pre") == "$":
                    reading.notes.append(_usd_note())
    for m in _MONEY_RE.finditer(s):
        if not _has_currency(m) or not reading.fresh(m, "amt", "amt2"):
            continue
        reading.take(m, "amt", "amt2")
        found.append((m.start(), _amount(reading, m), False))
        if m.group("pre") == "$":
            reading.notes.append(_usd_note())
    found.sort(key=lambda t: t[0])
    return [(v, strong) for _, v, strong in found]


def _usd_note() -> Note:
    return _note(
        "currency_assumed_cny",
        "金额按人民币理解。",
        "Amounts are read as Chinese yuan (CNY).",
    )


def _start_of(d: date, now: datetime) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=now.tzinfo)


def _end_of(d: date, now: datetime) -> datetime:
    return _start_of(d + timedelta(days=1), now)


def _hours_until(when: datetime, now: datetime) -> float:
    return max(1.0, math.floor((when - now).total_seconds() / 360.0) / 10.0)


def _read_deadlines(reading: _Reading) -> list[float]:
    """Return every deadline the text states, in hours from ``now``."""
    s = reading.enc.text
    now = reading.now
    today = now.date()
    out: list[float] = []
    for pattern in _DURATION_DEADLINE_RES:
        for m in pattern.finditer(s):
            if not reading.fresh(m, "n"):
                continue
            n = _count(reading, m.group("n"))
            if n is None or n <= 0:
                continue
            if m.groupdict().get("half"):
                n += Decimal("0.5")
            unit = m.group("unit")
            base = unit.rstrip("s") if unit.endswith("s") else unit
            hours = (
                Decimal(_UNIT_HOURS[base])
                if base in _UNIT_HOURS
                else Decimal(24 * _unit_days(base))
            )
            reading.take(m, "n")
            out.append(float(n * hours))
    for m in _ZH_WEEKDAY_RE.finditer(s):
        day_raw = m.group("day")
        if is_number(day_raw):
            if day_raw in reading.used:
                continue
            v = reading.value(day_raw)
            if v != v.to_integral_value() or not 1 <= v <= 6:
                continue
            weekday = int(v) - 1
        else:
            weekday = 6
        if not (m.group("rel") or m.group("which")):
            continue
        reading.take(m, "day")
        monday = today - timedelta(days=today.weekday())
        if m.group("which") == "下":
            target = monday + timedelta(days=7 + weekday)
        else:
            target = monday + timedelta(days=weekday)
            if target < today:
                target += timedelta(days=7)
        before = m.group("rel") in ("之前", "以前", "前")
        when = _start_of(target, now) if before else _end_of(target, now)
        if when <= now:
            when = _end_of(target, now)
        out.append(_hours_until(when, now))
    for m in _EN_WEEKDAY_RE.finditer(s):
        weekday = _WEEKDAYS_EN[m.group("day")]
        ahead = (weekday - today.weekday()) % 7
        if m.group("which") == "next" and ahead == 0:
            ahead = 7
        target = today + timedelta(days=ahead)
        before = m.group("rel") == "before"
        when = _start_of(target, now) if before else _end_of(target, now)
        if when <= now:
            when = _end_of(target, now)
        out.append(_hours_until(when, now))
    for m in _DATE_RE.finditer(s):
        if not reading.fresh(m, "month", "day"):
            continue
        day_v = reading.value(m.group("day"))
        month_v = reading.value(m.group("month")) if m.group("month") else Decimal(today.month)
        if not (1 <= month_v <= 12 and 1 <= day_v <= 31):
            continue  # no date ("99999号前"); int() of it would not fit date()
        try:
            target = date(today.year, int(month_v), int(day_v))
        except ValueError:
            continue
        if target < today:
            try:
                target = (
                    date(today.year + 1, int(month_v), int(day_v))
                    if m.group("month")
                    else _add_month(target)
                )
            except ValueError:
                continue
        reading.take(m, "month", "day")
        out.append(_hours_until(_start_of(target, now), now))
    for pattern, name in _NAMED_DEADLINES:
        if pattern.search(s):
            out.append(_hours_until(_named_deadline(name, now), now))
            s = pattern.sub(" ", s)
    return out


def _add_month(d: date) -> date:
    return date(d.year + (d.month // 12), d.month % 12 + 1, d.day)


def _named_deadline(name: str, now: datetime) -> datetime:
    today = now.date()
    monday = today - timedelta(days=today.weekday())
    if name == "end_next_week":
        return _end_of(monday + timedelta(days=13), now)
    if name == "end_week":
        return _end_of(monday + timedelta(days=6), now)
    if name == "start_weekend":
        saturday = monday + timedelta(days=5)
        return (
            _start_of(saturday, now)
            if saturday > today
            else _end_of(saturday + timedelta(days=1), now)
        )
    if name == "end_month":
        return _start_of(_add_month(today.replace(day=1)), now)
    if name == "end_year":
        return _start_of(date(today.year + 1, 1, 1), now)
    if name == "day_after_tomorrow":
        return _end_of(today + timedelta(days=2), now)
    if name == "tomorrow":
        return _end_of(today + timedelta(days=1), now)
    return _end_of(today, now)


# --------------------------------------------------------------------------- live starts

#: Periods of the day after which an hour from 1 to 11 is in the afternoon or evening; of
#: these, the ones after which 12 o'clock is midnight (晚上12点) rather than noon.
_PM_PERIODS = frozenset(
    "下午 午后 傍晚 晚上 晚间 夜里 夜间 晚 夜 今晚 今夜 明晚 "
    "tonight evening night afternoon p".split()
)
_MIDNIGHT_PERIODS = frozenset("晚上 晚间 夜里 夜间 晚 夜 今晚 今夜 明晚 tonight night".split())
_AM_PERIODS = frozenset("凌晨 清晨 早上 早晨 上午 早 今早 明早 morning a".split())
_DAY_OFFSETS = {
    "今天": 0,
    "今日": 0,
    "今晚": 0,
    "今夜": 0,
    "今早": 0,
    "today": 0,
    "tonight": 0,
    "明天": 1,
    "明日": 1,
    "明晚": 1,
    "明早": 1,
    "tomorrow": 1,
    "后天": 2,
    "day after tomorrow": 2,
    "the day after tomorrow": 2,
    "大后天": 3,
}
_WEEKDAYS_ZH = "一二三四五六日"
_WEEKDAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def live_start_label(when: datetime, language: str, *, now: datetime | None = None) -> str:
    """Return a live start as plans show it, in Beijing time.

    "12月6日（周六）20:00" / "Sat 6 Dec 20:00"; the year is shown only when it is not
    ``now``'s (default: the current year).
    """
    local = when.astimezone(TIMEZONE)
    this_year = (now or datetime.now(TIMEZONE)).astimezone(TIMEZONE).year
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if language.startswith("en"):
        year = "" if local.year == this_year else f" {local.year}"
        day = f"{_WEEKDAY_ABBR[local.weekday()]} {local.day} {_MONTH_ABBR[local.month - 1]}"
        return f"{day}{year} {clock}"
    year = "" if local.year == this_year else f"{local.year}年"
    return f"{year}{local.month}月{local.day}日（周{_WEEKDAYS_ZH[local.weekday()]}）{clock}"


def _live_labels(when: datetime, now: datetime) -> tuple[str, str]:
    return live_start_label(when, "zh", now=now), live_start_label(when, "en", now=now)


def _live_too_far(field_name: str, when: datetime, now: datetime) -> DomainError:
    zh, en = _live_labels(when, now)
    return _error(
        field_name,
        "too_far",
        f"开播时间（{zh}）在{MAX_LIVE_AHEAD_DAYS}天之后，暂不能预约投放；"
        f"请给出{MAX_LIVE_AHEAD_DAYS}天内的开播时间。",
        f"The live start ({en}) is more than {MAX_LIVE_AHEAD_DAYS} days ahead and cannot be "
        f"booked yet; give a start within {MAX_LIVE_AHEAD_DAYS} days.",
    )


_ISO_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[tT ]\d{2}:\d{2}")


def parse_live_start_field(value: object, now: datetime) -> datetime:
    """Validate a structured live start: an ISO 8601 date and time after ``now``.

    A time without a zone is Beijing time. Raises a ``live_starts_at`` field error for
    anything else, a time already past, or one more than :data:`MAX_LIVE_AHEAD_DAYS` ahead.
    """
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and _ISO_DATETIME_RE.match(value.strip()):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise _error(
            "live_starts_at",
            "invalid",
            "开播时间须为日期和时间（ISO 8601），例如 2026-12-06T20:00+08:00。",
            "The live start must be a date and time (ISO 8601), e.g. 2026-12-06T20:00+08:00.",
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=TIMEZONE)
    parsed = parsed.astimezone(TIMEZONE)
    if parsed <= now:
        raise _error(
            "live_starts_at",
            "in_past",
            "开播时间已过，请填写将来的时间。",
            "The live start has passed; give a time in the future.",
        )
    if parsed - now > timedelta(days=MAX_LIVE_AHEAD_DAYS):
        raise _live_too_far("live_starts_at", parsed, now)
    return parsed


@dataclass(frozen=True)
class _LiveDay:
    """The day a live start names, and how a moment already past on it moves on."""

    day: date | None  # None: no day given (today, or tomorrow once the hour has passed)
    rolls: str | None  # "week": a bare weekday moves to next week; None: it has passed
    hint: str | None  # the period a day word implies ("今晚": evening)


def _live_day(reading: _Reading, g: Mapping[str, str | None], today: date) -> _LiveDay | None:
    """Read the day of a live start's match (None when it names no real date)."""
    rel = g.get("rel")
    if rel:
        hint = "今晚" if rel in ("今晚", "今夜", "明晚", "tonight") else None
        hint = "今早" if rel in ("今早", "明早") else hint
        return _LiveDay(today + timedelta(days=_DAY_OFFSETS[rel]), None, g.get("part") or hint)
    raw_weekday = g.get("wd")
    if raw_weekday:
        which = g.get("which")
        monday = today - timedelta(days=today.weekday())
        if raw_weekday in _WEEKDAYS_EN:
            ahead = (_WEEKDAYS_EN[raw_weekday] - today.weekday()) % 7
            if which == "next" and ahead == 0:
                ahead = 7
            rolls = "week" if which in (None, "coming") else None
            return _LiveDay(today + timedelta(days=ahead), rolls, g.get("part"))
        if is_number(raw_weekday):
            v = reading.value(raw_weekday)
            if v != v.to_integral_value() or not 1 <= v <= 7:
                return None
            weekday = int(v) - 1
        else:
            weekday = 6  # 周日 / 周天
        if which == "下":
            return _LiveDay(monday + timedelta(days=7 + weekday), None, None)
        target = monday + timedelta(days=weekday)
        if target < today:
            target += timedelta(days=7)
        return _LiveDay(target, "week" if which is None else None, None)
    mday = g.get("mday") or g.get("mday2")
    if not mday:
        return _LiveDay(None, None, g.get("part"))
    month_name = g.get("mon") or g.get("mon2")
    month_raw = g.get("month")
    month_v = (
        Decimal(_EN_MONTHS[month_name])
        if month_name
        else reading.value(month_raw)
        if month_raw
        else Decimal(today.month)
    )
    day_v = reading.value(mday)
    if not (1 <= month_v <= 12 and 1 <= day_v <= 31) or day_v != day_v.to_integral_value():
        return None
    try:
        target = date(today.year, int(month_v), int(day_v))
        if target < today:
            # A date past this year is next year's; a day of the month past, next month's.
            named_month = bool(month_name or month_raw)
            target = target.replace(year=today.year + 1) if named_month else _add_month(target)
    except ValueError:
        return None
    return _LiveDay(target, None, g.get("part"))


def _live_clock(
    reading: _Reading, g: Mapping[str, str | None], hint: str | None
) -> tuple[int, int, bool] | None:
    """Return (hour 0-24, minute, whether am or pm was left unsaid) of a live start's match."""
    if g.get("noon"):
        return (12 if g["noon"] == "noon" else 24), 0, False
    raw = g.get("hour") or g.get("hour24") or g.get("hourat")
    if raw is None:
        return None
    hour = reading.value(raw)
    minute = Decimal(0)
    minute_raw = g.get("minute") or g.get("minute24")
    if minute_raw:
        minute = reading.value(minute_raw)
    elif g.get("half"):
        minute = Decimal(30)
    elif hour != hour.to_integral_value() and hour.as_tuple().exponent == -2:
        hour, minute = Decimal(int(hour)), (hour % 1) * 100  # "7.30pm"
    if (
        hour != hour.to_integral_value()
        or minute != minute.to_integral_value()
        or not (0 <= hour <= 24 and 0 <= minute <= 59)
        or (hour == 24 and minute)
    ):
        return None
    h, mins = int(hour), int(minute)
    period = g.get("period") or g.get("ampm") or hint
    if h == 0 or h > 12:
        return h, mins, False
    if period is None:
        return h, mins, True
    if period in _PM_PERIODS:
        h = h + 12 if h < 12 else (24 if period in _MIDNIGHT_PERIODS else 12)
    elif period == "中午":
        h = h if h >= 11 else h + 12
    elif period == "半夜":
        h = h + 12 if h >= 11 else h
    elif period in _AM_PERIODS and h == 12:
        h = 0
    return h, mins, False


def _at(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=TIMEZONE) + timedelta(
        hours=hour, minutes=minute
    )


@dataclass(frozen=True)
class _LiveRead:
    """A live start read in the text: when (None: under way already) and what to note."""

    at: datetime | None
    notes: tuple[Note, ...]


def _live_moment(reading: _Reading, m: re.Match[str]) -> _LiveRead | None:
    """Resolve a live start's match to a moment in Beijing time (None: no real moment)."""
    now = reading.now.astimezone(TIMEZONE)
    today = now.date()
    g = m.groupdict()
    day = _live_day(reading, g, today)
    if day is None:
        return None
    clock = _live_clock(reading, g, day.hint)
    if clock is None:
        return None
    hour, minute, unsaid = clock
    notes: list[Note] = []
    if unsaid and day.day is None:
        # "8点开播": the next time the clock shows 8, morning or evening.
        am, pm = (hour, hour + 12) if hour < 12 else (12, 24)
        when = next(
            t
            for t in (_at(today, am, minute), _at(today, pm, minute), _at(today, am + 24, minute))
            if t > now
        )
    else:
        if unsaid:
            hour = hour + 12 if hour <= 6 else hour  # on a given day, 3点 is 15:00, 8点 08:00
        when = _at(day.day or today, hour, minute)
    if unsaid:
        zh, en = _live_labels(when, now)
        notes.append(
            _note(
                "live_start_hour_assumed",
                f"开播时间没写上午还是下午，按{zh}理解。",
                f"The live start does not say am or pm; we read it as {en}.",
            )
        )
    if when <= now:
        clock_text = f"{when.hour:02d}:{when.minute:02d}"
        if day.day is None or day.rolls == "week":
            when += timedelta(days=1 if day.day is None else 7)
            zh, en = _live_labels(when, now)
            later_zh, later_en = ("明天", "tomorrow") if day.day is None else ("下周", "next week")
            notes.append(
                _note(
                    "live_start_moved_on",
                    f"今天{clock_text}已过，开播时间按{later_zh}（{zh}）理解。",
                    f"{clock_text} today has passed; we read the live start as {later_en}, {en}.",
                )
            )
        else:
            zh, en = _live_labels(when, now)
            notes.append(
                _note(
                    "live_start_passed",
                    f"开播时间（{zh}）已过，按直播已开始理解：直播间人气下单后立即投放。",
                    f"The live start ({en}) has passed, so the stream is taken to be on: "
                    "live-room viewers start as soon as the plan is ordered.",
                )
            )
            return _LiveRead(None, tuple(notes))
    if when - now > timedelta(days=MAX_LIVE_AHEAD_DAYS):
        raise _live_too_far("need", when, now)
    return _LiveRead(when, tuple(notes))


def _read_live_start(reading: _Reading) -> datetime | None:
    """Find when a live stream starts ("周六晚上8点开播", "going live Friday 8pm").

    Each moment read is blanked from the text, so its day is no deadline ("今晚", "下周五")
    and its hour no quantity. The first one counts; a note says so when others differ. A
    moment already past today is tomorrow's when no day was given, next week's for a bare
    weekday, and otherwise the stream is taken to be on (None, with a note). A day without
    an hour is no start: a note asks for the hour (its day still reads as a deadline).
    """
    s = reading.enc.text
    if not _LIVE_WORD_RE.search(s):
        return None
    found: list[tuple[int, int, re.Match[str]]] = []
    for pattern in (*_ZH_LIVE_RES, *_EN_LIVE_RES):
        for m in pattern.finditer(s):
            found.append((m.start("when"), m.end("when"), m))
    found.sort(key=lambda t: (t[0], t[0] - t[1]))
    reads: list[tuple[int, int, _LiveRead]] = []
    for start, end, m in found:
        if reads and start < reads[-1][1]:
            continue  # inside one read already
        read = _live_moment(reading, m)
        if read is not None:
            reads.append((start, end, read))
    if not reads:
        if _ZH_LIVE_DAY_ONLY_RE.search(s) or _EN_LIVE_DAY_ONLY_RE.search(s):
            reading.notes.append(
                _note(
                    "live_start_without_time",
                    "只写了开播日期、没写几点开播：直播间人气下单后立即投放；写明时间"
                    "（例如“周六晚8点开播”）即可在开播时投放。",
                    "The stream's day is given but not its time: live-room viewers start as soon "
                    "as the plan is ordered; give the time (e.g. “going live Saturday 8pm”) to "
                    "have them start with the stream.",
                )
            )
        return None
    pieces, pos = [], 0
    for start, end, _ in reads:
        pieces += [s[pos:start], " "]
        pos = end
    reading.enc = Encoded("".join(pieces) + s[pos:], reading.enc.values)
    first = reads[0][2]
    reading.notes.extend(first.notes)
    if len({r.at for _, _, r in reads}) > 1:
        zh, en = ("—", "—") if first.at is None else _live_labels(first.at, reading.now)
        reading.notes.append(
            _note(
                "several_live_starts",
                f"文中有多个开播时间，按第一个（{zh}）理解。",
                f"The text gives several live starts; we used the first ({en}).",
            )
        )
    return first.at


def _read_ages(reading: _Reading) -> set[str]:
    lex = get_lexicon()
    bands: set[str] = set()
    for pattern in (*_AGE_RES, *_gender_age_res()):
        bare = pattern not in _AGE_RES
        for m in pattern.finditer(reading.enc.text):
            if not reading.fresh(m, "a", "b"):
                continue
            a, b = sorted((reading.value(m.group("a")), reading.value(m.group("b"))))
            if bare and not _AGE_LOW <= a <= b <= _AGE_HIGH:
                continue  # "女性500-800": no ages, whatever else it is
            reading.take(m, "a", "b")
            hit = {slug for lo, hi, slug in lex.age_bands if lo <= b and hi >= a}
            if not hit:
                reading.notes.append(
                    _note(
                        "age_out_of_range",
                        f"年龄段{a}-{b}岁不在可定向范围（18-49岁）内，已忽略。",
                        f"Ages {a}-{b} are outside the targetable bands (18-49) and were ignored.",
                    )
                )
            bands |= hit
    return bands


#: A range beside a gender word with no age word ("women 25-35") is read as ages only within
#: these bounds.
_AGE_LOW, _AGE_HIGH = 10, 99


@cache
def _gender_age_res() -> tuple[re.Pattern[str], ...]:
    """Return the patterns of an age range beside a gender word, with no age word.

    Without "岁" or "aged" a range is ages only next to the audience it describes ("女性25-35",
    "women 25-35", "25-35 women"); English gender words stand as whole words.
    """
    words = []
    for name in get_lexicon().audience["genders"]:
        escaped = re.escape(name)
        words.append(escaped if not name.isascii() else rf"(?<![a-z]){escaped}(?![a-z])")
    gender = "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"
    span = rf"(?P<a>{_P})\s*(?:-|~|到|至|—|–|to)\s*(?P<b>{_P})"
    return (
        re.compile(rf"{gender}\s*(?:aged?\s*)?{span}(?!\s*(?:{_CUR_POST}|%))"),
        re.compile(rf"{span}\s*(?:的)?\s*{gender}"),
    )


def _read_distances(reading: _Reading) -> None:
    """Consume the numbers of distances, so that "附近3公里" is no quantity of 3.

    Read after money, deadlines and ages, which claim their numbers first. Plans have no
    radius to set: a note says local promotion reaches the city, not the distance given.
    """
    found = False
    for m in _DISTANCE_RE.finditer(reading.enc.text):
        if reading.fresh(m, "a", "b"):
            reading.take(m, "a", "b")
            found = True
    if found:
        reading.notes.append(
            _note(
                "distance_not_targeted",
                "同城推广按城市投放，不能只限定您写的距离范围。",
                "Local promotion reaches your city; it cannot be held to the distance you gave.",
            )
        )


@dataclass
class _Tokens:
    intents: dict[str, float]
    negated: set[str]
    quantities: dict[str, int]
    genders: set[str]
    gender_any: bool
    ages: set[str]
    regions: set[str]
    interests: set[str]
    urgent: bool
    multi: bool
    named: dict[str, Offer] = field(default_factory=dict)
    excluded: dict[str, Offer] = field(default_factory=dict)


def _join(tokens: Sequence[str]) -> str:
    out = tokens[0]
    for t in tokens[1:]:
        out += (" " + t) if (out[-1:].isascii() and t[:1].isascii()) else t
    return out


def _read_tokens(reading: _Reading, naming: Naming = _NO_NAMING) -> _Tokens:
    """Segment with jieba and match the lexicon on token n-grams (and ``naming``'s marks)."""
    lex = get_lexicon()
    raw = _tokenizer().lcut(reading.enc.text, HMM=False)
    tokens = [t for t in (t.strip() for t in raw) if t]
    res = _Tokens({}, set(), {}, set(), False, set(), set(), set(), False, False)
    phrase_at: dict[int, tuple[int, Mapping[str, float]]] = {}
    i = 0
    n_tok = len(tokens)
    while i < n_tok:
        matched = 0
        named = naming.named(tokens[i])
        if named is not None:
            _read_naming(tokens, i, named, res, phrase_at)
            i += 1
            continue
        for n in range(min(lex.max_phrase_tokens, n_tok - i), 0, -1):
            cand = _join(tokens[i : i + n]) if n > 1 else tokens[i]
            hit = False
            shares = lex.phrases.get(cand)
            if shares is not None:
                negated = _is_negated(tokens, i, lex.negators)
                for intent, share in shares.items():
                    if negated:
                        res.negated.add(intent)
                    else:
                        res.intents[intent] = res.intents.get(intent, 0.0) + share
                if not negated and len(shares) == 1:
                    phrase_at[i] = (n, shares)
                hit = True
            for dim, table in (
                ("genders", lex.audience["genders"]),
                ("regions", lex.audience["regions"]),
                ("interests", lex.audience["interests"]),
            ):
                slug = table.get(cand)
                if slug is not None:
                    getattr(res, dim).add(slug)
                    hit = True
            if cand in lex.age_words:
                res.ages.update(lex.age_words[cand])
                hit = True
            if cand in lex.gender_any:
                res.gender_any = True
                hit = True
            if cand in lex.urgent:
                res.urgent = True
                hit = True
            if cand in lex.multi_provider:
                res.multi = True
                hit = True
            if hit:
                matched = n
                break
        if not matched and len(tokens[i]) >= 3 and not tokens[i].isascii():
            _audience_in_compound(tokens[i], res)
        i += matched or 1
    # Quantities: a free number right before or after a single-intent phrase.
    phrase_end: dict[int, Mapping[str, float]] = {}
    for start, (n, shares) in phrase_at.items():
        phrase_end.setdefault(start + n - 1, shares)
    for idx, tok in enumerate(tokens):
        if not is_number(tok) or tok in reading.used:
            continue
        value = reading.value(tok)
        if value < 1 or value > MAX_QUANTITY:
            continue
        asked = _intent_after(tokens, idx, phrase_at) or _intent_before(tokens, idx, phrase_end)
        if asked is None:
            continue
        reading.used.add(tok)
        res.quantities[asked] = max(int(value), res.quantities.get(asked, 0))
    return res


def _read_naming(
    tokens: Sequence[str],
    i: int,
    offers: Sequence[Offer],
    res: _Tokens,
    phrase_at: dict[int, tuple[int, Mapping[str, float]]],
) -> None:
    """Record the offers a marked phrase names (or rules out); naming one asks for its goal."""
    lex = get_lexicon()
    goals = list(dict.fromkeys(lex.kind_intent[o.kind] for o in offers))
    if _is_negated(tokens, i, lex.negators):
        res.excluded.update((str(o.service_id), o) for o in offers)
        return
    res.named.update((str(o.service_id), o) for o in offers)
    for goal in goals:
        res.intents[goal] = res.intents.get(goal, 0.0) + 1.0 / len(goals)
    if len(goals) == 1:
        phrase_at[i] = (1, {goals[0]: 1.0})


def _audience_in_compound(token: str, res: _Tokens) -> None:
    """Find a region or interest inside a longer word ("美妆店", "成都市")."""
    lex = get_lexicon()
    for size in range(len(token) - 1, 1, -1):
        for part in (token[:size], token[-size:]):
            for dim in ("regions", "interests"):
                slug = lex.audience[dim].get(part)
                if slug is not None:
                    getattr(res, dim).add(slug)
                    return


def _is_negated(tokens: Sequence[str], i: int, negators: frozenset[str]) -> bool:
    for j in range(i - 1, max(-1, i - 4), -1):
        t = tokens[j]
        if t in _STOP_TOKENS or t in _AFFIRM_TOKENS:
            return False
        if t in negators:
            return True
    return False


def _single(shares: Mapping[str, float]) -> str:
    return next(iter(shares))


def _intent_after(
    tokens: Sequence[str], idx: int, phrase_at: Mapping[int, tuple[int, Mapping[str, float]]]
) -> str | None:
    j = idx + 1
    while j < len(tokens) and j <= idx + 4:
        if j in phrase_at:
            return _single(phrase_at[j][1])
        if tokens[j] not in _SKIP_AFTER_NUMBER:
            return None
        j += 1
    return None


def _intent_before(
    tokens: Sequence[str], idx: int, phrase_end: Mapping[int, Mapping[str, float]]
) -> str | None:
    j = idx - 1
    while j >= 0 and j >= idx - 5:
        if j in phrase_end:
            return _single(phrase_end[j])
        if tokens[j] not in _SKIP_BEFORE_NUMBER:
            return None
        j -= 1
    return None


# --------------------------------------------------------------------------- entry point


def understand(
    text: str | None,
    *,
    budget: object = None,
    deadline_hours: object = None,
    target: str | None = None,
    audience: Mapping[str, Any] | None = None,
    goal_weights: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    language: str | None = None,
    max_per_kind: int | None = None,
    naming: Naming | None = None,
    live_starts_at: object = None,
) -> Understood:
    """Read a need written in Chinese or English; structured fields override the text.

    ``budget`` is in yuan (number, Decimal or string), ``deadline_hours`` in hours, ``audience``
    a mapping as in :func:`parse_audience_field`, ``goal_weights`` intent -> weight, ``now`` the
    reference time for relative dates (default: now in Asia/Shanghai), ``naming`` the phrases
    that name particular modules (:func:`naming_table`), ``live_starts_at`` when a live stream
    starts (:func:`parse_live_start_field`; else read from the text: "周六晚上8点开播"). Raises
    :class:`DomainError` for a missing or invalid budget and other invalid fields.
    """
    lex = get_lexicon()
    text = text or ""
    if now is None:
        now = datetime.now(TIMEZONE)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=TIMEZONE)
    if len(text) > MAX_NEED_CHARS:
        raise _error(
            "need",
            "too_long",
            f"需求描述过长：最多 {MAX_NEED_CHARS:,} 字。",
            f"The need is too long: at most {MAX_NEED_CHARS:,} characters.",
        )
    lang = language if language in ("zh", "en") and language else detect_language(text)
    errors: list[FieldError] = []

    def guard(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except DomainError as exc:
            errors.extend(exc.errors)
            return None

    field_budget = guard(parse_budget_field, budget) if budget not in (None, "") else None
    field_deadline = (
        guard(parse_deadline_field, deadline_hours) if deadline_hours not in (None, "") else None
    )
    field_audience = guard(parse_audience_field, audience) if audience else None
    field_weights = guard(parse_goal_weights, goal_weights) if goal_weights else None
    target_kind = guard(classify_target, target) if target else None
    field_live = (
        guard(parse_live_start_field, live_starts_at, now.astimezone(TIMEZONE))
        if live_starts_at not in (None, "")
        else None
    )

    reading = _Reading(encode_numbers((naming or _NO_NAMING).mark(_normalise(text))), now)
    notes = reading.notes
    unlimited = _read_unlimited_budget(reading)
    # The live start first: its day and hour are neither a deadline nor a quantity.
    text_live = guard(_read_live_start, reading)

    # Money: periodic budgets first, their period next, then totals.
    periodic = _read_periodic(reading)
    period_days = _read_period_days(reading, fallback=periodic is not None)
    totals = _read_total_budgets(reading)
    deadlines = _read_deadlines(reading)
    ages = _read_ages(reading)
    _read_distances(reading)
    tokens = _read_tokens(reading, naming or _NO_NAMING)

    text_budget: Decimal | None = None
    daily_budget: Decimal | None = None
    source = "text"
    strong = [v for v, s in totals if s]
    candidates = strong or [v for v, _ in totals]
    if candidates:
        text_budget = candidates[0] if strong else max(candidates)
        if len(set(candidates)) > 1:
            shown = "、".join(_yuan(v) for v in dict.fromkeys(candidates))
            notes.append(
                _note(
                    "several_budgets",
                    f"文中出现多个金额（{shown}），按{_yuan(text_budget)}理解。",
                    f"The text names several amounts ({shown.replace('、', ', ')}); "
                    f"we used {_yuan(text_budget)}.",
                )
            )
    if periodic is not None:
        per_amount, per_days = periodic
        if period_days is None:
            if field_deadline is not None:
                period_days = max(1, math.ceil(field_deadline / 24))
            elif deadlines:
                period_days = max(1, math.ceil(min(deadlines) / 24))
            else:
                period_days = DEFAULT_PERIOD_DAYS
                notes.append(
                    _note(
                        "period_assumed",
                        f"未说明投放多久，按{DEFAULT_PERIOD_DAYS}天计算。",
                        "No duration given for the recurring budget; "
                        f"assumed {DEFAULT_PERIOD_DAYS} days.",
                    )
                )
        periods = Decimal(period_days) / Decimal(per_days)
        periodic_total = per_amount * periods
        daily_budget = _quantize(per_amount / per_days) if per_amount > 0 else per_amount
        if text_budget is not None and text_budget != periodic_total:
            notes.append(
                _note(
                    "total_and_periodic_differ",
                    f"总预算{_yuan(text_budget)}与按天计算的{_yuan(periodic_total)}不一致，按总预算理解。",
                    f"The total {_yuan(text_budget)} differs from the recurring amount "
                    f"({_yuan(periodic_total)}); we used the total.",
                )
            )
        else:
            text_budget = periodic_total
            source = "periodic"

    final_budget: Decimal | None = None
    if field_budget is not None:
        final_budget = field_budget
        if text_budget is not None and text_budget != field_budget:
            notes.append(
                _note(
                    "budget_field_overrides_text",
                    f"以填写的预算{_yuan(field_budget)}为准（文中为{_yuan(text_budget)}）。",
                    f"The budget field ({_yuan(field_budget)}) overrides the text "
                    f"({_yuan(text_budget)}).",
                )
            )
        source = "field"
    elif text_budget is not None:
        final_budget = guard(_check_budget, text_budget, "text")
    elif unlimited and _asked(tokens):
        # No ceiling but a goal: planned at what the goal costs (matching.services sizes it);
        # until then the platform's own ceiling stands for "no limit".
        final_budget = MAX_BUDGET
        source = "unlimited"
    elif unlimited and budget in (None, ""):
        errors.append(
            FieldError(
                "budget",
                "missing",
                "预算不限时也需要一个上限：请告诉我们最多花多少（例如“预算5000元”），"
                "或要达到的数量（例如“涨粉1万”），我们按达成所需的费用规划。",
                "Even without a budget limit we need a ceiling: tell us the most you would "
                "spend (e.g. “budget ¥5000”) or the quantity you want (e.g. “10,000 "
                "followers”), and we plan at what it costs.",
            )
        )
    elif budget in (None, "") and not any(e.field == "budget" for e in errors):
        errors.append(
            FieldError(
                "budget",
                "missing",
                "请告诉我们预算，例如“预算500元”或“每天20元，做三个月”。",
                "Please tell us your budget, e.g. “budget ¥500” or “¥20 a day for 3 months”.",
            )
        )

    final_deadline: float | None = None
    if deadlines:
        final_deadline = min(deadlines)
        if len(set(deadlines)) > 1:
            notes.append(
                _note(
                    "several_deadlines",
                    f"文中有多个时限，按最早的{final_deadline:g}小时理解。",
                    "The text names several deadlines; "
                    f"we used the earliest ({final_deadline:g} h).",
                )
            )
    if field_deadline is not None:
        if final_deadline is not None and abs(final_deadline - field_deadline) > 1e-9:
            notes.append(
                _note(
                    "deadline_field_overrides_text",
                    f"以填写的时限{field_deadline:g}小时为准（文中为{final_deadline:g}小时）。",
                    f"The deadline field ({field_deadline:g} h) overrides the text "
                    f"({final_deadline:g} h).",
                )
            )
        final_deadline = field_deadline
    if final_deadline is None and period_days is not None and periodic is not None:
        final_deadline = float(period_days * 24)
    final_live = field_live or text_live
    if field_live is not None and text_live is not None and text_live != field_live:
        field_zh, field_en = _live_labels(field_live, now)
        text_zh, text_en = _live_labels(text_live, now)
        notes.append(
            _note(
                "live_start_field_overrides_text",
                f"以填写的开播时间{field_zh}为准（文中为{text_zh}）。",
                f"The live start field ({field_en}) overrides the text ({text_en}).",
            )
        )

    # Intents.
    intents = dict(tokens.intents)
    for intent in tokens.quantities:
        intents[intent] = intents.get(intent, 0.0) + 1.0
    both = tokens.negated & set(intents)
    if both:
        names = [lex.intent_labels[i] for i in sorted(both)]
        notes.append(
            _note(
                "intent_contradiction",
                f"文中既要又不要：{'、'.join(n[0] for n in names)}，已按“不要”处理。",
                f"The text both asks for and rules out: {', '.join(n[1] for n in names)}; "
                "we left them out.",
            )
        )
    for intent in tokens.negated:
        intents.pop(intent, None)
    quantities = {k: v for k, v in tokens.quantities.items() if k not in tokens.negated}
    if field_weights is not None:
        if intents and set(intents) != set(field_weights):
            notes.append(
                _note(
                    "goal_weights_override_text",
                    "以填写的目标权重为准。",
                    "The goal weights field overrides the goals read from the text.",
                )
            )
        intents = dict(field_weights)
    if not intents and (text_live or field_live):
        # "live at 8pm Saturday, budget ¥300": a need whose one subject is its stream.
        intents = {"live_viewers": 1.0}
    if not intents:
        intents = dict(lex.default_intents)
        notes.append(
            _note(
                "no_goal_recognised",
                "没有识别出明确目标，按综合增长（涨粉、播放、点赞）规划。",
                "No clear goal recognised; planning for general growth (followers, plays, likes).",
            )
        )
    total_w = sum(intents.values())
    weights = dict(
        sorted(((k, v / total_w) for k, v in intents.items() if v > 0), key=lambda kv: -kv[1])
    )

    # Audience: text first, field dimensions override.
    genders = set() if tokens.gender_any or len(tokens.genders) > 1 else set(tokens.genders)
    text_audience = Audience(
        genders=frozenset(genders),
        ages=frozenset(ages | tokens.ages),
        regions=frozenset(tokens.regions),
        interests=frozenset(tokens.interests),
    )
    final_audience = text_audience
    if field_audience is not None:
        merged = {}
        for dim in ("genders", "ages", "regions", "interests"):
            fv = getattr(field_audience, dim)
            tv = getattr(text_audience, dim)
            if fv and tv and fv != tv:
                notes.append(
                    _note(
                        f"audience_{dim}_field_overrides_text",
                        f"受众（{dim}）以填写内容为准。",
                        f"The audience field ({dim}) overrides the text.",
                    )
                )
            merged[dim] = fv or tv
        final_audience = Audience(**merged)

    if target_kind is not None and target_kind not in ("short", "account"):
        wanted_kinds = [k for k, i in lex.kind_intent.items() if i in weights]
        if wanted_kinds and not any(target_kind in lex.kind_targets[k] for k in wanted_kinds):
            errors.append(
                FieldError(
                    "target",
                    "wrong_kind",
                    "目标链接类型与需求不符（例如涨粉需要主页链接，直播间人气需要直播间链接）。",
                    "The target link is the wrong kind for this need (e.g. followers need a "
                    "profile link, live-room traffic a live-room link).",
                )
            )
    if errors:
        raise DomainError(*errors)
    assert final_budget is not None

    named = {k: o for k, o in tokens.named.items() if k not in tokens.excluded}
    notes.extend(_excluded_note(tokens.excluded))
    per_kind = max_per_kind if max_per_kind is not None else (2 if tokens.multi else 1)
    return Understood(
        language=lang,
        intents=weights,
        budget=final_budget,
        budget_source=source,
        deadline_hours=final_deadline,
        quantities=quantities,
        audience=final_audience,
        daily_budget=daily_budget if periodic is not None else None,
        period_days=period_days if periodic is not None else None,
        target=target.strip() if target else None,
        target_kind=target_kind,
        urgent=tokens.urgent,
        max_per_kind=max(1, int(per_kind)),
        notes=tuple(dict.fromkeys(notes)),
        named_services=tuple(o.service_id for o in named.values()),
        excluded_services=tuple(o.service_id for o in tokens.excluded.values()),
        live_starts_at=final_live,
    )


def _excluded_note(excluded: Mapping[str, Offer]) -> list[Note]:
    """Say which modules the need ruled out."""
    if not excluded:
        return []
    names_zh = "、".join(o.name_zh for o in excluded.values())
    names_en = ", ".join(o.name_en for o in excluded.values())
    return [
        _note(
            "excluded_services",
            f"按您的要求不用：{names_zh}。",
            f"Left out as you asked: {names_en}.",
        )
    ]
