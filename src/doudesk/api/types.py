"""Field types of the v1 request schemas."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError


def _not_a_bool(value: Any) -> Any:
    # Pydantic's lax mode reads true as 1: a JSON boolean is never an id or a quantity.
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _not_a_bool_number(value: Any) -> Any:
    # The same for amounts and hours, which may also be written as text ("1.5万", "72").
    if isinstance(value, bool):
        raise PydanticCustomError("number_type", "Input should be a number, not a boolean")
    return value


#: An integer that JSON ``true`` / ``false`` do not pass for.
Int = Annotated[int, BeforeValidator(_not_a_bool)]

#: A number or a number written as text (optional), that ``true`` / ``false`` do not pass for.
#: One validator around the whole union, so a boolean is one error about the field.
NumberOrText = Annotated[str | float | int | None, BeforeValidator(_not_a_bool_number)]
