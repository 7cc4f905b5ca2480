"""Uploaded files, each stopped at its view's limit while it streams.

Django writes an upload to a temporary file (past ``FILE_UPLOAD_MAX_MEMORY_SIZE``) before any
view sees it, and the request guards read every form at the door: a service that checks a
file's size afterwards has let the whole file onto the disk. :class:`UploadLimitHandler`
comes first in ``FILE_UPLOAD_HANDLERS`` and passes a file's bytes on to Django's own handlers
only up to the limit its view declares with :func:`takes_files`; a view that declares none
takes no file. A file past the limit reaches the view as an :class:`OversizedUpload` (its
name and full size, no content), which the view's service refuses by its size in its own
words, as it refuses any file over its limit.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest
from django.urls import Resolver404, resolve

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


def view_max_bytes(request: HttpRequest) -> int:
    """Return the largest file the view a request goes to takes (0 for a view taking none)."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return 0
    limit = getattr(match.func, LIMIT_ATTRIBUTE, None)
    return limit() if limit is not None else 0


class OversizedUpload(UploadedFile):
    """A file refused while it streamed for passing its view's limit: its name and size only.

    Nothing of it was kept; it reads as empty. ``size`` is what the client sent.
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
        self.max_bytes = view_max_bytes(self.request) if self.request is not None else 0

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
