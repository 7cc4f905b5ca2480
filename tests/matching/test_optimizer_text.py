"""How plans explain themselves: goal shares and item lines (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from doudesk.matching.offers import Offer
from doudesk.matching.optimizer import goal_cost, optimise, whole_percents
from doudesk.matching.understand import Understood


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


FOLLOWERS = Offer("f", "followers", "账号涨粉", "Account followers", 18_000, 100, 5_000, 10)
DEAR = Offer("g", "followers", "优质涨粉", "Premium followers", 40_000, 100, 50_000, 10)


def followers_need(budget: str, quantity: int, language: str = "zh") -> Understood:
    return Understood(
        language=language,
        intents={"followers": 1.0},
        budget=Decimal(budget),
        budget_source="text",
        deadline_hours=None,
        quantities={"followers": quantity},
    )


@pytest.mark.parametrize(
    ("language", "short"),
    [("zh", "预计效果达不到您要求的数量"), ("en", "short of the quantities you asked for")],
)
def test_the_cheapest_plan_says_when_it_falls_short_of_the_quantity_asked(language, short):
    # It said nothing: only a plan reaching the quantity said so.
    plans = {p.key: p for p in optimise(followers_need("50", 10_000, language), [FOLLOWERS])}
    assert short in plans["value"].explanation
    reached = {p.key: p for p in optimise(followers_need("500", 1_000, language), [FOLLOWERS])}
    assert short not in reached["value"].explanation


def test_a_goal_is_costed_on_its_cheapest_module_that_reaches_it_in_one_order() -> None:
    u = followers_need("50", 1_000)
    # ¥180 per 1,000 followers on the cheaper module (prices in fen).
    assert goal_cost(u, [FOLLOWERS, DEAR], "followers", 1_000) == 18_000
    # 10,000 is past the cheaper one's 5,000: a plan orders a module once, so the dear one.
    dear = goal_cost(u, [DEAR], "followers", 10_000)
    assert goal_cost(u, [FOLLOWERS, DEAR], "followers", 10_000) == dear
    # With none reaching it, as much as a plan can buy: the cheaper one's 5,000.
    assert goal_cost(u, [FOLLOWERS], "followers", 10_000) == 90_000
    assert goal_cost(u, [FOLLOWERS], "plays", 1_000) is None
