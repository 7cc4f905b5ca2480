"""The 智能方案 page in Chromium: field errors show up, plans appear, one is ordered."""

from __future__ import annotations

import re
from typing import Any

import pytest

from factories import ACCOUNT_URL, VIDEO_URL, fund_customer, make_verified_customer

LINKS = {"video": VIDEO_URL, "account": ACCOUNT_URL, "live": "https://live.douyin.com/723456789012"}


@pytest.mark.usefixtures("transactional_db")
def test_the_plans_page_shows_its_field_errors_then_the_plans(
    live_server: Any, page: Any, log_in: Any
) -> None:
    from playwright.sync_api import expect

    from doudesk.catalog.seed import seed_demo
    from doudesk.orders.models import OrderGroup

    seed_demo()
    customer = make_verified_customer()
    fund_customer(customer, 100_000)
    log_in(page, customer)

    page.goto(live_server.url + "/plans/")
    need = page.locator("textarea[name=need]")
    # No budget anywhere: the answer (swapped in by htmx) says so next to the fields.
    need.fill("想涨粉")
    page.get_by_role("button", name="生成方案").click()
    expect(page.locator("#planner .field-error").first).to_contain_text("预算")
    expect(need).to_have_value("想涨粉")

    page.locator("input[name=budget]").fill("-5")
    page.get_by_role("button", name="生成方案").click()
    expect(page.locator("#planner .field-error").first).to_contain_text("预算必须大于0元")

    page.locator("input[name=budget]").fill("")
    need.fill("新开的美妆店，想在成都本地涨粉，预算500元，一周内见效")
    page.get_by_role("button", name="生成方案").click()
    expect(page.locator("article.plan").first).to_be_visible()
    expect(page.locator("#planner .field-error")).to_have_count(0)
    assert page.locator("article.plan").count() >= 2

    # The balanced plan mixes kinds of target: its card asks for one link per kind it needs.
    card = page.locator('article.plan[data-plan="balanced"]')
    kinds = [
        name.removeprefix("target_")
        for name in card.locator("input[name^=target_]").evaluate_all("els => els.map(e => e.name)")
    ]
    assert "account" in kinds  # followers grow on the shop's profile
    for kind in kinds:
        card.locator(f"input[name=target_{kind}]").fill(LINKS[kind])
    card.get_by_role("button", name="下单此方案").click()
    expect(page).to_have_url(re.compile(r"/orders/$"))
    group = OrderGroup.objects.get(customer=customer)
    placed = {o.module.target_kind: o.target for o in group.orders.select_related("module")}
    assert {kind: placed[kind] for kind in kinds} == {kind: LINKS[kind] for kind in kinds}
