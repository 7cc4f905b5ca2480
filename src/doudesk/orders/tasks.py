"""Celery tasks of the order flow: ids in, one service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from doudesk.orders import services
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
def orders_sync_task() -> dict[str, int]:
    """One round of status sync and re-dispatch (run by the beat)."""
    return services.orders_sync()


@shared_task(**RETRY)
def order_provider_cancel_task(order_id: int) -> bool:
    """Ask the provider to stop the order."""
    return services.order_provider_cancel(order_id=order_id)


@shared_task(**RETRY)
def order_refill_task(refill_id: int) -> str:
    """Send the refill request to the provider."""
    return services.order_provider_refill(refill_id=refill_id)
