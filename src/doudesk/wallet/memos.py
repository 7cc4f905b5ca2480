"""Journal memos in the active language, for the wallet page and the API alike.

Memos are stored in Chinese when an entry is written. The well-known kinds are rebuilt from the
entry's kind, order and reference, so an English reader does not get Chinese text; anything
else falls back to the stored memo.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from doudesk.languages import english_active
from doudesk.wallet.money import yuan_label

#: Readable names of journal entry kinds (the operators' admin).
ENTRY_KIND_LABELS = {
    "topup": _("充值"),
    "topup_reversal": _("充值冲正"),
    "order_hold": _("订单冻结"),
    "order_settle": _("订单结算"),
    "guarantee_payout": _("保障金赔付"),
}


def entry_kind_label(kind: str) -> str:
    """Return the readable name of a journal entry kind (the kind itself if it has none)."""
    return str(ENTRY_KIND_LABELS.get(kind, kind))


def entry_memo(entry: Any, *, group_label_en: str | None = None, movements: bool = False) -> str:
    """Describe a journal entry in the active language.

    A group's hold names the group by ``group_label_en`` when English is active (the stored
    memo has its Chinese label). With ``movements`` the entry carries ``cash_fen`` and
    ``held_fen``, as ``wallet_statement`` reads them, and a settlement says what was paid and
    what came back; without, it is named only.
    """
    memo = entry.memo or ""
    if entry.order_id is not None and entry.kind == "order_hold":
        return gettext("订单 #%(id)s 冻结") % {"id": entry.order_id}
    if entry.order_id is not None and entry.kind == "order_settle":
        if movements:
            return _settlement_memo(entry)
        return gettext("订单 #%(id)s 结算") % {"id": entry.order_id}
    if entry.order_id is not None and entry.kind == "guarantee_payout":
        return gettext("订单 #%(id)s 保障金赔付") % {"id": entry.order_id}
    if entry.kind == "topup" and entry.ref.startswith("topup:") and memo.startswith("充值 "):
        return gettext("充值 %(no)s") % {"no": memo.removeprefix("充值 ")}
    if entry.kind == "topup_reversal" and memo.startswith("人工入账冲正 "):
        return gettext("人工入账冲正 %(reference)s") % {
            "reference": memo.removeprefix("人工入账冲正 ")
        }
    if entry.kind == "topup" and entry.ref.startswith("topup:") and memo.startswith("人工入账 "):
        return gettext("人工入账 %(reference)s") % {"reference": memo.removeprefix("人工入账 ")}
    if entry.ref.startswith("demo-credit:"):
        return gettext("沙盒演示额度")
    if entry.ref.startswith("group:") and memo.endswith(" 冻结"):
        label = memo.removesuffix(" 冻结")
        if english_active():
            label = group_label_en or label
        return gettext("%(label)s 冻结") % {"label": label}
    return memo


def _settlement_memo(entry: Any) -> str:
    """Name what a settlement did: what the order cost in the end, and what came back.

    From the entry's movements of the customer's balances: the whole hold is released, the
    refund goes back to the available balance, the rest was paid.
    """
    refund = entry.cash_fen
    paid = -entry.held_fen - refund
    values = {"id": entry.order_id, "paid": yuan_label(paid), "refund": yuan_label(refund)}
    if refund and not paid:  # cancelled before anything was delivered (a plan's later days)
        return gettext("订单 #%(id)s 已取消：全额退款 %(refund)s") % values
    if refund:
        return gettext("订单 #%(id)s 结算：实付 %(paid)s，退款 %(refund)s") % values
    return gettext("订单 #%(id)s 结算：实付 %(paid)s") % values
