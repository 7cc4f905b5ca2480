"""Offline checks for the identity numbers that verification (KYC) collects.

Design overview
---------------
Two national identifiers are validated here, with no Django import so the checks run and test alone:

* **Resident identity number** (居民身份证号码, GB 11643-1999): 18 characters, six-digit
  administrative division code, eight-digit birth date ``YYYYMMDD``, three-digit sequence code
  whose last digit is odd for men and even for women, and an ISO 7064 MOD 11-2 check character.
* **Unified social credit code** (统一社会信用代码, GB 32100-2015): 18 characters from
  ``0-9 A-H J-N P-R T U W-Y``; registration-department code, organisation-type code, six-digit
  division code of the registering authority, nine-character organisation code, and an
  ISO 7064-style MOD 31 check character.

Each check first normalises what people actually type (spaces, full-width characters from Chinese
input methods, a lower-case ``x``), then tests length, character set, check character, and finally
the semantic parts, so that a typo is reported as a checksum error while a number with a correct
check character but an impossible birth date or region reads as such. Every failure raises
:class:`doudesk.errors.DomainError` naming the form field and carrying a stable ``code``.

Region-code plausibility (documented rule, not a copy of GB/T 2260)
------------------------------------------------------------------
The full list of county codes changes every year and old numbers keep retired codes, so only the
shape is checked:

* digits 1-2: a province-level code that exists: 11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71
  (Taiwan), 81 (Hong Kong), 82 (Macao);
* digits 3-4: a prefecture 01-70, or 90 (county-level units directly under the province);
* digits 5-6: a county 01-99.

Resident numbers additionally accept ``810000``, ``820000`` and ``830000``, the division codes of
the residence permits for Hong Kong, Macao and Taiwan residents (港澳台居民居住证), which follow
GB 11643 since 2018. Credit codes are assigned by provincial and prefectural authorities too, so
there the prefecture and county may be ``00`` (``350100``, ``110000``; a county ``00`` is required
when the prefecture is ``00``), and ``100000`` stands for registration at national level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from doudesk.errors import DomainError

__all__ = [
    "CreditCode",
    "Gender",
    "ResidentId",
    "credit_code_check_char",
    "mask_id",
    "resident_id_check_char",
    "validate_credit_code",
    "validate_resident_id",
]

RESIDENT_ID_FIELD = "id_number"
CREDIT_CODE_FIELD = "credit_code"

# Birth dates are Beijing dates; China has no daylight saving time, so a fixed offset is exact.
_CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
_MAX_AGE_YEARS = 120

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"

_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(_USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Registration departments (GB 32100-2015 appendix A and later notices): 1 机构编制, 2 外交,
# 3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教, 8 工会, 9 工商/市场监管, A 中央军委改革和编制办公室,
# N 农业, Y 其他. The per-department type table keeps growing by notice, so the organisation type
# is only required to be a digit 1-9.
_USCC_DEPARTMENTS = frozenset("123456789ANY")
_USCC_ORG_TYPES = frozenset("123456789")

_PROVINCES = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47)]
    + [*range(50, 55), *range(61, 66), 71, 81, 82]
)
_RESIDENCE_PERMIT_REGIONS = frozenset({"810000", "820000", "830000"})

# Full-width forms (U+FF01-U+FF5E) map onto ASCII by a fixed offset; U+3000 is the CJK space.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20


class Gender(StrEnum):
    """Gender encoded by the parity of the 17th digit of a resident identity number."""

    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True)
class ResidentId:
    """A validated, normalised 18-character resident identity number and what it encodes."""

    value: str
    birth_date: date
    gender: Gender
    region_code: str

    @property
    def masked(self) -> str:
        """The number with all but the first and last four characters hidden."""
        return mask_id(self.value)

    @property
    def province_code(self) -> str:
        """The two-digit province-level division code."""
        return self.region_code[:2]

    def __repr__(self) -> str:
        # Personal data: keep the full number and birth date out of logs and tracebacks.
        return f"ResidentId(value={self.masked!r}, gender={self.gender.value!r})"


@dataclass(frozen=True)
class CreditCode:
    """A validated, normalised 18-character unified social credit code and its parts."""

    value: str
    department_code: str
    org_type_code: str
    region_code: str
    org_code: str

    @property
    def masked(self) -> str:
        """The code with all but the first and last four characters hidden."""
        return mask_id(self.value)


def _normalise(value: str) -> str:
    """Full-width to ASCII, drop every whitespace character, upper-case letters."""
    ascii_value = value.translate(_FULLWIDTH)
    return "".join(ch for ch in ascii_value if not ch.isspace()).upper()


def _is_ascii_digits(value: str) -> bool:
    # str.isdigit() also accepts other scripts' digits and superscripts; only 0-9 are valid here.
    return value.isascii() and value.isdigit()


def resident_id_check_char(body: str) -> str:
    """Return the GB 11643 (ISO 7064 MOD 11-2) check character for the first 17 digits."""
    if len(body) != 17 or not _is_ascii_digits(body):
        raise ValueError("the body of a resident identity number is 17 ASCII digits")
    total = sum(int(ch) * w for ch, w in zip(body, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def credit_code_check_char(body: str) -> str:
    """Return the GB 32100 check character for the first 17 characters of a credit code."""
    if len(body) != 17 or any(ch not in _USCC_VALUES for ch in body):
        raise ValueError("the body of a credit code is 17 characters of the GB 32100 charset")
    total = sum(_USCC_VALUES[ch] * w for ch, w in zip(body, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARSET[(31 - total % 31) % 31]


def _plausible_region(code: str, *, allow_upper_levels: bool) -> bool:
    """Apply the documented shape rule to a six-digit division code."""
    if len(code) != 6 or not _is_ascii_digits(code):
        return False
    province, prefecture, county = int(code[:2]), int(code[2:4]), int(code[4:])
    if province not in _PROVINCES:
        return False
    if allow_upper_levels:
        if prefecture == 0:
            return county == 0
        return prefecture <= 70 or prefecture == 90
    return (1 <= prefecture <= 70 or prefecture == 90) and county >= 1


def _id_error(code: str, zh: str, en: str) -> DomainError:
    return DomainError.single(RESIDENT_ID_FIELD, code, zh, en)


def _years_between(born: date, today: date) -> int:
    """Completed years of age on ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def validate_resident_id(value: str, *, today: date | None = None) -> ResidentId:
    """Validate an 18-character resident identity number and return what it encodes.

    ``today`` (default: today's date in Beijing) bounds the birth date: not in the future and at
    most 120 years ago. Raises :class:`DomainError` on field ``id_number`` with code ``length``,
    ``format``, ``checksum``, ``region`` or ``birth_date``.
    """
    number = _normalise(value)
    if len(number) != 18:
        if len(number) == 15 and _is_ascii_digits(number):
            raise _id_error(
                "length",
                "请填写18位居民身份证号码（15位的旧身份证号码已停用）。",
                "Enter the 18-character resident ID number; 15-digit old-style numbers are no "
                "longer accepted.",
            )
        raise _id_error(
            "length",
            f"居民身份证号码应为18位，您填写了{len(number)}位。",
            f"A resident ID number has 18 characters; you entered {len(number)}.",
        )
    body, check = number[:17], number[17]
    if not _is_ascii_digits(body) or not (check == "X" or _is_ascii_digits(check)):
        raise _id_error(
            "format",
            "居民身份证号码由17位数字和1位校验码（数字或X）组成，请检查是否混入了字母或符号。",
            "A resident ID number is 17 digits followed by a check digit or X; check for stray "
            "letters or symbols.",
        )
    if resident_id_check_char(body) != check:
        raise _id_error(
            "checksum",
            "居民身份证号码校验位不正确，请逐位核对是否输入有误。",
            "The check digit of this resident ID number does not match; please check each digit "
            "for typos.",
        )
    region = number[:6]
    if not (
        region in _RESIDENCE_PERMIT_REGIONS or _plausible_region(region, allow_upper_levels=False)
    ):
        raise _id_error(
            "region",
            "居民身份证号码的前6位不是有效的行政区划代码。",
            "The first six digits of this resident ID number are not a valid region code.",
        )
    today = today or datetime.now(_CHINA_TZ).date()
    born: date | None
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    if born is None or born > today or _years_between(born, today) > _MAX_AGE_YEARS:
        raise _id_error(
            "birth_date",
            "居民身份证号码中的出生日期（第7-14位）无效。",
            "The birth date in this resident ID number (characters 7-14) is not a real date of "
            "birth.",
        )
    gender = Gender.MALE if int(number[16]) % 2 else Gender.FEMALE
    return ResidentId(value=number, birth_date=born, gender=gender, region_code=region)


