"""The benchmark scripts still run: a short run of each prints its figures as JSON.

They are never timed here (their figures go in the README); these runs only keep a change to
the platform from breaking a script unseen, as a change to ``doudesk.asgi`` once broke the
floor's standalone load of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from concurrency import postgres_only

pytestmark = pytest.mark.e2e

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _run(script: str, *args: str, env: dict[str, str]) -> dict:
    """Run a bench script briefly with ``--json``; return the JSON its last line prints."""
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args, "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_order_bench_places_orders_on_a_server_it_starts(tmp_path):
    database_url = os.environ.get("DATABASE_URL", "")
    env = {"DATABASE_URL": database_url} if database_url else {}
    if os.environ.get("REDIS_URL"):  # a broker database of its own: no task of it outlives it
        env["REDIS_URL"] = urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/15"))
    figures = _run(
        "orders.py", "--start", "--seconds", "2", "--bare-seconds", "0.5", "--clients", "2",
        "--data-dir", str(tmp_path / "data"), env=env,
    )  # fmt: skip
    assert figures["orders_per_s"] > 0
    assert figures["failed"] == 0
    assert figures["bare_tx_per_s"] > 0
    assert figures["database"] == ("postgresql" if database_url else "sqlite")


@postgres_only
def test_the_floor_bench_serves_its_bare_endpoint():
    figures = _run(
        "orders_floor.py", "--seconds", "1", "--bare-seconds", "0.5", "--clients", "2",
        env={"DATABASE_URL": os.environ["DATABASE_URL"]},
    )  # fmt: skip
    assert figures["requests_per_s"] > 0
    assert figures["bare_tx_per_s"] > 0
