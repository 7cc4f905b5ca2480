"""ASGI entry point (served by uvicorn).

Uvicorn does the HTTP side asynchronously; every view and nearly every middleware here is
synchronous, so each request's Django work runs in one hop on a fixed pool of request threads
(``WEB_REQUEST_THREADS``). Django's own ASGI handler starts a new thread for every request
(asgiref's per-request thread-sensitive context); what lives per thread (the database
connection, Celery's per-thread result backend, the broker producer) was then built again for
every request. With long-lived threads each keeps a persistent database connection, retired as
under WSGI (past ``CONN_MAX_AGE`` or after an error), so a web process holds at most one
connection per request thread.
"""

import asyncio
import contextvars
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudesk.settings")

from django.conf import settings  # noqa: E402 - needs the settings module named first
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.db import close_old_connections  # noqa: E402
from django.http import HttpRequest, HttpResponseBase  # noqa: E402
from django.urls import set_script_prefix  # noqa: E402

from doudesk.uploads import capped_receive  # noqa: E402


class SyncChainASGIHandler(ASGIHandler):
    """Django's ASGI handler running the synchronous middleware chain and view in one hop.

    Built for async, Django's chain switches threads around each middleware method (17 hops a
    request measured here, 2-3 ms of CPU); built for sync, as under WSGI, the whole request runs
    in one hop, on one of the request threads.
    """

    def __init__(self, threads: int) -> None:
        """Serve requests on ``threads`` long-lived threads."""
        super().__init__()
        self.threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="request")

    def load_middleware(self, is_async: bool = False) -> None:
        """Build the synchronous chain whatever the caller asks for."""
        super().load_middleware(is_async=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Handle one HTTP request (Django's entry point without the per-request thread)."""
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}")
        await self.handle(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Handle a request whose body is kept only as far as its view can take it.

        Django writes the whole body to a temporary file before anything reads it; an upload
        over its page's limit would fill the disk there (see ``doudesk.uploads``).
        """
        await super().handle(scope, capped_receive(scope, receive), send)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        """Run the synchronous ``get_response`` on a request thread."""
        run = contextvars.copy_context().run
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.threads, run, self._respond, request)

    def _respond(self, request: HttpRequest) -> HttpResponseBase:
        # What Django's request_started / request_finished receivers do for the request's own
        # thread: the signals themselves are sent from another one.
        set_script_prefix(getattr(request, "script_name", ""))
        close_old_connections()
        try:
            return self.get_response(request)
        finally:
            close_old_connections()


django.setup(set_prefix=False)
application = SyncChainASGIHandler(threads=settings.WEB_REQUEST_THREADS)
