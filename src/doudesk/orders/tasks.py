"""Celery tasks of the order flow: ids in, one service call, safe to run twice."""

from __future__ import annotations

import threading

from celery import shared_task

from doudesk.orders import deliverables, services
from doudesk.providers.adapters.base import ProviderError

RETRY = {
    "autoretry_for": (ProviderError,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(**RETRY)
def order_dispatch_task(order_id: int) -> str:
    """Send the order to its provider (no-op if already sent)."""
    return services.order_dispatch(order_id=order_id)


@shared_task
def orders_dispatch_round_task() -> dict[str, int]:
    """Send the orders due now to their providers (one round for a burst of placements)."""
    return services.orders_dispatch_round()


# A round can outlast the beat's interval under load; a second round started meanwhile would
# poll and lock the same orders again. Rounds in one worker process therefore never overlap (row
# locks keep rounds in different processes correct).
_sync_round = threading.Lock()


@shared_task
def orders_sync_task() -> dict[str, int]:
    """One round of status sync and re-dispatch (run by the beat); skipped while one runs."""
    if not _sync_round.acquire(blocking=False):
        return {"skipped": 1}
    try:
        return services.orders_sync()
    finally:
        _sync_round.release()


@shared_task
def refills_sync_task() -> dict[str, int]:
    """One round of refill status sync (run by the beat)."""
    return services.refills_sync()


@shared_task(**RETRY)
def order_provider_cancel_task(order_id: int) -> bool:
    """Ask the provider to stop the order."""
    return services.order_provider_cancel(order_id=order_id)


@shared_task(**RETRY)
def order_refill_task(refill_id: int) -> str:
    """Send the refill request to the provider."""
    return services.order_provider_refill(refill_id=refill_id)


@shared_task(**RETRY)
def order_provider_deliverables_task(order_id: int) -> int:
    """Fetch and keep the files the provider handed over with a finished order (once each)."""
    return deliverables.order_provider_deliverables_fetch(order_id=order_id)
