"""Quotes: the price a customer sees is held for ten minutes and charged exactly.

Today's unit rate comes from :func:`module_unit_rate`; the dynamic pricing engine plugs in there.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from doudesk.accounts.models import Customer
from doudesk.catalog.models import ServiceModule
from doudesk.catalog.services import quantity_errors
from doudesk.errors import DomainError
from doudesk.pricing.error_codes import PricingErrorCode as Code
from doudesk.pricing.models import Quote
from doudesk.wallet.money import charge_fen, rate_str, yuan_str


def module_unit_rate(*, module: ServiceModule, quantity: int) -> Decimal:
    """Today's rate per 1,000 units of ``module`` at ``quantity`` (yuan)."""
    return module.rate_per_1000


def quote_create(*, customer: Customer, module: ServiceModule, quantity: int) -> Quote:
    """Price ``quantity`` units of ``module`` for ``customer`` and hold the price."""
    errors = quantity_errors(module, quantity)
    if errors:
        raise DomainError(*errors)
    rate = module_unit_rate(module=module, quantity=quantity)
    return Quote.objects.create(
        customer=customer,
        module=module,
        quantity=quantity,
        unit_rate=rate,
        total_fen=charge_fen(quantity, rate),
        expires_at=timezone.now() + timedelta(seconds=settings.QUOTE_TTL_SECONDS),
    )


def quote_take(*, customer: Customer, quote_id: str, module: ServiceModule, quantity: int) -> Quote:
    """Return a quote the customer may order against, or explain why not with a fresh quote.

    A quote is good once, for its own customer, module and quantity, until it expires.
    """
    quote = Quote.objects.filter(pk=str(quote_id)[:24], customer=customer).first()
    problem: tuple[str, str, str] | None = None
    if quote is None:
        problem = (Code.QUOTE_NOT_FOUND, "报价不存在", "Unknown quote")
    elif quote.module_id != module.pk or quote.quantity != quantity:
        problem = (
            Code.QUOTE_MISMATCH,
            "报价与服务或数量不符",
            "Quote is for another service or quantity",
        )
    elif hasattr(quote, "order"):
        problem = (Code.QUOTE_USED, "报价已被使用", "Quote has already been used")
    elif quote.expires_at <= timezone.now():
        problem = (Code.QUOTE_EXPIRED, "报价已过期", "Quote has expired")
    if problem is None:
        assert quote is not None
        return quote
    fresh = quote_create(customer=customer, module=module, quantity=quantity)
    code, zh, en = problem
    error = DomainError.single(
        "quote_id",
        code,
        f"{zh}，新报价 {fresh.pk}：¥{yuan_str(fresh.total_fen)}",
        f"{en}; fresh quote {fresh.pk}: ¥{yuan_str(fresh.total_fen)}",
        status=409,
    )
    error.extra = {"fresh_quote": quote_as_dict(fresh)}
    raise error


def quote_as_dict(quote: Quote) -> dict:
    """The API shape of a quote."""
    return {
        "id": quote.pk,
        "service_id": quote.module_id,
        "quantity": quote.quantity,
        "unit_rate": rate_str(quote.unit_rate),
        "total": yuan_str(quote.total_fen),
        "currency": "CNY",
        "expires_at": quote.expires_at.isoformat(),
    }
