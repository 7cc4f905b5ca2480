"""Numbers in free text: Arabic, Chinese (via cn2an) and shorthand, as placeholders.

:func:`encode_numbers` finds every number ("500", "1,000", "1.5万", "2k", "1m", "1e3", "五百",
"三", "two") and replaces it with one private-use character whose value is kept in a list. The
pattern rules of the understanding step then match a single character class for "a number"
and read its value, and jieba sees one token per number (it would split "1.5" otherwise).

A number above :data:`CEILING` is kept as :data:`CEILING`: that is past every limit the
reading applies, so it is refused or ignored just as its written value would be, while the
arithmetic and dates built on it stay finite (a 400-digit amount no longer overflows them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import cn2an

PLACEHOLDER_BASE = 0xE000
PLACEHOLDER_LIMIT = 0x1800  # private-use block E000-F7FF
#: Regex character class matching one encoded number.
NUM = "[\ue000-\uf7ff]"
#: The largest value a number is read as: far above any budget (¥10,000,000), quantity (10^9)
#: or duration the reading accepts.
CEILING = Decimal(10) ** 15

_MULTIPLIERS = {
    "k": 1000,
    "千": 1000,
    "thousand": 1000,
    "w": 10000,
    "万": 10000,
    "百万": 1_000_000,
    "million": 1_000_000,
    "m": 1_000_000,
    "千万": 10_000_000,
    "亿": 100_000_000,
    "百": 100,
}
_EN_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
}
#: What "m" counts in millions after a number ("1.5m plays"); elsewhere "500m" is a distance.
_MILLIONS = "plays?|views?|followers?|fans?|likes?|comments?|shares?|viewers?|impressions?"
_CN_DIGITS = "零〇一二两三四五六七八九壹贰叁肆伍陆柒捌玖"
_CN_ALL = _CN_DIGITS + "十拾百佰千仟万亿点"
_NUMBER_RE = re.compile(
    r"(?P<arabic>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:e[+-]?\d+)?)"
    r"(?P<mult>\s?(?:thousand|million)\b|(?:千万|百万|万|千|亿|百)|[kw](?![a-z])"
    rf"|m(?=\s*(?:{_MILLIONS})\b))?"
    rf"|(?P<cn>[{_CN_DIGITS}十拾][{_CN_ALL}]*)"
    rf"|\b(?P<en>{'|'.join(_EN_WORDS)})\b"
)


@dataclass(frozen=True)
class Encoded:
    """Text with numbers replaced by placeholders; ``values[i]`` belongs to ``chr(BASE + i)``."""

    text: str
    values: tuple[Decimal, ...]

    def value(self, placeholder: str) -> Decimal:
        """Return the number a placeholder character stands for."""
        return self.values[ord(placeholder) - PLACEHOLDER_BASE]


def is_number(token: str) -> bool:
    """Return True when ``token`` is one placeholder character."""
    return len(token) == 1 and PLACEHOLDER_BASE <= ord(token) < PLACEHOLDER_BASE + PLACEHOLDER_LIMIT


def _chinese_value(span: str) -> tuple[Decimal, int] | None:
    """Parse the longest valid Chinese numeral prefix; return (value, length used)."""
    span = span.rstrip("点")
    while span:
        try:
            value = cn2an.cn2an(span, "smart")
        except (ValueError, KeyError, IndexError, TypeError):
            span = span[:-1].rstrip("点")
            continue
        return Decimal(str(value)), len(span)
    return None


def _arabic_value(raw: str) -> Decimal:
    """Read "1,000", "1.5" or scientific notation ("1e3" is 1000, "2.5e4" 25000) exactly."""
    try:
        return Decimal(raw.replace(",", ""))
    except InvalidOperation:
        # An exponent beyond what Decimal holds ("1e99999999999999999999"): too large to be
        # anything (read at the ceiling), or too small to be anything but zero.
        return CEILING if "e-" not in raw else Decimal(0)


def parse_number(text: str) -> Decimal | None:
    """Parse one number written in any supported form ("1.5万", "五百", "2k"); None if not."""
    encoded = encode_numbers(text.strip().lower())
    if len(encoded.text) == 1 and is_number(encoded.text):
        return encoded.values[0]
    return None


def encode_numbers(text: str) -> Encoded:
    """Replace every number in ``text`` (already NFKC-normalised, lower case) by a placeholder."""
    out: list[str] = []
    values: list[Decimal] = []
    pos = 0
    for m in _NUMBER_RE.finditer(text):
        if len(values) >= PLACEHOLDER_LIMIT:
            break
        value: Decimal | None
        end = m.end()
        if m.group("arabic") is not None:
            value = _arabic_value(m.group("arabic"))
            mult = (m.group("mult") or "").strip()
            if mult:
                value = min(value, CEILING) * _MULTIPLIERS[mult]
        elif m.group("cn") is not None:
            parsed = _chinese_value(m.group("cn"))
            if parsed is None:
                continue
            value, used = parsed
            end = m.start() + used
        else:
            value = Decimal(_EN_WORDS[m.group("en")])
        out.append(text[pos : m.start()])
        out.append(chr(PLACEHOLDER_BASE + len(values)))
        values.append(min(value, CEILING))
        pos = end
    out.append(text[pos:])
    return Encoded("".join(out), tuple(values))
