"""Encryption of personal data and credentials at rest (Fernet, key from settings)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet
from django.conf import settings


def derived_field_key(secret_key: str) -> str:
    """Return the Fernet key derived from ``secret_key``: used when no field key is given."""
    digest = hashlib.sha256(b"doudesk-field-key:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    # Derived from the secret key when none is given, so sandbox installs need no extra setting.
    return Fernet(settings.FIELD_ENCRYPTION_KEY or derived_field_key(settings.SECRET_KEY))


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
