"""Field types of the v1 request schemas."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from doudesk.textinput import too_long_number

#: Pages of a list: ``limit`` results (default 50) from ``offset`` (past the end, none).
MAX_LIMIT = 200
#: An integer written as text: the digits 0-9 and perhaps a minus sign, nothing around them.
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def _refusing_bools(kind: str, message: str) -> Callable[[Any], Any]:
    """Return a validator that refuses a JSON boolean as error ``kind`` and passes the rest.

    Pydantic's lax mode reads true as 1: a boolean is never an id, a quantity or an amount.
    """

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError(kind, message)
        return value

    return check


def _in_range(low: int, high: int | None) -> Callable[[Any], int]:
    """Check an integer (or a query string of ASCII digits) against ``low`` to ``high``.

    Anything else ("ten", "1.5", " 5", 0 for a limit) is one ``int_range`` error stating the
    range, never a value moved into it.
    """

    def check(value: Any) -> int:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
            # More digits than int() reads is past any list's end anyway: refused as out of range.
            number = None if too_long_number(value) else int(value)
        if number is None or number < low or (high is not None and number > high):
            raise PydanticCustomError(
                "int_range",
                "Input should be an integer from {low} to {high}",
                {"low": low, "high": high},
            )
        return number

    return check


# The Field comes first so that the OpenAPI schema states the range as minimum / maximum.
#: A list's page size: 1 to ``MAX_LIMIT``.
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT), BeforeValidator(_in_range(1, MAX_LIMIT))]
#: Where a list's page starts: 0 or more.
Offset = Annotated[int, Field(ge=0), BeforeValidator(_in_range(0, None))]

#: The largest index or size the transparency log can hold (its index column is 64-bit).
MAX_LOG_POSITION = 2**63 - 1
#: A leaf index or tree size of the transparency log: 0 to ``MAX_LOG_POSITION``. Past the
#: published tree is a refusal of the log's (400); not such a number at all is this one (422).
LogPosition = Annotated[
    int,
    Field(ge=0, le=MAX_LOG_POSITION),
    BeforeValidator(_in_range(0, MAX_LOG_POSITION)),
]


def _whole_number(value: Any) -> Any:
    """Pass a JSON integer, or text that is exactly one written with the digits 0-9.

    Pydantic's lax mode also reads true, 1000.0, 1e3, " 1000 ", "+1000" and "1_000" as
    integers: /orders/7_83/cancel cancelled order 783. None of them is an id, a quantity or
    a position here. The error codes are Pydantic's own, as the API has always answered.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        raise PydanticCustomError("int_from_float", "Input should be a valid integer")
    if not isinstance(value, str):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    if not _WHOLE_NUMBER.fullmatch(value):
        raise PydanticCustomError("int_parsing", "Input should be a valid integer")
    if too_long_number(value):
        raise PydanticCustomError("int_parsing_size", "Input is too long to read as an integer")
    return int(value)


#: An integer: a JSON integer, or text written with the digits 0-9 only (a path or query).
Int = Annotated[int, BeforeValidator(_whole_number)]

#: A number or a number written as text (optional), that ``true`` / ``false`` do not pass for.
#: One validator around the whole union, so a boolean is one error about the field.
NumberOrText = Annotated[
    str | float | int | None,
    BeforeValidator(_refusing_bools("number_type", "Input should be a number, not a boolean")),
]
