"""Liveness records for background workers."""

from __future__ import annotations

from django.utils import timezone

from doudesk.health.models import WorkerHeartbeat


def heartbeat_record(*, hostname: str) -> None:
    """Record that the worker ``hostname`` is alive now."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"seen_at": timezone.now()}
    )
