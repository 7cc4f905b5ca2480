"""Writes to the transparency log.

Design overview
---------------
Recording is cheap and happens inside the caller's transaction: ``ledger_record`` stores the
canonical JSON (RFC 8785) of an event as a pending leaf. The sequencer later assigns indexes in
batches and updates the Merkle tree, so order transactions never contend for the log's tail.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

from doudesk.ledger.models import LogLeaf

LEAF_PREFIX = b"\x00"


def ledger_record(*, event: dict[str, Any], order_id: int | None = None) -> LogLeaf:
    """Append ``event`` to the log as a pending leaf (call inside the writing transaction)."""
    text = rfc8785.dumps(event).decode()
    digest = hashlib.sha256(LEAF_PREFIX + text.encode()).digest()
    return LogLeaf.objects.create(leaf=text, leaf_hash=digest, order_id=order_id)
