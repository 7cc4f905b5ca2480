"""Wallet: balances, journal and top-ups."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Schema, Status

from doudesk.api.auth import AUTH
from doudesk.api.schemas import TopUpOut, WalletOut, answers
from doudesk.orders.selectors import group_hold_labels_en
from doudesk.wallet import selectors
from doudesk.wallet.memos import entry_memo
from doudesk.wallet.money import yuan_str
from doudesk.wallet.services import topup_amount_fen, topup_create

router = Router(tags=["wallet"], auth=AUTH)


class TopUpIn(Schema):
    amount: Decimal


@router.get("/wallet", response=answers(WalletOut, 400, 401))
def wallet_get(request: HttpRequest) -> dict[str, Any]:
    """Available and held balance, and the latest journal lines."""
    balances = selectors.wallet_balances(customer=request.auth)
    legs = list(selectors.wallet_journal(customer=request.auth))
    labels = group_hold_labels_en(customer=request.auth, refs=[leg.entry.ref for leg in legs])
    return {
        "balance": yuan_str(balances["available_fen"]),
        "held": yuan_str(balances["held_fen"]),
        "currency": "CNY",
        "journal": [
            {
                "entry": leg.entry_id,
                "kind": leg.entry.kind,
                # In the request's language, as the web statement shows it.
                "memo": entry_memo(leg.entry, group_label_en=labels.get(leg.entry.ref)),
                "amount": yuan_str(leg.amount_fen),
                "at": leg.entry.created_at.isoformat(),
            }
            for leg in legs
        ],
    }


@router.post("/wallet/topups", response=answers({201: TopUpOut}, 400, 401, 403))
def wallet_topup(request: HttpRequest, payload: TopUpIn) -> Status[dict[str, Any]]:
    """Open a top-up; pay it at ``pay_url`` (the sandbox gateway in sandbox mode)."""
    amount_fen = topup_amount_fen(payload.amount)
    topup = topup_create(customer=request.auth, amount_fen=amount_fen)
    body = {
        "id": topup.out_trade_no,
        "amount": yuan_str(topup.amount_fen),
        "currency": "CNY",
        "status": topup.status,
        "pay_url": request.build_absolute_uri(
            reverse("web:sandbox_pay", args=[topup.out_trade_no])
        ),
    }
    return Status(201, body)
