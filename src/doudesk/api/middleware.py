"""Request guards in front of every interface, answering each in its own error shape.

* :class:`InputGuardMiddleware`: input the views could not read or the database could not
  store (in the path, query or body) is refused at the door, naming the field (a path with such
  text is not found), instead of failing later with a 500 or Django's HTML "Bad Request" page:
  a NUL character (PostgreSQL text cannot hold one; SQLite takes it silently), a lone UTF-16
  surrogate (no UTF-8 encoding), JSON nested deeper than
  :data:`~doudesk.textinput.MAX_JSON_DEPTH`, a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``,
  more fields than ``DATA_UPLOAD_MAX_NUMBER_FIELDS``, and a form body that cannot be decoded
  (a broken multipart body, a charset other than UTF-8).
* :class:`ApiNotFoundMiddleware`: an unknown path or a wrong method under ``/api/v1/`` answers
  in the v1 error shape instead of Django's HTML page.

REST v1 answers ``{"detail", "errors": [...]}`` with a 4xx, ``/api/v2`` the convention's
``{"error": "..."}`` with HTTP 200, web pages a plain 4xx.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import get_language

from doudesk.api.errors import domain_error_body, unstorable_text_error
from doudesk.errors import DomainError, FieldError
from doudesk.textinput import (
    MAX_JSON_DEPTH,
    json_depth,
    printable,
    text_problem,
    unstorable_text,
)

V1 = "/api/v1/"
V2 = "/api/v2"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# A JSON body is parsed here only when it may hold what this guard refuses: a NUL or surrogate
# escape, or more brackets than the depth allowed. Other bodies are left to the views.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNREADABLE_BODY = (
    MultiPartParserError,
    BadRequest,
    SuspiciousOperation,
    UnreadablePostError,
    UnicodeDecodeError,
)


def _too_deep() -> DomainError:
    return DomainError.single(
        "body",
        "too_deep",
        f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层",
        f"The JSON nests deeper than {MAX_JSON_DEPTH} levels",
    )


def _too_large() -> DomainError:
    megabytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    return DomainError.single(
        "body",
        "too_large",
        f"请求内容超过 {megabytes} MB",
        f"The request body is larger than {megabytes} MB",
        status=413,
    )


def _too_many_fields(field: str) -> DomainError:
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    return DomainError.single(
        field,
        "too_many_fields",
        f"参数超过 {limit:,} 个",
        f"More than {limit:,} parameters",
    )


def _unreadable() -> DomainError:
    return DomainError.single(
        "body",
        "unreadable",
        "无法读取请求内容：请发送 UTF-8 编码的表单或 JSON",
        "The request body could not be read: send a UTF-8 form or JSON",
    )


class InputGuardMiddleware:
    """Refuse a request whose input cannot be read or stored, naming the field."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        error = _input_error(request)
        if error is None:
            return self.get_response(request)
        first = error.errors[0]
        if request.path.startswith(V1):
            return JsonResponse(domain_error_body(error), status=error.status)
        if request.path.startswith(V2):
            return JsonResponse({"error": f"{first.field}: {first.message(get_language() or '')}"})
        return HttpResponse(
            f"{first.field}: {first.message_zh} / {first.message_en}",
            status=error.status,
            content_type="text/plain; charset=utf-8",
        )


def _input_error(request: HttpRequest) -> DomainError | None:
    """Return why the request's path, query or body cannot be taken, or None when it can."""
    problem = text_problem(request.path)
    if problem:  # no page has such an address; looked up as a key, it would fail the database
        return DomainError(unstorable_text_error("path", problem), status=404)
    try:
        query = request.GET
    except TooManyFieldsSent:
        return _too_many_fields("query")
    found = _unstorable_field(query)
    if found is not None or request.method not in ("POST", "PUT", "PATCH"):
        return None if found is None else DomainError(unstorable_text_error(*found))
    try:
        if request.path.startswith(V1):
            # Read (and keep) the raw body first: parsing a multipart form reads the stream
            # itself, and v1 then read an emptied body (a 500).
            request.body  # noqa: B018
        if (request.content_type or "") in FORM_TYPES:
            found = _unstorable_field(request.POST)  # file contents are not form fields
            return None if found is None else DomainError(unstorable_text_error(*found))
        error = _json_body_error(request.body)
        if error is None and request.path.startswith(V1):
            error = _not_an_object(request.body)
        return error
    except RequestDataTooBig:
        return _too_large()
    except (TooManyFieldsSent, TooManyFilesSent):
        return _too_many_fields("body")
    except _UNREADABLE_BODY:
        return _unreadable()


def _json_body_error(body: bytes) -> DomainError | None:
    """Refuse a JSON body that nests too deeply or holds unstorable text; leave others be."""
    brackets = body.count(b"[") + body.count(b"{")
    if brackets <= MAX_JSON_DEPTH and not _SUSPECT_ESCAPE.search(body):
        return None
    try:
        data = json.loads(body)
    except RecursionError:
        return _too_deep()
    except ValueError:
        return None  # not JSON: the view answers in its own words
    if json_depth(data) > MAX_JSON_DEPTH:
        return _too_deep()
    found = unstorable_text(data)
    return None if found is None else DomainError(unstorable_text_error(*found))


def _not_an_object(body: bytes) -> DomainError | None:
    """Refuse a JSON array, text, number or boolean as a v1 body: every v1 body is an object.

    Read as an object, it would have lost every field and drawn errors about missing ones.
    An empty body and ``null`` stand for no body, as before.
    """
    if body.lstrip()[:1] in (b"", b"{", b"n"):
        return None
    try:
        # Read as the view will: a byte-order mark or UTF-16 still makes an object.
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON: the API answers in its own words
    if data is None or isinstance(data, dict):
        return None
    return DomainError.single(
        "body",
        "not_an_object",
        "请求内容须为 JSON 对象（{...}）",
        "The request body must be a JSON object ({...})",
        status=422,  # valid JSON of the wrong shape, as a field of the wrong type is
    )


def _unstorable_field(fields: QueryDict) -> tuple[str, str] | None:
    """Return the first query or form field whose name or a value cannot be stored, and why."""
    for key, values in fields.lists():
        for text in (key, *values):
            problem = text_problem(text)
            if problem:
                return printable(key), problem
    return None


class ApiNotFoundMiddleware:
    """Give ``/api/v1/`` 404 and 405 answers the v1 error shape (Django renders HTML).

    It also answers ``HEAD`` wherever ``GET`` is answered, with the same headers and no body
    (RFC 9110 9.3.2): django-ninja routes each method it is told, and knows nothing of HEAD.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "HEAD" and request.path.startswith(V1):
            request.method = "GET"
            response = self._answer(request)
            if not response.streaming:
                response["Content-Length"] = str(len(response.content))
                response.content = b""
            return response
        return self._answer(request)

    def _answer(self, request: HttpRequest) -> HttpResponse:
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
