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
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
TESTS_DIR = Path(__file__).resolve().parents[1]

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


LIVE_ORDER_STREAM = r"""
import sys
sys.path.insert(0, TESTS_DIR)
from django.test import Client
from doudesk.catalog.models import ServiceModule
from doudesk.catalog.seed import seed_demo
from doudesk.orders import services
from factories import VIDEO_URL, fund_customer, make_verified_customer

seed_demo()
customer = make_verified_customer()
fund_customer(customer, 100_000)
plays = ServiceModule.objects.get(code="plays")
browser = Client()
browser.force_login(customer.user)
cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()


def place():
    return services.order_place(
        customer=customer, service_id=plays.pk, target=VIDEO_URL, quantity=500
    ).pk


async def stream(path, on_event):
    # One GET of an event stream; ``on_event(event, count)`` runs after each event and returns
    # True to hang up. Returns the events seen and whether the response ended by itself.
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"127.0.0.1"), (b"cookie", cookie)],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }
    hang_up = asyncio.Event()
    requested = []
    async def receive():
        if not requested:
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await hang_up.wait()
        return {"type": "http.disconnect"}
    out = {"status": None, "events": [], "ended": False}
    buffer = [""]
    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            return
        buffer[0] += message.get("body", b"").decode()
        while "\n\n" in buffer[0]:
            block, buffer[0] = buffer[0].split("\n\n", 1)
            if block.startswith("event: "):
                out["events"].append(block.split("\n", 1)[0][len("event: "):])
                if await on_event(block, len(out["events"])):
                    hang_up.set()
        if not message.get("more_body", False):
            out["ended"] = True
    await asyncio.wait_for(app(scope, receive, send), timeout=30)
    return out


async def cancel_after_first(block, count):
    if count == 1:
        assert "等待中" in block
        await asyncio.to_thread(services.order_cancel, customer=customer, order_id=followed)
    return False


async def hang_up_at_once(block, count):
    return True


followed = place()
finished = asyncio.run(stream(f"/orders/{followed}/stream/", cancel_after_first))
left_open = place()
gone = asyncio.run(stream(f"/orders/{left_open}/stream/", hang_up_at_once))
print(json.dumps({"finished": finished, "gone": gone}))
"""


def run_probe(tmp_path, code: str, **env_vars: str) -> dict:
    """Run ``code`` after SERVE_PROBE in a fresh interpreter on SQLite; its last line's JSON."""
    env = {**os.environ, "DOUDESK_DATA_DIR": str(tmp_path), **env_vars}
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", SERVE_PROBE + f"TESTS_DIR = {str(TESTS_DIR)!r}\n" + code],
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


def test_a_live_order_stream_runs_on_the_event_loop_until_the_order_is_final(tmp_path):
    answer = run_probe(tmp_path, LIVE_ORDER_STREAM)
    # Followed to the end: the open order, the canceled one, then "done" and the end.
    finished = {"status": 200, "events": ["order", "order", "done"], "ended": True}
    assert answer["finished"] == finished
    # A browser that leaves: the stream stops at the disconnect, without waiting for the order.
    assert answer["gone"]["status"] == 200
    assert answer["gone"]["events"] == ["order"]
    assert answer["gone"]["ended"] is False
