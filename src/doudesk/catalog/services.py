"""Catalogue rules: which module/channel combinations exist, and what an order may ask."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from doudesk.catalog import targets
from doudesk.catalog.error_codes import CatalogErrorCode as Code
from doudesk.catalog.models import OFFICIAL_ONLY_KINDS, Channel, ServiceModule
from doudesk.catalog.promotion import validate_promotion_options
from doudesk.errors import DomainError, FieldError
from doudesk.textinput import too_long_number


def module_check_channel(*, kind: str, channel: str) -> None:
    """Refuse engagement kinds outside the official promotion channel (刷量 is illegal)."""
    if kind in OFFICIAL_ONLY_KINDS and channel != Channel.OFFICIAL_PROMOTION:
        raise DomainError.single(
            "channel",
            Code.CHANNEL_NOT_ALLOWED,
            "播放、互动和粉丝类服务只能通过官方推广渠道交付",
            "Plays, engagement and followers may only be sold through official promotion",
        )


@transaction.atomic
def module_save(*, module: ServiceModule) -> ServiceModule:
    """Validate and save a module (the admin and the seed go through here)."""
    module_check_channel(kind=module.kind, channel=module.channel)
    module.save()
    return module


def quantity_errors(
    module: ServiceModule, quantity: Any, field: str = "quantity"
) -> list[FieldError]:
    """Field errors for ``quantity`` against the module's min, max and step (empty if fine).

    A number too long to read as an int (:func:`too_long_number`) is out of range.
    """
    too_long = isinstance(quantity, str) and too_long_number(quantity)
    if not too_long and (isinstance(quantity, bool) or not isinstance(quantity, int)):
        return [
            FieldError(field, Code.QUANTITY_TYPE, "数量须为整数", "Quantity must be an integer")
        ]
    if too_long or not module.min_quantity <= quantity <= module.max_quantity:
        low, high = module.min_quantity, module.max_quantity
        if low == high:  # a report is ordered one at a time: not "between 1 and 1"
            zh, en = f"数量须为 {low:,}", f"Quantity must be {low:,}"
        else:
            zh, en = (
                f"数量须在 {low:,} 至 {high:,} 之间",
                f"Quantity must be between {low:,} and {high:,}",
            )
        return [FieldError(field, Code.QUANTITY_RANGE, zh, en)]
    if (quantity - module.min_quantity) % module.step:
        return [
            FieldError(
                field,
                Code.QUANTITY_STEP,
                f"数量须为 {module.min_quantity:,} 起、以 {module.step:,} 递增",
                f"Quantity must be {module.min_quantity:,} plus a multiple of {module.step:,}",
            )
        ]
    return []


def order_request_validate(
    *, module: ServiceModule, target: Any, quantity: Any, options: Any
) -> tuple[targets.Target | None, dict[str, Any]]:
    """Check everything an order for ``module`` asks; raise one error listing every bad field."""
    errors = quantity_errors(module, quantity)
    if not module.is_on_sale:  # a package or plan may still name a module taken off sale
        errors.insert(
            0,
            FieldError(
                "service_id",
                Code.OFF_SALE,
                f"“{module.name_zh}”已下架，暂不可下单",
                f"“{module.name_en}” is no longer on sale",
            ),
        )
    parsed: targets.Target | None = None
    try:
        parsed = targets.parse_target("" if target is None else str(target), module.target_kind)
    except DomainError as exc:
        errors.extend(exc.errors)
    normalized: dict[str, Any] = {}
    try:
        normalized = validate_promotion_options(options, official=module.is_official_promotion)
    except DomainError as exc:
        errors.extend(exc.errors)
    if errors:
        raise DomainError(*errors)
    return parsed, normalized
