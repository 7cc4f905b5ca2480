"""Wallet: the double-entry journal, customer balances, and top-ups through payment gateways.

Design overview
---------------
``journal_post`` is the only writer of money. It refuses an entry whose legs do not sum to zero,
writes the entry and its legs, then moves the cached balances with one conditional ``UPDATE``
per account in primary-key order (so two entries never deadlock, and each row is locked only for
the rest of the transaction): a customer account is only debited ``WHERE balance_fen >= amount``,
so it never goes below zero, and an entry that would overdraw raises before commit, leaving
nothing written. ``ref`` is unique and inserted ``ON CONFLICT DO NOTHING``, so replaying a
movement (a retried task, a gateway calling back twice) posts nothing the second time. Legs are
never edited: corrections are new, reversing entries.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from doudesk.accounts.models import Customer
from doudesk.errors import DomainError
from doudesk.providers.models import Provider
from doudesk.rowselect import rows_select
from doudesk.wallet import gateway
from doudesk.wallet.error_codes import WalletErrorCode
from doudesk.wallet.models import (
    DEBIT_NORMAL,
    NON_NEGATIVE,
    Account,
    AccountKind,
    JournalEntry,
    Leg,
    TopUp,
    TopUpStatus,
)
from doudesk.wallet.money import FEN_PER_YUAN, typed_yuan, yuan_label

MIN_TOPUP_FEN = 100
#: The "gateway" of money an operator credits by hand after checking a bank transfer.
MANUAL_GATEWAY = "manual"
MAX_TOPUP_FEN = 100_000_000


@dataclass(frozen=True)
class AccountSpec:
    """How to find (by ``code``) or create one ledger account."""

    code: str
    kind: str
    owner: dict[str, object] = field(default_factory=dict)


def _account(code: str, kind: str, **owner: object) -> Account:
    account = Account.objects.filter(code=code).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(code=code, kind=kind, **owner)
    except IntegrityError:
        return Account.objects.get(code=code)


def accounts_get(specs: Sequence[AccountSpec]) -> list[Account]:
    """Return the accounts of ``specs`` in order: one query when all exist, created once if not.

    The query is written out (``rows_select``): every order's hold and settlement runs it.
    """
    marks = ", ".join(["%s"] * len(specs))
    rows = rows_select(Account, f"WHERE t0.code IN ({marks})", [s.code for s in specs])
    found = {a.code: a for a in rows}
    return [found.get(s.code) or _account(s.code, s.kind, **s.owner) for s in specs]


def customer_spec(customer: Customer, kind: str = AccountKind.CUSTOMER_CASH) -> AccountSpec:
    """Describe the customer's cash or hold account."""
    return AccountSpec(f"customer:{customer.pk}:{kind}", kind, {"customer": customer})


def platform_spec(kind: str) -> AccountSpec:
    """Describe one of the platform's own accounts."""
    return AccountSpec(f"platform:{kind}", kind)


def provider_spec(provider: Provider) -> AccountSpec:
    """Describe the account of what the platform owes ``provider``."""
    return AccountSpec(
        f"provider:{provider.pk}:payable", AccountKind.PROVIDER_PAYABLE, {"provider": provider}
    )


def customer_account(customer: Customer, kind: str = AccountKind.CUSTOMER_CASH) -> Account:
    """Return (creating once) the customer's cash or hold account."""
    return accounts_get([customer_spec(customer, kind)])[0]


def customer_accounts(customer: Customer) -> tuple[Account, Account]:
    """Return (creating once) the customer's cash and hold accounts, in one query if both exist."""
    cash, hold = accounts_get(
        [customer_spec(customer), customer_spec(customer, AccountKind.CUSTOMER_HOLD)]
    )
    return cash, hold


def platform_account(kind: str) -> Account:
    """Return (creating once) one of the platform's own accounts."""
    return accounts_get([platform_spec(kind)])[0]


def provider_account(provider: Provider) -> Account:
    """Return (creating once) what the platform owes ``provider``."""
    return accounts_get([provider_spec(provider)])[0]


