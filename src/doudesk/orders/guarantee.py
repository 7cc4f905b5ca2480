"""Guarantee payouts: the guarantee fund pays a customer back for units found missing later.

Settlement sets aside a share of every delivered charge for the guarantee fund
(``services.GUARANTEE_PERCENT``). When units an order was paid for turn out to be missing after
it finished (they dropped and the provider could not refill them, or the provider reported more
than it delivered), an operator pays them back from the fund (:func:`order_guarantee_pay`).

Each payout is one balanced entry (guarantee fund → the customer's cash) and an order event, so
it is in the customer's statement and the transparency log. The units paid back never exceed
the units delivered, and the money never exceeds what the customer paid for them: each payout
is what the customer paid for the units paid back after it less what they paid for those
before it (``Order.units_charge_fen``, within what they paid), so rounding never adds up past
what was paid. The fund never goes negative.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Sum

from doudesk.errors import DomainError
from doudesk.orders.error_codes import OrderErrorCode as Code
from doudesk.orders.lock_objects import order_get_locked
from doudesk.orders.models import GuaranteeCause, GuaranteePayout, Order, OrderStatus
from doudesk.orders.transitions import record_event
from doudesk.textinput import plain_spaces
from doudesk.wallet.models import Account, AccountKind
from doudesk.wallet.money import CURRENCY, yuan_label, yuan_str
from doudesk.wallet.services import accounts_get, customer_spec, journal_post, platform_spec

#: The longest note a payout may carry (its column's).
NOTE_LENGTH = GuaranteePayout._meta.get_field("note").max_length or 0


def order_guarantee_pay(
    *, order_id: int, units: int, cause: str, note: str = ""
) -> GuaranteePayout:
    """Pay a finished order's customer back from the guarantee fund for ``units`` missing.

    Refused (field errors, nothing written) for an order with nothing delivered or not finished,
    for more units than were delivered and not yet paid back, for an amount under one fen, and
    when the fund holds less than the amount.
    """
    note = plain_spaces(note or "")
    if cause not in GuaranteeCause.values:
        raise DomainError.single(
            "cause", Code.GUARANTEE_INVALID, "请选择赔付原因", "Choose the cause"
        )
    if len(note) > NOTE_LENGTH or not note.isprintable():
        raise DomainError.single(
            "note",
            Code.GUARANTEE_INVALID,
            f"说明最多 {NOTE_LENGTH} 个字符，不含控制字符",
            f"The note takes at most {NOTE_LENGTH} characters, no control characters",
        )
    if units < 1:
        raise DomainError.single(
            "units", Code.GUARANTEE_INVALID, "赔付数量至少为 1", "Pay back at least 1 unit"
        )
    with transaction.atomic(durable=True):
        order = order_get_locked(order_id, related=("customer",))
        if order.status not in (OrderStatus.COMPLETED, OrderStatus.PARTIAL):
            raise DomainError.single(
                "order",
                Code.GUARANTEE_NOT_DELIVERED,
                "只有已完成或部分完成的订单可以赔付",
                "Only a completed or partially completed order can be paid back",
                status=409,
            )
        before = units_paid_back(order)
        if units > order.delivered - before:
            raise DomainError.single(
                "units",
                Code.GUARANTEE_OVER_DELIVERED,
                f"最多可赔付 {order.delivered - before:,} 个单位"
                f"（已交付 {order.delivered:,}，已赔付 {before:,}）",
                f"At most {order.delivered - before:,} units can be paid back "
                f"({order.delivered:,} delivered, {before:,} paid back)",
            )
        amount = _paid_for(order, before + units) - _paid_for(order, before)
        if amount <= 0:
            raise DomainError.single(
                "units",
                Code.GUARANTEE_INVALID,
                "这些单位的金额不足 1 分，请多赔付几个单位",
                "These units come to less than one fen; pay back more of them",
            )
        payout = GuaranteePayout.objects.create(
            order=order, units=units, amount_fen=amount, cause=cause, note=note
        )
        Order.objects.filter(pk=order.pk).update(
            guarantee_paid_fen=F("guarantee_paid_fen") + amount
        )
        cash, fund = accounts_get(
            [customer_spec(order.customer), platform_spec(AccountKind.GUARANTEE_FUND)]
        )
        journal_post(
            ref=f"order:{order.pk}:guarantee:{payout.pk}",
            kind="guarantee_payout",
            memo=f"订单 #{order.pk} 保障金赔付",
            order_id=order.pk,
            legs=[(fund, -amount), (cash, amount)],
        )
        _check_fund_covers(fund, amount)
        record_event(
            order,
            "guarantee_paid",
            data={
                "payout": payout.pk,
                "units": units,
                "amount": yuan_str(amount),
                "currency": CURRENCY,
                "cause": cause,
            },
        )
    return payout


def _paid_for(order: Order, units: int) -> int:
    """Return what the customer paid for ``units`` delivered units, never past what they paid.

    An order settled before charges were priced per unit (its charge prorated and rounded
    twice) may have been charged a fen less than the units' price now says.
    """
    return min(order.units_charge_fen(units), order.paid_fen)


def units_paid_back(order: Order) -> int:
    """Return how many of the order's units the guarantee fund has paid back."""
    total = order.guarantee_payouts.aggregate(units=Sum("units"))["units"]
    return total or 0


def _check_fund_covers(fund: Account, amount: int) -> None:
    """Refuse a payout the fund could not cover (its row is locked by the entry just posted)."""
    balance = Account.objects.filter(pk=fund.pk).values_list("balance_fen", flat=True).get()
    if balance < 0:
        available = balance + amount
        raise DomainError.single(
            "units",
            Code.GUARANTEE_FUND_SHORT,
            f"保障金余额不足：可用 {yuan_label(available)}，需要 {yuan_label(amount)}",
            f"The guarantee fund holds {yuan_label(available)}; {yuan_label(amount)} is needed",
            status=409,
        )
