"""A sandbox top-up paid over real HTTP: the gateway's callback runs on a real Celery worker."""

from __future__ import annotations

import time

import pytest
from django.db import transaction
from django.urls import reverse

from doudesk.sandbox.payment import sandbox_payment_confirm
from doudesk.wallet.models import TopUp, TopUpStatus
from doudesk.wallet.selectors import journal_total_fen, wallet_balances

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

START_FEN = 100_000  # the ``customer`` fixture's balance


def test_a_sandbox_top_up_is_credited_once_the_worker_delivers_the_callback(
    platform, customer, api_key_for
):
    # The worker must know the sandbox gateway's callback task (it once discarded it as
    # unregistered, and top-ups stayed "awaiting payment" for good).
    plat = platform()
    client = plat.client(api_key_for(customer))
    opened = client.post("/api/v1/wallet/topups", json={"amount": "88.80"})
    assert opened.status_code == 201, opened.text
    topup = TopUp.objects.get(out_trade_no=opened.json()["id"])
    with transaction.atomic():  # as the cashier page does: the callback is sent after commit
        sandbox_payment_confirm(topup=topup, notify_url=plat.url + reverse("web:payment_notify"))

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        topup.refresh_from_db()
        if topup.status != TopUpStatus.PENDING:
            break
        time.sleep(0.2)
    assert topup.status == TopUpStatus.PAID, plat.worker_log()
    assert wallet_balances(customer=customer)["available_fen"] == START_FEN + 8_880
    assert journal_total_fen() == 0
