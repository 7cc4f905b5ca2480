"""Error codes of the catalogue app."""

from enum import StrEnum


class CatalogErrorCode(StrEnum):
    UNKNOWN_SERVICE = "unknown_service"
    UNKNOWN_PACKAGE = "unknown_package"
    UNKNOWN_GROWTH_PLAN = "unknown_growth_plan"
    QUANTITY_RANGE = "quantity_out_of_range"
    QUANTITY_STEP = "quantity_off_step"
    QUANTITY_TYPE = "quantity_not_integer"
    CHANNEL_NOT_ALLOWED = "channel_not_allowed"
    OFF_SALE = "off_sale"
