"""The module price page: price history chart, today's price against the market, volume tiers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from doudesk.catalog.selectors import modules_on_sale
from doudesk.pricing.selectors import module_price_summary, price_history_dict


def module_price(request: HttpRequest, module_id: int) -> HttpResponse:
    """Show why a module costs what it costs (public, like the catalogue)."""
    module = get_object_or_404(modules_on_sale(), pk=module_id)
    summary = module_price_summary(module=module)
    history = price_history_dict(module=module, summary=summary)
    return render(
        request,
        "web/module_price.html",
        {
            "module": module,
            "summary": summary,
            "history": history,
            # The chart shows times in the site's zone, as every page does, not the browser's.
            "utc_offset_minutes": int(timezone.localtime().utcoffset().total_seconds() // 60),
        },
    )
