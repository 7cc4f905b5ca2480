"""Benchmark the sandbox provider's ``add`` as its order book grows.

For each size N (default 0, 10,000 and 100,000) a fresh sandbox file gets N orders that have
already ended, written straight into its table; one ``balance`` call then brings the provider's
running sum up to date, as a server that had taken those orders one by one would have kept it.
The script then times ``--adds`` ``add`` calls through :class:`SandboxProvider` (no HTTP: the
provider's own work, its SQLite file included) and prints the milliseconds per ``add`` and
their ratio to the empty book. A ratio near 1 means an ``add`` does not slow down with the
orders placed before it. With ``--json`` the last line is one JSON object with ``ms_per_add``
and ``ratio_to_empty``, keyed by N.

Usage: ``.venv/bin/python bench/sandbox.py [--sizes 0,10000,100000] [--adds 300] [--json]``
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from doudesk.sandbox.provider_server import SandboxProvider

KEY = "bench-key"
LINK = "https://www.douyin.com/video/7301234567890123456"
ADD = {"key": KEY, "action": "add", "service": "1", "link": LINK, "quantity": "1000"}


def fill(db_path: Path, count: int, now: float) -> None:
    """Write ``count`` orders that ended before ``now`` (a third of them part-way)."""
    rows = (
        (LINK, 1_000, now - 3_600, 1_000 if n % 3 else 400, now - 60, 1_000 if n % 3 else 400)
        for n in range(count)
    )
    db = sqlite3.connect(db_path)
    with db:
        db.executemany(
            "INSERT INTO orders (service, link, quantity, extras, rate, start_count, created_at,"
            " pending_s, speed, fate, target, finish_at, final_delivered)"
            " VALUES (1, ?, ?, '{}', '12.00', 0, ?, 0, 100, 'complete', ?, ?, ?)",
            rows,
        )
    db.close()


def ms_per_add(size: int, adds: int) -> float:
    """Return the mean milliseconds of ``adds`` ``add`` calls on a book of ``size`` orders."""
    with tempfile.TemporaryDirectory() as scratch:
        db_path = Path(scratch) / "provider.sqlite3"
        provider = SandboxProvider(
            db_path=db_path, key=KEY, initial_balance=Decimal(10**12), seed=1
        )
        fill(db_path, size, time.time())
        provider.handle({"key": KEY, "action": "balance"})
        started = time.perf_counter()
        for _ in range(adds):
            answer = provider.handle(ADD)
            assert "order" in answer, answer
        return (time.perf_counter() - started) / adds * 1000


def main() -> None:
    """Run the sizes and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="0,10000,100000", help="book sizes, comma-separated")
    parser.add_argument("--adds", type=int, default=300, help="add calls timed per size")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [int(text) for text in args.sizes.split(",")]
    figures = {size: ms_per_add(size, args.adds) for size in sizes}
    empty = figures.get(0) or figures[sizes[0]]
    for size, ms in figures.items():
        print(f"{size:>9,} orders before: {ms:6.2f} ms per add   ratio to empty {ms / empty:5.2f}")
    if args.json:
        print(
            json.dumps(
                {
                    "ms_per_add": {str(k): round(v, 3) for k, v in figures.items()},
                    "ratio_to_empty": {str(k): round(v / empty, 3) for k, v in figures.items()},
                }
            )
        )


if __name__ == "__main__":
    main()
