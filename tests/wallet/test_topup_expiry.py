"""Top-ups left unpaid are closed after a while, as gateways close unpaid trades."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from doudesk.celery import app
from doudesk.sandbox.payment import sandbox_notify_params
from doudesk.wallet.models import JournalEntry, TopUp, TopUpStatus
from doudesk.wallet.selectors import journal_total_fen, wallet_balances
from doudesk.wallet.services import topup_create, topup_notify_apply, topups_expire
from doudesk.wallet.tasks import topups_expire_task

pytestmark = pytest.mark.django_db


def _aged(topup: TopUp, minutes: int) -> TopUp:
    TopUp.objects.filter(pk=topup.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))
    return topup


def test_a_top_up_unpaid_past_the_limit_is_closed_and_nothing_else(customer, settings):
    settings.TOPUP_EXPIRE_MINUTES = 30
    stale = _aged(topup_create(customer=customer, amount_fen=5_000), 31)
    fresh = _aged(topup_create(customer=customer, amount_fen=6_000), 29)
    paid = _aged(topup_create(customer=customer, amount_fen=7_000), 90)
    topup_notify_apply(params=sandbox_notify_params(topup=paid))
    balances = wallet_balances(customer=customer)

    assert topups_expire_task() == 1
    assert topups_expire() == 0  # safe to run twice
    statuses = {t.pk: t.status for t in TopUp.objects.all()}
    assert statuses == {
        stale.pk: TopUpStatus.EXPIRED,
        fresh.pk: TopUpStatus.PENDING,
        paid.pk: TopUpStatus.PAID,
    }
    assert wallet_balances(customer=customer) == balances  # no money moves


def test_a_payment_reported_after_expiry_is_still_credited_once(customer):
    topup = _aged(topup_create(customer=customer, amount_fen=5_000), 120)
    topups_expire()
    before = wallet_balances(customer=customer)["available_fen"]
    for _ in range(2):
        topup_notify_apply(params=sandbox_notify_params(topup=topup))
    topup.refresh_from_db()
    assert topup.status == TopUpStatus.PAID
    assert wallet_balances(customer=customer)["available_fen"] == before + 5_000
    assert JournalEntry.objects.filter(ref=f"topup:{topup.pk}").count() == 1
    assert journal_total_fen() == 0


def test_the_wallet_and_the_cashier_show_an_expired_top_up_without_a_pay_button(web, customer):
    topup = _aged(topup_create(customer=customer, amount_fen=5_000), 120)
    topups_expire()
    assert "已过期" in web.get("/wallet/").content.decode()
    cashier = web.get(f"/sandbox/pay/{topup.out_trade_no}/").content.decode()
    assert "已过期" in cashier
    assert "pay-confirm" not in cashier
    english = Client()
    english.force_login(customer.user)
    english.cookies["django_language"] = "en"
    assert "Expired" in english.get("/wallet/").content.decode()


def test_the_beat_closes_unpaid_top_ups_every_minute():
    entry = next(
        e for e in app.conf.beat_schedule.values() if e["task"].endswith("topups_expire_task")
    )
    assert entry["task"] == "doudesk.wallet.tasks.topups_expire_task"
    assert entry["schedule"] == 60.0
    assert topups_expire_task.name == entry["task"]
