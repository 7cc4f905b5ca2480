"""The helpers through which every task is enqueued: after the surrounding commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Send ``task`` to the broker once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs))


def send_on_commit(send: Callable[[], None]) -> None:
    """Run ``send`` (it enqueues tasks) once the current transaction commits; at once outside one.

    For senders that decide only after the commit what to send (``orders`` sends one dispatch
    round for a burst of orders).
    """
    transaction.on_commit(send)
