"""Benchmark of intelligent matching: need understanding + three optimal plans.

Generates a catalogue of 10,000 provider offers and 1,000 written needs (half Chinese, half
English), then measures the in-process latency of a full plan request (understanding + the
three solves) and the mean objective gain of the balanced plan over a greedy best-ratio
baseline on the same needs. With ``--url`` it also times ``POST /api/v1/plans`` over HTTP
against a running server; with ``--start`` it launches ``doudesk serve`` itself on a free
port with a temporary ``DOUDESK_DATA_DIR`` (the seeded sandbox catalogue), creates a demo
account with ``doudesk demo-account``, times the requests and stops the server.

Usage::

    python bench/matching.py [--offers 10000] [--needs 1000] [--seed 7] [--json]
                             [--url http://127.0.0.1:8000 --api-key KEY | --start]
                             [--http-needs 200]

With ``--json`` the last line is one JSON object with the keys ``p50_ms``, ``p95_ms``,
``p99_ms``, ``http_p95_ms`` (null without ``--url``) and ``gain_over_greedy``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from doudesk.errors import DomainError  # noqa: E402
from doudesk.matching.lexicon import get_lexicon  # noqa: E402
from doudesk.matching.offers import Audience, Catalogue, Offer  # noqa: E402
from doudesk.matching.optimizer import greedy_plan, optimise, plan_value  # noqa: E402
from doudesk.matching.understand import understand, warm_up  # noqa: E402

NOW = datetime(2025, 6, 4, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

# kind: (share of offers, rate fen/1000 range, min choices, step choices, max range,
#        hours per 1000 range, start hours range)
KIND_SPECS: dict[
    str,
    tuple[
        float,
        tuple[int, int],
        list[int],
        list[int],
        tuple[int, int],
        tuple[float, float],
        tuple[float, float],
    ],
] = {
    "plays": (
        0.20,
        (120, 600),
        [100, 500, 1000],
        [1, 10, 100],
        (100_000, 5_000_000),
        (0.05, 1.5),
        (0, 6),
    ),
    "likes": (0.14, (900, 3500), [10, 50, 100], [1, 10], (10_000, 500_000), (0.5, 6), (0, 12)),
    "comments": (0.08, (15_000, 60_000), [5, 10], [1, 5], (1_000, 20_000), (5, 40), (1, 24)),
    "shares": (0.07, (2_500, 10_000), [10, 50], [1, 10], (5_000, 100_000), (1, 10), (0, 12)),
    "followers": (
        0.20,
        (3_500, 12_000),
        [50, 100, 500],
        [1, 10, 50],
        (10_000, 200_000),
        (3, 30),
        (1, 24),
    ),
    "live_viewers": (
        0.10,
        (2_500, 9_000),
        [50, 100],
        [1, 10, 50],
        (5_000, 100_000),
        (0.5, 4),
        (0, 6),
    ),
    "lbs": (0.12, (400, 1_500), [500, 1000], [10, 100], (50_000, 2_000_000), (0.2, 3), (2, 24)),
    "video_edit": (0.05, (8_000_000, 30_000_000), [1], [1], (3, 30), (20_000, 72_000), (0, 24)),
    "report": (0.04, (3_000_000, 12_000_000), [1], [1], (1, 5), (10_000, 48_000), (0, 12)),
}
ZH_INTENT = {
    "followers": ["涨粉", "粉丝"],
    "plays": ["播放", "播放量"],
    "likes": ["点赞", "赞"],
    "comments": ["评论"],
    "shares": ["转发"],
    "live_viewers": ["直播间人气"],
    "lbs": ["同城曝光"],
    "content": ["视频剪辑"],
    "report": ["数据报告"],
}
EN_INTENT = {
    "followers": ["followers"],
    "plays": ["plays", "views"],
    "likes": ["likes"],
    "comments": ["comments"],
    "shares": ["shares"],
    "live_viewers": ["live room viewers"],
    "lbs": ["local exposure"],
    "content": ["video editing"],
    "report": ["data report"],
}


def make_catalogue(n: int, rng: random.Random) -> list[Offer]:
    """Generate ``n`` provider offers across all kinds."""
    lex = get_lexicon()
    kinds = list(KIND_SPECS)
    shares = [KIND_SPECS[k][0] for k in kinds]
    regions = list(lex.slugs["regions"])
    interests = list(lex.slugs["interests"])
    offers = []
    for i in range(n):
        kind = rng.choices(kinds, shares)[0]
        _, (r0, r1), mins, steps, (m0, m1), (h0, h1), (s0, s1) = KIND_SPECS[kind]
        qmin = rng.choice(mins)
        step = rng.choice(steps)
        qmax = max(qmin, int(rng.uniform(m0, m1)))
        aud = Audience(
            genders=frozenset({"*"}) if rng.random() < 0.5 else frozenset(),
            ages=frozenset({"*"}) if rng.random() < 0.35 else frozenset(),
            regions=(
                frozenset({"*"})
                if rng.random() < 0.2
                else frozenset(rng.sample(regions, rng.randint(3, 12)))
                if rng.random() < 0.4
                else frozenset()
            ),
            interests=frozenset(rng.sample(interests, rng.randint(2, 8)))
            if rng.random() < 0.3
            else frozenset(),
        )
        label_zh, label_en = lex.kind_labels[kind]
        offers.append(
            Offer(
                service_id=i + 1,
                kind=kind,
                name_zh=f"{label_zh}·渠道{i % 97}",
                name_en=f"{label_en} · route {i % 97}",
                rate_fen_per_1000=rng.randint(r0, r1),
                min_qty=qmin,
                max_qty=qmax,
                step=step,
                hours_per_1000=round(rng.uniform(h0, h1), 2),
                start_hours=round(rng.uniform(s0, s1), 1),
                audience=aud,
                channel=f"provider-{i % 23}",
            )
        )
    return offers


def make_needs(n: int, rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """Generate ``n`` written needs (alternating Chinese and English) and structured fields."""
    lex = get_lexicon()
    intents = list(ZH_INTENT)
    cities_zh = [(lex.slug_labels["regions"][s][0], s) for s in lex.slugs["regions"][:12]]
    needs: list[tuple[str, dict[str, Any]]] = []
    for i in range(n):
        zh = i % 2 == 0
        picked = rng.sample(intents, rng.choice([1, 1, 2, 2, 3]))
        budget = rng.choice([50, 100, 200, 300, 500, 800, 1000, 2000, 5000, 20000])
        parts: list[str] = []
        for intent in picked:
            word = rng.choice((ZH_INTENT if zh else EN_INTENT)[intent])
            if rng.random() < 0.35 and intent not in ("content", "report"):
                qty = rng.choice([500, 1000, 2000, 5000, 10000, 20000])
                parts.append(f"{qty}{word}" if zh else f"{qty:,} {word}")
            else:
                parts.append(f"{'想要' if zh else 'more '}{word}")
        fields: dict[str, Any] = {}
        if zh:
            text = "，".join(parts)
            r = rng.random()
            if r < 0.3:
                text += f"，预算{budget}元"
            elif r < 0.5:
                text += f"，预算{_cn(budget)}元"
            elif r < 0.65:
                text += f"，每天{max(5, budget // 30)}元，做一个月"
            else:
                fields["budget"] = budget
            if rng.random() < 0.4:
                text += rng.choice(["，三天内", "，一周内见效", "，48小时内完成", "，下周一前"])
            if rng.random() < 0.25:
                city, _ = rng.choice(cities_zh)
                text += f"，{city}本地"
        else:
            text = "I want " + " and ".join(parts)
            r = rng.random()
            if r < 0.5:
                text += f", budget ¥{budget}"
            elif r < 0.65:
                text += f", ¥{max(5, budget // 30)} a day for a month"
            else:
                fields["budget"] = budget
            if rng.random() < 0.4:
                text += rng.choice([" within 3 days", " in a week", " by friday", " within 48h"])
            if rng.random() < 0.2:
                text += " for women aged 18-30"
        needs.append((text, fields))
    return needs


def _cn(n: int) -> str:
    import cn2an

    return str(cn2an.an2cn(n))


def percentile(values: list[float], p: float) -> float:
    """Return the ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def http_p95(url: str, api_key: str | None, needs: list[tuple[str, dict[str, Any]]]) -> float:
    """POST each need to ``{url}/api/v1/plans``; return the p95 latency in ms."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    times: list[float] = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for text, fields in needs:
            t0 = time.perf_counter()
            status = client.post("/api/v1/plans", json={"need": text, **fields}).status_code
            times.append((time.perf_counter() - t0) * 1000)
            if status == 401 or status >= 500:
                raise RuntimeError(f"POST /api/v1/plans answered {status}")
    return percentile(times, 95)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def started_server(timeout: float = 120.0) -> Iterator[tuple[str, str]]:
    """Run ``doudesk serve`` on a free port with a temporary data dir; yield (url, api key)."""
    import httpx

    root = Path(__file__).resolve().parents[1]
    exe = root / ".venv" / "bin" / "doudesk"
    with tempfile.TemporaryDirectory(prefix="doudesk-bench-") as data:
        env = {**os.environ, "DOUDESK_DATA_DIR": data}
        env.pop("DATABASE_URL", None)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError("doudesk serve exited early")
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("doudesk serve did not become healthy")
                time.sleep(0.5)
            out = subprocess.run(
                [str(exe), "demo-account", "--balance", "10000"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            key = json.loads(out.strip().splitlines()[-1])["api_key"]
            yield url, key
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def main() -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offers", type=int, default=10_000)
    ap.add_argument("--needs", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--url", default=None)
    ap.add_argument("--api-key", default=None)
    ap.add_argument("--start", action="store_true", help="launch doudesk serve for --url")
    ap.add_argument("--http-needs", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    offers = make_catalogue(args.offers, rng)
    catalogue = Catalogue(offers)
    build_ms = (time.perf_counter() - t0) * 1000
    needs = make_needs(args.needs, rng)
    warm_up()

    latencies: list[float] = []
    gains: list[float] = []
    refused = 0
    plan_counts = [0, 0, 0, 0]
    for text, fields in needs:
        t1 = time.perf_counter()
        try:
            need = understand(text, now=NOW, **fields)
            plans = optimise(need, catalogue)
        except DomainError:
            latencies.append((time.perf_counter() - t1) * 1000)
            refused += 1
            continue
        latencies.append((time.perf_counter() - t1) * 1000)
        plan_counts[len(plans)] += 1
        best = next(p for p in plans if p.key == "balanced")
        greedy = plan_value(need, greedy_plan(need, catalogue))
        if greedy > 0:
            gains.append(best.value / greedy - 1.0)

    http_ms: float | None = None
    if args.start:
        with started_server() as (url, key):
            http_ms = http_p95(url, key, needs[: args.http_needs])
    elif args.url:
        http_ms = http_p95(args.url, args.api_key, needs[: args.http_needs])
    result = {
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "http_p95_ms": None if http_ms is None else round(http_ms, 2),
        "gain_over_greedy": round(statistics.fmean(gains), 4) if gains else None,
    }
    print(f"catalogue: {len(offers):,} offers (built in {build_ms:.0f} ms); needs: {len(needs):,}")
    print(f"refused (field errors): {refused}; plans per answer 1/2/3: {plan_counts[1:]}")
    print(
        f"in-process latency (understanding + three solves): p50 {result['p50_ms']} ms, "
        f"p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, max {max(latencies):.1f} ms"
    )
    print(
        f"HTTP p95 (POST /api/v1/plans, seeded catalogue, {args.http_needs} needs): "
        f"{result['http_p95_ms']} ms"
        if http_ms is not None
        else "HTTP p95: not measured (no --url or --start)"
    )
    if gains:
        print(
            f"objective gain of the balanced plan over greedy best-ratio: mean "
            f"{statistics.fmean(gains):+.2%}, median {statistics.median(gains):+.2%}, "
            f"max {max(gains):+.2%} over {len(gains)} needs"
        )
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
