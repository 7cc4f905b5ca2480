"""Server-Sent Events: push a page fragment to the browser each time it changes.

A live page (an open order, my orders, a wallet awaiting a payment) connects with htmx's sse
extension (``hx-ext="sse" sse-connect=URL sse-close="done"``). Its stream re-renders the
fragment on the server every ``SSE_TICK_SECONDS`` and sends it (one event, named after the
fragment) only when the HTML changed, so an idle page costs one render a tick and no traffic.
A fragment unchanged for ``SSE_IDLE_AFTER_SECONDS`` (an order an operator delivers by hand,
open for days) is rendered every ``SSE_IDLE_TICK_SECONDS`` instead, until it changes again.
When what the page follows is finished, the stream sends the last fragment and ``done``, and
the browser closes it. After ``SSE_MAX_SECONDS`` the server ends the stream and the browser
reconnects by itself (``retry``), so no connection is held forever and a stream never outlives
a deploy by long. A comment line every ``SSE_HEARTBEAT_SECONDS`` keeps proxies from closing a
quiet stream.

Fragments are rendered from the database, so any web process can serve any stream (nothing
assumes one process). Under ASGI (uvicorn, ``doudesk serve``) the stream is an async generator:
it waits on the event loop, and the renders of all streams run on one shared thread (asgiref's
thread-sensitive executor: one database connection for them all, a few milliseconds a render);
a disconnected browser cancels it. Under WSGI (Django's test server) it is a plain generator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection
from django.http import HttpRequest, StreamingHttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import translation

#: Milliseconds the browser waits before reconnecting to a stream that ended.
RETRY_MS = 2000
DONE_EVENT = "done"


@dataclass(frozen=True)
class Snapshot:
    """A fragment as it is now, and whether it will ever change again."""

    html: str
    finished: bool


def encode_event(event: str, data: str) -> str:
    """Return one SSE message: ``event: <event>`` and one ``data:`` line per line of ``data``."""
    lines = data.splitlines() or [""]
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


class _Stream:
    """What to send after each render: the rules shared by both drivers below."""

    def __init__(self, event: str) -> None:
        self.event = event
        self.last_html: str | None = None
        self.started = self.last_sent = self.last_changed = time.monotonic()

    def after(self, snap: Snapshot) -> tuple[list[str], bool]:
        """Return (messages to send now, whether the stream ends) after one render."""
        now = time.monotonic()
        out: list[str] = []
        if snap.html != self.last_html:
            out.append(encode_event(self.event, snap.html))
            self.last_html = snap.html
            self.last_changed = now
        if snap.finished:
            return [*out, encode_event(DONE_EVENT, "")], True
        if now - self.started >= settings.SSE_MAX_SECONDS:
            return out, True
        if not out and now - self.last_sent >= settings.SSE_HEARTBEAT_SECONDS:
            out.append(": keep-alive\n\n")
        if out:
            self.last_sent = now
        return out, False

    def pause(self) -> float:
        """Return the seconds to wait before the next render: a tick, or a longer one when idle."""
        if time.monotonic() - self.last_changed >= settings.SSE_IDLE_AFTER_SECONDS:
            return max(settings.SSE_TICK_SECONDS, settings.SSE_IDLE_TICK_SECONDS)
        return settings.SSE_TICK_SECONDS


def _render_in_thread(render: Callable[[], Snapshot]) -> Snapshot:
    # Outside a request cycle nobody retires this thread's connection: do what Django does at a
    # request's start and end (a connection the database dropped is replaced, not reused).
    # Inside an atomic block (a test's transaction) the connection is left alone.
    if not connection.in_atomic_block:
        close_old_connections()
    return render()


def _sync_events(render: Callable[[], Snapshot], stream: _Stream) -> Iterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    while True:
        messages, ended = stream.after(render())
        yield from messages
        if ended:
            return
        time.sleep(stream.pause())


async def _async_events(render: Callable[[], Snapshot], stream: _Stream) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    render_async = sync_to_async(_render_in_thread, thread_sensitive=True)
    while True:
        messages, ended = stream.after(await render_async(render))
        for message in messages:
            yield message
        if ended:
            return
        await asyncio.sleep(stream.pause())


def fragment_stream(
    request: HttpRequest,
    event: str,
    template: str,
    state: Callable[[], tuple[dict[str, Any], bool]],
) -> StreamingHttpResponse:
    """Return a ``text/event-stream`` response sending ``template`` rendered as it changes.

    ``state()`` returns (the template's context now, whether it is final); it runs once a tick.
    Rendering happens in the language of ``request``, captured now (the stream outlives the
    request's own activation), with one CSRF token for the whole stream (a fresh mask per render
    would make every render differ).
    """
    language = translation.get_language()
    csrf_token = get_token(request)

    def render() -> Snapshot:
        with translation.override(language):
            context, finished = state()
            context = {**context, "csrf_token": csrf_token}
            return Snapshot(render_to_string(template, context, request=request), finished)

    stream = _Stream(event)
    is_asgi = hasattr(request, "scope")
    events = _async_events(render, stream) if is_asgi else _sync_events(render, stream)
    response = StreamingHttpResponse(events, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response