def journal_post(
    *,
    ref: str,
    kind: str,
    legs: Sequence[tuple[Account, int]],
    memo: str = "",
    order_id: int | None = None,
) -> JournalEntry | None:
    """Post one balanced entry; return it, or ``None`` if ``ref`` was already posted.

    Must run inside a transaction, which the caller lets roll back on an error. Raises
    :class:`DomainError` (``insufficient_balance``, HTTP 402) when a customer account would go
    negative; the transaction then writes nothing.
    """
    legs = [(account, amount) for account, amount in legs if amount != 0]
    if sum(amount for _, amount in legs) != 0:
        raise ValueError(f"unbalanced journal entry {ref}: {legs}")
    if not legs:
        return None
    entry = _entry_insert(ref=ref, kind=kind, memo=memo[:200], order_id=order_id)
    if entry is None:
        return None
    deltas: dict[int, int] = {}
    kinds: dict[int, str] = {}
    for account, amount in legs:
        sign = -1 if account.kind in DEBIT_NORMAL else 1
        deltas[account.pk] = deltas.get(account.pk, 0) + sign * amount
        kinds[account.pk] = account.kind
    _legs_insert(entry.pk, [(account.pk, amount) for account, amount in legs])
    for pk in sorted(deltas):
        delta = deltas[pk]
        guarded = kinds[pk] in NON_NEGATIVE and delta < 0
        if delta and not _balance_move(pk, delta, guarded=guarded):
            raise _insufficient(pk, -delta)
    return entry


def _legs_insert(entry_id: int, legs: Sequence[tuple[int, int]]) -> None:
    """Insert the entry's legs, ``(account id, amount)`` each, in one written-out statement.

    Every order posts two entries; the ORM's ``bulk_create`` cost several times the statement.
    """
    table = connection.ops.quote_name(Leg._meta.db_table)
    rows = ", ".join(["(%s, %s, %s)"] * len(legs))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (entry_id, account_id, amount_fen) VALUES {rows}",
            [value for account_id, amount in legs for value in (entry_id, account_id, amount)],
        )


