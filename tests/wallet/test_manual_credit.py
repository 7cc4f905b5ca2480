"""Money received outside a gateway (a checked bank transfer), credited by an operator."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from doudesk.errors import DomainError
from doudesk.sandbox.payment import sandbox_notify_params
from doudesk.wallet.models import AccountKind, JournalEntry, TopUp
from doudesk.wallet.selectors import journal_total_fen, wallet_balances
from doudesk.wallet.services import (
    customer_account,
    journal_post,
    platform_account,
    topup_credit_manual,
    topup_notify_apply,
    topup_reverse_manual,
)
from factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_checked_transfer_is_credited_once_with_a_balanced_entry():
    customer = CustomerFactory()
    topup = topup_credit_manual(customer=customer, amount_fen=50_000, reference="ICBC-20261130-7")
    assert (topup.gateway, topup.status, topup.gateway_txn) == ("manual", "paid", "ICBC-20261130-7")
    assert wallet_balances(customer=customer) == {"available_fen": 50_000, "held_fen": 0}
    assert JournalEntry.objects.get(ref=f"topup:{topup.pk}").memo == "人工入账 ICBC-20261130-7"
    assert journal_total_fen() == 0
    with pytest.raises(DomainError) as again:
        topup_credit_manual(customer=customer, amount_fen=50_000, reference=" ICBC-20261130-7 ")
    assert (again.value.errors[0].field, again.value.status) == ("reference", 409)
    assert wallet_balances(customer=customer)["available_fen"] == 50_000


def test_a_reference_typed_in_full_width_is_the_same_transfer():
    # "ＢＡＮＫ－００１" (a Chinese input method's full-width mode) was credited a second time.
    customer = CustomerFactory()
    topup_credit_manual(customer=customer, amount_fen=10_000, reference="BANK-001")
    with pytest.raises(DomainError) as again:
        topup_credit_manual(customer=customer, amount_fen=10_000, reference="ＢＡＮＫ－００１")
    assert (again.value.errors[0].code, again.value.status) == ("duplicate_reference", 409)
    assert wallet_balances(customer=customer)["available_fen"] == 10_000
    other = topup_credit_manual(customer=customer, amount_fen=100, reference="ｂａｎｋ－００２")
    assert other.gateway_txn == "BANK-002"  # stored as the bank writes it


def test_a_gateway_notification_cannot_mark_a_manual_credit_paid():
    # A signed sandbox notice naming a reversed manual credit marked it paid and overwrote its
    # bank reference.
    customer = CustomerFactory()
    topup = topup_reverse_manual(
        topup_id=topup_credit_manual(customer=customer, amount_fen=10_000, reference="B-9").pk
    )
    with pytest.raises(DomainError) as refused:
        topup_notify_apply(params=sandbox_notify_params(topup=topup))
    assert refused.value.errors[0].code == "unknown_payment"
    topup.refresh_from_db()
    assert (topup.status, topup.gateway_txn) == ("reversed", "B-9")
    assert wallet_balances(customer=customer)["available_fen"] == 0


@pytest.mark.parametrize(
    ("amount_fen", "reference", "field"),
    [(0, "R1", "amount"), (100_000_001, "R1", "amount"), (100, "", "reference"),
     (100, "x" * 65, "reference"), (100, "R\x001", "reference")],
)  # fmt: skip
def test_a_bad_credit_writes_nothing(amount_fen, reference, field):
    customer = CustomerFactory()
    with pytest.raises(DomainError) as refused:
        topup_credit_manual(customer=customer, amount_fen=amount_fen, reference=reference)
    assert refused.value.errors[0].field == field
    assert not TopUp.objects.exists()
    assert not JournalEntry.objects.exists()


def test_an_operator_credits_a_wallet_from_the_admin_and_it_is_logged(admin_client):
    from django.contrib.admin.models import LogEntry

    customer = CustomerFactory()
    listing = admin_client.get(reverse("admin:wallet_topup_changelist")).content.decode()
    assert reverse("admin:wallet_topup_credit") in listing
    url = reverse("admin:wallet_topup_credit")
    form = {"customer": customer.pk, "amount": "88.80", "reference": "BANK-1"}
    assert admin_client.post(url, form).status_code == 302
    assert wallet_balances(customer=customer)["available_fen"] == 8_880
    assert LogEntry.objects.get().change_message == "人工入账 BANK-1"
    twice = admin_client.post(url, form)
    assert twice.status_code == 200
    assert "该凭证号已入账" in twice.content.decode()
    bad = admin_client.post(url, {**form, "amount": "1.234", "reference": "BANK-2"})
    assert "最多两位小数" in bad.content.decode()
    exponent = admin_client.post(url, {**form, "amount": "1e3", "reference": "BANK-2"})
    assert "最多两位小数" in exponent.content.decode()  # it was credited as ¥1,000
    other_case = admin_client.post(url, {**form, "reference": "bank-1"})
    assert "该凭证号已入账" in other_case.content.decode()  # the same transfer, typed in lower case
    assert wallet_balances(customer=customer)["available_fen"] == 8_880


def test_staff_without_the_permission_cannot_credit(client, django_user_model):
    staff = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(staff)
    response = client.post(reverse("admin:wallet_topup_credit"), {})
    assert response.status_code == 403


def test_the_operator_names_the_customer_by_account_not_by_a_name_two_can_share(admin_client):
    first, second = CustomerFactory(display_name="张三"), CustomerFactory(display_name="张三")
    url = reverse("admin:wallet_topup_credit")
    form = {"customer": second.user.username.upper(), "amount": "10", "reference": "BANK-9"}
    done = admin_client.post(url, form, follow=True).content.decode()
    assert f"已为客户 #{second.pk} 张三（{second.user.username}）入账 ¥10.00" in done
    assert wallet_balances(customer=second)["available_fen"] == 1_000
    assert wallet_balances(customer=first)["available_fen"] == 0
    by_number = {"customer": f"#{first.pk}", "amount": "5", "reference": "BANK-10"}
    assert admin_client.post(url, by_number).status_code == 302
    assert wallet_balances(customer=first)["available_fen"] == 500
    phone = CustomerFactory(user__username="13800138000")
    typed = {"customer": "+86 138 0013 8000", "amount": "1", "reference": "BANK-12"}
    assert admin_client.post(url, typed).status_code == 302  # as sign-up reads the number
    assert wallet_balances(customer=phone)["available_fen"] == 100
    unknown = admin_client.post(url, {**by_number, "customer": "张三", "reference": "BANK-11"})
    assert "没有这个客户" in unknown.content.decode()
    assert not TopUp.objects.filter(gateway_txn="BANK-11").exists()


def test_a_mistaken_credit_is_reversed_once_with_a_balanced_entry():
    # A credit could not be taken back at all: an operator's typo stayed spendable money.
    customer = CustomerFactory()
    topup = topup_credit_manual(customer=customer, amount_fen=2_000_000, reference="BANK-2")
    reversed_ = topup_reverse_manual(topup_id=topup.pk)
    assert reversed_.status == "reversed"
    assert wallet_balances(customer=customer) == {"available_fen": 0, "held_fen": 0}
    entry = JournalEntry.objects.get(ref=f"topup:{topup.pk}:reversal")
    assert (entry.kind, entry.memo) == ("topup_reversal", "人工入账冲正 BANK-2")
    assert journal_total_fen() == 0
    with pytest.raises(DomainError) as again:
        topup_reverse_manual(topup_id=topup.pk)
    assert (again.value.errors[0].code, again.value.status) == ("not_reversible", 409)
    # The transfer itself, if it does arrive, is credited under its reference again.
    right = topup_credit_manual(customer=customer, amount_fen=200_000, reference="bank-2")
    assert right.status == "paid"
    assert wallet_balances(customer=customer)["available_fen"] == 200_000
    assert journal_total_fen() == 0


def test_a_credit_already_spent_is_not_reversed_into_a_negative_balance():
    customer = CustomerFactory()
    topup = topup_credit_manual(customer=customer, amount_fen=10_000, reference="BANK-3")
    with transaction.atomic():  # the customer spends ¥60 of it
        journal_post(
            ref="spend",
            kind="test",
            legs=[
                (customer_account(customer), -6_000),
                (platform_account(AccountKind.PLATFORM_REVENUE), 6_000),
            ],
        )
    with pytest.raises(DomainError) as refused:
        topup_reverse_manual(topup_id=topup.pk)
    assert (refused.value.errors[0].code, refused.value.status) == ("insufficient_balance", 402)
    topup.refresh_from_db()
    assert topup.status == "paid"
    assert wallet_balances(customer=customer)["available_fen"] == 4_000
    assert journal_total_fen() == 0


def test_only_a_paid_manual_credit_is_reversed():
    customer = CustomerFactory()
    topup = topup_credit_manual(customer=customer, amount_fen=10_000, reference="BANK-4")
    TopUp.objects.filter(pk=topup.pk).update(gateway="sandbox")  # paid through a gateway
    with pytest.raises(DomainError) as refused:
        topup_reverse_manual(topup_id=topup.pk)
    assert refused.value.errors[0].code == "not_reversible"
    assert wallet_balances(customer=customer)["available_fen"] == 10_000


def test_an_operator_reverses_a_credit_from_the_admin_and_it_is_logged(admin_client, client):
    from django.contrib.admin.models import LogEntry

    customer = CustomerFactory()
    topup = topup_credit_manual(customer=customer, amount_fen=2_000_000, reference="BANK-5")
    changelist = reverse("admin:wallet_topup_changelist")
    done = admin_client.post(
        changelist, {"action": "reverse_credits", "_selected_action": [topup.pk]}, follow=True
    )
    assert f"已冲正 {topup.out_trade_no}：¥20,000.00" in done.content.decode()
    assert wallet_balances(customer=customer)["available_fen"] == 0
    assert LogEntry.objects.get().get_change_message() == "人工入账冲正 BANK-5"


def test_staff_without_the_credit_permission_cannot_reverse(client, django_user_model):
    from django.contrib.auth.models import Permission

    customer = CustomerFactory()
    topup = topup_credit_manual(customer=customer, amount_fen=10_000, reference="BANK-6")
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_topup"))
    client.force_login(viewer)
    changelist = reverse("admin:wallet_topup_changelist")
    assert 'value="reverse_credits"' not in client.get(changelist).content.decode()
    client.post(changelist, {"action": "reverse_credits", "_selected_action": [topup.pk]})
    assert wallet_balances(customer=customer)["available_fen"] == 10_000
