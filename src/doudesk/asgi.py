"""ASGI entry point (served by uvicorn).

Under ASGI Django runs each request's synchronous code in a thread of its own, and database
connections belong to threads: a persistent connection (``CONN_MAX_AGE`` > 0) would stay open
after its request thread is gone, one per request, until PostgreSQL refuses new clients ("too
many clients already"). The web process therefore closes its connection after each request; on
PostgreSQL "closing" hands it back to a psycopg connection pool (Django's ``pool`` option), so a
request does not pay for a new server process. The Celery worker, whose threads live long,
keeps its persistent connections.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudesk.settings")

from django.conf import settings  # noqa: E402 - needs the settings module named first
from django.core.asgi import get_asgi_application  # noqa: E402

for _database in settings.DATABASES.values():
    _database["CONN_MAX_AGE"] = 0
    if _database["ENGINE"] == "django.db.backends.postgresql":
        _database.setdefault("OPTIONS", {})["pool"] = settings.WEB_DB_POOL
application = get_asgi_application()
