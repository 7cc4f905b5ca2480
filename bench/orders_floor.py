r"""The web stack's floor under ``bench/orders.py``: its ratio with no platform in the request.

``bench/orders.py`` compares the platform's order rate with the bare SQL transaction an order
placement boils down to. This script measures how much of that ratio the stack DESIGN.md names
leaves before any of DouDesk's own work: it serves one django-ninja endpoint,
``POST /api/v1/orders``, on uvicorn through DouDesk's own ASGI handler
(``doudesk.asgi.SyncChainASGIHandler``, in as many uvicorn processes as ``doudesk serve`` runs
by default: one per core, up to four; ``--web-workers`` to change), with no middleware and no
installed apps. The endpoint checks a bearer key, parses the JSON body with a ninja schema,
runs ``bench/orders.py``'s bare placement transaction (the same statements) on Django's
database connection, configured as the platform configures it, and answers 201. Nothing else
runs: no pricing, no catalogue look-up, no validation of the link, no transparency log, no
worker, no provider.

The same clients as ``bench/orders.py`` (8 threads, keep-alive httpx) load it; it prints the
endpoint's rate, the bare transaction's rate measured the same way, and their ratio, plus CPU
milliseconds per request of the web processes, PostgreSQL and the clients. A platform serving
orders on this stack and machine does all of this and more for each order, so its ratio
stays below this one.

PostgreSQL only (``--database-url`` or ``DATABASE_URL``): a fresh database is created for the
run and dropped afterwards. ``--json`` prints one JSON object with ``requests_per_s``,
``p95_ms``, ``bare_tx_per_s``, ``ratio`` and ``cpu_ms_per_request``.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doudesk_bench \\
        .venv/bin/python bench/orders_floor.py [--clients 8] [--seconds 20] [--json]
"""

import argparse
import hmac
import importlib.util
import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orders import (
    bare_postgres,
    cpu_by_role,
    cpu_ms_per_order,
    free_port,
    fresh_postgres_database,
    http_load,
    is_postgres,
    load_figures,
    placement_tx,
    scratch_postgres_schema,
    stop_process_group,
    wait_ready,
)

BENCH_DIR = Path(__file__).resolve().parent
SRC_DIR = BENCH_DIR.parent / "src"
API_KEY = "floor-bench-key"
READY_TIMEOUT = 60.0

# The served app's urls: filled in by :func:`application` in the uvicorn process.
urlpatterns: list[Any] = []


# -- the served app (runs in the uvicorn process) ------------------------------------------------


def application() -> Any:
    """Configure Django for the bare endpoint and return DouDesk's ASGI handler (uvicorn factory).

    The database (``DATABASE_URL``, with ``FLOOR_SCHEMA`` first on the search path) and the
    request threads are the platform's own settings, read from its ``settings.py``: persistent,
    health-checked connections with psycopg's server-side binding and prepared statements,
    16 threads by default.
    """
    from django.conf import settings

    platform = _platform_settings()
    database = dict(platform.DATABASES["default"])
    database["OPTIONS"] = {
        **database.get("OPTIONS", {}),
        "options": f"-c search_path={os.environ['FLOOR_SCHEMA']}",
    }
    settings.configure(
        DEBUG=False,
        SECRET_KEY="floor-bench",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        DATABASES={"default": database},
        USE_TZ=True,
        WEB_REQUEST_THREADS=platform.WEB_REQUEST_THREADS,
    )
    from django.urls import path

    # DouDesk's ``asgi.py`` sets Django up with the settings above and builds the handler; the
    # modules it imports from the package (``doudesk.uploads``) come without the package's
    # ``__init__`` (see _module_from).
    package = types.ModuleType("doudesk")
    package.__path__ = [str(SRC_DIR / "doudesk")]
    sys.modules["doudesk"] = package
    asgi = _module_from(SRC_DIR / "doudesk" / "asgi.py", "floor_asgi")
    urlpatterns.append(path("", _api().urls))
    return asgi.application


def _platform_settings() -> Any:
    """Return DouDesk's ``settings.py`` as read in this environment (not configuring Django)."""
    return _module_from(SRC_DIR / "doudesk" / "settings.py", "floor_platform_settings")


