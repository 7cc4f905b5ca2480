r"""Benchmark order placement over HTTP against the same machine's bare SQL transaction rate.

N concurrent clients (threads, one keep-alive httpx client each) ``POST /api/v1/orders`` against a
running DouDesk server until ``--orders`` orders are placed (or for ``--seconds``); the script
prints orders/s and the p50/p95/p99 latency of the 201 answers.

For scale it then measures, on the same database engine and disk, the rate of the bare SQL
transaction an order placement boils down to, with the same concurrency: the same writes in the
same order as the platform's placement transaction (quote, order, ``placed`` event, log leaf,
cash and hold accounts read, journal entry, two legs, the conditional cash update, the hold
update; :func:`placement_tx`), without the framework around it. Next to it, for comparison with
earlier figures, the older minimal yardstick (lock a balance, one order row, two legs, one
update; :func:`minimal_tx`). On PostgreSQL (psycopg, ``--database-url`` or ``DATABASE_URL``)
the scratch tables live in a temporary schema of the same database; on SQLite (the standard
``sqlite3`` module, WAL, ``synchronous=NORMAL``, ``BEGIN IMMEDIATE`` as the platform configures
it) in a scratch file next to the platform's database file. Both are dropped afterwards. The
ratio ``orders/s ÷ bare tx/s`` says how much of the database's capacity the platform turns into
orders. The bare measurements run first, while the server is idle, so the worker's backlog
does not disturb them.

``--start`` makes it one command: it launches ``doudesk serve`` on free ports with a temporary
``DOUDESK_DATA_DIR`` (``DATABASE_URL`` and ``REDIS_URL`` passed through), waits for ``/healthz``,
runs, and stops the server. Without ``--api-key`` a demo customer is created with
``doudesk demo-account``, which must run with the server's environment (true with ``--start``).

With ``--json`` the last line is one JSON object with ``orders_per_s``, ``p50_ms``, ``p95_ms``,
``p99_ms``, ``bare_tx_per_s``, ``ratio`` and ``database`` (plus a few counts, and
``bare_minimal_tx_per_s`` / ``ratio_minimal`` for the minimal yardstick). ``finished_per_s``
and ``unfinished_at_end`` say how many orders the platform carried to their end (completed,
partial or canceled) during the run, and how many it still had under way when the clients
stopped: a placement rate well above the rate of finished orders is a growing backlog, not a
rate the platform keeps up. With ``--start`` it also reports where the CPU went during the
run: ``cpu_ms_per_order`` by role (web, worker, beat, sandbox provider, the PostgreSQL and
Redis servers, the bench client), read from /proc.

Usage::

    .venv/bin/python bench/orders.py --start [--clients 8] [--orders 2000 | --seconds 20] [--json]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doudesk_bench \\
        .venv/bin/python bench/orders.py --start --json
    .venv/bin/python bench/orders.py --url http://127.0.0.1:8000 --api-key KEY
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

VIDEO_URL = "https://www.douyin.com/video/7301234567890123456"
SERVICE_CODE = "plays"
QUANTITY = 500  # the plays module's minimum: ¥8.00 an order
DEMO_BALANCE_YUAN = "10000000"
READY_TIMEOUT = 180.0
SERVE_PID = "BENCH_SERVE_PID"  # set in the yielded environment by ``started_server``
# Roles of the processes ``doudesk serve`` starts, by a word of their command line; processes
# started by those (uvicorn's workers) take their parent's role.
ROLE_WORDS = (("uvicorn", "web"), ("worker", "worker"), ("beat", "beat"), ("provider", "sandbox"))
# Shared servers on the machine, by process name (all of their processes, whoever they serve).
SERVER_NAMES = {"postgres": "postgresql", "redis-server": "redis"}


# -- server ------------------------------------------------------------------------------------


def free_port() -> int:
    """Return an ephemeral TCP port on loopback that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def doudesk_command(*args: str) -> list[str]:
    """Return the ``doudesk`` console script as run by this interpreter."""
    return [sys.executable, "-m", "doudesk.cli", *args]


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """Wait until ``GET /healthz`` answers 200 (web, database and worker up)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise SystemExit(f"doudesk serve exited with {proc.returncode}")
            try:
                if client.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
    raise SystemExit(f"{url}/healthz did not answer ok within {timeout:.0f} s")


@contextmanager
def started_server(args: argparse.Namespace) -> Iterator[tuple[str, dict[str, str]]]:
    """Run ``doudesk serve`` on free ports in a temporary data dir; yield (url, environment)."""
    with tempfile.TemporaryDirectory(prefix="doudesk-bench-") as tmp:
        data_dir = args.data_dir or tmp
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = {
            **os.environ,
            "DOUDESK_DATA_DIR": data_dir,
            "DOUDESK_SANDBOX_PORT": str(free_port()),
            "DOUDESK_MODE": "sandbox",
        }
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        env.pop("DOUDESK_TASKS_EAGER", None)
        log_path = Path(data_dir) / "serve.log"
        command = doudesk_command("serve", "--host", "127.0.0.1", "--port", str(port))
        command += args.serve_arg
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        url = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_ready(url, proc, READY_TIMEOUT)
            except SystemExit:
                sys.stderr.write(log_path.read_text(errors="replace")[-3000:])
                raise
            yield url, {**env, SERVE_PID: str(proc.pid)}
        finally:
            stop_process_group(proc, timeout=30)


def stop_process_group(proc: subprocess.Popen[bytes], *, timeout: float) -> None:
    """Stop a process started in its own session: SIGTERM, then SIGKILL to its group."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def is_postgres(url: str) -> bool:
    """Say whether ``url`` names a PostgreSQL database."""
    return url.startswith(("postgres://", "postgresql://"))


