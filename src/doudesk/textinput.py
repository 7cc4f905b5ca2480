"""Input as customers and API clients send it: typed integers, and text that cannot be stored.

No Django import: the request guards, the form-encoded API and the web forms share these.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterator
from typing import Any

MAX_JSON_DEPTH = 32
"""How deeply an API's JSON may nest; no request of ours needs more than a few levels."""


def ascii_int(raw: str, *, signed: bool = False) -> int | None:
    """Return ``raw`` (stripped) as an int when it is written with the digits 0-9, else None.

    ``str.isdigit`` also accepts superscripts such as "²" (which ``int`` refuses) and other
    scripts' digits (which ``int`` reads); callers keep such text as it is, so the service
    answers it with a field error. ``signed`` allows one leading minus sign. A number longer
    than Python reads (see :func:`too_long_number`) is None too.
    """
    text = raw.strip()
    digits = text[1:] if signed and text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()) or too_long_number(text):
        return None
    return int(text)


def too_long_number(text: str) -> bool:
    """Whether ``text`` is written with ASCII digits (and a sign) but too long to read as an int.

    Python refuses to read more than ``sys.get_int_max_str_digits()`` digits (4,300), a guard
    against quadratic conversion; such a number is beyond any quantity or id we take.
    """
    digits = text.strip().lstrip("-")
    limit = sys.get_int_max_str_digits()
    return bool(limit) and len(digits) > limit and digits.isascii() and digits.isdigit()


def ascii_id(raw: str) -> int | None:
    """Return ``raw`` as a row id: at most 18 ASCII digits (it fits a 64-bit key), else None."""
    return ascii_int(raw) if len(raw) <= 18 else None


def unstorable_text(value: Any, path: str = "") -> tuple[str, str] | None:
    r"""Return ``(field path, problem)`` for the first string in ``value`` that cannot be stored.

    ``problem`` is ``"nul"`` for a NUL character (PostgreSQL text cannot hold one) or
    ``"surrogate"`` for a lone UTF-16 surrogate (JSON's ``"\ud800"``: no UTF-8 encoding).
    Dict keys are checked as well as values; the path names them with dots (``options.regions.0``).
    """
    return next(_unstorable(value, path), None)


def _unstorable(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield path or "body", problem
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            problem = text_problem(str(key))
            if problem:
                yield printable(name), problem
            yield from _unstorable(item, name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _unstorable(item, f"{path}.{i}" if path else str(i))


def text_problem(text: str) -> str:
    """Return ``"nul"`` or ``"surrogate"`` when ``text`` cannot be stored, else ``""``."""
    if "\x00" in text:
        return "nul"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "surrogate"
    return ""


def printable(name: str) -> str:
    """Return ``name`` without the characters that made it unstorable, so an answer can quote it."""
    return name.replace("\x00", "").encode("utf-8", "ignore").decode("utf-8")


def plain_spaces(text: str) -> str:
    """Return ``text`` with every space character as an ASCII space, trimmed.

    A Chinese input method in full-width mode types U+3000 for a space, and pasted text
    brings no-break spaces: they are spaces, not the hidden characters a name may not hold.
    """
    return "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in text).strip()


def json_depth(value: Any) -> int:
    """How deeply ``value`` (parsed JSON) nests: 0 for a scalar, 1 for a flat list or object."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        else:
            continue
        deepest = max(deepest, depth + 1)
    return deepest
