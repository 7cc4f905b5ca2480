"""Integers typed into web forms and form-encoded APIs (no Django import)."""

from __future__ import annotations


def ascii_int(raw: str, *, signed: bool = False) -> int | None:
    """Return ``raw`` (stripped) as an int when it is written with the digits 0-9, else None.

    ``str.isdigit`` also accepts superscripts such as "²" (which ``int`` refuses) and other
    scripts' digits (which ``int`` reads); callers keep such text as it is, so the service
    answers it with a field error. ``signed`` allows one leading minus sign.
    """
    text = raw.strip()
    digits = text[1:] if signed and text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()):
        return None
    return int(text)


def ascii_id(raw: str) -> int | None:
    """Return ``raw`` as a row id: at most 18 ASCII digits (it fits a 64-bit key), else None."""
    return ascii_int(raw) if len(raw) <= 18 else None
