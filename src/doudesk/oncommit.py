"""The one helper through which every task is enqueued: after the surrounding commit."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Send ``task`` to the broker once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs))
