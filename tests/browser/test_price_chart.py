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


AXIS_LABELS = """() => {
  const chart = echarts.getInstanceByDom(document.getElementById("price-chart"));
  return chart.getModel().getComponent("xAxis", 0).axis.getViewLabels().map(l => l.formattedLabel);
}"""


def test_the_chart_tells_time_in_the_site_zone_whatever_the_browser_zone(
    live_server: Any, browser: Any
) -> None:
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from doudesk.pricing.models import PriceChange

    plays = _plays_history("17", "16", "15")
    # Publications on the hour, Beijing time: 09:00, 12:00 and 15:00 (or their like).
    shanghai = ZoneInfo("Asia/Shanghai")
    last = timezone.localtime(timezone=shanghai).replace(minute=0, second=0, microsecond=0)
    for n, change in enumerate(PriceChange.objects.filter(module_id=plays).order_by("at")):
        change.at = last - timedelta(hours=3 * (2 - n))
        change.save(update_fields=["at"])
    hours = {f"{(last - timedelta(hours=3 * n)).hour:02d}:00" for n in range(3)}
    context = browser.new_context(timezone_id="America/New_York", locale="zh-CN")
    try:
        page = context.new_page()
        _open_chart(page, f"{live_server.url}/services/{plays}/pricing/")
        labels = set(page.evaluate(AXIS_LABELS))
    finally:
        context.close()
    assert hours & labels, (hours, labels)
    new_york = {
        f"{(last - timedelta(hours=3 * n)).astimezone(ZoneInfo('America/New_York')).hour:02d}:00"
        for n in range(3)
    }
    assert not (new_york - hours) & labels, (new_york, labels)


def test_a_history_across_midnight_labels_the_day_with_its_date(
    live_server: Any, page: Any
) -> None:
    # A day's first tick read as a bare "2" (ECharts' default for a new day).
    import re

    plays = _plays_history(*(str(15 + n % 3) for n in range(20)))  # 3 h apart: 57 hours
    _open_chart(page, f"{live_server.url}/services/{plays}/pricing/")
    labels = page.evaluate(AXIS_LABELS)
    assert labels
    assert all(re.fullmatch(r"\d\d-\d\d|\d\d:\d\d", label) for label in labels), labels
    assert any(re.fullmatch(r"\d\d-\d\d", label) for label in labels), labels


def test_a_fresh_publication_minutes_old_labels_its_ticks_with_seconds(
    live_server: Any, page: Any
) -> None:
    # A fresh catalogue's chart spans a minute or two: every tick read the same "04:44".
    import re

    from django.utils import timezone

    from doudesk.pricing.models import PriceChange

    plays = _plays_history("16")
    PriceChange.objects.filter(module_id=plays).update(at=timezone.now() - timedelta(seconds=90))
    _open_chart(page, f"{live_server.url}/services/{plays}/pricing/")
    labels = page.evaluate(AXIS_LABELS)
    assert len(labels) > 1
    assert len(set(labels)) == len(labels), labels
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d", label) for label in labels), labels
