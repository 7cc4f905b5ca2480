"""Error codes of the pricing app (the engine raises the same strings)."""

from enum import StrEnum


class PricingErrorCode(StrEnum):
    QUOTE_NOT_FOUND = "quote_not_found"
    QUOTE_EXPIRED = "quote_expired"
    QUOTE_MISMATCH = "quote_mismatch"
    QUOTE_USED = "quote_used"
    QUOTE_FOREIGN = "quote_foreign"
    NO_OFFER = "no_offer"
    FLOOR_ABOVE_CEILING = "floor_above_ceiling"
    CAPACITY_EXHAUSTED = "capacity_exhausted"
    UNPUBLISHED = "unpublished"
