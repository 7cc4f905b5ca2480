"""Error codes of the orders app."""

from enum import StrEnum


class OrderErrorCode(StrEnum):
    NOT_FOUND = "order_not_found"
    CANCEL_NOT_ALLOWED = "cancel_not_allowed"
    REFILL_NOT_ALLOWED = "refill_not_allowed"
    REFILL_TOO_SOON = "refill_too_soon"
    ALREADY_FINISHED = "already_finished"
    DISPATCHING = "dispatching"
    IDEMPOTENCY_MISMATCH = "idempotency_key_reused"
    IDEMPOTENCY_KEY = "idempotency_key_invalid"
    EMPTY_GROUP = "empty_group"
    UNKNOWN_STATUS = "unknown_status"
    DELIVERED_DECREASE = "delivered_decrease"
    DELIVERED_OVER_QUANTITY = "delivered_over_quantity"
    NOT_UNCERTAIN = "dispatch_not_uncertain"
    COST_NOT_FINAL = "cost_before_final_delivery"
    COST_MISSING = "cost_missing"
    COST_ABOVE_PAID = "cost_above_paid"
    EXTERNAL_ID_TAKEN = "provider_order_taken"
    DELIVERABLE_INVALID = "deliverable_invalid"
    DELIVERABLE_NOT_FOUND = "deliverable_not_found"
    GUARANTEE_INVALID = "guarantee_invalid"
    GUARANTEE_NOT_DELIVERED = "guarantee_nothing_delivered"
    GUARANTEE_OVER_DELIVERED = "guarantee_over_delivered"
    GUARANTEE_FUND_SHORT = "guarantee_fund_short"
