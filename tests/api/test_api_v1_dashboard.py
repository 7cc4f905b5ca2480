"""GET /api/v1/dashboard: the web dashboard's figures for API clients, the caller's only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from doudesk.orders import services
from factories import VIDEO_URL, module_id, order_history

pytestmark = pytest.mark.django_db

URL = "/api/v1/dashboard"


def test_the_dashboard_needs_an_api_key_or_a_session(customer):
    refused = Client().get(URL)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["field"] == "Authorization"
    wrong = Client(headers={"Authorization": "Bearer not-a-key"}).get(URL)
    assert wrong.status_code == 401
    session = Client()
    session.force_login(customer.user)
    assert session.get(URL).status_code == 200


def test_the_dashboard_answers_the_callers_figures(api, customer, fake_adapter):
    order_history(customer, fake_adapter)
    body = api.get(URL).json()
    today = timezone.localdate()
    assert body["first_day"] == (today - timedelta(days=29)).isoformat()
    assert body["last_day"] == today.isoformat()
    assert body["timezone"] == "Asia/Shanghai"
    assert body["under_way"] == 2
    assert body["scheduled_days"] == 0
    assert body["pipeline"] == {
        "pending": 1,
        "processing": 0,
        "in_progress": 1,
        "completed": 2,
        "partial": 1,
        "canceled": 1,
    }
    assert body["finished"] == {"completed": 1, "partial": 1, "canceled": 1}
    assert (body["charged"], body["refunded"], body["spent"]) == ("369.00", "11.40", "357.60")
    assert body["currency"] == "CNY"
    assert body["units_delivered"] == 10_980
    plays, followers = module_id("plays"), module_id("followers")
    assert body["services"] == [
        {"service_id": plays, "name": "视频播放", "unit": "次", "units": 10_600},
        {"service_id": followers, "name": "账号涨粉", "unit": "个", "units": 380},
    ]
    assert len(body["days"]) == 30
    yesterday, today_row = body["days"][-2:]
    assert yesterday == {
        "date": (today - timedelta(days=1)).isoformat(),
        "units": 950,
        "charged": "180.00",
        "refunded": "6.40",
        "services": [
            {"service_id": plays, "units": 600},
            {"service_id": followers, "units": 350},
        ],
    }
    assert today_row == {
        "date": today.isoformat(),
        "units": 30,
        "charged": "13.00",
        "refunded": "5.00",
        "services": [{"service_id": followers, "units": 30}],
    }
    quiet = [day for day in body["days"] if not day["units"] and day["charged"] == "0.00"]
    assert len(quiet) == 30 - 6  # units 4, 2, 1 and 0 days ago; money 5, 3, 1 and 0
    english = api.get(URL, headers={"Accept-Language": "en"}).json()
    assert english["services"][0]["name"] == "Video plays"


def test_another_callers_dashboard_holds_none_of_it(
    customer, other_customer, api_key_for, fake_adapter
):
    order_history(customer, fake_adapter)
    theirs = services.order_place(
        customer=other_customer, service_id=module_id("likes"), target=VIDEO_URL, quantity=100
    )
    fake_adapter.deliver_in_full(theirs)
    other = Client(headers={"Authorization": f"Bearer {api_key_for(other_customer)}"})
    body = other.get(URL).json()
    assert body["pipeline"]["completed"] == 1
    assert body["under_way"] == 0
    assert (body["charged"], body["refunded"], body["spent"]) == ("5.00", "0.00", "5.00")
    assert body["units_delivered"] == 100
    assert [s["service_id"] for s in body["services"]] == [module_id("likes")]


def test_a_new_callers_dashboard_is_empty_not_missing(api):
    body = api.get(URL).json()
    assert body["pipeline"] == dict.fromkeys(
        ["pending", "processing", "in_progress", "completed", "partial", "canceled"], 0
    )
    assert (body["under_way"], body["units_delivered"], body["spent"]) == (0, 0, "0.00")
    assert body["services"] == []
    assert len(body["days"]) == 30
    assert all(day["services"] == [] for day in body["days"])
