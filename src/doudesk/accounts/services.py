"""Sign-up, identity verification (KYC) and API keys."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from PIL import Image

from doudesk.accounts import idcheck
from doudesk.accounts.error_codes import AccountsErrorCode as Code
from doudesk.accounts.models import (
    ApiKey,
    Customer,
    CustomerKind,
    User,
    Verification,
    VerificationStatus,
)
from doudesk.accounts.selectors import number_verified_elsewhere
from doudesk.crypto import blind_index, encrypt_text
from doudesk.errors import DomainError, FieldError
from doudesk.rowselect import rows_select
from doudesk.textinput import plain_spaces

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LICENCE_MAX_BYTES = 5 * 1024 * 1024
LICENCE_MAX_PIXELS = 40_000_000  # a phone photo or a scan of a licence is well below
MAX_LEGAL_NAME = 100  # characters of a legal name (a person or a registered company)
MAX_DISPLAY_NAME = 100  # characters of the name a customer goes by (optional)
#: Pillow's name of each accepted licence image format -> the stored file's extension.
LICENCE_FORMATS = {"JPEG": "jpg", "PNG": "png"}


def normalize_identifier(identifier: str) -> tuple[str, str]:
    """Return ``("email"|"phone", normalised value)`` or raise a field error."""
    value = (identifier or "").strip()
    digits = re.sub(r"[\s-]", "", value)
    for country_code in ("+86", "0086"):  # as dialled from abroad, either way
        if digits.startswith(country_code):
            digits = digits.removeprefix(country_code)
            break
    if MOBILE_RE.match(digits):
        return "phone", digits
    try:
        validate_email(value)
    except ValidationError:
        raise DomainError.single(
            "identifier",
            Code.INVALID_IDENTIFIER,
            "请输入有效的邮箱或中国大陆手机号",
            "Enter a valid email address or mainland China mobile number",
        ) from None
    most = User._meta.get_field("username").max_length or 150
    if len(value) > most:  # a valid address may be longer than the account name can hold
        raise DomainError.single(
            "identifier",
            Code.INVALID_IDENTIFIER,
            f"邮箱过长：最多 {most} 个字符",
            f"The email address is too long: at most {most} characters",
        )
    return "email", value.lower()


@transaction.atomic
def customer_sign_up(
    *, identifier: str, password: str, kind: str, display_name: str = ""
) -> Customer:
    """Create a user and its customer; refuses taken identifiers and weak passwords."""
    errors: list[FieldError] = []
    try:
        field, value = normalize_identifier(identifier)
    except DomainError as exc:
        errors.extend(exc.errors)
        field, value = "", ""
    if value and User.objects.filter(username=value).exists():
        errors.append(
            FieldError(
                "identifier", Code.IDENTIFIER_TAKEN, "该账号已注册", "This account already exists"
            )
        )
    if kind not in CustomerKind.values:
        errors.append(
            FieldError(
                "kind", Code.INVALID_KIND, "请选择个人或企业", "Choose individual or enterprise"
            )
        )
    display_name = plain_spaces(display_name or "")
    if len(display_name) > MAX_DISPLAY_NAME or not display_name.isprintable():
        errors.append(
            FieldError(
                "display_name",
                Code.NAME_INVALID,
                f"昵称最多 {MAX_DISPLAY_NAME} 个字符，且不能含控制字符",
                f"A display name has at most {MAX_DISPLAY_NAME} characters and no control "
                "characters",
            )
        )
    try:
        validate_password(password or "")
    except ValidationError:
        errors.append(
            FieldError(
                "password",
                Code.WEAK_PASSWORD,
                "密码至少 8 位，且不能过于常见",
                "Password needs at least 8 characters and must not be a common one",
            )
        )
    if errors:
        raise DomainError(*errors)
    user = User(username=value, **{field: value})
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # the same account signed up at the same moment (a double click)
        raise DomainError.single(
            "identifier", Code.IDENTIFIER_TAKEN, "该账号已注册", "This account already exists"
        ) from None
    return Customer.objects.create(user=user, kind=kind, display_name=display_name)


# Set on a customer loaded by :func:`api_key_authenticate`, which reads the verification status
# in the same query: the API's ordering path saves a round trip.
_VERIFIED_ATTR = "_doudesk_verified"


def customer_is_verified(customer: Customer) -> bool:
    """Whether the customer's verification has been approved."""
    known = getattr(customer, _VERIFIED_ATTR, None)
    if known is not None:
        return bool(known)
    return customer.verifications.filter(status=VerificationStatus.APPROVED).exists()


def customer_require_verified(customer: Customer) -> None:
    """Raise a 403 field error unless the customer is verified."""
    if not customer_is_verified(customer):
        raise DomainError.single(
            "customer",
            Code.NOT_VERIFIED,
            "请先完成实名认证后再下单",
            "Complete identity verification before ordering",
            status=403,
        )


def _licence_error(zh: str, en: str) -> DomainError:
    return DomainError.single("licence", Code.LICENCE_INVALID, zh, en)


