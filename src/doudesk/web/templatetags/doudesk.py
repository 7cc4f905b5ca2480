"""Template filters: yuan amounts and order-event labels."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from doudesk.wallet.money import yuan_str

register = template.Library()

EVENT_LABELS = {
    "placed": _("已下单，资金已冻结"),
    "dispatched": _("已提交服务商"),
    "progress": _("交付进行中"),
    "completed": _("已完成"),
    "partial": _("部分完成"),
    "canceled": _("已取消"),
    "refunded": _("未交付部分已退款"),
    "cancel_requested": _("已申请取消"),
    "refill_requested": _("已申请补量"),
}


@register.filter
def yuan(fen: int | None) -> str:
    """Fen as a yuan string with two decimals."""
    return yuan_str(int(fen or 0))


@register.filter
def event_label(kind: str) -> str:
    """A readable label for an order event kind."""
    return str(EVENT_LABELS.get(kind, kind))
