"""The throw-away signing key every ledger test signs with (never the data directory's)."""

from doudesk.ledger.notes import generate_signer

ORIGIN = "doudesk.test/ledger"
SIGNER = generate_signer(ORIGIN)