def _licence_extension(licence: UploadedFile | None) -> str:
    """Return ``jpg`` or ``png`` for a readable JPEG or PNG image; a field error otherwise.

    Pillow parses the image (a PNG signature in front of anything else is not a PNG).
    """
    if licence is None:
        raise DomainError.single(
            "licence",
            Code.LICENCE_REQUIRED,
            "请上传营业执照图片",
            "Upload the business licence image",
        )
    if not licence.size:
        raise _licence_error("营业执照文件为空", "The licence file is empty")
    if licence.size > LICENCE_MAX_BYTES:
        raise _licence_error("营业执照图片不能超过 5 MB", "The licence image must be at most 5 MB")
    pixels = 0
    try:
        with Image.open(licence) as image:
            kind, pixels = image.format, image.width * image.height
            image.verify()
    except Image.DecompressionBombError:
        kind, pixels = "", LICENCE_MAX_PIXELS + 1  # Pillow's own limit, far above ours
    except (OSError, SyntaxError, ValueError):
        kind = None
    finally:
        licence.seek(0)
    if pixels > LICENCE_MAX_PIXELS:
        # A scan of a licence needs a few megapixels; a huge one costs every reviewer's browser.
        raise _licence_error(
            f"营业执照图片过大：最多 {LICENCE_MAX_PIXELS // 1_000_000} 百万像素",
            f"The licence image is too large: at most {LICENCE_MAX_PIXELS // 1_000_000} megapixels",
        )
    if kind not in LICENCE_FORMATS:
        raise _licence_error(
            "营业执照须为 JPEG 或 PNG 图片", "The licence must be a JPEG or PNG image"
        )
    return LICENCE_FORMATS[kind]


@transaction.atomic
def verification_submit(
    *,
    customer: Customer,
    legal_name: str,
    number: str,
    licence: UploadedFile | None = None,
) -> Verification:
    """Submit identity details; sandbox mode approves a valid submission at once.

    Individuals give their name and 18-digit resident ID; enterprises give the company name,
    unified social credit code and a licence image. Numbers are stored encrypted and masked.
    """
    if customer_is_verified(customer):
        raise DomainError.single(
            "customer", Code.ALREADY_VERIFIED, "已完成实名认证", "Already verified", status=409
        )
    if customer.verifications.filter(status=VerificationStatus.PENDING).exists():
        raise DomainError.single(
            "customer",
            Code.REVIEW_PENDING,
            "您的认证资料正在审核中，请等待结果",
            "Your verification is being reviewed; please wait for the result",
            status=409,
        )
    errors: list[FieldError] = []
    name = plain_spaces(legal_name or "")
    person = customer.kind == CustomerKind.INDIVIDUAL
    if len(name) < 2:
        errors.append(
            FieldError(
                "legal_name",
                Code.NAME_REQUIRED,
                "请填写身份证上的真实姓名" if person else "请填写营业执照上的企业全称",
                "Enter your legal name" if person else "Enter the company's registered name",
            )
        )
    elif not name.isprintable():
        errors.append(
            FieldError(
                "legal_name",
                Code.NAME_INVALID,
                "名称不能含控制字符或不可见字符",
                "The name cannot contain control or invisible characters",
            )
        )
    elif len(name) > MAX_LEGAL_NAME:
        errors.append(
            FieldError(
                "legal_name",
                Code.NAME_TOO_LONG,
                f"名称最多 {MAX_LEGAL_NAME} 个字",
                f"The name can be at most {MAX_LEGAL_NAME} characters",
            )
        )
    normalized = ""
    try:
        if customer.kind == CustomerKind.INDIVIDUAL:
            normalized = idcheck.validate_resident_id(number).value
        else:
            normalized = idcheck.validate_credit_code(number).value
    except DomainError as exc:
        errors.extend(exc.errors)
    if (
        person
        and normalized
        and number_verified_elsewhere(customer=customer, digest=blind_index(normalized))
    ):
        # One person, one verified account (实名制); a company may verify several accounts.
        errors.append(_number_taken())
    extension = ""
    if customer.kind == CustomerKind.ENTERPRISE:
        try:
            extension = _licence_extension(licence)
        except DomainError as exc:
            errors.extend(exc.errors)
    if errors:
        raise DomainError(*errors)
    verification = Verification(
        customer=customer,
        kind=customer.kind,
        legal_name=name,
        number_encrypted=encrypt_text(normalized),
        number_digest=blind_index(normalized),
        number_masked=idcheck.mask_id(normalized),
    )
    if licence is not None and extension:
        licence.name = f"{uuid.uuid4().hex}.{extension}"  # never the customer's file name
        verification.licence = licence
    if settings.SANDBOX:
        verification.status = VerificationStatus.APPROVED
        verification.reviewed_at = timezone.now()
    _save_once_per_number(verification)
    if not customer.display_name:
        customer.display_name = name
        customer.save(update_fields=["display_name"])
    return verification


