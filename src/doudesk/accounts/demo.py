"""Demo customers for the sandbox: verified, funded, with an API key."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction

from doudesk.accounts.idcheck import resident_id_check_char
from doudesk.accounts.models import CustomerKind
from doudesk.accounts.selectors import number_verified_elsewhere
from doudesk.accounts.services import api_key_create, customer_sign_up, verification_submit
from doudesk.crypto import blind_index
from doudesk.wallet.models import AccountKind
from doudesk.wallet.services import customer_account, journal_post, platform_account


def demo_resident_id() -> str:
    """Return a valid resident ID no other account has verified (a Beijing demo person).

    A resident ID verifies one account only, so each demo person gets a birth date in
    1970-1999 and a serial at random, drawn again while the number is taken.
    """
    for _ in range(100):
        born = date(1970, 1, 1) + timedelta(days=secrets.randbelow(30 * 365))
        body = f"110105{born:%Y%m%d}{secrets.randbelow(1000):03d}"
        number = body + resident_id_check_char(body)
        if not number_verified_elsewhere(customer=None, digest=blind_index(number)):
            return number
    raise RuntimeError("no free demo resident ID found")


@transaction.atomic
def demo_account_create(*, balance_fen: int) -> dict[str, str]:
    """Create a verified individual customer with ``balance_fen`` and an API key (sandbox only)."""
    if not settings.SANDBOX:
        raise RuntimeError("demo accounts exist only in sandbox mode")
    email = f"demo-{secrets.token_hex(4)}@sandbox.doudesk.cn"
    password = secrets.token_urlsafe(12)
    customer = customer_sign_up(
        identifier=email, password=password, kind=CustomerKind.INDIVIDUAL, display_name="演示用户"
    )
    verification_submit(customer=customer, legal_name="演示用户", number=demo_resident_id())
    if balance_fen > 0:
        journal_post(
            ref=f"demo-credit:{customer.pk}",
            kind="topup",
            memo="沙盒演示额度",
            legs=[
                (platform_account(AccountKind.PAYMENT_CLEARING), -balance_fen),
                (customer_account(customer), balance_fen),
            ],
        )
    _, key = api_key_create(customer=customer, name="demo")
    return {"email": email, "password": password, "api_key": key}
