"""Reads of the accounts app."""

from __future__ import annotations

from doudesk.accounts.models import Customer, Verification, VerificationStatus


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


def number_verified_elsewhere(*, customer: Customer | None, digest: str) -> bool:
    """Whether another customer's approved verification has this number (its blind index)."""
    others = Verification.objects.filter(number_digest=digest, status=VerificationStatus.APPROVED)
    if customer is not None:
        others = others.exclude(customer=customer)
    return others.exists()
