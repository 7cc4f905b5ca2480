"""The double-entry journal: balanced legs, no negative customer balances, once per ref."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudesk.errors import DomainError
from doudesk.orders import services
from doudesk.providers.adapters.base import ProviderStatus
from doudesk.wallet.models import Account, AccountKind, JournalEntry, Leg, TopUp
from doudesk.wallet.money import charge_fen, prorate_fen, typed_yuan, yuan_str, yuan_to_fen
from doudesk.wallet.selectors import journal_total_fen, wallet_balances
from doudesk.wallet.services import (
    customer_account,
    journal_post,
    platform_account,
    topup_create,
    topup_notify_apply,
)
from factories import VIDEO_URL, CustomerFactory, fund_customer

pytestmark = pytest.mark.django_db
_refs = itertools.count()


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def wallet(db):
    """Make a customer with ¥100 in cash; return the accounts money moves between."""
    customer = CustomerFactory()
    fund_customer(customer, 10_000)
    return {
        "customer": customer,
        "cash": customer_account(customer),
        "hold": customer_account(customer, AccountKind.CUSTOMER_HOLD),
        "clearing": platform_account(AccountKind.PAYMENT_CLEARING),
        "revenue": platform_account(AccountKind.PLATFORM_REVENUE),
    }


def _post(ref: str, legs, **kwargs):
    with transaction.atomic():
        return journal_post(ref=ref, kind="test", legs=legs, **kwargs)


def _state() -> tuple:
    return (
        JournalEntry.objects.count(),
        Leg.objects.count(),
        tuple(Account.objects.order_by("pk").values_list("balance_fen", flat=True)),
    )


def _derived_balance(account: Account) -> int:
    total = Leg.objects.filter(account=account).aggregate(s=Sum("amount_fen"))["s"] or 0
    return -total if account.kind == AccountKind.PAYMENT_CLEARING else total


@pytest.mark.parametrize("amounts", [(-100, 99), (100, 0), (-1, 1, 1)])
def test_unbalanced_legs_are_refused(wallet, amounts):
    before = _state()
    accounts = [wallet["cash"], wallet["hold"], wallet["revenue"]]
    with pytest.raises(ValueError, match="unbalanced"):
        _post("unbalanced", list(zip(accounts, amounts, strict=False)))
    assert _state() == before


def test_a_customer_balance_never_goes_negative(wallet):
    before = _state()
    with pytest.raises(DomainError) as err:
        _post("overdraw", [(wallet["cash"], -10_001), (wallet["hold"], 10_001)])
    [error] = err.value.errors
    assert (err.value.status, error.field, error.code) == (402, "balance", "insufficient_balance")
    assert "100.00" in error.message_zh
    assert "100.01" in error.message_en
    assert _state() == before
    assert _post("exact", [(wallet["cash"], -10_000), (wallet["hold"], 10_000)]) is not None
    assert wallet_balances(customer=wallet["customer"]) == {"available_fen": 0, "held_fen": 10_000}


def test_a_hold_cannot_release_more_than_it_holds(wallet):
    _post("hold", [(wallet["cash"], -500), (wallet["hold"], 500)])
    with pytest.raises(DomainError):
        _post("release-too-much", [(wallet["hold"], -501), (wallet["cash"], 501)])
    assert wallet_balances(customer=wallet["customer"]) == {"available_fen": 9_500, "held_fen": 500}


def test_posting_is_idempotent_on_ref(wallet):
    first = _post("once", [(wallet["cash"], -300), (wallet["revenue"], 300)])
    before = _state()
    assert _post("once", [(wallet["cash"], -300), (wallet["revenue"], 300)]) is None
    assert _post("once", [(wallet["cash"], -999), (wallet["revenue"], 999)]) is None
    assert _state() == before
    assert JournalEntry.objects.get(ref="once") == first
    assert wallet_balances(customer=wallet["customer"])["available_fen"] == 9_700


def test_zero_legs_are_dropped_and_an_empty_entry_is_nothing(wallet):
    entry = _post("with-zero", [(wallet["cash"], -5), (wallet["revenue"], 5), (wallet["hold"], 0)])
    assert entry.legs.count() == 2
    assert _post("all-zero", [(wallet["cash"], 0)]) is None
    assert not JournalEntry.objects.filter(ref="all-zero").exists()


def test_the_database_refuses_negative_customer_balances_and_zero_legs(wallet):
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=wallet["cash"].pk).update(balance_fen=-1)
    entry = JournalEntry.objects.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Leg.objects.create(entry=entry, account=wallet["cash"], amount_fen=0)


def test_clearing_is_debit_normal_so_every_balance_reads_positive(wallet):
    assert wallet["clearing"].kind == AccountKind.PAYMENT_CLEARING
    wallet["clearing"].refresh_from_db()
    assert wallet["clearing"].balance_fen == 10_000
    assert _derived_balance(wallet["clearing"]) == 10_000


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.sampled_from(["hold", "release", "spend", "topup"]), st.integers(1, 5_000)),
        max_size=12,
    )
)
def test_the_journal_always_sums_to_zero_and_caches_match_the_legs(wallet, moves):
    for move, amount in moves:
        legs = {
            "hold": [(wallet["cash"], -amount), (wallet["hold"], amount)],
            "release": [(wallet["hold"], -amount), (wallet["cash"], amount)],
            "spend": [(wallet["hold"], -amount), (wallet["revenue"], amount)],
            "topup": [(wallet["clearing"], -amount), (wallet["cash"], amount)],
        }[move]
        try:
            _post(f"prop:{next(_refs)}", legs)
        except DomainError:
            pass
        assert journal_total_fen() == 0
    for account in Account.objects.all():
        assert account.balance_fen == _derived_balance(account)
        if account.kind in (AccountKind.CUSTOMER_CASH, AccountKind.CUSTOMER_HOLD):
            assert account.balance_fen >= 0


def test_the_order_flow_keeps_the_journal_balanced(seeded, fake_adapter):
    from factories import make_verified_customer

    customer = make_verified_customer()
    fund_customer(customer, 100_000)
    plays = services.order_place(
        customer=customer, service_id=_sid("plays"), target=VIDEO_URL, quantity=1_300
    )
    canceled = services.order_place(
        customer=customer, service_id=_sid("plays"), target=VIDEO_URL, quantity=500
    )
    services.order_dispatch(order_id=plays.pk)
    fake_adapter.report(
        fake_adapter.placed[0]["id"], ProviderStatus.PARTIAL, remains=457, charge="5"
    )
    services.orders_sync()
    services.order_cancel(customer=customer, order_id=canceled.pk)
    assert journal_total_fen() == 0
    assert wallet_balances(customer=customer) == {"available_fen": 100_000 - 1_349, "held_fen": 0}
    for account in Account.objects.all():
        assert account.balance_fen == _derived_balance(account)


def _sid(code: str) -> int:
    from doudesk.catalog.models import ServiceModule

    return ServiceModule.objects.get(code=code).pk


# Top-ups ------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount_fen", [0, 99, -100, 100_000_001])
def test_top_ups_outside_the_limits_are_refused(wallet, amount_fen):
    with pytest.raises(DomainError) as err:
        topup_create(customer=wallet["customer"], amount_fen=amount_fen)
    assert err.value.errors[0].field == "amount"
    assert not TopUp.objects.exists()


def test_a_top_up_number_carries_the_beijing_date(wallet, monkeypatch):
    # 00:30 in Beijing on 2 December is still 1 December in UTC: the number said the 1st.
    late = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: late)
    topup = topup_create(customer=wallet["customer"], amount_fen=2_500)
    assert topup.out_trade_no.startswith("T20261202")


def test_a_paid_notification_is_applied_exactly_once(wallet):
    from doudesk.sandbox.payment import sandbox_notify_params

    topup = topup_create(customer=wallet["customer"], amount_fen=2_500)
    params = sandbox_notify_params(topup=topup)
    for _ in range(3):
        assert topup_notify_apply(params=params).status == "paid"
    second = sandbox_notify_params(topup=topup)  # a new txn id for the same payment
    topup_notify_apply(params=second)
    assert wallet_balances(customer=wallet["customer"])["available_fen"] == 12_500
    assert JournalEntry.objects.filter(ref=f"topup:{topup.pk}").count() == 1
    assert journal_total_fen() == 0


def test_production_mode_has_no_payment_gateway_so_no_top_up_and_no_callback(wallet, settings):
    # The sandbox gateway's signing secret is public: in production its callback must credit
    # nothing, and no top-up can be opened until a real gateway exists.
    from doudesk.sandbox.payment import sandbox_notify_params

    topup = topup_create(customer=wallet["customer"], amount_fen=2_500)
    params = sandbox_notify_params(topup=topup)
    settings.SANDBOX = False
    with pytest.raises(DomainError) as refused:
        topup_notify_apply(params=params)
    assert (refused.value.status, refused.value.errors[0].code) == (403, "no_payment_gateway")
    with pytest.raises(DomainError) as closed:
        topup_create(customer=wallet["customer"], amount_fen=2_500)
    assert closed.value.errors[0].field == "amount"
    topup.refresh_from_db()
    assert topup.status == "pending"
    assert wallet_balances(customer=wallet["customer"])["available_fen"] == 10_000
    assert TopUp.objects.count() == 1


# Money helpers -------------------------------------------------------------------------------


def test_money_helpers_round_half_up_once():
    assert yuan_str(12_345) == "123.45"
    assert yuan_str(-5) == "-0.05"
    assert yuan_str(0) == "0.00"
    assert yuan_to_fen("0.005") == 1
    assert yuan_to_fen("0.004") == 0
    assert yuan_to_fen(3) == 300
    assert charge_fen(1_300, Decimal("16")) == 2_080
    assert prorate_fen(2_080, 843, 1_300) == 1_349
    assert prorate_fen(1, 1, 2) == 1
    assert prorate_fen(1, 1, 3) == 0


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1,000", "1000"), (" 12.5 ", "12.5"), ("-3.07", "-3.07"), ("0", "0"), ("1234567", "1234567"),
     ("１００", "100"), ("１，０００．５", "1000.5"), ("¥5", "5"), ("￥ 5", "5"), ("100元", "100"),
     ("　８元 ", "8")],
)  # fmt: skip
def test_typed_yuan_reads_amounts_as_people_write_them(text, amount):
    assert typed_yuan(text) == Decimal(amount)


@pytest.mark.parametrize(
    "typed", ["1e3", "1E2", "1.234", "1,00", "12,34.5", "¥¥5", "5元元", "1²", "NaN", "", "."]
)
def test_typed_yuan_refuses_what_is_not_a_typed_amount(typed):
    assert typed_yuan(typed) is None


@pytest.mark.parametrize("junk", ["abc", "NaN", "Infinity", "1e30", "1E+999999999", ""])
def test_yuan_to_fen_refuses_junk_with_value_error(junk):
    with pytest.raises(ValueError, match="not an amount"):
        yuan_to_fen(junk)
