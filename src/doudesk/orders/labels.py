"""Readable names of order event kinds, for the customer's timeline and the operators' admin."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

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
    "refill_completed": _("补量已完成"),
    "refill_rejected": _("服务商拒绝补量"),
    "refill_failed": _("服务商补量出错"),
    "dispatch_uncertain": _("服务商未答复，正在核实"),
    "dispatch_retry": _("已核实，重新提交服务商"),
    "dispatch_orphaned": _("多余的服务商订单已作废，不向您收费"),
    "deliverable_added": _("交付物已上传"),
    "deliverable_withdrawn": _("交付物已撤回"),
    "guarantee_paid": _("保障金已赔付"),
}


def order_event_label(kind: str) -> str:
    """Return the readable label of an order event kind (the kind itself if it has none)."""
    return str(EVENT_LABELS.get(kind, kind))
