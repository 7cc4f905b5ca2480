"""Encryption of personal data and credentials at rest (Fernet, key from settings)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet
from django.conf import settings


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = settings.FIELD_ENCRYPTION_KEY
    if not key:
        # Derive a stable key from the secret key so sandbox installs need no extra setting.
        digest = hashlib.sha256(b"doudesk-field-key:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def encrypt_text(value: str) -> str:
    """Encrypt ``value`` for storage."""
    return _fernet().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    """Decrypt a value written by :func:`encrypt_text`."""
    return _fernet().decrypt(token.encode()).decode()


def blind_index(value: str) -> str:
    """Return a keyed digest of ``value`` (HMAC-SHA256, hex) to find equal values at rest.

    Encrypted numbers cannot be compared; their blind index can, without revealing them to
    someone who reads the database but not the key.
    """
    return hmac.new(_index_key(), value.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=1)
def _index_key() -> bytes:
    secret = settings.FIELD_ENCRYPTION_KEY or settings.SECRET_KEY
    return hashlib.sha256(b"doudesk-blind-index:" + secret.encode()).digest()
