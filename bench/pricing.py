"""Benchmark the price engine against static markup and an oracle on the simulated market.

10,000 customers over 30 simulated days for 20 modules (defaults). Prints the profit of (a) static
cost-plus markup (the engine's kill switch), (b) the engine, (c) the oracle that knows the hidden
demand curves; the ratios b/c and b/a; the growth exponent of the engine's cumulative expected
regret against the oracle (slope of log regret on log customers); and the ceiling violations.
For context it also sweeps a few static markups and reports the engine against the best of them.
With ``--json`` the last line is one JSON object with keys ``engine_over_oracle``,
``engine_over_static``, ``regret_exponent``, ``ceiling_violations`` (and a few more).

Usage: ``.venv/bin/python bench/pricing.py [--json] [--seed N] [--customers N] [--days N]``
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from decimal import Decimal

import numpy as np

from doudesk.pricing.engine import PricingConfig
from doudesk.pricing.simulator import (
    QUALITY_BAR,
    EnginePolicy,
    Market,
    OraclePolicy,
    RunResult,
    run,
)


def regret_exponent(oracle: list[float], policy: list[float]) -> tuple[float, list[float]]:
    """Fit log cumulative regret against log t over log-spaced t; return (slope, curve)."""
    regret = np.cumsum(np.array(oracle) - np.array(policy))
    n = len(regret)
    ts = np.unique(np.geomspace(max(n // 100, 10), n, 30).astype(int))
    values = regret[ts - 1]
    keep = values > 0
    if keep.sum() < 3:
        return 0.0, regret.tolist()
    slope = float(np.polyfit(np.log(ts[keep]), np.log(values[keep]), 1)[0])
    return slope, regret.tolist()


def main() -> None:
    """Run the three policies and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--modules", type=int, default=20)
    parser.add_argument(
        "--wtp-range",
        type=float,
        nargs=2,
        default=(0.8, 1.2),
        metavar=("LOW", "HIGH"),
        help="willingness to pay as multiples of the reference level (sensitivity runs)",
    )
    args = parser.parse_args()

    config = PricingConfig(quality=QUALITY_BAR, seed=args.seed)
    started = time.perf_counter()
    market = Market(
        n_modules=args.modules,
        n_customers=args.customers,
        days=args.days,
        seed=args.seed,
        wtp_range=tuple(args.wtp_range),
        config=config,
    )
    static = run(market, EnginePolicy(market, replace(config, kill_switch=True), "static"))
    engine_policy = EnginePolicy(market, config)
    eng = run(market, engine_policy)
    oracle = run(market, OraclePolicy(market, config))
    # Context for b/a: the best static markup in hindsight (not a policy anyone could pick ahead).
    sweep = {
        markup: run(
            market,
            EnginePolicy(
                market, replace(config, kill_switch=True, static_markup=Decimal(markup)), markup
            ),
        ).profit
        for markup in ("0.5", "0.7", "1.0")
    }
    sweep[str(config.static_markup)] = static.profit
    best_markup = max(sweep, key=lambda k: sweep[k])
    elapsed = time.perf_counter() - started

    exponent, curve = regret_exponent(oracle.expected_profit, eng.expected_profit)
    results: list[RunResult] = [static, eng, oracle]
    for r in results:
        print(
            f"{r.name:>7}: profit {r.profit:12.2f} yuan  revenue {r.revenue:12.2f}  "
            f"orders {r.orders:5d}/{r.quotes:5d} quotes  lost to capacity {r.lost_to_capacity:3d}  "
            f"ceiling violations {r.ceiling_violations}  floor violations {r.floor_violations}"
        )
    over_oracle = eng.profit / oracle.profit
    over_static = eng.profit / static.profit
    expected_over_oracle = sum(eng.expected_profit) / sum(oracle.expected_profit)
    print(
        f"engine/oracle (b/c): {over_oracle:.4f}   "
        f"(expected-profit basis {expected_over_oracle:.4f})"
    )
    print(f"engine/static (b/a): {over_static:.4f}   (static markup {config.static_markup})")
    print(
        "static markup sweep: "
        + ", ".join(f"{k}: {v:.0f}" for k, v in sorted(sweep.items()))
        + f"; engine / best static in hindsight ({best_markup}): "
        f"{eng.profit / sweep[best_markup]:.4f}"
    )
    n = len(curve)
    marks = [n // 10, n // 4, n // 2, n - 1]
    print(
        "cumulative expected regret: "
        + ", ".join(f"t={t + 1}: {curve[t]:.0f}" for t in marks)
        + f"; growth exponent {exponent:.3f}"
    )
    violations = eng.ceiling_violations + static.ceiling_violations + oracle.ceiling_violations
    print(
        f"ceiling violations (all policies): {violations}; automatic price changes logged: "
        f"{len(engine_policy.changes)}; wall time {elapsed:.1f} s"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "engine_over_oracle": round(over_oracle, 4),
                    "engine_over_static": round(over_static, 4),
                    "regret_exponent": round(exponent, 4),
                    "ceiling_violations": eng.ceiling_violations,
                    "ceiling_violations_all_policies": violations,
                    "floor_violations": eng.floor_violations,
                    "profit_static": round(static.profit, 2),
                    "profit_engine": round(eng.profit, 2),
                    "profit_oracle": round(oracle.profit, 2),
                    "engine_over_oracle_expected": round(expected_over_oracle, 4),
                    "engine_over_best_static": round(eng.profit / sweep[best_markup], 4),
                    "seconds": round(elapsed, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
