"""Template tags for today's price next to the market reference (catalogue cards, order form).

``{% module_price_summary module as p %}`` returns a
:class:`~doudesk.pricing.selectors.PriceSummary`. On a page with many modules the first call
computes the summaries of every active module at once and keeps them on the request, so a
catalogue page costs a constant number of queries however many cards it shows.
"""

from __future__ import annotations

from typing import Any

from django import template

from doudesk.catalog.models import ServiceModule
from doudesk.catalog.selectors import module_list
from doudesk.pricing.selectors import (
    PriceSummary,
    module_price_summaries,
    module_price_summary,
)

register = template.Library()

_CACHE_ATTR = "_doudesk_price_summaries"


@register.simple_tag(takes_context=True, name="module_price_summary")
def module_price_summary_tag(context: Any, module: ServiceModule) -> PriceSummary:
    """Return today's price summary of ``module`` (cached per request for all active modules)."""
    request = context.get("request")
    if request is None:
        return module_price_summary(module=module)
    cache = getattr(request, _CACHE_ATTR, None)
    if cache is None:
        cache = module_price_summaries(modules=module_list())
        setattr(request, _CACHE_ATTR, cache)
    if module.pk not in cache:
        cache[module.pk] = module_price_summary(module=module)
    return cache[module.pk]
