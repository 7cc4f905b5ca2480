"""The ASGI web process: no database connection kept past a request, one synchronous chain.

Django runs each ASGI request's synchronous code in a thread of its own; a persistent connection
would outlive its thread and PostgreSQL would soon refuse clients, so connections are closed (on
PostgreSQL, handed back to a pool). The checks run in a fresh interpreter so this test process's
settings stay untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

PROBE = (
    "import doudesk.asgi\n"
    "from django.db import connections\n"
    "print(sorted({c.settings_dict['CONN_MAX_AGE'] for c in connections.all()}),"
    " all('pool' in c.settings_dict['OPTIONS'] for c in connections.all()))\n"
)


def test_the_asgi_application_opens_one_connection_per_request(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://doudesk@127.0.0.1:5432/doudesk",  # parsed, never connected
        "DOUDESK_DATA_DIR": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout
    # No connection outlives its request; on PostgreSQL "closing" returns it to the pool.
    assert out.strip().splitlines()[-1] == "[0] True"


SERVE_PROBE = """
import asyncio, json
import doudesk.asgi
from django.core.management import call_command

call_command("migrate", verbosity=0)
app = doudesk.asgi.application


async def get(path):
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }
    sent = []
    async def receive():
        if not sent:
            sent.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()
    out = {}
    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] = out.get("body", b"") + message.get("body", b"")
    await app(scope, receive, send)
    return out


page = asyncio.run(get("/"))
print(json.dumps({
    "status": page["status"],
    "chinese": "抖音" in page["body"].decode(),
    "chain_is_async": asyncio.iscoroutinefunction(app._middleware_chain),
}))
"""


def test_the_asgi_application_serves_pages_through_one_synchronous_chain(tmp_path):
    env = {**os.environ, "DOUDESK_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", SERVE_PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer == {"status": 200, "chinese": True, "chain_is_async": False}
