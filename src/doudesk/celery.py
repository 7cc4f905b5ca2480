"""The Celery application: Redis broker when ``REDIS_URL`` is set, else SQLite via SQLAlchemy."""

from __future__ import annotations

import os
import socket
import threading

from celery import Celery
from celery.signals import task_prerun, worker_ready, worker_shutdown
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudesk.settings")

app = Celery("doudesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_stop_heartbeat = threading.Event()


def _beat_schedule() -> dict:
    from django.conf import settings

    return {
        "orders-sync": {
            "task": "doudesk.orders.tasks.orders_sync_task",
            "schedule": settings.STATUS_SYNC_INTERVAL,
        },
        "refills-sync": {
            "task": "doudesk.orders.tasks.refills_sync_task",
            "schedule": settings.REFILL_SYNC_INTERVAL,
        },
        # An interval (not a crontab): a fresh beat first runs it one interval after start.
        "pricing-publish": {
            "task": "doudesk.pricing.tasks.pricing_publish_all_task",
            "schedule": settings.PRICING_PUBLISH_INTERVAL,
        },
        "pricing-fold": {
            "task": "doudesk.pricing.tasks.pricing_fold_all_task",
            "schedule": settings.PRICING_FOLD_INTERVAL,
        },
        "topups-expire": {
            "task": "doudesk.wallet.tasks.topups_expire_task",
            "schedule": settings.TOPUP_EXPIRE_CHECK_INTERVAL,
        },
        "ledger-sequence": {
            "task": "doudesk.ledger.tasks.ledger_sequence_task",
            "schedule": settings.LEDGER_SEQUENCE_INTERVAL,
            # A run that waited longer than this is superseded by the next one.
            "options": {"expires": 2},
        },
    }


def _tune_sqlite_broker() -> None:
    """Put the embedded SQLite broker in WAL mode with ``synchronous=NORMAL``.

    kombu opens the file in SQLite's default rollback-journal mode, where every publish (one per
    order placed) costs several fsyncs: about 19 ms here, more than the rest of the order
    request. WAL with ``synchronous=NORMAL`` (as the platform's own database runs) costs about
    2 ms. A message lost to a power cut is recovered: the sync re-dispatches orders left pending.
    """
    if not str(app.conf.broker_url or "").startswith("sqla+sqlite"):
        return
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _wal(dbapi_connection: object, _record: object) -> None:
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:  # locked by another process: it will switch the file
            pass
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


try:
    app.conf.beat_schedule = _beat_schedule()
    _tune_sqlite_broker()
except ImproperlyConfigured:
    # A bad setting from the environment: it is raised again as soon as Django is set up, where
    # ``doudesk``'s command line reports it in one line instead of a traceback from this import.
    pass


def _heartbeat_loop(hostname: str) -> None:
    from django.db import close_old_connections

    from doudesk.health.services import heartbeat_record

    while not _stop_heartbeat.is_set():
        try:
            heartbeat_record(hostname=hostname)
        except Exception:  # noqa: BLE001 - a missed beat must never kill the worker
            pass
        finally:
            close_old_connections()
        _stop_heartbeat.wait(5)


@task_prerun.connect
def _retire_old_connections(task=None, **_kwargs) -> None:  # noqa: ANN001
    """Close this thread's broken or expired database connections before a task.

    Django does the same before each web request; ``CELERY_DB_REUSE_MAX`` keeps Celery from
    closing them all.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return  # runs inside the caller's transaction, on the caller's connection
    from django.db import close_old_connections

    close_old_connections()


@worker_ready.connect
def _start_heartbeat(sender=None, **_kwargs) -> None:  # noqa: ANN001
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    threading.Thread(target=_heartbeat_loop, args=(hostname,), daemon=True).start()


@worker_shutdown.connect
def _stop_heartbeat_thread(**_kwargs) -> None:
    _stop_heartbeat.set()
