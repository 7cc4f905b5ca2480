"""The sandbox payment gateway (test mode): the customer "pays", the gateway calls back.

Like a real gateway, it notifies the platform asynchronously over HTTP with a signed request;
the platform credits the wallet only from that verified callback.
"""

from __future__ import annotations

import secrets

from django.conf import settings

from doudesk.errors import DomainError
from doudesk.oncommit import enqueue_on_commit
from doudesk.wallet import gateway
from doudesk.wallet.models import TopUp, TopUpStatus


def sandbox_notify_params(*, topup: TopUp, trade_status: str = "paid") -> dict[str, str]:
    """Return the signed notification the sandbox gateway sends for ``topup``."""
    params = {
        "out_trade_no": topup.out_trade_no,
        "amount_fen": str(topup.amount_fen),
        "trade_status": trade_status,
        "txn_id": "SBX" + secrets.token_hex(8).upper(),
        "gateway": "sandbox",
    }
    params["sign"] = gateway.sign(params)
    return params


def sandbox_payment_confirm(*, topup: TopUp, notify_url: str) -> None:
    """Schedule the gateway's callback once the customer confirmed on the sandbox page."""
    from doudesk.sandbox.tasks import sandbox_payment_notify_task

    if not settings.SANDBOX:
        raise DomainError.single(
            "gateway",
            "sandbox_disabled",
            "沙盒支付已关闭",
            "Sandbox payment is disabled",
            status=403,
        )
    if topup.status != TopUpStatus.PENDING:
        return
    enqueue_on_commit(sandbox_payment_notify_task, notify_url, sandbox_notify_params(topup=topup))
