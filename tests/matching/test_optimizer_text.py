"""How plans explain themselves: goal shares and item lines (no database)."""

from __future__ import annotations

import pytest

from doudesk.matching.optimizer import whole_percents


@pytest.mark.parametrize(
    ("weights", "shares"),
    [
        ([1 / 3, 1 / 3, 1 / 3], [34, 33, 33]),
        ([0.5, 0.5], [50, 50]),
        ([2 / 3, 1 / 3], [67, 33]),
        ([0.125, 0.125, 0.75], [13, 12, 75]),
        ([1.0], [100]),
    ],
)
def test_goal_shares_are_whole_percents_that_add_up_to_100(weights, shares):
    assert whole_percents(weights) == shares
    assert sum(whole_percents(weights)) == 100
