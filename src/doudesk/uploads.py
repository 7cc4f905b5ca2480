"""Uploaded files, each stopped at its view's limit while it streams.

Django writes an upload to a temporary file (past ``FILE_UPLOAD_MAX_MEMORY_SIZE``) before any
view sees it, and the request guards read every form at the door: a service that checks a
file's size afterwards has let the whole file onto the disk. :class:`UploadLimitHandler`
comes first in ``FILE_UPLOAD_HANDLERS`` and passes a file's bytes on to Django's own handlers
only up to the limit its view declares with :func:`takes_files`; a view that declares none
takes no file. A file past the limit reaches the view as an :class:`OversizedUpload` (its
name and size, no content), which the view's service refuses by its size in its own
words, as it refuses any file over its limit.

Under ASGI, Django first writes the whole request body to a temporary file; the web process
wraps its ``receive`` in :func:`capped_receive`, which keeps no more of a body than its view's
files and form fields can take (:func:`body_cap`).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.urls import Resolver404, resolve
from django.utils.http import parse_header_parameters

View = TypeVar("View", bound=Callable[..., Any])

#: The view attribute :func:`takes_files` sets: a function returning the view's limit.
LIMIT_ATTRIBUTE = "upload_max_bytes"


def takes_files(max_bytes: Callable[[], int]) -> Callable[[View], View]:
    """Declare that a view takes uploaded files of at most ``max_bytes()`` bytes each.

    ``max_bytes`` is asked at each upload, so it names the limit the view's service checks
    (one number in one place). Works on functions and on admin view methods alike.
    """

    def declare(view: View) -> View:
        setattr(view, LIMIT_ATTRIBUTE, max_bytes)
        return view

    return declare


def view_max_bytes(path_info: str, urlconf: str | None = None) -> int:
    """Return the largest file the view at ``path_info`` takes (0 for a view taking none)."""
    try:
        match = resolve(path_info, urlconf)
    except Resolver404:
        return 0
    limit = getattr(match.func, LIMIT_ATTRIBUTE, None)
    return limit() if limit is not None else 0


#: Room in a body for the multipart headers and boundaries around a form's fields.
BODY_FRAMING_BYTES = 1024 * 1024


def body_cap(path_info: str) -> int:
    """Return how much of a request body to keep: what its view's file and fields can take."""
    fields = settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # Django's own limit on the fields
    return view_max_bytes(path_info) + fields + BODY_FRAMING_BYTES


Receive = Callable[[], Awaitable[dict[str, Any]]]


def capped_receive(scope: dict[str, Any], receive: Receive) -> Receive:
    """Wrap an ASGI ``receive`` so that the request body it gives stops at :func:`body_cap`.

    The rest is still read (the client then gets its answer) but dropped. A multipart body
    cut short is closed with its final boundary, so the file it was cut in still reaches the
    view, as one past the limit (refused by field), instead of vanishing as an upload broken
    off.
    """
    path_info = scope["path"].removeprefix(scope.get("root_path", ""))
    kept = 0
    cap: int | None = None  # worked out only for a body larger than a form's fields
    cut = False

    async def receive_capped() -> dict[str, Any]:
        nonlocal kept, cap, cut
        message = await receive()
        if message["type"] != "http.request":
            return message
        body = message.get("body", b"")
        if cap is None and kept + len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            cap = body_cap(path_info)
        if cap is not None and kept + len(body) > cap:
            body, cut = body[: max(cap - kept, 0)], True
        kept += len(body)
        if cut and not message.get("more_body", False):
            body += _closing_boundary(scope)
        return {**message, "body": body}

    return receive_capped


def _closing_boundary(scope: dict[str, Any]) -> bytes:
    """Return the line that ends the request's multipart body (nothing for another body)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-type":
            kind, params = parse_header_parameters(value.decode("latin-1"))
            boundary = params.get("boundary", "")
            if kind == "multipart/form-data" and boundary:
                return b"\r\n--" + boundary.encode("latin-1") + b"--\r\n"
    return b""


class OversizedUpload(UploadedFile):
    """A file refused while it streamed for passing its view's limit: its name and size only.

    Nothing of it was kept; it reads as empty. ``size`` is how much of it arrived: all the
    client sent, or what the body kept of it when :func:`capped_receive` cut it.
    """

    def __init__(self, *, name: str | None, content_type: str | None, size: int) -> None:
        super().__init__(io.BytesIO(), name, content_type, size)


class UploadLimitHandler(FileUploadHandler):
    """Pass each file on to the next handlers only up to its view's limit (the first handler).

    Once a file passes the limit, what the next handlers hold of it is closed (a temporary
    file is deleted), the rest of it is read and counted but not kept, and the form gets an
    :class:`OversizedUpload` in its place.
    """

    max_bytes = 0
    refused = False

    def handle_raw_input(self, *args: Any, **kwargs: Any) -> None:
        # Once per multipart body, before any file in it.
        request = self.request
        if request is not None:
            self.max_bytes = view_max_bytes(request.path_info, getattr(request, "urlconf", None))

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.refused = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if not self.refused and start + len(raw_data) <= self.max_bytes:
            return raw_data
        if not self.refused:
            self.refused = True
            self._discard_what_others_hold()
        return None  # no later handler sees this chunk

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if not self.refused:
            return None  # the next handler completes the file
        return OversizedUpload(name=self.file_name, content_type=self.content_type, size=file_size)

    def _discard_what_others_hold(self) -> None:
        # As Django's parser does on SkipFile: each handler keeps its current file as ``file``.
        # Their file_complete is never called for this file, so the closed one is not seen.
        for handler in self.request.upload_handlers if self.request is not None else ():
            held = getattr(handler, "file", None)
            if handler is not self and held is not None:
                held.close()
