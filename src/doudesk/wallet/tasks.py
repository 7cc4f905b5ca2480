"""Celery tasks of the wallet: one service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from doudesk.wallet import services


@shared_task
def topups_expire_task() -> int:
    """Close top-ups left unpaid too long (run by the beat); returns how many."""
    return services.topups_expire()