def _balance_move(account_pk: int, delta: int, *, guarded: bool) -> bool:
    """Add ``delta`` to one account's balance; with ``guarded`` only if it stays non-negative.

    One conditional ``UPDATE`` (the row stays locked until commit); returns whether it applied.
    Written out rather than built by the ORM: every order moves two to five balances, and
    compiling the queryset each time cost several times the statement itself.
    """
    table = connection.ops.quote_name(Account._meta.db_table)
    sql = f"UPDATE {table} SET balance_fen = balance_fen + %s WHERE id = %s"
    params = [delta, account_pk]
    if guarded:
        sql += " AND balance_fen >= %s"
        params.append(-delta)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def _entry_insert(*, ref: str, kind: str, memo: str, order_id: int | None) -> JournalEntry | None:
    """Insert the entry, or nothing when ``ref`` is taken; one statement, no savepoint.

    Raw SQL because the ORM's ``ignore_conflicts`` does not return the new id.
    """
    now = timezone.now()
    table = connection.ops.quote_name(JournalEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (ref, kind, memo, order_id, created_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (ref) DO NOTHING RETURNING id",
            [ref, kind, memo, order_id, connection.ops.adapt_datetimefield_value(now)],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    entry = JournalEntry(
        pk=row[0], ref=ref, kind=kind, memo=memo, order_id=order_id, created_at=now
    )
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


def _insufficient(account_pk: int, needed_fen: int) -> DomainError:
    available = Account.objects.filter(pk=account_pk).values_list("balance_fen", flat=True).get()
    return DomainError.single(
        "balance",
        WalletErrorCode.INSUFFICIENT_BALANCE,
        f"余额不足：可用 {yuan_label(available)}，需要 {yuan_label(needed_fen)}",
        f"Insufficient balance: {yuan_label(available)} available, {yuan_label(needed_fen)} needed",
        status=402,
    )


def topup_amount_fen(value: object) -> int:
    """Read a top-up amount the customer typed (yuan) as fen; a field error if it is not one.

    What counts as typed yuan is :func:`~doudesk.wallet.money.typed_yuan`'s rule: exponent
    notation and fractions of a fen are refused, not charged as something the customer did not
    mean.
    """
    amount = typed_yuan(str(value))
    if amount is None:
        raise DomainError.single(
            "amount",
            WalletErrorCode.INVALID_AMOUNT,
            "请输入金额（元），最多两位小数",
            "Enter an amount in yuan with at most two decimals",
        )
    fen = amount * FEN_PER_YUAN
    if fen.copy_abs() > MAX_TOPUP_FEN:
        # Out of range for topup_create, which says so; a long run of digits is not converted.
        return MAX_TOPUP_FEN + 1 if fen > 0 else -1
    return int(fen)


def _require_payment_gateway(field: str) -> None:
    """Refuse top-ups without a payment gateway: the only one so far is the sandbox's.

    In production mode its public signing secret would let anyone credit a wallet.
    """
    if not settings.SANDBOX:
        raise DomainError.single(
            field,
            WalletErrorCode.NO_GATEWAY,
            "在线充值暂未开通，请联系客服充值",
            "Online top-up is not available yet; please contact support",
            status=403,
        )


def topup_create(*, customer: Customer, amount_fen: int) -> TopUp:
    """Open a pending top-up of ``amount_fen`` through the sandbox gateway (sandbox mode only)."""
    _require_payment_gateway("amount")
    _check_topup_range(amount_fen)
    return TopUp.objects.create(
        customer=customer, amount_fen=amount_fen, out_trade_no=_new_trade_no()
    )


def _new_trade_no() -> str:
    # Dated in Beijing time, as every page shows times.
    return "T" + timezone.localdate().strftime("%Y%m%d") + secrets.token_hex(8).upper()


def _check_topup_range(amount_fen: int) -> None:
    if not MIN_TOPUP_FEN <= amount_fen <= MAX_TOPUP_FEN:
        raise DomainError.single(
            "amount",
            WalletErrorCode.INVALID_AMOUNT,
            f"充值金额须在 {yuan_label(MIN_TOPUP_FEN)} 至 {yuan_label(MAX_TOPUP_FEN)} 之间",
            f"Top-up amount must be between {yuan_label(MIN_TOPUP_FEN)} "
            f"and {yuan_label(MAX_TOPUP_FEN)}",
        )


@transaction.atomic(durable=True)
def topup_credit_manual(*, customer: Customer, amount_fen: int, reference: str) -> TopUp:
    """Credit money received outside a gateway (a bank transfer an operator has checked).

    The top-up is recorded as paid through the ``manual`` gateway with the payment's own
    reference (the bank's transaction number), in one transaction with its journal entry. A
    reference is credited once: entering the same transfer twice is refused.
    """
    _check_topup_range(amount_fen)
    # "bank-001" and "ＢＡＮＫ－００１" (typed in full-width mode) are the transfer "BANK-001" is.
    reference = unicodedata.normalize("NFKC", reference).strip().upper()
    if not reference or len(reference) > 64 or not reference.isprintable():
        raise DomainError.single(
            "reference",
            WalletErrorCode.INVALID_REFERENCE,
            "请填写付款凭证号（银行流水号等，最多 64 个字符）",
            "Enter the payment's reference (the bank's transaction number; at most 64 characters)",
        )
    try:
        with transaction.atomic():
            topup = TopUp.objects.create(
                customer=customer,
                amount_fen=amount_fen,
                gateway=MANUAL_GATEWAY,
                out_trade_no=_new_trade_no(),
                status=TopUpStatus.PAID,
                gateway_txn=reference,
                paid_at=timezone.now(),
            )
    except IntegrityError:  # topup_manual_reference_once: this transfer was credited already
        raise DomainError.single(
            "reference",
            WalletErrorCode.DUPLICATE_REFERENCE,
            "该凭证号已入账，不能重复入账",
            "This payment reference has already been credited",
            status=409,
        ) from None
    journal_post(
        ref=f"topup:{topup.pk}",
        kind="topup",
        memo=f"人工入账 {reference}",
        legs=[
            (platform_account(AccountKind.PAYMENT_CLEARING), -amount_fen),
            (customer_account(customer), amount_fen),
        ],
    )
    return topup


@transaction.atomic(durable=True)
def topup_reverse_manual(*, topup_id: int) -> TopUp:
    """Take back a manual credit entered by mistake, with one balanced reversing entry.

    Only a paid manual credit can be reversed, once; the customer's available balance must
    still hold the amount (it never goes negative: a 402 says what is missing). The top-up
    is then marked reversed and its reference may be credited again.
    """
    topup = TopUp.objects.select_for_update().select_related("customer").get(pk=topup_id)
    if topup.gateway != MANUAL_GATEWAY or topup.status != TopUpStatus.PAID:
        raise DomainError.single(
            "topup",
            WalletErrorCode.NOT_REVERSIBLE,
            "只能冲正已到账的人工入账",
            "Only a credited bank transfer can be reversed",
            status=409,
        )
    journal_post(
        ref=f"topup:{topup.pk}:reversal",
        kind="topup_reversal",
        memo=f"人工入账冲正 {topup.gateway_txn}",
        legs=[
            (customer_account(topup.customer), -topup.amount_fen),
            (platform_account(AccountKind.PAYMENT_CLEARING), topup.amount_fen),
        ],
    )
    # The reference is free again (topup_manual_reference_once leaves reversed credits out):
    # the transfer, if it did arrive, can be credited rightly.
    topup.status = TopUpStatus.REVERSED
    topup.save(update_fields=["status"])
    return topup


def topups_expire(*, now: datetime | None = None) -> int:
    """Close top-ups left unpaid for ``TOPUP_EXPIRE_MINUTES`` (run by the beat); return how many.

    As a gateway closes an unpaid trade, so the wallet stops listing it as awaiting payment.
    Nothing moves: no money was taken. A payment the gateway still reports afterwards is credited
    all the same (:func:`topup_notify_apply`), so closing one never loses a customer's money.
    """
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.TOPUP_EXPIRE_MINUTES)
    return TopUp.objects.filter(status=TopUpStatus.PENDING, created_at__lt=cutoff).update(
        status=TopUpStatus.EXPIRED
    )


#: A gateway's trade status that credits the top-up, and those that close it unpaid. Any other
#: status (an interim one) changes nothing.
PAID = "paid"
CLOSED = frozenset({"failed", "closed"})


def _bad_notify(code: str, zh: str, en: str) -> DomainError:
    return DomainError.single("notify", code, zh, en)


@transaction.atomic
def topup_notify_apply(*, params: dict[str, str]) -> TopUp:
    """Apply a gateway's signed payment notification exactly once.

    The signature is checked first; a repeated notification for a paid top-up changes nothing.
    ``paid`` credits the wallet (also after a failure notice), ``failed`` / ``closed`` close the
    top-up unpaid, any other status is interim and changes nothing.
    Refused outright without a payment gateway (production mode, so far).
    """
    _require_payment_gateway("notify")
    if not gateway.verify(params):
        raise _bad_notify(WalletErrorCode.BAD_SIGNATURE, "签名无效", "Invalid signature")
    # Only the gateway's own top-ups: a manual credit (reversed, say) is not its to mark paid.
    topup = (
        TopUp.objects.select_for_update()
        .exclude(gateway=MANUAL_GATEWAY)
        .filter(out_trade_no=params.get("out_trade_no"))
        .first()
    )
    if topup is None:
        raise _bad_notify(WalletErrorCode.UNKNOWN_PAYMENT, "未知的支付单号", "Unknown payment")
    if str(topup.amount_fen) != params.get("amount_fen"):
        raise _bad_notify(WalletErrorCode.AMOUNT_MISMATCH, "金额不符", "Amount mismatch")
    trade_status = params.get("trade_status")
    if topup.status == TopUpStatus.PAID or trade_status not in (PAID, *CLOSED):
        return topup  # applied once already, or an interim state (e.g. waiting for the buyer)
    if trade_status in CLOSED:
        if topup.status == TopUpStatus.PENDING:
            topup.status = TopUpStatus.FAILED
            topup.save(update_fields=["status"])
        return topup
    # Paid, even after a failure notice: the money has arrived, so the wallet gets it.
    topup.status = TopUpStatus.PAID
    topup.gateway_txn = params.get("txn_id", "")[:64]
    topup.paid_at = timezone.now()
    topup.save(update_fields=["status", "gateway_txn", "paid_at"])
    journal_post(
        ref=f"topup:{topup.pk}",
        kind="topup",
        memo=f"充值 {topup.out_trade_no}",
        legs=[
            (platform_account(AccountKind.PAYMENT_CLEARING), -topup.amount_fen),
            (customer_account(topup.customer), topup.amount_fen),
        ],
    )
    return topup
