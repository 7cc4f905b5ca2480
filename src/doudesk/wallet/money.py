"""Money helpers: integer fen, Decimal yuan, half-up rounding (no Django import)."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, DecimalException

FEN_PER_YUAN = 100
#: The one currency the platform books (an amount in fen is in it).
CURRENCY = "CNY"

_YUAN_TEXT = re.compile(r"-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2})?")


def yuan_str(fen: int, *, grouped: bool = False) -> str:
    """Format fen as a yuan decimal string with two places (``12345`` → ``"123.45"``).

    ``grouped`` adds thousands separators for people to read (``1234567`` → ``"12,345.67"``);
    the plain form is what the API, forms and exports carry.
    """
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    whole = f"{fen // 100:,}" if grouped else str(fen // 100)
    return f"{sign}{whole}.{fen % 100:02d}"


def yuan_label(fen: int) -> str:
    """Return fen as people read an amount: ``123456`` → ``"¥1,234.56"``, ``-5`` → ``"-¥0.05"``."""
    return f"{'-' if fen < 0 else ''}¥{yuan_str(abs(fen), grouped=True)}"


def yuan_to_fen(value: Decimal | str | int) -> int:
    """Convert yuan to fen, rounding half-up; raises ValueError on junk."""
    try:
        amount = Decimal(str(value))
        if not amount.is_finite():
            raise ValueError(f"not an amount: {value!r}")
        # Huge exponents overflow or exceed the context precision here (e.g. "1e30").
        return int((amount * FEN_PER_YUAN).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except DecimalException as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def typed_yuan(text: str) -> Decimal | None:
    """Read an amount in yuan as people type it, or None if the text is not one.

    Digits with an optional minus sign, thousands separators ("1,000") and up to two decimals,
    perhaps after "¥" or before "元", in full-width characters as a Chinese input method types
    them ("１００", "￥100"). Nothing is rounded: a fraction of a fen ("1.234") is not an amount
    someone typed; nor is exponent notation ("1e3", which ``Decimal`` would read as ¥1,000
    for a typo).
    """
    text = _half_width(text).strip().removeprefix("¥").removesuffix("元").strip()
    if _YUAN_TEXT.fullmatch(text) is None:
        return None
    return Decimal(text.replace(",", ""))


def _half_width(text: str) -> str:
    """Return ``text`` with full-width forms ("１", "，", "￥") and the ideographic space as ASCII.

    Only those: NFKC would also read a superscript "²" as a 2.
    """
    return "".join(
        unicodedata.normalize("NFKC", c) if "\uff00" <= c <= "\uffef" or c == "\u3000" else c
        for c in text
    )


def charge_fen(quantity: int, rate_per_1000: Decimal) -> int:
    """Price of ``quantity`` units at ``rate_per_1000`` yuan, rounded half-up to the fen once."""
    return yuan_to_fen(Decimal(quantity) * rate_per_1000 / 1000)


def prorate_fen(total_fen: int, part: int, whole: int) -> int:
    """``total_fen × part ÷ whole`` rounded half-up, in exact integer arithmetic."""
    if whole <= 0:
        raise ValueError("whole must be positive")
    return (2 * total_fen * part + whole) // (2 * whole)


def rate_str(rate: Decimal) -> str:
    """Return a rate without trailing zeros or exponent (``Decimal("20.0000")`` → ``"20"``)."""
    return format(rate.normalize(), "f")
