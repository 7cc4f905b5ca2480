"""Reads of balances and journals."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate

from doudesk.accounts.models import Customer
from doudesk.wallet.models import Account, AccountKind, JournalEntry, Leg, TopUp


def wallet_balances(*, customer: Customer) -> dict[str, int]:
    """Available and held fen of a customer."""
    rows = dict(Account.objects.filter(customer=customer).values_list("kind", "balance_fen"))
    return {
        "available_fen": rows.get(AccountKind.CUSTOMER_CASH, 0),
        "held_fen": rows.get(AccountKind.CUSTOMER_HOLD, 0),
    }


def wallet_journal(*, customer: Customer, limit: int = 50) -> QuerySet[Leg]:
    """Return the customer's cash-account legs, newest first."""
    return (
        Leg.objects.filter(account__customer=customer, account__kind=AccountKind.CUSTOMER_CASH)
        .select_related("entry")
        .order_by("-pk")[:limit]
    )


def wallet_statement(*, customer: Customer) -> QuerySet[JournalEntry]:
    """Return every entry that moved the customer's money, newest first (to page through).

    Each carries ``cash_fen`` and ``held_fen``: what it added to (or, negative, took from) the
    available and the held balance. A placement moves money from one to the other; a
    settlement takes what was paid from the held balance and gives any refund back.
    """
    mine = Q(legs__account__customer=customer)
    cash = Q(legs__account__kind=AccountKind.CUSTOMER_CASH)
    held = Q(legs__account__kind=AccountKind.CUSTOMER_HOLD)
    return (
        JournalEntry.objects.filter(mine & (cash | held))
        .annotate(
            cash_fen=Coalesce(Sum("legs__amount_fen", filter=cash), 0),
            held_fen=Coalesce(Sum("legs__amount_fen", filter=held), 0),
        )
        .order_by("-pk")
    )


#: Journal kinds that take a customer's money for orders (cash → hold) and give it back.
ORDER_CHARGE_KINDS = ("order_hold",)
ORDER_REFUND_KINDS = ("order_settle", "guarantee_payout")


def wallet_order_money_by_day(
    *, customer: Customer, since: datetime
) -> dict[date, tuple[int, int]]:
    """Return, per local day since ``since``, the fen charged for orders and given back.

    Read from the customer's cash account in the journal, as the wallet's statement shows
    it: charged is what placements took from the available balance (a package or plan's one
    hold on the day it was placed), given back what settlements refunded and what the
    guarantee fund paid back. Days are the site's (Beijing) days; days without either are
    left out. One query.
    """
    charge = Q(entry__kind__in=ORDER_CHARGE_KINDS)
    refund = Q(entry__kind__in=ORDER_REFUND_KINDS)
    rows = (
        Leg.objects.filter(
            charge | refund,
            account__customer=customer,
            account__kind=AccountKind.CUSTOMER_CASH,
            entry__created_at__gte=since,
        )
        .annotate(day=TruncDate("entry__created_at"))
        .values("day")
        .annotate(
            taken=Coalesce(Sum("amount_fen", filter=charge), 0),
            given=Coalesce(Sum("amount_fen", filter=refund), 0),
        )
        .order_by("day")
    )
    return {row["day"]: (-row["taken"], row["given"]) for row in rows}


def wallet_topups(*, customer: Customer, limit: int = 20) -> QuerySet[TopUp]:
    """Return the customer's recent top-ups."""
    return TopUp.objects.filter(customer=customer).order_by("-pk")[:limit]


def journal_total_fen() -> int:
    """Sum of every leg ever posted; zero in a sound journal."""
    return Leg.objects.aggregate(total=Sum("amount_fen"))["total"] or 0
