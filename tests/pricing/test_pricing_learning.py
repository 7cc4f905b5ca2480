"""Demand learning: step limit, kill switch, capacity LP, reasons, state and determinism."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pricing_helpers import T0, make_config, market

from doudesk.errors import DomainError
from doudesk.pricing import engine


def _train(state: engine.ModuleState, config: engine.PricingConfig, inputs, hours: int) -> None:
    """Publish hourly and show a few quotes per hour; buyers buy below 16 yuan."""
    for h in range(hours):
        now = T0 + timedelta(hours=h)
        engine.publish(state, config, inputs, now)
        for i in range(3):
            q = engine.quote(state, config, inputs, quantity=1000, customer_id=f"c{i}", now=now)
            engine.observe_quote(state, config, q)
            if q.unit_rate < Decimal("16") and i < 2:
                engine.observe_order(state, config, q, now)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 1_000),
    step=st.sampled_from([Decimal("0.02"), Decimal("0.05"), Decimal("0.1")]),
    gaps=st.lists(st.integers(1, 120), min_size=2, max_size=8),
)
def test_price_moves_at_most_the_step_per_hour(seed: int, step: Decimal, gaps: list[int]) -> None:
    config = make_config(step_per_hour=step, seed=seed)
    inputs = market("10", "30")
    state = engine.new_state("m", T0)
    now = T0
    engine.publish(state, config, inputs, now)
    for minutes in gaps:
        old = state.price
        assert old is not None
        now += timedelta(minutes=minutes)
        change = engine.publish(state, config, inputs, now)
        assert change.new_price is not None
        assert change.reason_en
        assert change.reason_zh
        allowed = old * step * Decimal(minutes) / Decimal(60)
        assert abs(change.new_price - old) <= allowed + engine.RATE_QUANTUM
        q = engine.quote(state, config, inputs, quantity=1000, customer_id="c", now=now)
        engine.observe_quote(state, config, q)


def test_a_lower_market_ceiling_overrides_the_step_limit() -> None:
    config = make_config(step_per_hour=Decimal("0.01"))
    state = engine.new_state("m", T0)
    engine.publish(state, config, market("10", "30"), T0)
    assert state.price is not None
    assert state.price > Decimal("12")
    change = engine.publish(state, config, market("10", "12"), T0 + timedelta(hours=1))
    assert change.new_price == Decimal("12.0000")
    assert change.code == "ceiling"
    assert "ceiling" in change.reason_en


def test_kill_switch_uses_static_markup_at_once() -> None:
    config = make_config(step_per_hour=Decimal("0.01"))
    state = engine.new_state("m", T0)
    _train(state, config, market("10", "30"), 5)
    killed = make_config(kill_switch=True, static_markup=Decimal("0.3"))
    change = engine.publish(state, killed, market("10", "30"), T0 + timedelta(hours=5))
    assert change.code == "kill_switch"
    assert change.new_price == Decimal("13.0000")
    assert "static markup" in change.reason_en
    assert change.reason_zh


def test_kill_switch_is_still_clamped_to_the_ceiling() -> None:
    killed = make_config(kill_switch=True, static_markup=Decimal("1.5"))
    state = engine.new_state("m", T0)
    change = engine.publish(state, killed, market("10", "20"), T0)
    assert change.new_price == Decimal("20.0000")


def test_learning_moves_towards_the_price_buyers_accept() -> None:
    config = make_config(step_per_hour=Decimal("0.2"))
    state = engine.new_state("m", T0)
    _train(state, config, market("10", "30"), 120)
    assert state.price is not None
    assert Decimal("12") <= state.price <= Decimal("18.5")
    assert sum(state.trials) > 0
    assert sum(state.successes) > 0


def test_every_automatic_change_has_a_reason() -> None:
    config = make_config()
    state = engine.new_state("m", T0)
    inputs = market("10", "30")
    changes = []
    for h in range(30):
        changes.append(engine.publish(state, config, inputs, T0 + timedelta(hours=h)))
    moved = [c for c in changes if c.changed]
    assert moved
    assert all(c.reason_en and c.reason_zh and c.code for c in moved)


def test_state_round_trips_through_json_and_is_deterministic() -> None:
    config = make_config(seed=3)
    inputs = market("10", "30", capacity=50_000)
    a = engine.new_state("m", T0)
    _train(a, config, inputs, 24)
    b = engine.ModuleState.from_dict(json.loads(json.dumps(a.to_dict())))
    assert b == a
    c = engine.new_state("m", T0)
    _train(c, config, inputs, 24)
    assert c == a
    later = T0 + timedelta(hours=24)
    assert engine.publish(a, config, inputs, later) == engine.publish(b, config, inputs, later)
    assert a == b


@settings(max_examples=60, deadline=None)
@given(
    conv=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=10),
    margins=st.lists(st.floats(-1.0, 50.0), min_size=10, max_size=10),
    units=st.floats(1.0, 10_000.0),
    capacity=st.floats(0.0, 5_000.0),
)
def test_capacity_lp_respects_capacity(
    conv: list[float], margins: list[float], units: float, capacity: float
) -> None:
    conv = sorted(conv, reverse=True)
    margin = sorted(margins[: len(conv)])
    x = engine.solve_capacity_lp(conv, margin, units, capacity)
    assert len(x) == len(conv)
    assert all(v >= 0 for v in x)
    assert sum(x) <= 1 + 1e-7
    assert sum(v * c * units for v, c in zip(x, conv, strict=True)) <= capacity + 1e-6
    # Any single point that fits the capacity earns no more than the LP.
    value = sum(v * c * m for v, c, m in zip(x, conv, margin, strict=True))
    for c, m in zip(conv, margin, strict=True):
        if c * units <= capacity:
            assert c * m <= value + 1e-6


def test_capacity_lp_mixes_prices_when_capacity_binds() -> None:
    x = engine.solve_capacity_lp([0.8, 0.5, 0.2], [1.0, 2.0, 3.0], 1000.0, 400.0)
    used = sum(v * c * 1000 for v, c in zip(x, [0.8, 0.5, 0.2], strict=True))
    assert used == pytest.approx(400.0)
    assert x[0] == pytest.approx(0.0, abs=1e-9)


def test_isotonic_projection_gives_way_where_data_is_thin() -> None:
    out = engine.isotonic_decreasing([0.5, 0.3, 0.6], [100.0, 100.0, 2.0])
    assert out[0] == 0.5
    assert out[1] == out[2]
    assert out[1] == pytest.approx(0.3058, abs=1e-3)
    assert engine.isotonic_decreasing([0.9, 0.4, 0.1], [1, 1, 1]) == [0.9, 0.4, 0.1]


def test_daily_capacity_refuses_quotes_beyond_it_and_resets_next_day() -> None:
    config = make_config()
    inputs = market("10", "30", capacity=3_000)
    state = engine.new_state("m", T0)
    engine.publish(state, config, inputs, T0)
    q = engine.quote(state, config, inputs, quantity=2_500, customer_id="c", now=T0)
    engine.observe_quote(state, config, q)
    engine.observe_order(state, config, q, T0)
    with pytest.raises(DomainError) as info:
        engine.quote(state, config, inputs, quantity=1_000, customer_id="c", now=T0)
    assert info.value.errors[0].code == "capacity_exhausted"
    tomorrow = T0 + timedelta(days=1)
    engine.publish(state, config, inputs, tomorrow)
    assert engine.quote(state, config, inputs, quantity=1_000, customer_id="c", now=tomorrow)


def test_lp_keeps_expected_sales_within_capacity_when_demand_is_high() -> None:
    config = make_config(step_per_hour=Decimal("1"))
    inputs = market("10", "30", capacity=4_000)
    state = engine.new_state("m", T0)
    # Everyone buys at every price: the LP must ration capacity with the highest price.
    for h in range(48):
        now = T0 + timedelta(hours=h)
        engine.publish(state, config, inputs, now)
        for i in range(2):
            try:
                q = engine.quote(state, config, inputs, quantity=1000, customer_id=f"c{i}", now=now)
            except DomainError:
                continue
            engine.observe_quote(state, config, q)
            engine.observe_order(state, config, q, now)
    assert state.price is not None
    assert state.price >= Decimal("26")
