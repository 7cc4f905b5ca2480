"""The ASGI web process: requests on a fixed set of threads, one synchronous chain.

Django's ASGI handler starts a thread for every request, so what lives per thread (a database
connection above all) was built again for each. Requests here run on ``WEB_REQUEST_THREADS``
long-lived threads, each keeping one database connection. The checks run in a fresh interpreter
so this test process's settings stay untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

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


"""

ONE_PAGE = """
page = asyncio.run(get("/"))
print(json.dumps({
    "status": page["status"],
    "chinese": "抖音" in page["body"].decode(),
    "chain_is_async": asyncio.iscoroutinefunction(app._middleware_chain),
}))
"""

CONCURRENT_PAGES = """
import threading
from django.db.backends.signals import connection_created

opened = []
connection_created.connect(
    lambda sender, connection, **kw: opened.append(threading.get_ident()), weak=False
)


async def many():
    return await asyncio.gather(*(get("/") for _ in range(30)))


pages = asyncio.run(many())
print(json.dumps({
    "statuses": sorted({page["status"] for page in pages}),
    "connections": len(opened),
    "threads": len(set(opened)),
}))
"""


def run_probe(tmp_path, code: str, **env_vars: str) -> dict:
    """Run ``code`` after SERVE_PROBE in a fresh interpreter on SQLite; its last line's JSON."""
    env = {**os.environ, "DOUDESK_DATA_DIR": str(tmp_path), **env_vars}
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", SERVE_PROBE + code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_the_asgi_application_serves_pages_through_one_synchronous_chain(tmp_path):
    answer = run_probe(tmp_path, ONE_PAGE)
    assert answer == {"status": 200, "chinese": True, "chain_is_async": False}


def test_concurrent_requests_share_the_request_threads_and_their_connections(tmp_path):
    answer = run_probe(tmp_path, CONCURRENT_PAGES, DOUDESK_WEB_THREADS="3")
    # 30 pages at once, each reading the database: at most one connection per request thread.
    assert answer["statuses"] == [200]
    assert 1 <= answer["threads"] <= 3
    assert answer["connections"] == answer["threads"]
