from django.db import models


class WorkerHeartbeat(models.Model):
    """Last sign of life of one Celery worker process (written by a thread in the worker)."""

    hostname = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.seen_at:%H:%M:%S}"
