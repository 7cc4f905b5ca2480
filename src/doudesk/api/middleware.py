"""Request guards in front of every interface, answering each in its own error shape.

* :class:`NulByteMiddleware`: PostgreSQL text cannot hold a NUL character, so a field that
  carries one would fail deep in a write with a 500 (SQLite takes it silently). It is refused
  at the door, naming the field.
* :class:`ApiNotFoundMiddleware`: an unknown path or a wrong method under ``/api/v1/`` answers
  in the v1 error shape instead of Django's HTML page.

REST v1 answers ``{"detail", "errors": [...]}`` with a 4xx, ``/api/v2`` the convention's
``{"error": "..."}`` with HTTP 200, web pages a plain 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    QueryDict,
)
from django.utils.translation import get_language

from doudesk.api.errors import domain_error_body
from doudesk.errors import DomainError, FieldError

V1 = "/api/v1/"
V2 = "/api/v2"


class NulByteMiddleware:
    """Refuse a request whose query, form fields or JSON body hold a NUL character."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = _nul_field(request)
        if field is None:
            return self.get_response(request)
        error = DomainError.single(
            field,
            "nul_character",
            "内容含有不允许的空字符（NUL）",
            "Contains a NUL character, which is not allowed",
        )
        if request.path.startswith(V1):
            return JsonResponse(domain_error_body(error), status=400)
        if request.path.startswith(V2):
            message = error.errors[0].message(get_language() or "zh-hans")
            return JsonResponse({"error": f"{field}: {message}"})
        return HttpResponseBadRequest(
            f"{field}: {error.errors[0].message_zh} / {error.errors[0].message_en}",
            content_type="text/plain; charset=utf-8",
        )


def _nul_field(request: HttpRequest) -> str | None:
    """Return the name of the first field holding a NUL character, or None."""
    field = _nul_key(request.GET)
    if field is not None or request.method not in ("POST", "PUT", "PATCH"):
        return field
    content_type = request.content_type or ""
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _nul_key(request.POST)  # file contents are not form fields
    body = request.body
    if b"\\u0000" not in body:  # a raw NUL byte is invalid JSON, refused by the parser
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return next(_nul_paths(data, ""), None)


def _nul_key(fields: QueryDict) -> str | None:
    """Return the first query or form field whose name or a value holds a NUL character."""
    for key, values in fields.lists():
        if "\x00" in key or any("\x00" in v for v in values):
            return key.replace("\x00", "")
    return None


def _nul_paths(value: Any, path: str) -> Iterator[str]:
    """Yield the dotted paths of strings (or keys) in ``value`` that hold a NUL character."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                yield name.replace("\x00", "")
            yield from _nul_paths(item, name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nul_paths(item, f"{path}.{i}" if path else str(i))


class ApiNotFoundMiddleware:
    """Give ``/api/v1/`` 404 and 405 answers the v1 error shape (Django renders HTML)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not request.path.startswith(V1)
            or response.status_code not in (404, 405)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        if response.status_code == 404:
            error = FieldError("path", "not_found", "没有这个接口", "No such endpoint")
        else:
            allowed = response.get("Allow", "")
            error = FieldError(
                "method",
                "method_not_allowed",
                f"此接口不支持 {request.method} 方法（可用：{allowed}）",
                f"{request.method} is not allowed here (allowed: {allowed})",
            )
        answer = JsonResponse(
            domain_error_body(DomainError(error, status=response.status_code)),
            status=response.status_code,
        )
        if response.has_header("Allow"):
            answer["Allow"] = response["Allow"]
        return answer
