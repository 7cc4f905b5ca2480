"""Turning refusals into the v1 error shape ``{"detail", "errors": [{"field", "message"}]}``."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import get_language

from doudesk.errors import DomainError, FieldError

# Pydantic error types → (中文, English) for requests that fail schema validation.
_PYDANTIC_MESSAGES = {
    "missing": ("必填", "This field is required"),
    "int_parsing": ("须为整数", "Must be an integer"),
    "int_type": ("须为整数", "Must be an integer"),
    "int_from_float": ("须为整数", "Must be an integer"),
    "string_type": ("须为文本", "Must be a string"),
    "dict_type": ("须为对象", "Must be an object"),
    "model_attributes_type": ("须为对象", "Must be an object"),
    "decimal_parsing": ("须为数字", "Must be a number"),
    "string_too_long": ("内容过长", "Too long"),
    "greater_than": ("数值过小", "Too small"),
    "greater_than_equal": ("数值过小", "Too small"),
    "less_than_equal": ("数值过大", "Too large"),
    "json_invalid": ("请求体不是有效的 JSON", "The request body is not valid JSON"),
    "int_parsing_size": ("数值过大", "Too large"),
    "finite_number": ("须为有限的数字", "Must be a finite number"),
    "decimal_type": ("须为数字", "Must be a number"),
    "float_parsing": ("须为数字", "Must be a number"),
    "float_type": ("须为数字", "Must be a number"),
    "number_type": ("须为数字，不能是 true 或 false", "Must be a number, not true or false"),
    "bool_type": ("须为 true 或 false", "Must be true or false"),
    "bool_parsing": ("须为 true 或 false", "Must be true or false"),
    "list_type": ("须为列表", "Must be a list"),
    "too_long": ("项目过多", "Too many items"),
    "too_short": ("项目过少", "Too few items"),
}

#: Messages ninja raises as bare ``HttpError``s → (code, 中文, English).
HTTP_MESSAGES = {
    "Cannot parse request body": (
        "json_invalid",
        "请求体不是有效的 JSON",
        "The request body is not valid JSON",
    ),
    "CSRF check Failed": (
        "csrf_failed",
        "页面已过期（CSRF 校验失败），请刷新后重试",
        "The page has expired (CSRF check failed); reload it and try again",
    ),
}


# How pydantic tags the members of a union in an error's location.
_UNION_TAG = re.compile(r"str|int|float|bool|none|decimal|bytes|[a-z-]+\[.*\]")


def _language() -> str:
    return get_language() or "zh-hans"


def error_item(error: FieldError) -> dict[str, str]:
    """One entry of the ``errors`` list."""
    return {
        "field": error.field,
        "code": error.code,
        "message": error.message(_language()),
        "message_zh": error.message_zh,
        "message_en": error.message_en,
    }


def domain_error_body(exc: DomainError) -> dict[str, Any]:
    """Return the JSON body for a :class:`DomainError`."""
    items = [error_item(e) for e in exc.errors]
    return {"detail": items[0]["message"], "errors": items, **exc.extra}


def unstorable_text_error(field: str, problem: str) -> FieldError:
    """Return the field error for text that cannot be stored (see ``textinput.text_problem``)."""
    if problem == "nul":
        return FieldError(
            field,
            "nul_character",
            "内容含有不允许的空字符（NUL）",
            "Contains a NUL character, which is not allowed",
        )
    return FieldError(
        field,
        "invalid_text",
        "内容含有无法保存的字符（孤立的 UTF-16 代理项）",
        "Contains a character that cannot be stored (a lone UTF-16 surrogate)",
    )


def _range_messages(ctx: dict[str, Any]) -> tuple[str, str]:
    """Return the allowed range of an ``int_range`` error in both languages."""
    low, high = ctx.get("low"), ctx.get("high")
    if high is None:
        return f"须为不小于 {low} 的整数", f"Must be an integer of at least {low}"
    return f"须为 {low} 到 {high} 之间的整数", f"Must be an integer from {low} to {high}"


def schema_errors(raw: list[dict[str, Any]]) -> DomainError:
    """Translate ninja/pydantic validation errors into field errors in both languages.

    A value that fits none of a union's types gets one error per type, located under the
    type's tag (``budget.str``, ``budget.float``): those become one error about the field.
    """
    errors: list[FieldError] = []
    by_field: dict[str, int] = {}
    for item in raw:
        loc = [
            str(part)
            for part in item.get("loc", ())
            if part not in ("body", "payload", "query", "path", "header")
        ]
        union_member = len(loc) > 1 and _UNION_TAG.fullmatch(loc[-1]) is not None
        field = ".".join(loc[:-1] if union_member else loc) or "body"
        kind = str(item.get("type", ""))
        zh, en = _PYDANTIC_MESSAGES.get(
            kind, ("格式不正确", str(item.get("msg") or "Invalid value"))
        )
        if kind == "int_range":
            zh, en = _range_messages(item.get("ctx") or {})
        if union_member and field in by_field:
            errors[by_field[field]] = FieldError(field, "invalid_type", "类型不正确", "Wrong type")
            continue
        by_field[field] = len(errors)
        errors.append(FieldError(field, kind or "invalid", zh, en))
    if not errors:
        errors.append(FieldError("body", "invalid", "请求格式不正确", "Malformed request"))
    return DomainError(*errors, status=422)
