"""Template filters: yuan amounts, quantities, unit prices, order events, journal memos, options.

Amounts and quantities are shown with thousands separators (``¥12,345.67``, ``10,000``) in
both languages; the values the API, form inputs and exports carry stay plain numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from doudesk.catalog.audience import audience_names
from doudesk.languages import english_active
from doudesk.orders.labels import order_event_label
from doudesk.orders.transitions import CUSTOMER_STOPPED, PROVIDER_REJECTED, PROVIDER_STOPPED
from doudesk.wallet.memos import entry_memo
from doudesk.wallet.money import yuan_label, yuan_str, yuan_to_fen

register = template.Library()


#: What the customer is told of a provider's refusal, by its code; other codes (the provider's
#: funds, keys, services) are the platform's to fix, and the customer is told only that it was.
_REFUSALS = {
    "invalid_link": _("链接无效"),
    "invalid_quantity": _("数量不符合要求"),
}


@register.filter
def stop_reason(data: Any) -> str:
    """Return why an order ended short, from its final event's data ("" when it did not)."""
    reason = (data or {}).get("reason", "") if isinstance(data, dict) else ""
    if not reason:
        return ""
    if reason == CUSTOMER_STOPPED:
        return gettext("应您的要求取消")
    if reason == PROVIDER_STOPPED:
        return gettext("服务商未能交付全部数量，未交付部分自动退款")
    # A refusal names its kind ("rejected:invalid_link"); the provider's own words are for
    # operators (older events held them here, in the provider's language).
    detail = _REFUSALS.get(reason.removeprefix(f"{PROVIDER_REJECTED}:"))
    if detail:
        return gettext("服务商未接受此订单（%(reason)s），已全额退款") % {"reason": detail}
    return gettext("服务商未接受此订单，已全额退款")


@register.filter
def yuan(amount: int | Decimal | str | None, unit: str = "fen") -> str:
    """Return an amount as people read it: yuan, thousands separators, two decimals.

    ``{{ order.charge_fen|yuan }}`` takes integer fen (``1234567`` → ``12,345.67``);
    ``{{ plan.total|yuan:"yuan" }}`` takes yuan, a ``Decimal`` or a decimal string as the API
    shapes hold them, rounded half-up to the fen. A yuan value that is no amount is shown as is.
    """
    if unit != "yuan":
        return yuan_str(int(amount or 0), grouped=True)
    if amount is None or amount == "":
        return ""
    try:
        fen = yuan_to_fen(amount)
    except ValueError:
        return str(amount)
    return yuan_str(fen, grouped=True)


@register.filter
def qty(number: Any) -> Any:
    """Return a count of units with thousands separators (``10000`` → ``10,000``).

    Anything but an integer (``None``, the ``—`` of an unknown count) passes through unchanged.
    """
    if isinstance(number, int) and not isinstance(number, bool):
        return f"{number:,}"
    return number


