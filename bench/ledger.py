"""Benchmark the transparency log on the database (SQLite, and PostgreSQL when given one).

For each backend, in a scratch database (a temporary SQLite file; a throw-away PostgreSQL
database created and dropped on the server of ``--postgres URL`` or ``DATABASE_URL``, never the
database the URL names):

1. loads a tree of ``--leaves`` leaves (default 1,000,000) by writing its node chunks directly
   through the store, then signs a checkpoint (which re-derives the root from the stored nodes);
2. measures inclusion proofs against it: the selector (checkpoint lookup plus one node read)
   and the full HTTP endpoint, p50/p95, and the proof size;
3. measures batched appends: ``--appends`` pending leaves shaped like order events are
   sequenced by ``ledger_integrate`` (batches of ``--batch``) on top of that tree, and
   checkpointed; also ``ledger_record`` (the per-event cost inside an order transaction).

Each backend runs in its own process (Django has one settings module per process). With
``--json`` the last line is one JSON object with ``appends_per_s_sqlite``,
``appends_per_s_postgres`` (null without PostgreSQL) and ``proof_p95_ms`` (the worse backend).

    .venv/bin/python bench/ledger.py [--leaves 1000000] [--appends 50000] [--json]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doudesk .venv/bin/python bench/ledger.py
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    """Return p50 and p95 in milliseconds."""
    ms = sorted(s * 1000 for s in samples_s)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]


# --- child: one backend ---------------------------------------------------------------------


def load_tree(n: int) -> tuple[bytes, float]:
    """Build an ``n``-leaf tree in memory and write its node chunks; return (root, seconds)."""
    from django.db import transaction

    from doudesk.ledger.merkle import MemoryNodeStore, MerkleTree, leaf_hash, peak_keys
    from doudesk.ledger.models import CHUNK_WIDTH, LogNodeChunk, LogTreeState

    t0 = time.perf_counter()
    store = MemoryNodeStore()
    tree = MerkleTree(store)
    tree.append([leaf_hash(b'{"bench":%d}' % i) for i in range(n)])
    width = CHUNK_WIDTH * 32
    with transaction.atomic():
        for level, row in enumerate(store.levels):
            blobs = (
                LogNodeChunk(level=level, chunk=c, hashes=bytes(row[c * width : (c + 1) * width]))
                for c in range((len(row) + width - 1) // width)
            )
            LogNodeChunk.objects.bulk_create(blobs, batch_size=200)
        frontier = tree.frontier
        LogTreeState.objects.update_or_create(
            pk=1,
            defaults={"size": n, "frontier": b"".join(frontier[k] for k in peak_keys(n))},
        )
    return tree.root(), time.perf_counter() - t0


def stage_pending(m: int) -> None:
    """Insert ``m`` pending leaves shaped like order events (as ``ledger_record`` writes them)."""
    from doudesk.ledger.merkle import canonical_json, leaf_hash
    from doudesk.ledger.models import LogLeaf

    rows = []
    for i in range(m):
        data = canonical_json(
            {
                "type": "progress",
                "order": 100_000 + i,
                "event": 500_000 + i,
                "time": "2026-01-01T08:00:00.123456+00:00",
                "delivered": i % 1000,
                "status": "in_progress",
            }
        )
        rows.append(LogLeaf(leaf=data.decode(), leaf_hash=leaf_hash(data)))
    LogLeaf.objects.bulk_create(rows, batch_size=1000)


def child(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement on the configured database; return the figures."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client

    from doudesk.ledger import selectors, services
    from doudesk.ledger.merkle import verify_inclusion

    call_command("migrate", verbosity=0)
    rng = random.Random(42)
    n = args.leaves

    root, load_s = load_tree(n)
    t0 = time.perf_counter()
    checkpoint = services.ledger_checkpoint()
    checkpoint_s = time.perf_counter() - t0
    if checkpoint is None or bytes(checkpoint.root) != root:
        raise SystemExit("the bulk-loaded tree does not hash to its root")

    times, sizes = [], []
    for _ in range(args.samples):
        index = rng.randrange(n)
        t = time.perf_counter()
        proof = selectors.ledger_inclusion(index=index)
        times.append(time.perf_counter() - t)
        sizes.append(len(proof["audit_path"]))
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    assert verify_inclusion(bytes.fromhex(proof["leaf_hash"]), index, n, path, root)
    proof_p50, proof_p95 = percentiles(times)
    client = Client()
    http_times, body = [], b""
    for _ in range(max(50, args.samples // 4)):
        t = time.perf_counter()
        response = client.get("/api/v1/ledger/proof/inclusion", {"index": rng.randrange(n)})
        http_times.append(time.perf_counter() - t)
        body = response.content
    assert response.status_code == 200
    http_p50, http_p95 = percentiles(http_times)

    stage_pending(args.appends)
    t0 = time.perf_counter()
    result = services.ledger_integrate(max_batch=args.batch, max_rounds=10_000)
    append_s = time.perf_counter() - t0
    assert result == {"sequenced": args.appends, "checkpoint": n + args.appends}, result

    records = 2000
    t0 = time.perf_counter()
    with transaction.atomic():
        for i in range(records):
            services.ledger_record(event={"type": "progress", "order": i, "delivered": i})
    record_s = time.perf_counter() - t0

    return {
        "backend": connection.vendor,
        "leaves": n,
        "load_s": round(load_s, 2),
        "checkpoint_1m_s": round(checkpoint_s, 3),
        "proof_p50_ms": round(proof_p50, 3),
        "proof_p95_ms": round(proof_p95, 3),
        "proof_http_p50_ms": round(http_p50, 3),
        "proof_http_p95_ms": round(http_p95, 3),
        "proof_hashes_max": max(sizes),
        "proof_bytes_max": max(sizes) * 32,
        "proof_json_bytes": len(body),
        "appends": args.appends,
        "batch": args.batch,
        "append_s": round(append_s, 3),
        "appends_per_s": round(args.appends / append_s),
        "records_per_s": round(records / record_s),
    }


# --- parent: orchestrate backends -----------------------------------------------------------


def run_child(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Run one backend in a subprocess and return its figures."""
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--leaves",
        str(args.leaves),
        "--appends",
        str(args.appends),
        "--batch",
        str(args.batch),
        "--samples",
        str(args.samples),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"the {env.get('DATABASE_URL') and 'postgres' or 'sqlite'} run failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def scratch_postgres(url: str) -> tuple[str, Any]:
    """Create a throw-away database on ``url``'s server; return (its URL, a drop function)."""
    import psycopg

    parts = urlsplit(url)
    name = f"doudesk_bench_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--json", action="store_true", help="print a JSON object last")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return

    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base["DJANGO_SETTINGS_MODULE"] = "doudesk.settings"
    base.setdefault("DOUDESK_LOG_LEVEL", "ERROR")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="doudesk-bench-") as tmp:
        env = {**base, "DOUDESK_DATA_DIR": tmp}
        results["sqlite"] = run_child(args, env)
        if args.postgres:
            url, drop = scratch_postgres(args.postgres)
            try:
                results["postgres"] = run_child(args, {**env, "DATABASE_URL": url})
            finally:
                drop()

    for name, r in results.items():
        print(f"ledger on {name}: {r['leaves']:,}-leaf tree loaded in {r['load_s']} s")
        print(
            f"  batched appends   {r['appends_per_s']:>10,} /s  "
            f"({r['appends']:,} leaves, batches of {r['batch']:,}, {r['append_s']} s incl. "
            "checkpoint)"
        )
        print(f"  ledger_record     {r['records_per_s']:>10,} /s  (one insert per event)")
        print(
            f"  inclusion proof   p50 {r['proof_p50_ms']:.3f} ms  p95 {r['proof_p95_ms']:.3f} ms"
            f"  (HTTP p50 {r['proof_http_p50_ms']:.3f} ms  p95 {r['proof_http_p95_ms']:.3f} ms)"
        )
        print(
            f"  proof size        {r['proof_hashes_max']} hashes = {r['proof_bytes_max']} bytes "
            f"({r['proof_json_bytes']} bytes of JSON)"
        )
        print(f"  checkpoint at 1M  {r['checkpoint_1m_s']} s (root re-derived from stored nodes)")
    figures: dict[str, Any] = {
        "appends_per_s_sqlite": results["sqlite"]["appends_per_s"],
        "appends_per_s_postgres": results.get("postgres", {}).get("appends_per_s"),
        "proof_p95_ms": max(r["proof_p95_ms"] for r in results.values()),
        "proof_p50_ms": max(r["proof_p50_ms"] for r in results.values()),
        "proof_http_p95_ms": max(r["proof_http_p95_ms"] for r in results.values()),
        "proof_bytes": results["sqlite"]["proof_bytes_max"],
        "leaves": args.leaves,
        **{f"{k}_{name}": v for name, r in results.items() for k, v in r.items() if k != "backend"},
    }
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
