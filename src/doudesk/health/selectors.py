"""Reads about the health of the platform's processes."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from doudesk.health.models import WorkerHeartbeat

HEARTBEAT_FRESH = timedelta(seconds=15)


def worker_alive() -> bool:
    """Return whether some worker has reported a heartbeat recently."""
    return WorkerHeartbeat.objects.filter(seen_at__gte=timezone.now() - HEARTBEAT_FRESH).exists()
