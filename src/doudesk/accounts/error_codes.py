"""Error codes of the accounts app."""

from enum import StrEnum


class AccountsErrorCode(StrEnum):
    INVALID_IDENTIFIER = "invalid_identifier"
    IDENTIFIER_TAKEN = "identifier_taken"
    WEAK_PASSWORD = "weak_password"
    INVALID_KIND = "invalid_kind"
    NAME_REQUIRED = "name_required"
    NAME_TOO_LONG = "name_too_long"
    NAME_INVALID = "name_invalid"
    LICENCE_REQUIRED = "licence_required"
    LICENCE_INVALID = "licence_invalid"
    NOT_VERIFIED = "not_verified"
    ALREADY_VERIFIED = "already_verified"
    REVIEW_PENDING = "review_pending"
    NUMBER_TAKEN = "number_taken"