@contextmanager
def fresh_postgres_database(url: str) -> Iterator[str]:
    """Create an empty sibling of the database at ``url`` for one run; yield its URL, drop it.

    Orders left open by earlier runs would otherwise keep the worker busy polling a sandbox
    provider that no longer knows them, and the run would measure that backlog.
    """
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'doudesk'}_run{uuid.uuid4().hex[:8]}"
    # The maintenance database: the one named in ``url`` need not exist.
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def demo_api_key(env: dict[str, str]) -> str:
    """Create a funded demo customer with ``doudesk demo-account``; return its API key."""
    out = subprocess.run(
        doudesk_command("demo-account", "--balance", DEMO_BALANCE_YUAN),
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return str(json.loads(out.strip().splitlines()[-1])["api_key"])


# -- HTTP load ---------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """What the HTTP run measured."""

    placed: int
    failed: int
    seconds: float
    latencies_ms: list[float]
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        """Orders placed per second of wall time."""
        return self.placed / self.seconds if self.seconds else 0.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0-100) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def load_figures(load: LoadResult, rate_key: str) -> dict[str, float]:
    """Return the load's wall time, rate (as ``rate_key``) and p50/p95/p99 latency, rounded."""
    return {
        "seconds": round(load.seconds, 2),
        rate_key: round(load.per_second, 1),
        "p50_ms": round(percentile(load.latencies_ms, 50), 1),
        "p95_ms": round(percentile(load.latencies_ms, 95), 1),
        "p99_ms": round(percentile(load.latencies_ms, 99), 1),
    }


def plays_service_id(url: str, api_key: str) -> int:
    """Return the id of the plays module from ``GET /api/v1/services``."""
    response = httpx.get(
        f"{url}/api/v1/services", headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    )
    response.raise_for_status()
    data = response.json()
    services = data["results"] if isinstance(data, dict) else data
    for service in services:
        if service.get("code") == SERVICE_CODE:
            return int(service["id"])
    raise SystemExit(f"no {SERVICE_CODE!r} service at {url}")


ORDER_STATUSES = ("pending", "processing", "in_progress", "completed", "partial", "canceled")
FINISHED = ("completed", "partial", "canceled")


def orders_by_status(url: str, api_key: str) -> dict[str, int]:
    """Count the customer's orders in each status (``GET /api/v1/orders?status=...``)."""
    counts = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}) as client:
        for status in ORDER_STATUSES:
            response = client.get("/api/v1/orders", params={"status": status, "limit": 1})
            response.raise_for_status()
            counts[status] = int(response.json()["count"])
    return counts


