"""Error codes of the pricing app."""

from enum import StrEnum


class PricingErrorCode(StrEnum):
    QUOTE_NOT_FOUND = "quote_not_found"
    QUOTE_EXPIRED = "quote_expired"
    QUOTE_MISMATCH = "quote_mismatch"
    QUOTE_USED = "quote_used"
