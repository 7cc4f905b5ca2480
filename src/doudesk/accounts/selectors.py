"""Reads of the accounts app."""

from __future__ import annotations

from doudesk.accounts.models import Verification


def verifications_sharing_number(*, verification: Verification) -> list[Verification]:
    """Return the other customers' submissions with the same ID or credit-code number."""
    if not verification.number_digest:
        return []
    return list(
        Verification.objects.filter(number_digest=verification.number_digest)
        .exclude(customer_id=verification.customer_id)
        .select_related("customer")
        .order_by("pk")
    )
