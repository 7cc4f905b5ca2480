"""Tasks of the sandbox: the payment gateway's asynchronous callback."""

from __future__ import annotations

import httpx
from celery import shared_task


@shared_task(
    autoretry_for=(httpx.HTTPError,), retry_backoff=1, retry_backoff_max=30, max_retries=10
)
def sandbox_payment_notify_task(notify_url: str, params: dict[str, str]) -> str:
    """POST the signed notification to the platform, as a real gateway would (idempotent)."""
    response = httpx.post(notify_url, data=params, timeout=10)
    response.raise_for_status()
    return response.text
