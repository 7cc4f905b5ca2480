"""The customer's dashboard: figures from order to delivered result, for that customer only."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from doudesk.orders import services
from doudesk.orders.selectors import DASHBOARD_DAYS, dashboard_get
from doudesk.providers.adapters.base import ProviderStatus
from factories import VIDEO_URL, happened, module_id, order_history

pytestmark = pytest.mark.django_db


def by_status(counts) -> dict[str, int]:
    return {c.status: c.count for c in counts}


def units_by_day(dashboard) -> dict[int, int]:
    """Units delivered per day, keyed by days ago (days with none left out)."""
    today = timezone.localdate()
    return {(today - d.day).days: d.units for d in dashboard.days if d.units}


def test_the_figures_add_up_a_month_of_orders_in_every_state(customer, fake_adapter):
    order_history(customer, fake_adapter)
    dashboard = dashboard_get(customer=customer)

    assert len(dashboard.days) == DASHBOARD_DAYS
    assert dashboard.last_day == timezone.localdate()
    assert dashboard.first_day == timezone.localdate() - timedelta(days=29)
    assert by_status(dashboard.pipeline) == {
        "pending": 1,
        "processing": 0,
        "in_progress": 1,
        "completed": 2,  # the one 40 days ago too: the pipeline is now, not the month
        "partial": 1,
        "canceled": 1,
    }
    assert [c.status for c in dashboard.pipeline] == [
        "pending",
        "processing",
        "in_progress",
        "completed",
        "partial",
        "canceled",
    ]
    assert dashboard.under_way == 2
    assert by_status(dashboard.finished) == {"completed": 1, "partial": 1, "canceled": 1}
    assert dashboard.scheduled_days == 0
    # Charged: ¥160 + ¥16 + ¥180 + ¥5 + ¥8 (not the ¥16 of 40 days ago); refunded: the
    # partial order's 400 undelivered plays (¥6.40) and the cancelled likes (¥5.00).
    assert dashboard.charged_fen == 16_000 + 1_600 + 18_000 + 500 + 800
    assert dashboard.refunded_fen == 640 + 500
    assert dashboard.spent_fen == 36_900 - 1_140
    # Delivery on the days it happened: 6,000 plays 4 days ago, the other 4,000 two days ago,
    # 600 plays and 350 followers yesterday, 30 followers today.
    assert units_by_day(dashboard) == {4: 6_000, 2: 4_000, 1: 950, 0: 30}
    assert dashboard.units_delivered == 10_980
    assert {m.module.code: m.units for m in dashboard.modules} == {
        "plays": 10_600,
        "followers": 380,
    }
    followers = next(m for m in dashboard.modules if m.module.code == "followers")
    assert followers.per_day[-2:] == (350, 30)


def test_money_by_day_follows_the_journal(customer, fake_adapter):
    order_history(customer, fake_adapter)
    dashboard = dashboard_get(customer=customer)
    today = timezone.localdate()
    money = {
        (today - d.day).days: (d.charged_fen, d.refunded_fen)
        for d in dashboard.days
        if d.charged_fen or d.refunded_fen
    }
    assert money == {
        5: (16_000, 0),
        3: (1_600, 0),
        1: (18_000, 640),
        0: (1_300, 500),
    }


def test_another_customers_orders_are_never_counted(customer, other_customer, fake_adapter):
    order_history(customer, fake_adapter)
    theirs = services.order_place(
        customer=other_customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
    )
    fake_adapter.deliver_in_full(theirs)
    mine = dashboard_get(customer=customer)
    assert by_status(mine.pipeline)["completed"] == 2
    assert mine.units_delivered == 10_980
    assert mine.charged_fen == 36_900

    other = dashboard_get(customer=other_customer)
    assert by_status(other.pipeline) == {
        "pending": 0,
        "processing": 0,
        "in_progress": 0,
        "completed": 1,
        "partial": 0,
        "canceled": 0,
    }
    assert other.units_delivered == 1_000
    assert [m.module.code for m in other.modules] == ["plays"]
    assert (other.charged_fen, other.refunded_fen) == (1_600, 0)


def test_a_new_customer_has_an_empty_dashboard(customer):
    dashboard = dashboard_get(customer=customer)
    assert not dashboard.has_orders
    assert dashboard.under_way == dashboard.units_delivered == dashboard.charged_fen == 0
    assert dashboard.modules == ()
    assert len(dashboard.days) == DASHBOARD_DAYS


def test_a_day_is_a_beijing_day(customer, fake_adapter):
    """An order finished at 23:30 UTC finished the next morning in Beijing, and counts so."""
    order = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
    )
    fake_adapter.deliver_in_full(order)
    yesterday_utc_late = (timezone.now() - timedelta(days=1)).replace(
        hour=23, minute=30, tzinfo=UTC
    )
    order.events.update(created_at=yesterday_utc_late)
    dashboard = dashboard_get(customer=customer, now=yesterday_utc_late + timedelta(hours=1))
    beijing_day = timezone.localdate(yesterday_utc_late)
    assert beijing_day == yesterday_utc_late.date() + timedelta(days=1)
    assert [(d.day, d.units) for d in dashboard.days if d.units] == [(beijing_day, 1_000)]


def test_a_plans_later_days_are_scheduled_not_under_way(customer, fake_adapter):
    from doudesk.catalog.models import GrowthPlan
    from factories import ACCOUNT_URL, fund_customer

    fund_customer(customer, 1_000_000)
    plan = GrowthPlan.objects.get()
    group = services.growth_plan_order(customer=customer, plan=plan, target=ACCOUNT_URL)
    dashboard = dashboard_get(customer=customer)
    days = group.orders.count()
    assert days > 1
    # Today's order is under way (waiting to be sent); the later days wait for their day.
    assert dashboard.under_way == 1
    assert dashboard.scheduled_days == days - 1
    assert dashboard.has_orders
    # The plan's one hold is charged on the day it was placed.
    assert dashboard.charged_fen == group.total_fen


def test_the_days_progress_counts_only_within_the_window(customer, fake_adapter):
    """Progress before the first day shown counts there, not on the first day."""
    with happened(days_ago=35):
        order = services.order_place(
            customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
        )
        services.order_dispatch(order_id=order.pk)
        order.refresh_from_db()
        fake_adapter.report(order.external_id, ProviderStatus.IN_PROGRESS, remains=700)
        services.orders_sync()
    fake_adapter.report(order.external_id, ProviderStatus.COMPLETED, remains=0)
    services.orders_sync()
    dashboard = dashboard_get(customer=customer)
    assert units_by_day(dashboard) == {0: 700}
    assert dashboard.charged_fen == 0  # charged 35 days ago