def _credit_error(code: str, zh: str, en: str) -> DomainError:
    return DomainError.single(CREDIT_CODE_FIELD, code, zh, en)


def validate_credit_code(value: str) -> CreditCode:
    """Validate an 18-character unified social credit code and return its parts.

    Raises :class:`DomainError` on field ``credit_code`` with code ``length``, ``format``,
    ``checksum``, ``department`` or ``region``.
    """
    code = _normalise(value)
    if len(code) != 18:
        raise _credit_error(
            "length",
            f"统一社会信用代码应为18位，您填写了{len(code)}位。",
            f"A unified social credit code has 18 characters; you entered {len(code)}.",
        )
    if any(ch not in _USCC_VALUES for ch in code):
        raise _credit_error(
            "format",
            "统一社会信用代码只含数字和大写字母（不含 I、O、Z、S、V），请检查是否输入有误。",
            "A unified social credit code contains only digits and capital letters other than "
            "I, O, Z, S and V; please check for typos.",
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise _credit_error(
            "checksum",
            "统一社会信用代码校验位不正确，请对照营业执照逐位核对。",
            "The check character of this unified social credit code does not match; please "
            "compare it with the business licence character by character.",
        )
    if code[0] not in _USCC_DEPARTMENTS or code[1] not in _USCC_ORG_TYPES:
        raise _credit_error(
            "department",
            "统一社会信用代码的前两位（登记管理部门和机构类别）无效。",
            "The first two characters of this unified social credit code (registering "
            "department and organisation type) are not valid.",
        )
    region = code[2:8]
    if not (region == "100000" or _plausible_region(region, allow_upper_levels=True)):
        raise _credit_error(
            "region",
            "统一社会信用代码第3-8位不是有效的行政区划代码。",
            "Characters 3-8 of this unified social credit code are not a valid region code.",
        )
    return CreditCode(
        value=code,
        department_code=code[0],
        org_type_code=code[1],
        region_code=region,
        org_code=code[8:17],
    )


def mask_id(value: str) -> str:
    """Hide all but the first and last four characters: ``1101**********1234`` for 18 characters.

    The input is normalised like the validators do (spaces dropped, full-width to ASCII) but not
    validated. Values of eight characters or fewer are hidden entirely, since showing eight
    characters of them would show everything.
    """
    text = _normalise(value)
    if len(text) <= 8:
        return "*" * len(text)
    return f"{text[:4]}{'*' * (len(text) - 8)}{text[-4:]}"
