"""Benchmark the pure ledger core (in-memory node store, no database).

Prints batched append throughput, inclusion/consistency proof latency and proof size at the
chosen tree size (default 1,000,000 leaves), checkpoint signing/verification cost and evidence
bundle verification cost. With ``--json`` the last line is one JSON object with the figures.

    .venv/bin/python bench/ledger_core.py [--leaves 1000000] [--batch 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable

from doudesk.ledger.merkle import (
    MemoryNodeStore,
    MerkleTree,
    canonical_json,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from doudesk.ledger.notes import generate_signer, open_checkpoint, sign_checkpoint
from doudesk.ledger.tiles import TileRef, read_tile
from doudesk.ledger.verify import make_bundle, verify_bundle

ORIGIN = "doudesk.example/ledger"


def percentiles(samples_s: list[float]) -> tuple[float, float, float]:
    """Return p50, p95 and max in milliseconds."""
    ms = sorted(s * 1000 for s in samples_s)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return statistics.median(ms), p95, ms[-1]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Run ``fn`` ``repeat`` times and return each duration in seconds."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print a JSON object last")
    args = parser.parse_args()
    rng = random.Random(42)
    n, batch = args.leaves, args.batch

    # Leaves shaped like order events (~170 bytes of canonical JSON); "seq" sorts last, so
    # leaf(i) stays RFC 8785 canonical without paying for a JCS call per leaf.
    template = canonical_json(
        {
            "event": "placed",
            "order": "DD000000",
            "customer": "9f" * 16,
            "quantity": 1000,
            "price_fen": 12500,
            "at": "2025-01-01T08:00:00Z",
        }
    )[:-1]

    def leaf(i: int) -> bytes:
        return template + b',"seq":%d}' % i

    assert leaf(7) == canonical_json(json.loads(leaf(7)))
    t0 = time.perf_counter()
    jcs = 20_000
    for i in range(jcs):
        canonical_json({"event": "progress", "order": f"DD{i:06d}", "delivered": i})
    jcs_per_s = jcs / (time.perf_counter() - t0)

    store = MemoryNodeStore()
    tree = MerkleTree(store)
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        end = min(n, start + batch)
        tree.append([leaf_hash(leaf(i)) for i in range(start, end)])
    append_s = time.perf_counter() - t0
    appends_per_s = n / append_s
    nodes = sum(store.count(level) for level in range(len(store.levels)))

    t0 = time.perf_counter()
    single = MerkleTree(MemoryNodeStore())
    singles = 20_000
    for i in range(singles):
        single.append([leaf_hash(b"%d" % i)])
    single_appends_per_s = singles / (time.perf_counter() - t0)

    root = tree.root()
    indexes = [rng.randrange(n) for _ in range(args.samples)]
    proofs: dict[int, list[bytes]] = {}

    def prove(i: int) -> None:
        proofs[i] = tree.inclusion_proof(i, n)

    inc_times = []
    for i in indexes:
        t = time.perf_counter()
        prove(i)
        inc_times.append(time.perf_counter() - t)
    inc_p50, inc_p95, inc_max = percentiles(inc_times)
    sizes = [len(p) for p in proofs.values()]
    ver_times = []
    for i in indexes[:500]:
        lh = leaf_hash(leaf(i))
        t = time.perf_counter()
        ok = verify_inclusion(lh, i, n, proofs[i], root)
        ver_times.append(time.perf_counter() - t)
        assert ok
    ver_p50, ver_p95, _ = percentiles(ver_times)

    # Proofs against historical (non-power-of-two) sizes, as for an older checkpoint.
    hist_times = []
    for _ in range(500):
        size = rng.randrange(1, n + 1)
        i = rng.randrange(size)
        t = time.perf_counter()
        tree.inclusion_proof(i, size)
        hist_times.append(time.perf_counter() - t)
    hist_p50, hist_p95, _ = percentiles(hist_times)

    cons_times = []
    cons_sizes = []
    for _ in range(500):
        size1 = rng.randrange(1, n)
        t = time.perf_counter()
        proof = tree.consistency_proof(size1, n)
        cons_times.append(time.perf_counter() - t)
        cons_sizes.append(len(proof))
    assert verify_consistency(size1, n, tree.root(size1), root, proof)
    cons_p50, cons_p95, _ = percentiles(cons_times)

    root_p50, root_p95, _ = percentiles(timed(lambda: tree.root(rng.randrange(1, n + 1)), 500))
    tile_p50, _, _ = percentiles(timed(lambda: read_tile(store, TileRef(0, 1234), n), 200))

    signer = generate_signer(ORIGIN)
    sign_p50, _, _ = percentiles(timed(lambda: sign_checkpoint(ORIGIN, n, root, signer), 200))
    note = sign_checkpoint(ORIGIN, n, root, signer)
    open_p50, _, _ = percentiles(timed(lambda: open_checkpoint(note, signer.verifier), 200))
    leaves = [(i, leaf(i), proofs[i]) for i in indexes[:5]]
    bundle = make_bundle(ORIGIN, note, n, root, leaves)
    assert verify_bundle(bundle, signer.verifier_key).ok
    bundle_p50, _, _ = percentiles(timed(lambda: verify_bundle(bundle, signer.verifier_key), 50))

    figures = {
        "leaves": n,
        "batch": batch,
        "appends_per_s_memory": round(appends_per_s),
        "single_appends_per_s_memory": round(single_appends_per_s),
        "append_total_s": round(append_s, 2),
        "nodes_stored": nodes,
        "store_mb": round(nodes * 32 / 1e6, 1),
        "canonical_json_per_s": round(jcs_per_s),
        "proof_p50_ms": round(inc_p50, 4),
        "proof_p95_ms": round(inc_p95, 4),
        "proof_max_ms": round(inc_max, 4),
        "proof_size_hashes_max": max(sizes),
        "proof_size_hashes_mean": round(statistics.mean(sizes), 2),
        "proof_size_bytes_max": max(sizes) * 32,
        "historical_proof_p95_ms": round(hist_p95, 4),
        "historical_proof_p50_ms": round(hist_p50, 4),
        "verify_inclusion_p50_ms": round(ver_p50, 4),
        "verify_inclusion_p95_ms": round(ver_p95, 4),
        "consistency_proof_p50_ms": round(cons_p50, 4),
        "consistency_proof_p95_ms": round(cons_p95, 4),
        "consistency_proof_hashes_max": max(cons_sizes),
        "historical_root_p50_ms": round(root_p50, 4),
        "historical_root_p95_ms": round(root_p95, 4),
        "tile_read_p50_ms": round(tile_p50, 4),
        "checkpoint_sign_p50_ms": round(sign_p50, 4),
        "checkpoint_open_p50_ms": round(open_p50, 4),
        "bundle_verify_5_entries_p50_ms": round(bundle_p50, 4),
    }
    print(f"ledger core (in-memory), {n:,} leaves in batches of {batch:,}")
    print(f"  batched appends      {appends_per_s:>12,.0f} /s   ({append_s:.2f} s total)")
    print(f"  single appends       {single_appends_per_s:>12,.0f} /s")
    print(f"  stored nodes         {nodes:>12,}      ({nodes * 32 / 1e6:.1f} MB of hashes)")
    print(f"  canonical JSON       {jcs_per_s:>12,.0f} /s")
    print(
        f"  inclusion proof      p50 {inc_p50:.3f} ms  p95 {inc_p95:.3f} ms  max {inc_max:.3f} ms"
    )
    print(f"    at older sizes     p50 {hist_p50:.3f} ms  p95 {hist_p95:.3f} ms")
    print(f"  proof size           max {max(sizes)} hashes ({max(sizes) * 32} bytes)")
    print(f"  verify inclusion     p50 {ver_p50:.3f} ms  p95 {ver_p95:.3f} ms")
    print(f"  consistency proof    p50 {cons_p50:.3f} ms  p95 {cons_p95:.3f} ms")
    print(f"  root at older size   p50 {root_p50:.3f} ms  p95 {root_p95:.3f} ms")
    print(f"  read a full tile     p50 {tile_p50:.3f} ms")
    print(f"  sign / open note     {sign_p50:.3f} ms / {open_p50:.3f} ms")
    print(f"  verify 5-entry bundle p50 {bundle_p50:.3f} ms")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
