"""The Celery application: Redis broker when ``REDIS_URL`` is set, else SQLite via SQLAlchemy."""

from __future__ import annotations

import os
import socket
import threading

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

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
    }


app.conf.beat_schedule = _beat_schedule()


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


@worker_ready.connect
def _start_heartbeat(sender=None, **_kwargs) -> None:  # noqa: ANN001
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    threading.Thread(target=_heartbeat_loop, args=(hostname,), daemon=True).start()


@worker_shutdown.connect
def _stop_heartbeat_thread(**_kwargs) -> None:
    _stop_heartbeat.set()
