"""Reads of balances and journals."""

from __future__ import annotations

from django.db.models import QuerySet, Sum

from doudesk.accounts.models import Customer
from doudesk.wallet.models import Account, AccountKind, Leg, TopUp


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


def wallet_topups(*, customer: Customer, limit: int = 20) -> QuerySet[TopUp]:
    """Return the customer's recent top-ups."""
    return TopUp.objects.filter(customer=customer).order_by("-pk")[:limit]


def journal_total_fen() -> int:
    """Sum of every leg ever posted; zero in a sound journal."""
    return Leg.objects.aggregate(total=Sum("amount_fen"))["total"] or 0
