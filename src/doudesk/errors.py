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


#: Most field errors one answer lists: a request with 300,000 unknown keys drew an answer of
#: 180 MB. The rest are counted in one last error.
MAX_FIELD_ERRORS = 50


class DomainError(Exception):
    """A request the domain refuses; carries field-level errors and an HTTP status.

    At most :data:`MAX_FIELD_ERRORS` are kept, the last of them saying how many more there were.
    """

    def __init__(self, *errors: FieldError, status: int = 400) -> None:
        if not errors:
            raise ValueError("DomainError needs at least one FieldError")
        self.errors = list(errors)
        if len(self.errors) > MAX_FIELD_ERRORS:
            more = len(self.errors) - (MAX_FIELD_ERRORS - 1)
            self.errors[MAX_FIELD_ERRORS - 1 :] = [
                FieldError(
                    "body",
                    "too_many_errors",
                    f"另有 {more:,} 处错误未列出",
                    f"{more:,} more errors not listed",
                )
            ]
        self.status = status
        self.extra: dict = {}
        super().__init__("; ".join(f"{e.field}: {e.message_en}" for e in self.errors))

    @classmethod
    def single(
        cls, field: str, code: str, message_zh: str, message_en: str, *, status: int = 400
    ) -> DomainError:
        """Build an error about one field."""
        return cls(FieldError(field, code, message_zh, message_en), status=status)


#: Most values one message names.
MAX_NAMED_VALUES = 10


def listed(values: list[str]) -> list[str]:
    """Return ``values`` to name in a message: the first :data:`MAX_NAMED_VALUES`, then "…"."""
    if len(values) <= MAX_NAMED_VALUES:
        return values
    return [*values[:MAX_NAMED_VALUES], f"… (+{len(values) - MAX_NAMED_VALUES:,})"]
