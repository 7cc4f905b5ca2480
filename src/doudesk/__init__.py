"""DouDesk: the self-service ordering platform for Douyin marketing services."""

from doudesk.celery import app as celery_app

__all__ = ["celery_app"]
