"""Guarantee payouts: the fund pays a customer back for delivered units found missing later."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.db import transaction
from django.urls import reverse

from doudesk.catalog.models import ServiceModule
from doudesk.errors import DomainError
from doudesk.ledger.models import LogLeaf
from doudesk.orders import services
from doudesk.orders.guarantee import order_guarantee_pay
from doudesk.orders.models import GuaranteePayout, Order, OrderStatus, Refill, RefillStatus
from doudesk.providers.adapters.base import ProviderStatus
from doudesk.wallet.models import AccountKind, JournalEntry
from doudesk.wallet.money import prorate_fen
from doudesk.wallet.selectors import journal_total_fen, wallet_balances
from doudesk.wallet.services import journal_post, platform_account
from factories import VIDEO_URL, in_english, module_id, staff_client

pytestmark = pytest.mark.django_db


def finished(customer, fake_adapter, *, quantity=1_300, remains=0) -> Order:
    """Seeded plays (¥16.00 per 1,000), delivered but for ``remains`` and settled."""
    order = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=quantity
    )
    services.order_dispatch(order_id=order.pk)
    status = ProviderStatus.PARTIAL if remains else ProviderStatus.COMPLETED
    fake_adapter.report(fake_adapter.placed[-1]["id"], status, remains=remains)
    services.orders_sync()
    return Order.objects.get(pk=order.pk)


def fill_fund(fen: int) -> None:
    """Endow the guarantee fund from platform revenue (as settlements would, over time)."""
    with transaction.atomic():
        journal_post(
            ref=f"test:fund:{fen}",
            kind="test_endowment",
            legs=[
                (platform_account(AccountKind.PLATFORM_REVENUE), -fen),
                (platform_account(AccountKind.GUARANTEE_FUND), fen),
            ],
        )


def fund_fen() -> int:
    return platform_account(AccountKind.GUARANTEE_FUND).balance_fen


def test_a_payout_returns_units_at_the_order_price_from_the_fund_to_the_balance(
    customer, fake_adapter
):
    order = finished(customer, fake_adapter, remains=457)  # paid 1,349 fen for 843 plays
    fill_fund(10_000)
    before_cash = wallet_balances(customer=customer)["available_fen"]
    before_fund = fund_fen()

    payout = order_guarantee_pay(order_id=order.pk, units=300, cause="dropped", note="掉量 300")

    amount = prorate_fen(2_080, 300, 1_300)  # the order's price for 300 plays: 480 fen
    assert (payout.units, payout.amount_fen) == (300, amount)
    assert wallet_balances(customer=customer)["available_fen"] == before_cash + amount
    assert fund_fen() == before_fund - amount
    assert journal_total_fen() == 0
    order.refresh_from_db()
    assert order.guarantee_paid_fen == amount
    assert (order.status, order.paid_fen) == (OrderStatus.PARTIAL, 1_349)  # the price stays
    event = order.events.get(kind="guarantee_paid")
    assert event.data == {
        "payout": payout.pk, "units": 300, "amount": "4.80", "currency": "CNY", "cause": "dropped",
    }  # fmt: skip
    leaf = json.loads(LogLeaf.objects.filter(order=order).order_by("-pk").first().leaf)
    assert (leaf["type"], leaf["amount"], leaf["cause"]) == ("guarantee_paid", "4.80", "dropped")
    assert "掉量" not in json.dumps(leaf, ensure_ascii=False)  # the note stays off the log
    entry = JournalEntry.objects.get(kind="guarantee_payout")
    assert entry.order_id == order.pk


def test_payouts_one_unit_at_a_time_add_up_to_what_was_paid_and_no_more(customer, fake_adapter):
    order = finished(customer, fake_adapter, quantity=700, remains=3)  # 697 of 700 at ¥11.20
    fill_fund(10_000)
    for _ in range(order.delivered):
        order_guarantee_pay(order_id=order.pk, units=1, cause="short_delivery")
    order.refresh_from_db()
    # One unit is 1.6 fen: rounded each time alone, 697 payouts would come to 1,394 fen.
    assert order.guarantee_paid_fen == order.paid_fen == prorate_fen(1_120, 697, 700)
    with pytest.raises(DomainError) as refused:
        order_guarantee_pay(order_id=order.pk, units=1, cause="short_delivery")
    assert refused.value.errors[0].field == "units"
    assert "最多可赔付 0 个单位" in refused.value.errors[0].message_zh
    assert journal_total_fen() == 0


def test_an_order_settled_by_the_older_rounding_is_paid_back_what_was_paid(customer, fake_adapter):
    # Settled before charges were priced per unit, 66 of these plays were charged 114 fen
    # (2,255 × 66 ÷ 1,300, rounded twice), not their 115: paying all of them back hit the
    # order's check constraint, a 500.
    ServiceModule.objects.filter(pk=module_id("plays")).update(rate_per_1000=Decimal("17.349"))
    order = finished(customer, fake_adapter, quantity=1_300, remains=1_234)
    Order.objects.filter(pk=order.pk).update(refunded_fen=order.refunded_fen + 1)
    fill_fund(10_000)
    payout = order_guarantee_pay(order_id=order.pk, units=66, cause="dropped")
    assert payout.amount_fen == 114
    order.refresh_from_db()
    assert order.guarantee_paid_fen == order.paid_fen == 114


def _refused_writes_nothing(order_id: int, customer, **kwargs) -> DomainError:
    cash = wallet_balances(customer=customer)["available_fen"]
    fund = fund_fen()
    with pytest.raises(DomainError) as refused:
        order_guarantee_pay(order_id=order_id, **kwargs)
    assert not GuaranteePayout.objects.exists()
    assert not JournalEntry.objects.filter(kind="guarantee_payout").exists()
    assert not Order.objects.get(pk=order_id).events.filter(kind="guarantee_paid").exists()
    assert wallet_balances(customer=customer)["available_fen"] == cash
    assert fund_fen() == fund
    error = refused.value.errors[0]
    assert error.message_zh
    assert error.message_en
    return refused.value


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"units": 0, "cause": "dropped"}, "units"),
        ({"units": 1_301, "cause": "dropped"}, "units"),  # more than delivered
        ({"units": 10, "cause": "refund"}, "cause"),
        ({"units": 10, "cause": "dropped", "note": "a\x00b"}, "note"),
        ({"units": 10, "cause": "dropped", "note": "x" * 201}, "note"),
    ],
)
def test_a_bad_payout_is_refused_by_field_and_writes_nothing(customer, fake_adapter, kwargs, field):
    order = finished(customer, fake_adapter)
    fill_fund(10_000)
    assert _refused_writes_nothing(order.pk, customer, **kwargs).errors[0].field == field


def test_a_payout_the_fund_cannot_cover_is_refused(customer, fake_adapter):
    order = finished(customer, fake_adapter, quantity=10_000)  # ¥160; the fund got ¥1.60
    assert fund_fen() == 160
    refused = _refused_writes_nothing(order.pk, customer, units=1_000, cause="dropped")
    assert refused.status == 409
    assert refused.errors[0].message_zh == "保障金余额不足：可用 ¥1.60，需要 ¥16.00"
    order_guarantee_pay(order_id=order.pk, units=100, cause="dropped")  # ¥1.60 it can
    assert fund_fen() == 0


def test_only_an_order_that_delivered_and_finished_is_paid_back(customer, fake_adapter):
    fill_fund(10_000)
    open_order = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
    )
    refused = _refused_writes_nothing(open_order.pk, customer, units=1, cause="dropped")
    assert (refused.status, refused.errors[0].field) == (409, "order")
    services.order_cancel(customer=customer, order_id=open_order.pk)  # canceled, none delivered
    _refused_writes_nothing(open_order.pk, customer, units=1, cause="dropped")


def test_the_customer_sees_the_payout_on_the_order_page_statement_and_api(
    customer, fake_adapter, web, api
):
    order = finished(customer, fake_adapter)
    fill_fund(10_000)
    payout = order_guarantee_pay(
        order_id=order.pk, units=500, cause="dropped", note="服务商补量失败"
    )

    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="order-guarantee">¥8.00' in page
    assert "500 个单位，¥8.00 已退回余额 · 交付后掉量，未能补足 · 服务商补量失败" in page
    assert "保障金已赔付" in page  # the timeline
    wallet = web.get("/wallet/").content.decode()
    assert f"订单 #{order.pk} 保障金赔付" in wallet
    in_english(web)
    english = web.get(f"/orders/{order.pk}/").content.decode()
    assert "500 units, ¥8.00 paid back to your balance" in english
    assert f"Order #{order.pk} guarantee payout" in web.get("/wallet/").content.decode()

    shown = api.get(f"/api/v1/orders/{order.pk}").json()
    assert (shown["guarantee_paid"], shown["charge"]) == ("8.00", "20.80")
    events = api.get(f"/api/v1/orders/{order.pk}/events").json()
    last = events[-1]
    assert (last["kind"], last["status"]) == ("guarantee_paid", None)
    assert last["data"] == {
        "payout": payout.pk, "units": 500, "amount": "8.00", "currency": "CNY", "cause": "dropped",
    }  # fmt: skip


def test_an_operator_pays_back_from_the_order_admin_and_the_history_says_so(
    customer, fake_adapter, admin_client
):
    order = finished(customer, fake_adapter)
    change = reverse("admin:orders_order_change", args=[order.pk])
    pay = reverse("admin:orders_order_guarantee", args=[order.pk])
    assert f'href="{pay}"' in admin_client.get(change).content.decode()

    facts = admin_client.get(pay).content.decode()
    assert "已交付 1,300 · 实付 ¥20.80 · 已赔付 ¥0.00（0 个单位） · 保障金可用 ¥0.21" in facts
    short = admin_client.post(pay, {"units": "1000", "cause": "dropped"})
    assert "保障金余额不足" in short.content.decode()  # shown on the form, nothing paid
    assert not GuaranteePayout.objects.exists()

    fill_fund(10_000)
    answer = admin_client.post(pay, {"units": "1000", "cause": "dropped", "note": "补量失败"})
    assert answer.status_code == 302
    assert GuaranteePayout.objects.get().amount_fen == 1_600
    history = LogEntry.objects.get(object_id=str(order.pk)).get_change_message()
    assert "原因: 交付后掉量，未能补足" in history
    assert "¥16.00" in admin_client.get(change).content.decode()  # the payouts inline

    viewer = staff_client("view_order")
    assert f'href="{pay}"' not in viewer.get(change).content.decode()
    assert viewer.post(pay, {"units": "1", "cause": "dropped"}).status_code == 403
    assert GuaranteePayout.objects.count() == 1


def test_an_open_order_offers_no_payout_in_the_admin(customer, admin_client):
    order = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
    )
    change = reverse("admin:orders_order_change", args=[order.pk])
    pay = reverse("admin:orders_order_guarantee", args=[order.pk])
    assert f'href="{pay}"' not in admin_client.get(change).content.decode()


def test_a_failed_refill_tells_the_customer_where_to_ask_for_a_payout(
    customer, fake_adapter, web, settings
):
    settings.SUPPORT_EMAIL = "help@doudesk.example"
    order = finished(customer, fake_adapter)
    refill = Refill.objects.create(order=order, external_id="R1", status=RefillStatus.SENT)
    assert 'id="refill-failed"' not in web.get(f"/orders/{order.pk}/").content.decode()
    Refill.objects.filter(pk=refill.pk).update(status=RefillStatus.REJECTED)
    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="refill-failed"' in page
    assert "保障金按订单单价赔付" in page
    assert 'href="mailto:help@doudesk.example"' in page