@transaction.atomic
def verification_review(
    *, verification: Verification, reviewer: User, approve: bool, reason: str = ""
) -> Verification:
    """Approve or reject a pending submission (an operator's review); 409 once reviewed.

    The submission's row is locked for the review, so of two reviewers deciding at the same
    moment the second is told it was reviewed, instead of overwriting the first decision.
    """
    with transaction.atomic():
        status = (
            Verification.objects.select_for_update()
            .values_list("status", flat=True)
            .get(pk=verification.pk)
        )
        if status != VerificationStatus.PENDING:
            raise DomainError.single(
                "status",
                "already_reviewed",
                "该认证已审核过",
                "This submission has already been reviewed",
                status=409,
            )
        if (
            approve
            and verification.kind == CustomerKind.INDIVIDUAL
            and number_verified_elsewhere(
                customer=verification.customer, digest=verification.number_digest
            )
        ):
            # Submissions of one number may wait side by side; only one of them can be approved.
            raise DomainError(_number_taken(), status=409)
        verification.status = (
            VerificationStatus.APPROVED if approve else VerificationStatus.REJECTED
        )
        verification.reviewed_at = timezone.now()
        verification.reviewed_by = reviewer
        verification.reject_reason = "" if approve else reason[:200]
        _save_once_per_number(
            verification, update_fields=["status", "reviewed_at", "reviewed_by", "reject_reason"]
        )
    return verification


def _number_taken() -> FieldError:
    return FieldError(
        "id_number",
        Code.NUMBER_TAKEN,
        "该身份证号已在其他账户完成实名认证，如有疑问请联系客服",
        "This ID number is already verified on another account; "
        "contact support if that is a mistake",
    )


def _save_once_per_number(verification: Verification, **save_options: Any) -> None:
    """Save ``verification``; an approval the one-account rule refuses is a 409 on the number.

    The check before it reads committed rows; two approvals of one number at the same moment
    both pass it, and the database's unique constraint refuses the second.
    """
    try:
        with transaction.atomic():
            verification.save(**save_options)
    except IntegrityError:
        raise DomainError(_number_taken(), status=409) from None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


#: Longest API key name (the column's width).
MAX_KEY_NAME = 50


def api_key_create(*, customer: Customer, name: str = "default") -> tuple[ApiKey, str]:
    """Create an API key; returns the row and the plain key, which is never stored.

    A name longer than ``MAX_KEY_NAME`` characters or with control characters is refused (it
    used to be cut silently); an empty one is ``default``.
    """
    name = (name or "").strip() or "default"
    if len(name) > MAX_KEY_NAME or not name.isprintable():
        raise DomainError.single(
            "name",
            "invalid_name",
            f"名称最多 {MAX_KEY_NAME} 个字符，且不能含控制字符",
            f"A name has at most {MAX_KEY_NAME} characters and no control characters",
        )
    plain = ("dd_test_" if settings.SANDBOX else "dd_live_") + secrets.token_urlsafe(24)
    key = ApiKey.objects.create(
        customer=customer, name=name, prefix=plain[:12], digest=_digest(plain)
    )
    return key, plain


#: A key's ``last_used_at`` is written at most once in this interval (not on every request).
KEY_USE_RESOLUTION = timedelta(seconds=60)


def api_key_authenticate(plain: str) -> Customer | None:
    """Return the customer owning the live key ``plain``, or ``None``.

    One query reads the customer, whether it is verified, and whether the key's last use is
    older than :data:`KEY_USE_RESOLUTION` (then it is brought up to date). The statement is
    written out (``rows_select``, columns converted as the ORM does) because every API request
    runs it: building it with the ORM cost several times running it.
    """
    if not plain or len(plain) > 200:
        return None
    now = timezone.now()
    quote = connection.ops.quote_name
    rows = rows_select(
        Customer,
        f"INNER JOIN {quote(ApiKey._meta.db_table)} k ON k.customer_id = t0.id"
        f" WHERE k.digest = %s AND k.revoked_at IS NULL",
        [
            connection.ops.adapt_datetimefield_value(now - KEY_USE_RESOLUTION),
            VerificationStatus.APPROVED.value,
            _digest(plain),
        ],
        extra={
            "api_key_id": "k.id",
            "api_key_stale": "(k.last_used_at IS NULL OR k.last_used_at < %s)",
            "api_key_verified": f"EXISTS (SELECT 1 FROM {quote(Verification._meta.db_table)} v"
            f" WHERE v.customer_id = t0.id AND v.status = %s)",
        },
    )
    customer = next(iter(rows), None)  # the digest is unique: one row at most
    if customer is None:
        return None
    if customer.api_key_stale:
        ApiKey.objects.filter(pk=customer.api_key_id).update(last_used_at=now)
    setattr(customer, _VERIFIED_ATTR, bool(customer.api_key_verified))
    return customer


def api_key_revoke(*, customer: Customer, key_id: int) -> bool:
    """Revoke one of the customer's keys; returns whether one was revoked."""
    return bool(
        ApiKey.objects.filter(customer=customer, pk=key_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )
