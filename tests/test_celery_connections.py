"""Kept database connections: across worker tasks, retired as Django would, checked before use.

Celery's Django fix-up, left to itself, closes every connection before and after each task, so on
PostgreSQL each task paid for a new server process. ``CELERY_DB_REUSE_MAX`` turns that off and
``doudesk.celery`` closes only broken or expired connections before a task, as Django does before
each web request.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_prerun
from django.core.signals import request_started
from django.db import connection, connections, transaction

from doudesk.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def a_task(*, eager: bool = False) -> SimpleNamespace:
    """Return what Celery's task signals see of a task: a request saying if it runs eagerly."""
    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


def test_a_worker_task_leaves_the_database_connection_open_for_the_next():
    connection.close()  # start from a fresh, healthy connection, whatever came before
    connection.ensure_connection()
    opened = connection.connection
    fixup = DjangoWorkerFixup(app)

    fixup.on_task_postrun(sender=a_task())
    fixup.on_task_prerun(sender=a_task())
    task_prerun.send(sender=None, task=a_task())

    assert connection.connection is opened


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL): a SQLite file connection does not break",
)
def test_a_broken_connection_is_replaced_before_the_next_task():
    connection.ensure_connection()
    broken = connection.connection
    connection.errors_occurred = True
    broken.close()  # as if the server had gone away

    task_prerun.send(sender=None, task=a_task())
    connection.ensure_connection()

    assert connection.connection is not broken
    assert connection.is_usable()


def test_an_eager_task_keeps_the_callers_connection_even_inside_a_transaction():
    with transaction.atomic():
        opened = connection.connection
        task_prerun.send(sender=None, task=a_task(eager=True))
        assert connection.connection is opened
        assert connection.in_atomic_block


def drop_on_the_server(conn) -> None:  # noqa: ANN001
    """End ``conn``'s server process from another connection, as a database restart would."""
    pid = conn.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL): a SQLite file connection cannot be dropped",
)
@pytest.mark.parametrize(
    "boundary",
    [
        pytest.param(lambda: request_started.send(sender=None), id="web request"),
        pytest.param(lambda: task_prerun.send(sender=None, task=a_task()), id="worker task"),
    ],
)
def test_a_connection_the_server_dropped_while_idle_is_replaced_at_the_next_boundary(boundary):
    connection.close()  # a fresh, healthy connection, whatever the tests before left
    connection.ensure_connection()
    dropped = connection.connection
    drop_on_the_server(connection)

    boundary()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)

    assert connection.connection is not dropped
