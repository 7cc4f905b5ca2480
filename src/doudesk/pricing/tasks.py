"""Celery tasks of pricing: ids in, one service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from doudesk.catalog.models import ServiceModule
from doudesk.pricing import services


@shared_task
def pricing_publish_all_task() -> dict[str, int]:
    """Publish every priced module (run hourly by the beat).

    Modules published within the last half interval are skipped, so a duplicate run is harmless.
    """
    interval = float(getattr(settings, "PRICING_PUBLISH_INTERVAL", 3600))
    return services.pricing_publish_all(min_age_seconds=interval / 2)


@shared_task
def pricing_publish_task(module_id: int) -> str:
    """Publish one module's price now (after an operator change); returns the reason code."""
    module = ServiceModule.objects.filter(pk=module_id).first()
    if module is None:
        return "missing"
    return services.pricing_publish(module=module).code


@shared_task
def pricing_fold_all_task() -> int:
    """Fold new quotes and orders into every module's demand model (run each minute)."""
    return services.pricing_fold_all()