def http_load(
    url: str, api_key: str, *, clients: int, orders: int, seconds: float | None
) -> LoadResult:
    """Place orders from ``clients`` threads until ``orders`` are sent or ``seconds`` pass."""
    body = {"service_id": plays_service_id(url, api_key), "target": VIDEO_URL, "quantity": QUANTITY}
    headers = {"Authorization": f"Bearer {api_key}"}
    lock = threading.Lock()
    sent = 0
    latencies: list[float] = []
    failures: dict[str, int] = {}
    start_gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def take() -> bool:
        nonlocal sent
        with lock:
            if seconds is None:
                if sent >= orders:
                    return False
            elif time.perf_counter() >= deadline[0]:
                return False
            sent += 1
            return True

    def client_loop() -> None:
        mine: list[float] = []
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            start_gate.wait()
            while take():
                t0 = time.perf_counter()
                try:
                    response = client.post("/api/v1/orders", json=body)
                    outcome = "201" if response.status_code == 201 else str(response.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                elapsed = (time.perf_counter() - t0) * 1000
                if outcome == "201":
                    mine.append(elapsed)
                else:
                    with lock:
                        failures[outcome] = failures.get(outcome, 0) + 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    t0 = time.perf_counter()
    deadline[0] = t0 + (seconds or 0)
    start_gate.wait()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - t0
    return LoadResult(
        placed=len(latencies),
        failed=sum(failures.values()),
        seconds=wall,
        latencies_ms=latencies,
        failures=failures,
    )


# -- CPU accounting ------------------------------------------------------------------------------


def _proc_stat(pid: str) -> tuple[str, int, float] | None:
    """Return (name, parent pid, CPU seconds so far) of process ``pid``, or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime, all threads
    return name, int(fields[1]), ticks / os.sysconf("SC_CLK_TCK")


def cpu_by_role(serve_pid: int) -> dict[str, float]:
    """CPU seconds used so far by each role under ``doudesk serve`` and by the shared servers."""
    stats: dict[int, tuple[str, int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(entry.name)) is not None:
            stats[int(entry.name)] = stat

    def role(pid: int) -> str | None:
        if pid == serve_pid:
            return "serve"
        if pid not in stats or stats[pid][1] in (0, 1):
            return None
        parent = role(stats[pid][1])
        if parent is None:
            return None
        try:
            words = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            words = ""
        own = next((r for word, r in ROLE_WORDS if word in words), None)
        return own if own and parent == "serve" else parent

    totals: dict[str, float] = {}
    for pid, (name, _parent, seconds) in stats.items():
        key = SERVER_NAMES.get(name) or role(pid)
        if key is not None:
            totals[key] = totals.get(key, 0.0) + seconds
    totals["bench client"] = time.process_time()
    return totals


def cpu_ms_per_order(before: dict[str, float], after: dict[str, float], placed: int) -> dict:
    """CPU milliseconds per placed order by role between two :func:`cpu_by_role` readings."""
    if not placed:
        return {}
    return {
        key: round((after[key] - before.get(key, 0.0)) * 1000 / placed, 2)
        for key in sorted(after, key=lambda k: -(after[k] - before.get(k, 0.0)))
        if after[key] - before.get(key, 0.0) > 0
    }


# -- bare SQL transactions -----------------------------------------------------------------------


def sqlite_path_for(database_url: str, data_dir: str | None) -> Path:
    """Return the platform's SQLite file (a ``sqlite:///`` URL, else in the data dir)."""
    if database_url.startswith("sqlite:///"):
        return Path(database_url[len("sqlite:///") :])
    return Path(data_dir or Path(__file__).resolve().parent.parent / "var") / "doudesk.sqlite3"


def run_threads(
    clients: int, seconds: float, one_tx: Callable[[Any, int], None], connect: Callable[[], Any]
) -> float:
    """Run ``one_tx(conn, client)`` in a loop on ``clients`` threads for ``seconds``; tx/s."""
    done = [0] * clients
    gate = threading.Barrier(clients + 1)
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop(i: int) -> None:
        conn = connect()
        try:
            gate.wait()
            while not stop.is_set():
                one_tx(conn, i)
                done[i] += 1
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
            stop.set()
        finally:
            conn.close()

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    gate.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return sum(done) / wall


# The scratch schema: the tables an order placement writes, with their keys and unique columns
# (no foreign keys). ``{serial}``/``{blob}``/``{ts}`` are filled in per engine.
SCRATCH_SCHEMA = """
CREATE TABLE account (id bigint PRIMARY KEY, code text NOT NULL UNIQUE,
    balance_fen bigint NOT NULL);
CREATE TABLE quote (id text PRIMARY KEY, customer_id bigint NOT NULL, module_id bigint NOT NULL,
    quantity integer NOT NULL, unit_rate numeric NOT NULL, total_fen bigint NOT NULL,
    created_at {ts} NOT NULL, expires_at {ts} NOT NULL);
CREATE TABLE orders (id {serial}, customer_id bigint NOT NULL, module_id bigint NOT NULL,
    quote_id text UNIQUE, target text NOT NULL, quantity integer NOT NULL,
    charge_fen bigint NOT NULL, status text NOT NULL, options text NOT NULL,
    created_at {ts} NOT NULL);
CREATE INDEX orders_customer ON orders (customer_id, created_at);
CREATE INDEX orders_status ON orders (status);
CREATE TABLE event (id {serial}, order_id bigint NOT NULL, kind text NOT NULL,
    to_status text NOT NULL, data text NOT NULL, created_at {ts} NOT NULL);
CREATE INDEX event_order ON event (order_id);
CREATE TABLE leaf (id {serial}, leaf text NOT NULL, leaf_hash {blob} NOT NULL,
    order_id bigint);
CREATE TABLE entry (id {serial}, ref text NOT NULL UNIQUE, kind text NOT NULL, memo text NOT NULL,
    order_id bigint, created_at {ts} NOT NULL);
CREATE TABLE leg (id {serial}, entry_id bigint NOT NULL, account_id bigint NOT NULL,
    amount_fen bigint NOT NULL);
CREATE INDEX leg_entry ON leg (entry_id);
"""
CASH, HOLD, CHARGE = "customer:1:customer_cash", "customer:1:customer_hold", 800


def statement_runner(cur: Any, postgres: bool) -> Callable[[str, tuple[Any, ...]], Any]:
    """Return ``run(sql, params)`` on ``cur``; ``?`` placeholders become ``%s`` for psycopg."""

    def run(sql: str, params: tuple[Any, ...]) -> Any:
        return cur.execute(sql.replace("?", "%s") if postgres else sql, params)

    return run


def placement_tx(cur: Any, postgres: bool, now: Any) -> None:
    """Run the statements of one order placement on ``cur``.

    The same writes in the same order as the platform's placement transaction: the quote, the
    order, its ``placed`` event and log leaf, the customer's cash and hold accounts read, the
    journal entry, its two legs, then the two balance updates (the overdraft check is the
    cash update's condition). The caller begins and commits.
    """
    run = statement_runner(cur, postgres)

    quote = uuid.uuid4().hex
    run(
        "INSERT INTO quote VALUES (?, 1, 1, ?, 16.8, ?, ?, ?)",
        (quote, QUANTITY, CHARGE, now, now),
    )
    (order_id,) = run(
        "INSERT INTO orders (customer_id, module_id, quote_id, target, quantity, charge_fen,"
        " status, options, created_at) VALUES (1, 1, ?, ?, ?, ?, 'pending', '{}', ?)"
        " RETURNING id",
        (quote, VIDEO_URL, QUANTITY, CHARGE, now),
    ).fetchone()
    data = json.dumps({"order": order_id, "quote": quote, "quantity": QUANTITY, "price": "8.00"})
    (event_id,) = run(
        "INSERT INTO event (order_id, kind, to_status, data, created_at)"
        " VALUES (?, 'placed', 'pending', ?, ?) RETURNING id",
        (order_id, data, now),
    ).fetchone()
    leaf = f'{{"event":{event_id},{data[1:]}'
    run(
        "INSERT INTO leaf (leaf, leaf_hash, order_id) VALUES (?, ?, ?)",
        (leaf, hashlib.sha256(leaf.encode()).digest(), order_id),
    )
    ids = dict(run("SELECT code, id FROM account WHERE code IN (?, ?)", (CASH, HOLD)).fetchall())
    (entry_id,) = run(
        "INSERT INTO entry (ref, kind, memo, order_id, created_at)"
        " VALUES (?, 'order_hold', ?, ?, ?) ON CONFLICT (ref) DO NOTHING RETURNING id",
        (f"order:{order_id}:hold", f"订单 #{order_id} 冻结", order_id, now),
    ).fetchone()
    run(
        "INSERT INTO leg (entry_id, account_id, amount_fen) VALUES (?, ?, ?), (?, ?, ?)",
        (entry_id, ids[CASH], -CHARGE, entry_id, ids[HOLD], CHARGE),
    )
    moved = run(
        "UPDATE account SET balance_fen = balance_fen - ? WHERE id = ? AND balance_fen >= ?",
        (CHARGE, ids[CASH], CHARGE),
    ).rowcount
    if moved != 1:
        raise RuntimeError("scratch balance ran out")
    run("UPDATE account SET balance_fen = balance_fen + ? WHERE id = ?", (CHARGE, ids[HOLD]))


def minimal_tx(cur: Any, postgres: bool, now: Any) -> None:
    """Run the older, smaller yardstick: lock the balance, one order, two legs, one update."""
    run = statement_runner(cur, postgres)

    (balance,) = run(
        "SELECT balance_fen FROM account WHERE id = 1" + (" FOR UPDATE" if postgres else ""),
        (),
    ).fetchone()
    if balance < CHARGE:
        raise RuntimeError("scratch balance ran out")
    (order_id,) = run(
        "INSERT INTO orders (customer_id, module_id, target, quantity, charge_fen, status,"
        " options, created_at) VALUES (1, 1, ?, ?, ?, 'pending', '{}', ?) RETURNING id",
        (VIDEO_URL, QUANTITY, CHARGE, now),
    ).fetchone()
    run(
        "INSERT INTO leg (entry_id, account_id, amount_fen) VALUES (?, 1, ?), (?, 1, ?)",
        (order_id, -CHARGE, order_id, CHARGE),
    )
    run("UPDATE account SET balance_fen = balance_fen - ? WHERE id = 1", (CHARGE,))


TRANSACTIONS = {"placement": placement_tx, "minimal": minimal_tx}
SCRATCH_ACCOUNTS = [(1, CASH, 10**15), (2, HOLD, 0)]


def bare_sqlite(path: Path, *, clients: int, seconds: float, tx: str = "placement") -> float:
    """Bare transactions ``tx`` per second on a scratch SQLite file next to ``path``."""
    scratch = path.parent / f"bench-scratch-{uuid.uuid4().hex[:8]}.sqlite3"

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(scratch, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    setup = connect()
    setup.executescript(
        SCRATCH_SCHEMA.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT", blob="blob", ts="real")
    )
    setup.executemany("INSERT INTO account VALUES (?, ?, ?)", SCRATCH_ACCOUNTS)
    setup.close()
    body = TRANSACTIONS[tx]

    def one_tx(conn: sqlite3.Connection, client: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            body(conn.cursor(), False, time.time())
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    try:
        return run_threads(clients, seconds, one_tx, connect)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)


@contextmanager
def scratch_postgres_schema(database_url: str) -> Iterator[str]:
    """Create the scratch tables in a new schema of the database; yield its name, then drop it."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as setup:
        setup.execute(f"CREATE SCHEMA {schema}")
        setup.execute(f"SET search_path TO {schema}")
        setup.execute(
            SCRATCH_SCHEMA.format(serial="bigserial PRIMARY KEY", blob="bytea", ts="timestamptz")
        )
        with setup.cursor() as cur:
            cur.executemany("INSERT INTO account VALUES (%s, %s, %s)", SCRATCH_ACCOUNTS)
    try:
        yield schema
    finally:
        with psycopg.connect(database_url, autocommit=True) as cleanup:
            cleanup.execute(f"DROP SCHEMA {schema} CASCADE")


def bare_postgres(
    database_url: str, *, clients: int, seconds: float, tx: str = "placement"
) -> float:
    """Bare transactions ``tx`` per second in a scratch schema of the PostgreSQL database."""
    import psycopg

    body = TRANSACTIONS[tx]

    def one_tx(conn: Any, client: int) -> None:
        with conn.transaction(), conn.cursor() as cur:
            body(cur, True, datetime.now(UTC))

    with scratch_postgres_schema(database_url) as schema:

        def connect() -> Any:
            return psycopg.connect(database_url, options=f"-c search_path={schema}")

        return run_threads(clients, seconds, one_tx, connect)


# -- main ----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Build the command-line parser."""
    parser = argparse.ArgumentParser(
        description="Orders/s over HTTP against the bare SQL transaction rate."
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="a running server")
    parser.add_argument("--api-key", help="default: create a demo account")
    parser.add_argument("--start", action="store_true", help="launch doudesk serve itself")
    parser.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        help="extra argument for doudesk serve (repeatable), e.g. --serve-arg=--web-workers=2",
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--orders", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, help="run for this long instead of --orders")
    parser.add_argument("--bare-seconds", type=float, default=5.0)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="the server's database (default $DATABASE_URL; else its SQLite file)",
    )
    parser.add_argument(
        "--data-dir", help="with --start: keep the server's data dir (and serve.log) here"
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="with --start on PostgreSQL: use DATABASE_URL itself, not a fresh sibling database",
    )
    parser.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    args = build_parser().parse_args(argv)
    if args.clients < 1 or args.orders < 1:
        raise SystemExit("--clients and --orders must be positive")
    with ExitStack() as stack:
        if args.start and is_postgres(args.database_url) and not args.keep_db:
            args.database_url = stack.enter_context(fresh_postgres_database(args.database_url))
        figures, load = _measure(args)
    _report(figures, load, args)


def _measure(args: argparse.Namespace) -> tuple[dict[str, Any], LoadResult]:
    server = started_server(args) if args.start else _existing(args)
    with server as (url, env):
        api_key = args.api_key or demo_api_key(env)
        # Warm up: imports, connections, caches.
        http_load(url, api_key, clients=min(args.clients, 4), orders=20, seconds=None)
        postgres = is_postgres(args.database_url)
        path = None if postgres else sqlite_path_for(args.database_url, env.get("DOUDESK_DATA_DIR"))
        bare = {}
        for tx in TRANSACTIONS:
            if path is None:
                bare[tx] = bare_postgres(
                    args.database_url, clients=args.clients, seconds=args.bare_seconds, tx=tx
                )
            else:
                bare[tx] = bare_sqlite(path, clients=args.clients, seconds=args.bare_seconds, tx=tx)
        serve_pid = int(env.get(SERVE_PID, "0"))
        cpu_before = cpu_by_role(serve_pid) if serve_pid else {}
        statuses_before = orders_by_status(url, api_key)
        load = http_load(
            url, api_key, clients=args.clients, orders=args.orders, seconds=args.seconds
        )
        cpu = cpu_ms_per_order(cpu_before, cpu_by_role(serve_pid), load.placed) if serve_pid else {}
        statuses_after = orders_by_status(url, api_key)
    finished = sum(statuses_after[s] - statuses_before[s] for s in FINISHED)
    figures = {
        "database": "postgresql" if postgres else "sqlite",
        "clients": args.clients,
        "orders": load.placed,
        "failed": load.failed,
        **load_figures(load, "orders_per_s"),
        "bare_tx_per_s": round(bare["placement"], 1),
        "ratio": round(load.per_second / bare["placement"], 4) if bare["placement"] else 0.0,
        "bare_minimal_tx_per_s": round(bare["minimal"], 1),
        "ratio_minimal": round(load.per_second / bare["minimal"], 4) if bare["minimal"] else 0.0,
        "cpu_ms_per_order": cpu,
        "cores": os.cpu_count(),
        "finished_per_s": round(finished / load.seconds, 1) if load.seconds else 0.0,
        "unfinished_at_end": sum(statuses_after[s] for s in ORDER_STATUSES if s not in FINISHED),
        "statuses_at_end": statuses_after,
    }
    return figures, load


def _report(figures: dict[str, Any], load: LoadResult, args: argparse.Namespace) -> None:
    print(
        f"{figures['database']}: {load.placed} orders by {args.clients} clients in "
        f"{load.seconds:.1f} s → {figures['orders_per_s']} orders/s; latency p50 "
        f"{figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, p99 {figures['p99_ms']} ms"
    )
    if load.failures:
        print(f"failed requests: {load.failures}")
    print(
        f"bare placement transaction: {figures['bare_tx_per_s']} tx/s with {args.clients} "
        f"connections; ratio orders/s ÷ bare tx/s = {figures['ratio']}"
    )
    print(
        f"(minimal transaction: {figures['bare_minimal_tx_per_s']} tx/s; "
        f"ratio {figures['ratio_minimal']})"
    )
    print(
        f"orders finished (completed, partial or canceled) during the run: "
        f"{figures['finished_per_s']}/s; {figures['unfinished_at_end']} not finished at its end"
    )
    if figures["cpu_ms_per_order"]:
        parts = ", ".join(f"{k} {v}" for k, v in figures["cpu_ms_per_order"].items())
        print(f"CPU ms per order during the run ({figures['cores']} cores): {parts}")
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))


@contextmanager
def _existing(args: argparse.Namespace) -> Iterator[tuple[str, dict[str, str]]]:
    url = args.url.rstrip("/")
    wait_ready(url, None, 30)
    env = dict(os.environ)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    yield url, env


if __name__ == "__main__":
    main()
