"""Operators' rights and records in the admin: who may act, what stays fixed, what is logged."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from doudesk.orders import services
from doudesk.orders.models import Order
from factories import (
    ACCOUNT_URL,
    VIDEO_URL,
    CustomerFactory,
    fund_customer,
    module_id,
    staff_client,
)

pytestmark = pytest.mark.django_db


def manual_order(customer) -> Order:
    order = services.order_place(
        customer=customer, service_id=module_id("lbs-store-visit"), target=ACCOUNT_URL, quantity=3
    )
    services.order_dispatch(order_id=order.pk)
    return Order.objects.get(pk=order.pk)


def test_staff_who_may_only_view_orders_cannot_deliver_or_reconcile(seeded, customer):
    # Both pages used to take a POST from any staff member, even one without rights on orders.
    order = manual_order(customer)
    viewer = staff_client("view_order")
    assert viewer.get(reverse("admin:orders_order_change", args=[order.pk])).status_code == 200
    deliver = reverse("admin:orders_order_deliver", args=[order.pk])
    reconcile = reverse("admin:orders_order_reconcile", args=[order.pk])
    for url, data in ((deliver, {"delivered": "3", "final": "on", "cost": "1"}), (reconcile, {})):
        assert viewer.get(url).status_code == 403
        assert viewer.post(url, data).status_code == 403
    order.refresh_from_db()
    assert (order.status, order.delivered) == ("pending", 0)
    refused = viewer.get(deliver).content.decode()
    assert 'href="/admin/">返回运营后台</a>' in refused  # not only the customers' catalogue


def test_a_recorded_delivery_is_in_the_orders_admin_history(seeded, customer):
    order = manual_order(customer)
    operator = staff_client("view_order", "change_order")
    deliver = reverse("admin:orders_order_deliver", args=[order.pk])
    assert operator.post(deliver, {"delivered": "2"}).status_code == 302
    [entry] = LogEntry.objects.filter(object_id=str(order.pk))
    assert entry.user.username == "staff"
    assert "记录交付" in entry.get_change_message()
    assert "已交付数量: 2" in entry.get_change_message()


def test_a_final_delivery_of_nothing_with_a_cost_is_refused(seeded, customer, admin_client):
    # The cost used to be dropped without a word.
    order = manual_order(customer)
    deliver = reverse("admin:orders_order_deliver", args=[order.pk])
    page = admin_client.post(deliver, {"delivered": "0", "final": "on", "cost": "100"})
    assert "服务商费用不能超过 ¥0.00" in page.content.decode()
    order.refresh_from_db()
    assert (order.status, order.provider_cost_fen) == ("pending", 0)


def test_open_cancel_requests_are_listed_and_shown_where_delivery_is_recorded(
    seeded, customer, admin_client
):
    from doudesk.catalog.models import ServiceModule

    ServiceModule.objects.filter(code="lbs-store-visit").update(cancel_allowed=True)
    fund_customer(customer, 1_000_000)
    asked, other = manual_order(customer), manual_order(customer)
    services.order_cancel(customer=customer, order_id=asked.pk)
    listing = admin_client.get(
        reverse("admin:orders_order_changelist"), {"cancel_requested": "open"}
    )
    shown = listing.context["cl"].result_list
    assert [o.pk for o in shown] == [asked.pk]
    deliver = reverse("admin:orders_order_deliver", args=[asked.pk])
    assert "客户已于" in admin_client.get(deliver).content.decode()
    assert (
        "客户已于"
        not in admin_client.get(
            reverse("admin:orders_order_deliver", args=[other.pk])
        ).content.decode()
    )


def test_the_reconcile_page_of_an_order_with_nothing_to_reconcile_says_so(
    seeded, customer, admin_client
):
    order = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
    )
    page = admin_client.get(reverse("admin:orders_order_reconcile", args=[order.pk]))
    text = page.content.decode()
    assert "此订单没有待核实的提交" in text
    assert "None" not in text
    assert 'name="external_id"' not in text


def test_saving_the_read_only_order_page_writes_nothing(seeded, customer, admin_client):
    order = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
    )
    before = Order.objects.filter(pk=order.pk).values().get()
    change = reverse("admin:orders_order_change", args=[order.pk])
    page = admin_client.get(change).content.decode()
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    # The worker moves the order on after the operator opened the page.
    Order.objects.filter(pk=order.pk).update(status="in_progress", delivered=10)
    assert admin_client.post(change, form).status_code == 302
    after = Order.objects.filter(pk=order.pk).values().get()
    assert (after["status"], after["delivered"]) == ("in_progress", 10)
    assert after["updated_at"] == before["updated_at"]


def _pending_verification():
    from doudesk.accounts.services import verification_submit

    return verification_submit(
        customer=CustomerFactory(), legal_name="张三", number="11010519491231002X"
    )


def test_staff_who_may_only_view_verifications_cannot_approve_them_in_bulk(seeded, settings):
    settings.SANDBOX = False  # submissions wait for a reviewer
    verification = _pending_verification()
    viewer = staff_client("view_verification")
    changelist = reverse("admin:accounts_verification_changelist")
    assert 'value="approve"' not in viewer.get(changelist).content.decode()
    viewer.post(changelist, {"action": "approve", "_selected_action": [verification.pk]})
    verification.refresh_from_db()
    assert (verification.status, verification.reviewed_by) == ("pending", None)


def test_a_refused_decision_on_a_reviewed_submission_keeps_its_reason(
    seeded, settings, admin_client
):
    settings.SANDBOX = False
    verification = _pending_verification()
    url = reverse("admin:accounts_verification_change", args=[verification.pk])
    admin_client.post(url, {"reject_reason": "照片模糊", "_reject": "1"})
    # Approving it now is refused; the empty reason sent with it used to be saved anyway.
    admin_client.post(url, {"reject_reason": "", "_approve": "1"})
    verification.refresh_from_db()
    assert (verification.status, verification.reject_reason) == ("rejected", "照片模糊")
    assert 'name="reject_reason"' not in admin_client.get(url).content.decode()


def test_a_revoked_api_key_cannot_be_restored_in_the_admin(seeded, customer, admin_client):
    from doudesk.accounts.models import ApiKey
    from doudesk.accounts.services import api_key_create, api_key_revoke

    key, plain = api_key_create(customer=customer)
    api_key_revoke(customer=customer, key_id=key.pk)
    change = reverse("admin:accounts_apikey_change", args=[key.pk])
    admin_client.post(change, {"name": key.name, "revoked_at_0": "", "revoked_at_1": ""})
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    bearer = Client(headers={"Authorization": f"Bearer {plain}"})
    assert bearer.get("/api/v1/wallet").status_code == 401


def test_an_operator_revokes_a_key_with_the_action(seeded, customer, admin_client):
    from doudesk.accounts.services import api_key_create

    key, plain = api_key_create(customer=customer)
    bearer = Client(headers={"Authorization": f"Bearer {plain}"})
    assert bearer.get("/api/v1/wallet").status_code == 200
    changelist = reverse("admin:accounts_apikey_changelist")
    admin_client.cookies["django_language"] = "en"
    done = admin_client.post(
        changelist, {"action": "revoke", "_selected_action": [key.pk]}, follow=True
    )
    assert "1 key revoked" in done.content.decode()
    assert bearer.get("/api/v1/wallet").status_code == 401


def test_a_credited_bank_transfer_reads_in_the_customers_language(seeded, customer, api_key_for):
    from doudesk.wallet.services import topup_credit_manual

    topup_credit_manual(customer=customer, amount_fen=2_000_000, reference="BANK-2")
    api = Client(headers={"Authorization": f"Bearer {api_key_for(customer)}"})
    english = api.get("/api/v1/wallet", headers={"Accept-Language": "en"}).json()
    chinese = api.get("/api/v1/wallet").json()
    assert english["journal"][0]["memo"] == "Bank transfer BANK-2"
    assert chinese["journal"][0]["memo"] == "人工入账 BANK-2"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("step", 0, "须至少为 1"),
        ("min_quantity", 0, "须至少为 1"),
        ("max_quantity", 99_999_999_999_999, "最大数量不能超过 1,000,000,000"),
        ("avg_completion_hours", "-1", "平均完成时间须大于 0"),
        ("avg_completion_hours", "0", "平均完成时间须大于 0"),
    ],
)
def test_module_bounds_are_refused_on_their_field(seeded, admin_client, field, value, message):
    from django.forms.models import model_to_dict

    from doudesk.catalog.models import ServiceModule

    plays = ServiceModule.objects.get(code="plays")
    change = reverse("admin:catalog_servicemodule_change", args=[plays.pk])
    fields = {k: v for k, v in model_to_dict(plays).items() if v is not None}
    page = admin_client.post(change, {**fields, field: value})
    assert page.status_code == 200
    assert message in page.content.decode()
    assert "module_quantity_bounds" not in page.content.decode()
    plays.refresh_from_db()
    assert (plays.step, plays.min_quantity, plays.avg_completion_hours) == (100, 500, Decimal(2))


def test_event_and_journal_kinds_read_in_the_operators_language(seeded, customer, admin_client):
    # They showed as codes only ("placed", "order_hold") on the Chinese admin.
    order = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
    )
    change = reverse("admin:orders_order_change", args=[order.pk])
    journal = reverse("admin:wallet_journalentry_changelist")
    assert "已下单，资金已冻结 (placed)" in admin_client.get(change).content.decode()
    assert "订单冻结 (order_hold)" in admin_client.get(journal).content.decode()
    admin_client.cookies["django_language"] = "en"
    assert "(placed)" in admin_client.get(change).content.decode()
    assert "Order hold (order_hold)" in admin_client.get(journal).content.decode()


def test_orders_whose_provider_bill_was_booked_otherwise_are_listed_with_the_bill(
    seeded, customer, admin_client
):
    fund_customer(customer, 1_000_000)
    billed = manual_order(customer)
    manual_order(customer)  # another order, its bill as booked
    Order.objects.filter(pk=billed.pk).update(
        provider_claim="500.00 CNY", provider_claim_disputed=True
    )
    listing = admin_client.get(
        reverse("admin:orders_order_changelist"), {"provider_claim_disputed__exact": "1"}
    )
    assert [o.pk for o in listing.context["cl"].result_list] == [billed.pk]
    page = admin_client.get(reverse("admin:orders_order_change", args=[billed.pk]))
    assert "500.00 CNY" in page.content.decode()
    assert "账单待核对" in page.content.decode()
