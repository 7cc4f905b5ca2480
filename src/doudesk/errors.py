"""Domain errors shared by every app and by the pure cores (no Django import).

A service or core raises :class:`DomainError` with one or more :class:`FieldError`; the API and web
layers turn it into a 4xx answer whose ``errors`` list names each field with a message in Chinese
and English.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field, explained in both UI languages."""

    field: str
    code: str
    message_zh: str
    message_en: str

    def message(self, language: str = "zh-hans") -> str:
        """Return the message in ``language`` (Chinese unless it starts with ``en``)."""
        return self.message_en if language.startswith("en") else self.message_zh


class DomainError(Exception):
    """A request the domain refuses; carries field-level errors and an HTTP status."""

    def __init__(self, *errors: FieldError, status: int = 400) -> None:
        if not errors:
            raise ValueError("DomainError needs at least one FieldError")
        self.errors = list(errors)
        self.status = status
        self.extra: dict = {}
        super().__init__("; ".join(f"{e.field}: {e.message_en}" for e in self.errors))

    @classmethod
    def single(
        cls, field: str, code: str, message_zh: str, message_en: str, *, status: int = 400
    ) -> DomainError:
        """Build an error about one field."""
        return cls(FieldError(field, code, message_zh, message_en), status=status)
