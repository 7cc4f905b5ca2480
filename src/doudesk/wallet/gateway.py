"""The sandbox payment gateway's signature scheme (HMAC-SHA256 over sorted parameters).

Real gateways (Alipay, WeChat Pay) sign their asynchronous notifications the same way in shape:
every parameter but ``sign``, sorted by name, joined as ``k=v`` with ``&``.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def _payload(params: dict[str, str]) -> bytes:
    items = sorted((k, v) for k, v in params.items() if k != "sign" and v != "")
    return "&".join(f"{k}={v}" for k, v in items).encode()


def sign(params: dict[str, str]) -> str:
    """Return the signature of ``params`` under the gateway secret."""
    secret = settings.PAYMENT_SANDBOX_SECRET.encode()
    return hmac.new(secret, _payload(params), hashlib.sha256).hexdigest()


def verify(params: dict[str, str]) -> bool:
    """Check the ``sign`` parameter in constant time (compared as bytes: it may be any text)."""
    given = str(params.get("sign", "")).encode("utf-8", "surrogatepass")
    return hmac.compare_digest(sign(params).encode(), given)
