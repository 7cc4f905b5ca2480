"""The market simulator: hidden demand, drifting references, capacity, and a short run."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from doudesk.pricing import simulator
from doudesk.pricing.engine import PricingConfig


def _market() -> simulator.Market:
    return simulator.Market(n_modules=3, n_customers=300, days=3, seed=11, capacity_share=0.5)


def test_hidden_demand_falls_with_price() -> None:
    market = _market()
    for module in market.modules:
        probs = [simulator.buy_probability(module, module.cost * k) for k in (1, 1.5, 2, 3)]
        assert probs == sorted(probs, reverse=True)


def test_reference_prices_drift_and_expire() -> None:
    market = simulator.Market(n_modules=2, n_customers=10, days=20, seed=5)
    lows = [market.lowest_reference(0, market.start + timedelta(days=d)) for d in range(20)]
    assert len({low for low in lows if low is not None}) > 3
    for d in range(20):
        now = market.start + timedelta(days=d, hours=5)
        assert all(r.expires_at > now for r in market.references(0, now))


def test_short_run_never_breaks_the_bounds_and_beats_static_markup() -> None:
    market = _market()
    config = PricingConfig(quality=simulator.QUALITY_BAR, seed=1)
    engine_run = simulator.run(market, simulator.EnginePolicy(market, config))
    static = simulator.run(
        market, simulator.EnginePolicy(market, replace(config, kill_switch=True), "static")
    )
    oracle = simulator.run(market, simulator.OraclePolicy(market, config))
    for result in (engine_run, static, oracle):
        assert result.ceiling_violations == 0
        assert result.floor_violations == 0
        assert result.quotes > 0
    assert oracle.profit >= static.profit
    assert engine_run.profit > static.profit
