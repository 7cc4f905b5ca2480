"""Celery tasks of the transparency log: no arguments, one service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from doudesk.ledger import services


@shared_task(ignore_result=True)
def ledger_sequence_task() -> dict[str, int]:
    """Sequence pending leaves and sign a checkpoint (the beat runs this every 0.5 s)."""
    return services.ledger_integrate()
