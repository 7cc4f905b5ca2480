"""End-to-end fixtures: the sandbox provider on loopback, the live server and a real worker.

Design overview
---------------
``platform`` (a factory fixture) assembles the whole order path the way ``doudesk serve`` does,
but inside a test:

* the sandbox :class:`~doudesk.sandbox.provider_server.ProviderServer` runs in-process on an
  ephemeral port, with the knobs the test asks for (fast delivery, partial or failure rates);
* pytest-django's ``live_server`` answers real HTTP (it needs ``transactional_db`` so the other
  processes see committed rows);
* a real Celery worker with embedded beat runs as a subprocess (``celery -A doudesk worker -B
  --pool threads``). It is pointed at the *test* database through ``DATABASE_URL`` built from the
  live connection's settings, at the broker this process sends to through ``CELERY_BROKER_URL``
  (which Celery reads before its configuration), and at the sandbox provider through
  ``DOUDESK_SANDBOX_PORT`` / ``DOUDESK_SANDBOX_KEY``. Its own files (beat schedule) live in a
  temporary ``DOUDESK_DATA_DIR``.

The worker lives for one test and is stopped (its whole process group) before pytest-django
flushes the database, so the flush never races a task. ``GET /healthz`` answering ``ok`` tells
the fixture the worker has reported in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from django.db import connection

from doudesk.processes import die_with_parent
from doudesk.sandbox.provider_server import ProviderServer

FINAL_STATUSES = frozenset({"completed", "partial", "canceled"})
WORKER_READY_TIMEOUT = 60.0
ORDER_TIMEOUT = 60.0
SANDBOX_KEY = "e2e-sandbox-provider-key"


def subprocess_database_url() -> str:
    """Return a ``DATABASE_URL`` naming the database this process uses now (the test database)."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    if "postgresql" not in s["ENGINE"]:
        raise RuntimeError(f"no DATABASE_URL form for {s['ENGINE']}")
    user = quote(s.get("USER") or "", safe="")
    password = quote(s.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = s.get("HOST") or ""
    if host.startswith("/"):  # a Unix socket directory
        host = quote(host, safe="")
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(s['NAME'], safe='')}"


def is_postgresql() -> bool:
    """Whether the tests run on PostgreSQL."""
    return connection.vendor == "postgresql"


@dataclass
class Platform:
    """A running platform: live server URL, sandbox provider and worker subprocess."""

    url: str
    provider: ProviderServer
    worker: subprocess.Popen[bytes]
    log_path: Path
    clients: list[httpx.Client] = field(default_factory=list)

    def worker_log(self) -> str:
        """Return the tail of the worker's output (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def client(self, api_key: str) -> httpx.Client:
        """Return an HTTP client authenticated with ``api_key`` (closed at teardown)."""
        client = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        )
        self.clients.append(client)
        return client

    def wait_until_final(
        self, client: httpx.Client, order_id: int, timeout: float = ORDER_TIMEOUT
    ) -> dict[str, Any]:
        """Poll ``GET /api/v1/orders/{id}`` until the order is final; return its last body."""
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = client.get(f"/api/v1/orders/{order_id}")
            assert response.status_code == 200, response.text
            body = response.json()
            if body["status"] in FINAL_STATUSES:
                return body
            if self.worker.poll() is not None:
                pytest.fail(f"the worker exited ({self.worker.returncode}):\n{self.worker_log()}")
            time.sleep(0.2)
        pytest.fail(
            f"order {order_id} not final after {timeout:.0f} s (last: {body}); "
            f"worker log:\n{self.worker_log()}"
        )

    def wait_for_worker(self, timeout: float = WORKER_READY_TIMEOUT) -> None:
        """Wait until ``GET /healthz`` says ok (the worker wrote its heartbeat)."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while time.monotonic() < deadline:
                if self.worker.poll() is not None:
                    pytest.fail(
                        f"the worker exited ({self.worker.returncode}):\n{self.worker_log()}"
                    )
                if client.get("/healthz").status_code == 200:
                    return
                time.sleep(0.2)
        pytest.fail(f"the worker did not report in within {timeout:.0f} s:\n{self.worker_log()}")


def _stop_process_group(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def _worker_env(data_dir: Path, provider: ProviderServer) -> dict[str, str]:
    from doudesk.celery import app as celery_app

    env = dict(os.environ)
    env.pop("DOUDESK_TASKS_EAGER", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "doudesk.settings",
            "DOUDESK_MODE": "sandbox",
            "DATABASE_URL": subprocess_database_url(),
            "DOUDESK_DATA_DIR": str(data_dir),
            # Celery reads this before its configuration: the broker this process sends to.
            "CELERY_BROKER_URL": str(celery_app.conf.broker_url),
            "DOUDESK_STATUS_SYNC_INTERVAL": "0.5",
            "DOUDESK_SANDBOX_HOST": provider.host,
            "DOUDESK_SANDBOX_PORT": str(provider.port),
            "DOUDESK_SANDBOX_KEY": SANDBOX_KEY,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _purge_broker() -> None:
    """Drop messages left on the broker by earlier runs (dispatches of long-gone orders)."""
    from doudesk.celery import app as celery_app

    try:
        celery_app.control.purge()
    except Exception:  # noqa: BLE001 - a broker without purge support just keeps its backlog
        pass


@pytest.fixture
def platform(
    live_server: Any, transactional_db: None, tmp_path: Path
) -> Iterator[Callable[..., Platform]]:
    """Start provider and worker on demand: ``platform(partial_rate=..., fail_rate=...)``.

    One platform per test; everything is stopped before the database is flushed.
    """
    started: list[Platform] = []

    def start(
        *, partial_rate: float = 0.0, fail_rate: float = 0.0, speed: float = 2000.0
    ) -> Platform:
        if started:
            raise RuntimeError("one platform per test")
        provider = ProviderServer(
            db_path=tmp_path / "sandbox_provider.sqlite3",
            key=SANDBOX_KEY,
            speed=speed,
            partial_rate=partial_rate,
            fail_rate=fail_rate,
            pending_seconds=0.2,
            fail_after_seconds=0.5,
        )
        provider.start()
        data_dir = tmp_path / "worker-data"
        data_dir.mkdir()
        log_path = tmp_path / "worker.log"
        _purge_broker()
        with log_path.open("wb") as log:
            command = [
                sys.executable, "-m", "celery", "-A", "doudesk", "worker", "-B",
                "--pool", "threads", "-c", "2", "--loglevel", "WARNING",
                "--hostname", f"e2e-{uuid.uuid4().hex[:8]}@%h",
                "--schedule-filename", str(data_dir / "celerybeat-schedule"),
            ]  # fmt: skip
            worker = subprocess.Popen(
                command,
                env=_worker_env(data_dir, provider),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        plat = Platform(url=live_server.url, provider=provider, worker=worker, log_path=log_path)
        started.append(plat)
        plat.wait_for_worker()
        return plat

    yield start
    for plat in started:
        for client in plat.clients:
            client.close()
        _stop_process_group(plat.worker)
        plat.provider.stop()