def _two_places(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


@register.filter
def per_unit(rate_per_1000: Decimal | str | int) -> str:
    """Return the price of one unit, in yuan with two decimals, from a rate per 1,000 units.

    The catalogue shows services sold by the piece (video editing, reports) per unit: a rate of
    ¥199,000 per 1,000 reads as ¥199.00 per video (and ¥1,299,000 as ¥1,299.00).
    """
    return _two_places(Decimal(str(rate_per_1000)) / 1000)


#: From this rate per 1,000 units on, a service is sold by the piece and priced per unit.
PER_UNIT_FROM = Decimal(1000)


@register.filter
def piece(unit: str) -> str:
    """Return a unit as a price per piece names it: ``visits`` -> ``visit``; ``场`` stays.

    English units are stored plural (``1000 plays``, all regular plurals); Chinese has none.
    """
    return unit.removesuffix("s") if unit.isascii() else unit


@register.filter
def by_the_piece(rate_per_1000: Decimal | str | int) -> bool:
    """Whether a service at this list rate is sold, and priced, by the piece."""
    return Decimal(str(rate_per_1000)) >= PER_UNIT_FROM


@register.filter
def tier_rate(rate_per_1000: Decimal | str | int, piecewise: bool) -> str:
    """Return a rate as a price table shows it: per 1,000 units, or per unit by the piece.

    Per 1,000 with the decimals it has, as :func:`rate_label` shows the same rate above the
    table (¥15.7714 there and ¥15.77 here read as two prices).
    """
    if piecewise:
        return per_unit(rate_per_1000)
    return _rate_places(Decimal(str(rate_per_1000)))


@register.simple_tag
def rate_label(rate_per_1000: Decimal | str | int, unit: str) -> SafeString:
    """Return a rate as customers read it: ``¥16.00 / 1,000 次``; by the piece ``¥299.00 / 场``.

    A rate per 1,000 keeps the decimals it has, up to the four quotes carry (``¥17.349 / 1,000
    次``): rounded to the cent it would not multiply out to the total charged for the quantity.
    """
    rate = Decimal(str(rate_per_1000))
    if rate >= PER_UNIT_FROM:
        return format_html("¥{} <small>/ {}</small>", per_unit(rate), piece(unit))
    return format_html("¥{} <small>/ 1,000 {}</small>", _rate_places(rate), unit)


def _rate_places(rate: Decimal) -> str:
    """Return ``rate`` with two to four decimals and thousands separators."""
    text = f"{rate.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP):,}"
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"


@register.simple_tag
def movement_cell(fen: int, label: str = "") -> SafeString:
    """Return a table cell for money moved: ``+¥1,000.00`` in green, ``-¥173.49`` in red, else —.

    ``label`` names the column for phones, where the rows are stacked without their header.
    """
    if not fen:
        return format_html('<td class="num muted" data-label="{}">{}</td>', label, "—")
    sign, css = ("+", "pos") if fen > 0 else ("", "neg")
    return format_html(
        '<td class="{}" data-label="{}">{}{}</td>', css, label, sign, yuan_label(fen)
    )


OBJECTIVE_LABELS = {
    "plays": _("播放量"),
    "engagement": _("互动"),
    "followers": _("粉丝"),
    "live_traffic": _("直播间人气"),
    "store_visits": _("到店"),
}
GENDER_LABELS = {"any": _("不限"), "male": _("男"), "female": _("女")}


@register.filter
def promotion_facts(options: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Return an order's promotion options as ``(label, value)`` lines in the active language.

    What the customer asked the official promotion channel for (objective, audience, gender,
    ages, regions, interests, duration), so the order page shows what was paid for. Regions
    and interests are stored as slugs and shown by their first name in the language.
    """
    if not options:
        return []
    english = english_active()
    separator = ", " if english else "、"
    facts: list[tuple[str, str]] = []
    if options.get("objective") in OBJECTIVE_LABELS:
        facts.append((gettext("投放目标"), str(OBJECTIVE_LABELS[options["objective"]])))
    custom = options.get("audience") == "custom"
    facts.append((gettext("人群"), gettext("自定义定向") if custom else gettext("系统智能推荐")))
    if options.get("gender") in GENDER_LABELS:
        facts.append((gettext("性别"), str(GENDER_LABELS[options["gender"]])))
    if options.get("ages"):
        facts.append((gettext("年龄"), separator.join(options["ages"])))
    for key, label in (("regions", gettext("地域")), ("interests", gettext("兴趣"))):
        if options.get(key):
            names = [_audience_name(key, slug, english) for slug in options[key]]
            facts.append((label, separator.join(names)))
    if options.get("duration_hours"):
        hours = options["duration_hours"]
        facts.append((gettext("投放时长"), gettext("%(n)s 小时") % {"n": hours}))
    return facts


def _audience_name(dimension: str, slug: str, english: bool) -> str:
    names = audience_names()[dimension].get(slug)
    if names is None:
        return slug
    return names["en"][0].title() if english else names["zh"][0]


@register.filter
def progress_since_events(order: Any, events: Iterable[Any]) -> bool:
    """Whether an unfinished order has delivered more than its timeline's last count says.

    A ``progress`` event is written at each new tenth of the quantity, so between two of them
    the timeline trails the progress bar; the page then ends it with the latest count.
    """
    if order.is_finished or not order.delivered:
        return False
    recorded = max((e.data.get("delivered") or 0 for e in events if e.data), default=0)
    return bool(order.delivered > recorded)


@register.filter
def progress_as_of(order: Any, events: Iterable[Any]) -> Any:
    """When the timeline's closing "latest progress" line holds: its count, or a later event.

    The count was written at ``updated_at``; an event since (a cancel request, which does not
    touch the count) would otherwise be followed by an earlier time.
    """
    return max([order.updated_at, *(e.created_at for e in events)])


@register.filter
def event_label(kind: str) -> str:
    """Return a readable label for an order event kind."""
    return order_event_label(kind)


@register.filter
def journal_memo(entry: Any, group_labels_en: Mapping[str, str] | None = None) -> str:
    """Describe a statement entry (``wallet_statement``) in the active language.

    ``group_labels_en`` holds the English labels of group holds, keyed by the entry's ref.
    """
    label = (group_labels_en or {}).get(entry.ref)
    return entry_memo(entry, group_label_en=label, movements=True)
