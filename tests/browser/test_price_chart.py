"""The price chart in Chromium: a single publication reads as a price, not a lone dot."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

#: ECharts' first palette colour: the sale price line.
PRICE_BLUE = (0x54, 0x70, 0xC6)

CHART_STATE = """() => {
  const chart = echarts.getInstanceByDom(document.getElementById("price-chart"));
  const option = chart.getOption();
  const points = option.series[0].data;
  const first = chart.convertToPixel({ seriesIndex: 0 }, points[0]);
  const last = chart.convertToPixel({ seriesIndex: 0 }, points[points.length - 1]);
  return {
    points: points.length,
    label: !!(option.series[0].endLabel && option.series[0].endLabel.show),
    width: last[0] - first[0],
  };
}"""


def _price_pixels(page: Any) -> int:
    """Count the pixels of the sale-price colour inside the plot (below the legend)."""
    from PIL import Image

    image = Image.open(io.BytesIO(page.locator("#price-chart").screenshot())).convert("RGB")
    width, height = image.size
    pixels = image.load()
    return sum(
        1
        for x in range(width)
        for y in range(60, height - 30)
        if all(abs(a - b) <= 24 for a, b in zip(pixels[x, y], PRICE_BLUE, strict=True))
    )


def _plays_history(*prices: str) -> int:
    """Seed the demo and give plays one publication per price, hours apart; return its id."""
    from django.utils import timezone

    from doudesk.catalog.models import ServiceModule
    from doudesk.catalog.seed import seed_demo
    from doudesk.pricing.models import PriceChange
    from doudesk.pricing.services import pricing_publish_all

    seed_demo()
    pricing_publish_all()
    plays = ServiceModule.objects.get(code="plays")
    PriceChange.objects.filter(module=plays).delete()
    now = timezone.now()
    for n, price in enumerate(prices):
        PriceChange.objects.create(
            module=plays, at=now - timedelta(hours=3 * (len(prices) - n)), new_price=Decimal(price),
            changed=True, code="learned", reason_zh="调价", reason_en="repriced",
            floor=Decimal("12"), ceiling=Decimal("20"), reference_rate=Decimal("20"),
        )  # fmt: skip
    return plays.pk


def _open_chart(page: Any, url: str) -> dict[str, Any]:
    page.goto(url)
    page.wait_for_function(
        "() => window.echarts && echarts.getInstanceByDom(document.getElementById('price-chart'))"
    )
    return page.evaluate(CHART_STATE)


def test_a_single_price_point_is_drawn_as_a_level_line_with_its_price(
    live_server: Any, page: Any
) -> None:
    plays = _plays_history("16")
    state = _open_chart(page, f"{live_server.url}/services/{plays}/pricing/")
    assert state["label"]  # the price is written at the line's end
    assert state["width"] > 600  # from the publication across the plot
    # What the customer sees: a line of the price's colour, not a dot (a dot is ~20 pixels).
    deadline, seen = time.monotonic() + 5, 0
    while seen <= 1_000 and time.monotonic() < deadline:  # the line draws in, animated
        seen = _price_pixels(page)
    assert seen > 1_000


def test_a_chart_of_several_points_is_unchanged(live_server: Any, page: Any) -> None:
    plays = _plays_history("17", "16")
    state = _open_chart(page, f"{live_server.url}/services/{plays}/pricing/")
    assert state["points"] == 2  # the points as published, nothing added
    assert not state["label"]