def _module_from(path: Path, name: str) -> Any:
    """Run one of DouDesk's modules as a module of its own and return it.

    Importing it as part of the ``doudesk`` package would set up the package's Celery app,
    which configures Django with the platform's whole settings.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _api() -> Any:
    from django.db import connection, transaction
    from django.utils import timezone
    from ninja import NinjaAPI, Schema
    from ninja.security import HttpBearer

    class BenchKey(HttpBearer):
        def authenticate(self, request: Any, token: str) -> str | None:
            return token if hmac.compare_digest(token, API_KEY) else None

    class OrderIn(Schema):
        service_id: int
        target: str
        quantity: int

    api = NinjaAPI(auth=BenchKey(), docs_url=None, openapi_url=None)

    @api.get("/healthz", auth=None)
    def healthz(request: Any) -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/api/v1/services")
    def services(request: Any) -> list[dict[str, Any]]:
        return [{"id": 1, "code": "plays"}]

    @api.post("/api/v1/orders", response={201: dict})
    def orders_create(request: Any, body: OrderIn) -> tuple[int, dict[str, Any]]:
        with transaction.atomic(), connection.cursor() as cursor:
            placement_tx(cursor, True, timezone.now())
        return 201, {"service_id": body.service_id, "quantity": body.quantity}

    return api


# -- the driver ----------------------------------------------------------------------------------


@contextmanager
def floor_server(database_url: str, schema: str, workers: int) -> Iterator[tuple[str, int]]:
    """Run the bare endpoint on uvicorn on a free port; yield (url, uvicorn's pid)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "FLOOR_SCHEMA": schema}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = [
        sys.executable, "-m", "uvicorn", "orders_floor:application", "--factory",
        "--app-dir", str(BENCH_DIR), "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--workers", str(workers),
    ]  # fmt: skip
    proc = subprocess.Popen(command, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, READY_TIMEOUT)
        yield url, proc.pid
    finally:
        stop_process_group(proc, timeout=15)


def measure(
    database_url: str, *, clients: int, seconds: float, bare_seconds: float, workers: int
) -> dict:
    """Load the bare endpoint, then time the bare transaction; return the figures."""
    with (
        scratch_postgres_schema(database_url) as schema,
        floor_server(database_url, schema, workers) as (url, pid),
    ):
        http_load(url, API_KEY, clients=min(clients, 4), orders=20, seconds=None)  # warm up
        bare = bare_postgres(database_url, clients=clients, seconds=bare_seconds)
        before = cpu_by_role(pid)
        load = http_load(url, API_KEY, clients=clients, orders=1, seconds=seconds)
        cpu = cpu_ms_per_order(before, cpu_by_role(pid), load.placed)
    cpu = {("web" if role == "serve" else role): ms for role, ms in cpu.items()}
    return {
        "database": "postgresql",
        "clients": clients,
        "requests": load.placed,
        "failed": load.failed,
        **load_figures(load, "requests_per_s"),
        "bare_tx_per_s": round(bare, 1),
        "ratio": round(load.per_second / bare, 4) if bare else 0.0,
        "cpu_ms_per_request": cpu,
        "web_workers": workers,
        "cores": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> None:
    """Run the floor benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--bare-seconds", type=float, default=5.0)
    parser.add_argument(
        "--web-workers", type=int, default=_platform_settings().WEB_WORKERS,
        help="uvicorn processes (default as doudesk serve: DOUDESK_WEB_WORKERS, or one per"
        " core up to 4)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not is_postgres(args.database_url):
        raise SystemExit("the floor benchmark needs PostgreSQL: --database-url or DATABASE_URL")
    if args.clients < 1 or args.seconds <= 0 or args.web_workers < 1:
        raise SystemExit("--clients, --seconds and --web-workers must be positive")
    with fresh_postgres_database(args.database_url) as url:
        figures = measure(
            url,
            clients=args.clients,
            seconds=args.seconds,
            bare_seconds=args.bare_seconds,
            workers=args.web_workers,
        )
    print(
        f"bare endpoint on django-ninja + uvicorn ({args.web_workers} processes): "
        f"{figures['requests']} requests by "
        f"{figures['clients']} clients in {figures['seconds']} s = "
        f"{figures['requests_per_s']} requests/s (failed {figures['failed']}); p50/p95/p99 "
        f"{figures['p50_ms']}/{figures['p95_ms']}/{figures['p99_ms']} ms"
    )
    print(f"bare placement transaction: {figures['bare_tx_per_s']} tx/s; ratio {figures['ratio']}")
    parts = ", ".join(f"{k} {v}" for k, v in figures["cpu_ms_per_request"].items())
    print(f"CPU ms per request ({figures['cores']} cores): {parts}")
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
