"""Catalogue and quotes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from doudesk.api.auth import AUTH
from doudesk.api.schemas import PriceHistoryOut, QuoteOut, ServiceOut, answers
from doudesk.api.serializers import service_dict
from doudesk.api.types import Int
from doudesk.catalog.selectors import module_get, module_list
from doudesk.pricing.selectors import module_rates_today, price_history_dict
from doudesk.pricing.services import quote_as_dict, quote_create

router = Router(tags=["services"])


class QuoteIn(Schema):
    service_id: Int
    quantity: Int


@router.get("/services", auth=None, response=answers(list[ServiceOut]))
def services_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Every service a customer can order, with today's price per 1,000 units."""
    modules = module_list()
    rates = module_rates_today(modules=modules)
    return [service_dict(m, rates[m.pk]) for m in modules]


@router.get("/services/{service_id}", auth=None, response=answers(ServiceOut, 404))
def services_get(request: HttpRequest, service_id: Int) -> dict[str, Any]:
    """One service, with today's price per 1,000 units."""
    module = module_get(module_id=service_id, field="service_id")
    return service_dict(module, module_rates_today(modules=[module])[module.pk])


@router.get(
    "/services/{service_id}/price-history", auth=None, response=answers(PriceHistoryOut, 404)
)
def services_price_history(request: HttpRequest, service_id: Int) -> dict[str, Any]:
    """Price history (30 days), today's price next to the lowest market reference, and tiers."""
    return price_history_dict(module=module_get(module_id=service_id, field="service_id"))


@router.post("/quotes", auth=AUTH, response=answers({201: QuoteOut}, 400, 401, 403, 404, 409))
def quotes_create(request: HttpRequest, payload: QuoteIn) -> Status[dict[str, Any]]:
    """Price a quantity of a service; the quote holds for ten minutes."""
    module = module_get(module_id=payload.service_id)
    quote = quote_create(customer=request.auth, module=module, quantity=payload.quantity)
    return Status(201, quote_as_dict(quote))
