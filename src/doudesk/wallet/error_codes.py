"""Error codes of the wallet app."""

from enum import StrEnum


class WalletErrorCode(StrEnum):
    INSUFFICIENT_BALANCE = "insufficient_balance"
    INVALID_AMOUNT = "invalid_amount"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_PAYMENT = "unknown_payment"
    AMOUNT_MISMATCH = "amount_mismatch"
    NO_GATEWAY = "no_payment_gateway"
    INVALID_REFERENCE = "invalid_reference"
    DUPLICATE_REFERENCE = "duplicate_reference"
    NOT_REVERSIBLE = "not_reversible"
