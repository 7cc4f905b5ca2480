"""Helpers for tests that race threads, each on its own database connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, connections, transaction

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"
)
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite variant")


def run_concurrently(attempt: Callable[[int], Any], threads: int) -> list[Any]:
    """Run ``attempt(i)`` in ``threads`` threads released together; return results or errors."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = attempt(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(w.is_alive() for w in workers), "an attempt hung"
    return results


@contextmanager
def locked_elsewhere(lock: Callable[[], Any]) -> Iterator[None]:
    """Run ``lock()`` in a transaction on another thread and hold its locks while the block runs."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                lock()
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(30)
        yield
    finally:
        release.set()
        holder.join(30)


def in_background(call: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``call()`` on another thread (its own connection); return a function that waits.

    The returned function joins the thread and returns what ``call()`` returned, or the
    exception it raised.
    """
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()

    def result() -> Any:
        thread.join(60)
        assert not thread.is_alive(), "the background call hung"
        return outcome[0]

    return result


def wait_for_a_lock_wait(timeout: float = 30) -> None:
    """Wait until some PostgreSQL session waits for a lock another holds."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("nobody waited for a lock")
