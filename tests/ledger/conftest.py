"""Ledger tests sign checkpoints with one throw-away key."""

import pytest
from ledger_testing import ORIGIN, SIGNER


@pytest.fixture(autouse=True)
def ledger_key(settings) -> None:
    """Point the platform at the test key."""
    settings.LEDGER_ORIGIN = ORIGIN
    settings.LEDGER_SIGNER_KEY = SIGNER.signer_key
