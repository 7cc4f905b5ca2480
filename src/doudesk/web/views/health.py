"""``GET /healthz``: ok once the database answers and a worker has reported in."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse

from doudesk.health.selectors import worker_alive


def healthz(request: HttpRequest) -> JsonResponse:
    """``{"status": "ok"}`` when web, database and worker are up; 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return JsonResponse({"status": "error", "database": "down"}, status=503)
    if not worker_alive():
        return JsonResponse({"status": "starting", "worker": "down"}, status=503)
    return JsonResponse({"status": "ok"})
