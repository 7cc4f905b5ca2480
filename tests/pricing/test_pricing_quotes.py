"""Quote rules: ten-minute expiry, one quote per order, owner only, fixed charge."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import timedelta

import pytest
from pricing_helpers import T0, make_config, market

from doudesk.errors import DomainError
from doudesk.pricing import engine


def _quote(**kwargs: object) -> engine.Quote:
    config = make_config()
    inputs = market()
    state = engine.new_state("m", T0)
    engine.publish(state, config, inputs, T0)
    return engine.quote(state, config, inputs, quantity=1500, customer_id="alice", now=T0)


def _code(**kwargs: object) -> str:
    q = kwargs.pop("q")
    with pytest.raises(DomainError) as info:
        engine.validate_quote(q, **kwargs)  # type: ignore[arg-type]
    error = info.value.errors[0]
    assert error.field == "quote_id"
    assert error.message_zh
    assert error.message_en
    return error.code


def test_quote_expires_ten_minutes_after_it_was_made() -> None:
    q = _quote()
    assert q.expires_at == T0 + timedelta(minutes=10)
    almost = T0 + timedelta(minutes=10) - timedelta(microseconds=1)
    assert engine.is_valid(q, now=almost, customer_id="alice")
    assert not engine.is_valid(q, now=q.expires_at, customer_id="alice")
    assert _code(q=q, now=q.expires_at, customer_id="alice") == "quote_expired"


def test_foreign_quote_is_refused() -> None:
    q = _quote()
    assert _code(q=q, now=T0, customer_id="mallory") == "quote_foreign"


def test_a_quote_pays_for_one_order_only() -> None:
    q = _quote()
    assert engine.is_valid(q, now=T0, customer_id="alice", used=False)
    assert _code(q=q, now=T0, customer_id="alice", used=True) == "quote_used"


def test_quote_must_match_the_orders_module_and_quantity() -> None:
    q = _quote()
    assert engine.is_valid(q, now=T0, customer_id="alice", module_id="m", quantity=1500)
    assert _code(q=q, now=T0, customer_id="alice", quantity=1600) == "quote_mismatch"
    assert _code(q=q, now=T0, customer_id="alice", module_id="x") == "quote_mismatch"


def test_quote_total_is_fixed_after_the_price_moves() -> None:
    config = make_config()
    inputs = market()
    state = engine.new_state("m", T0)
    engine.publish(state, config, inputs, T0)
    q = engine.quote(state, config, inputs, quantity=1500, customer_id="alice", now=T0)
    total = q.total_fen
    cheaper = market("10", "12")
    engine.publish(state, config, cheaper, T0 + timedelta(minutes=5))
    assert engine.is_valid(q, now=T0 + timedelta(minutes=5), customer_id="alice")
    assert q.total_fen == total == engine.total_fen(q.unit_rate, 1500)
    with pytest.raises(FrozenInstanceError):
        q.total_fen = 1  # type: ignore[misc]


def test_quote_shows_saving_against_the_market() -> None:
    q = _quote()
    assert q.reference_rate is not None
    assert q.saving_percent is not None
    assert q.saving_percent >= 0
    assert str(q.total) == f"{q.total_fen / 100:.2f}"


@pytest.mark.parametrize("quantity", [0, -5, True, 2.5])
def test_bad_quantity_is_a_field_error(quantity: object) -> None:
    config = make_config()
    state = engine.new_state("m", T0)
    engine.publish(state, config, market(), T0)
    with pytest.raises(DomainError) as info:
        engine.quote(state, config, market(), quantity=quantity, customer_id="c", now=T0)  # type: ignore[arg-type]
    assert info.value.errors[0].code == "invalid_quantity"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        engine.new_state("m", T0.replace(tzinfo=None))
