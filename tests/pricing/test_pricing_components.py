"""Price components: cost selection, floor, ceiling, tiers and the never-violated bounds."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pricing_helpers import T0, make_config, market, offer, reference

from doudesk.errors import DomainError
from doudesk.pricing import engine
from doudesk.pricing.engine import MarketInputs, ProviderOffer, ReferencePrice


def test_cost_is_the_cheapest_offer_meeting_the_quality_bar() -> None:
    config = make_config()
    offers = (
        ProviderOffer("flaky", Decimal("5"), 0.7, 12.0),
        ProviderOffer("slow", Decimal("6"), 0.99, 96.0),
        ProviderOffer("good", Decimal("9"), 0.95, 24.0),
        ProviderOffer("dear", Decimal("12"), 0.99, 6.0),
    )
    comps = engine.components(config, MarketInputs(offers, (reference("20"),)), 1000, T0)
    assert comps.offer is not None
    assert comps.offer.provider_id == "good"
    assert comps.cost == Decimal("9")
    assert comps.floor == Decimal("9.4500")
    assert comps.ceiling == Decimal("20.0000")


def test_ceiling_is_the_lowest_unexpired_reference() -> None:
    refs = (
        reference("18", source="a"),
        reference("15", source="b", days=1),
        ReferencePrice("c", Decimal("25"), T0, T0 + timedelta(days=9)),
    )
    inputs = MarketInputs((offer("10"),), refs)
    assert engine.components(make_config(), inputs, 1000, T0).ceiling == Decimal("15")
    later = T0 + timedelta(days=1)
    assert engine.components(make_config(), inputs, 1000, later).ceiling == Decimal("18")


def test_without_reference_the_operator_cap_bounds_the_price() -> None:
    config = make_config(max_markup_without_reference=Decimal("0.5"))
    comps = engine.components(config, MarketInputs((offer("10"),), ()), 1000, T0)
    assert comps.ceiling == Decimal("15.0000")
    assert comps.ceiling_source == "max_markup"


def test_floor_above_ceiling_is_unavailable_with_a_reason() -> None:
    config = make_config()
    inputs = market("10", "10.2")
    comps = engine.components(config, inputs, 1000, T0)
    assert not comps.available
    assert comps.reason_code == "floor_above_ceiling"
    state = engine.new_state("m", T0)
    change = engine.publish(state, config, inputs, T0)
    assert change.code == "unavailable"
    assert change.new_price is None
    assert change.reason_en
    with pytest.raises(DomainError) as info:
        engine.quote(state, config, inputs, quantity=1000, customer_id="c", now=T0)
    assert info.value.errors[0].code == "floor_above_ceiling"
    assert info.value.errors[0].message_zh
    assert info.value.errors[0].message_en


def test_unavailable_only_at_quantities_whose_reference_is_below_the_floor() -> None:
    config = make_config()
    refs = (
        reference("20", source="small"),
        ReferencePrice("bulk", Decimal("10.1"), T0, T0 + timedelta(days=7), min_quantity=10_000),
    )
    inputs = MarketInputs((offer("10"),), refs)
    state = engine.new_state("m", T0)
    engine.publish(state, config, inputs, T0)
    q = engine.quote(state, config, inputs, quantity=2000, customer_id="c", now=T0)
    assert q.unit_rate <= Decimal("20")
    with pytest.raises(DomainError):
        engine.quote(state, config, inputs, quantity=10_000, customer_id="c", now=T0)
    rows = engine.tier_prices(state, config, inputs, T0)
    assert [r.available for r in rows] == [True, True, False]


def test_volume_tiers_are_cheaper_per_thousand() -> None:
    config = make_config()
    inputs = market("10", "30")
    state = engine.new_state("m", T0)
    engine.publish(state, config, inputs, T0)
    rates = [
        engine.quote(state, config, inputs, quantity=q, customer_id="c", now=T0).unit_rate
        for q in (1000, 5000, 20_000)
    ]
    assert rates[0] > rates[1] > rates[2]


def test_total_is_rounded_half_up_once_to_the_fen() -> None:
    assert engine.total_fen(Decimal("1.2345"), 1000) == 123  # 123.45 fen
    assert engine.total_fen(Decimal("0.0050"), 1000) == 1  # 0.5 fen rounds up
    assert engine.total_fen(Decimal("0.0049"), 1000) == 0
    assert engine.total_fen(Decimal("12.5000"), 1500) == 1875


rates = st.decimals(min_value="0.05", max_value="200", places=4)


@settings(max_examples=60, deadline=None)
@given(
    cost=rates,
    refs=st.lists(st.tuples(rates, st.integers(0, 72)), min_size=0, max_size=4),
    margin=st.decimals(min_value="0", max_value="0.5", places=2),
    markup=st.decimals(min_value="0", max_value="2", places=2),
    kill=st.booleans(),
    outcomes=st.lists(st.tuples(st.integers(1, 50_000), st.booleans()), max_size=40),
    hours=st.lists(st.integers(0, 5), min_size=1, max_size=6),
    seed=st.integers(0, 10_000),
)
def test_floor_and_ceiling_are_never_violated(
    cost: Decimal,
    refs: list[tuple[Decimal, int]],
    margin: Decimal,
    markup: Decimal,
    kill: bool,
    outcomes: list[tuple[int, bool]],
    hours: list[int],
    seed: int,
) -> None:
    config = make_config(min_margin=margin, static_markup=markup, kill_switch=kill, seed=seed)
    references = tuple(
        ReferencePrice(f"s{i}", r, T0, T0 + timedelta(hours=h)) for i, (r, h) in enumerate(refs)
    )
    inputs = MarketInputs((offer(str(cost)),), references)
    state = engine.new_state("m", T0)
    now = T0
    it = iter(outcomes)
    for step in hours:
        now += timedelta(hours=step)
        change = engine.publish(state, config, inputs, now)
        comps = engine.components(config, inputs, config.base_quantity, now)
        if change.new_price is not None:
            assert comps.floor is not None
            assert comps.ceiling is not None
            assert comps.floor <= change.new_price <= comps.ceiling
        for quantity, bought in [next(it, (1000, False)) for _ in range(5)]:
            comps = engine.components(config, inputs, quantity, now)
            try:
                q = engine.quote(state, config, inputs, quantity=quantity, customer_id="c", now=now)
            except DomainError:
                refused = True
            else:
                refused = False
            if refused:
                assert state.price is None or not comps.available
                continue
            assert comps.available
            assert comps.floor is not None
            assert comps.ceiling is not None
            assert cost <= comps.floor <= q.unit_rate <= comps.ceiling
            valid = [r.rate for r in references if r.applies(quantity, now)]
            assert all(q.unit_rate <= r for r in valid)
            assert q.total_fen == engine.total_fen(q.unit_rate, quantity)
            engine.observe_quote(state, config, q)
            if bought:
                engine.observe_order(state, config, q, now)
