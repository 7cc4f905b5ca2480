"""Tests for the resident identity number and unified social credit code checks."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doudesk.accounts.idcheck import (
    CreditCode,
    Gender,
    ResidentId,
    credit_code_check_char,
    mask_id,
    resident_id_check_char,
    validate_credit_code,
    validate_resident_id,
)
from doudesk.errors import DomainError

TODAY = date(2025, 6, 15)

# Independent oracles written from the standards' text, so the tests do not trust the module's
# own arithmetic.
_ID_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]  # GB 11643: W_i = 2^(i-1) mod 11, i = 18..2
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def id_check(body: str) -> str:
    """ISO 7064 MOD 11-2: the check digit makes sum(a_i * W_i) ≡ 1 (mod 11)."""
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    for candidate, value in (*((str(v), v) for v in range(10)), ("X", 10)):
        if (total + value) % 11 == 1:
            return candidate
    raise AssertionError("unreachable")


def make_id(region: str, born: date | str, seq: int) -> str:
    """Build an 18-character number with a correct check digit."""
    birth = born if isinstance(born, str) else born.strftime("%Y%m%d")
    body = f"{region}{birth}{seq:03d}"
    return body + id_check(body)


def uscc_check(body: str) -> str:
    """GB 32100: C18 = 31 - (sum(C_i * 3^(i-1) mod 31) mod 31), with 31 written as 0."""
    total = sum(_USCC_CHARS.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    return _USCC_CHARS[(31 - total % 31) % 31]


def make_uscc(body: str) -> str:
    return body + uscc_check(body)


def error_of(exc: pytest.ExceptionInfo[DomainError]) -> tuple[str, str]:
    (err,) = exc.value.errors
    return err.field, err.code


def test_oracle_weights_match_the_published_table() -> None:
    assert _ID_WEIGHTS == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    assert [pow(3, i, 31) for i in range(17)] == [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28
    ]  # fmt: skip


# --- resident identity numbers ------------------------------------------------------------------


def test_the_standard_sample_number_is_valid_and_decoded() -> None:
    rid = validate_resident_id("11010519491231002X", today=TODAY)
    assert rid == ResidentId(
        value="11010519491231002X",
        birth_date=date(1949, 12, 31),
        gender=Gender.FEMALE,
        region_code="110105",
    )
    assert rid.province_code == "11"
    assert rid.masked == "1101**********002X"


@pytest.mark.parametrize(
    "typed",
    [
        "11010519491231002x",
        " 110105 19491231 002X ",
        "110105\u300019491231\u3000002x",
        "１１０１０５１９４９１２３１００２Ｘ",
        "１１０１０５１９４９１２３１００２ｘ",
        "\t11010519491231002X\n",
    ],
)
def test_typing_variants_normalise_to_the_same_number(typed: str) -> None:
    assert validate_resident_id(typed, today=TODAY).value == "11010519491231002X"


def test_odd_seventeenth_digit_is_male() -> None:
    number = make_id("440305", date(1990, 1, 1), 123)
    rid = validate_resident_id(number, today=TODAY)
    assert rid.gender is Gender.MALE
    assert rid.gender == "male"
    assert rid.birth_date == date(1990, 1, 1)
    assert rid.region_code == "440305"


def test_default_today_accepts_a_real_adult() -> None:
    assert validate_resident_id("11010519491231002X").birth_date.year == 1949


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "length"),
        ("1101051949123100", "length"),
        ("11010519491231002", "length"),
        ("11010519491231002XX", "length"),
        ("110105491231002", "length"),  # 15-digit first-generation number
        ("11010519491231002Y", "format"),
        ("1101051949123100X2", "format"),
        ("11010519491231A02X", "format"),
        ("11010519491231-02X", "format"),
        ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "format"),  # Arabic-Indic digits are not accepted
        ("110105194912310021", "checksum"),
        ("11010519491231003X", "checksum"),
        ("11010519491231002０", "checksum"),
    ],
)
def test_malformed_numbers_are_refused_with_a_specific_code(typed: str, code: str) -> None:
    with pytest.raises(DomainError) as exc:
        validate_resident_id(typed, today=TODAY)
    assert error_of(exc) == ("id_number", code)


def test_fifteen_digit_numbers_get_an_explanation() -> None:
    with pytest.raises(DomainError) as exc:
        validate_resident_id("110105491231002", today=TODAY)
    assert "15" in exc.value.errors[0].message_zh
    assert "15-digit" in exc.value.errors[0].message_en


@pytest.mark.parametrize(
    "region",
    [
        "100105",  # 10 is no province
        "160105",
        "200105",
        "380105",
        "470105",
        "550105",
        "660105",
        "720105",
        "830105",  # 83 only as the Taiwan residence-permit code 830000
        "910105",
        "000000",
        "110005",  # prefecture 00
        "117105",  # prefecture 71
        "118905",  # prefecture 89
        "119105",  # prefecture 91
        "110100",  # county 00
        "440300",
    ],
)
def test_implausible_region_codes_are_refused(region: str) -> None:
    with pytest.raises(DomainError) as exc:
        validate_resident_id(make_id(region, date(1990, 5, 17), 11), today=TODAY)
    assert error_of(exc) == ("id_number", "region")


@pytest.mark.parametrize(
    "region",
    [
        "110101", "150102", "230199", "370212", "460201", "500101", "540102", "650102",
        "652901", "429005", "419001", "710101",
        "810000", "820000", "830000",  # residence permits for HK, Macao and Taiwan residents
    ],
)  # fmt: skip
def test_plausible_region_codes_are_accepted(region: str) -> None:
    rid = validate_resident_id(make_id(region, date(1990, 5, 17), 11), today=TODAY)
    assert rid.region_code == region


@pytest.mark.parametrize(
    "birth",
    [
        "19900230",
        "19900431",
        "19001301",
        "19900000",
        "19000229",  # 1900 is not a leap year
        "20250616",  # tomorrow
        "21000101",
        "19040615",  # 121 years old today
        "00000101",
    ],
)
def test_impossible_birth_dates_are_refused(birth: str) -> None:
    with pytest.raises(DomainError) as exc:
        validate_resident_id(make_id("110105", birth, 21), today=TODAY)
    assert error_of(exc) == ("id_number", "birth_date")


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        ("20000229", date(2000, 2, 29)),
        ("20250615", date(2025, 6, 15)),  # born today
        ("19050615", date(1905, 6, 15)),  # exactly 120 today
        ("19040616", date(1904, 6, 16)),  # 120 years and 364 days
    ],
)
def test_boundary_birth_dates_are_accepted(birth: str, expected: date) -> None:
    rid = validate_resident_id(make_id("110105", birth, 21), today=TODAY)
    assert rid.birth_date == expected


def test_checksum_is_reported_before_semantic_problems() -> None:
    # A typo in the date digits is most likely a typo: the check digit catches it first.
    typo = "11010519491331002X"
    with pytest.raises(DomainError) as exc:
        validate_resident_id(typo, today=TODAY)
    assert error_of(exc)[1] == "checksum"


def test_error_messages_are_bilingual() -> None:
    for typed in ["1", "11010519491231A02X", "110105194912310021"]:
        with pytest.raises(DomainError) as exc:
            validate_resident_id(typed, today=TODAY)
        err = exc.value.errors[0]
        assert "身份证" in err.message_zh
        assert "resident ID" in err.message_en
        assert exc.value.status == 400


def test_repr_does_not_leak_the_number() -> None:
    rid = validate_resident_id("11010519491231002X", today=TODAY)
    assert "19491231" not in repr(rid)
    assert "1101**********002X" in repr(rid)


def test_check_char_helper_rejects_bad_bodies() -> None:
    assert resident_id_check_char("11010519491231002") == "X"
    with pytest.raises(ValueError, match="17 ASCII digits"):
        resident_id_check_char("1101051949123100")
    with pytest.raises(ValueError, match="17 ASCII digits"):
        resident_id_check_char("1101051949123100A")


_REGIONS = st.sampled_from(["110105", "310104", "440305", "510107", "650102", "429005", "810000"])
_BIRTHS = st.dates(min_value=date(1906, 1, 1), max_value=TODAY)
_VALID_IDS = st.builds(make_id, _REGIONS, _BIRTHS, st.integers(0, 999))


@settings(max_examples=150, deadline=None)
@given(number=_VALID_IDS)
def test_generated_numbers_validate_and_round_trip(number: str) -> None:
    rid = validate_resident_id(number.lower(), today=TODAY)
    assert rid.value == number
    assert rid.birth_date.strftime("%Y%m%d") == number[6:14]
    assert rid.gender is (Gender.MALE if int(number[16]) % 2 else Gender.FEMALE)
    assert mask_id(number) == number[:4] + "*" * 10 + number[-4:]


@settings(max_examples=200, deadline=None)
@given(number=_VALID_IDS, position=st.integers(0, 17), data=st.data())
def test_any_single_character_change_breaks_the_checksum(
    number: str, position: int, data: st.DataObject
) -> None:
    alphabet = "0123456789X" if position == 17 else "0123456789"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != number[position]]))
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(DomainError) as exc:
        validate_resident_id(changed, today=TODAY)
    assert error_of(exc) == ("id_number", "checksum")


@settings(max_examples=150, deadline=None)
@given(number=_VALID_IDS, position=st.integers(0, 15))
def test_adjacent_transpositions_in_the_body_break_the_checksum(number: str, position: int) -> None:
    a, b = number[position], number[position + 1]
    if a == b:
        return
    swapped = number[:position] + b + a + number[position + 2 :]
    with pytest.raises(DomainError) as exc:
        validate_resident_id(swapped, today=TODAY)
    assert error_of(exc)[1] == "checksum"


# --- unified social credit codes ----------------------------------------------------------------

# The GB 32100-2015 sample, and codes printed on real business licences; each also carries a valid
# GB 11714 organisation-code check digit in characters 9-17, which the validator does not rely on.
PUBLISHED_CODES = [
    "91350100M000100Y43",
    "9144030071526726XG",
    "91110000710925462X",
    "91110108551385082Q",
    "91110108558521630L",
    "91330100716105852F",
    "91310000717866186P",
]


@pytest.mark.parametrize("code", PUBLISHED_CODES)
def test_published_codes_are_valid(code: str) -> None:
    assert validate_credit_code(code).value == code


def test_the_standard_sample_is_decoded() -> None:
    assert validate_credit_code("91350100M000100Y43") == CreditCode(
        value="91350100M000100Y43",
        department_code="9",
        org_type_code="1",
        region_code="350100",
        org_code="M000100Y4",
    )


@pytest.mark.parametrize(
    "typed",
    [
        "91350100m000100y43",
        " 9135 0100 M000 100Y 43 ",
        "９１３５０１００Ｍ０００１００Ｙ４３",
        "91350100ｍ000100ｙ43",
    ],
)
def test_credit_code_typing_variants_normalise(typed: str) -> None:
    assert validate_credit_code(typed).value == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "length"),
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y433", "length"),
        ("91350100M000100I43", "format"),
        ("91350100M000100O43", "format"),
        ("91350100M000100Z43", "format"),
        ("91350100M000100S43", "format"),
        ("91350100M000100V43", "format"),
        ("91350100M00010-Y43", "format"),
        ("91350100M000100Y44", "checksum"),
        ("91350100M000100Y34", "checksum"),
        ("92350100M000100Y43", "checksum"),
        (make_uscc("B1350100M000100Y4"), "department"),
        (make_uscc("X1350100M000100Y4"), "department"),
        (make_uscc("90350100M000100Y4"), "department"),
        (make_uscc("9A350100M000100Y4"), "department"),
        (make_uscc("91990100M000100Y4"), "region"),
        (make_uscc("91000000M000100Y4"), "region"),
        (make_uscc("91110001M000100Y4"), "region"),  # county without a prefecture
        (make_uscc("91118000M000100Y4"), "region"),
        (make_uscc("91AB0100M000100Y4"), "region"),
    ],
)
def test_bad_credit_codes_are_refused_with_a_specific_code(typed: str, code: str) -> None:
    with pytest.raises(DomainError) as exc:
        validate_credit_code(typed)
    assert error_of(exc) == ("credit_code", code)
    assert "统一社会信用代码" in exc.value.errors[0].message_zh
    assert "credit code" in exc.value.errors[0].message_en


@pytest.mark.parametrize(
    "body",
    [
        "11100000MB0000000",  # national-level registration
        "12110000400000000",
        "31110000E00000000",  # law firm
        "51110000500000000",  # social organisation
        "52440300MJL000000",
        "81440300MC0000000",  # trade union
        "92440300MA5F00000",  # individual business
        "93440300MA5F00000",  # farmers' co-operative
        "A1110000MB0000000",
        "N2440300MF0000000",
        "Y1110000MA0000000",
        "91429005MA4F00000",
    ],
)
def test_every_registration_department_is_accepted(body: str) -> None:
    code = make_uscc(body)
    parsed = validate_credit_code(code)
    assert (parsed.department_code, parsed.org_type_code) == (body[0], body[1])
    assert parsed.region_code == body[2:8]


def test_credit_code_check_char_helper() -> None:
    assert credit_code_check_char("91350100M000100Y4") == "3"
    with pytest.raises(ValueError, match="GB 32100"):
        credit_code_check_char("91350100M000100I4")


_USCC_BODIES = st.builds(
    lambda head, region, org: head + region + org,
    st.sampled_from(["11", "12", "31", "51", "52", "53", "91", "92", "93", "Y1"]),
    st.sampled_from(["110000", "110108", "350100", "440300", "100000", "429005"]),
    st.text(alphabet=_USCC_CHARS, min_size=9, max_size=9),
)
_VALID_USCC = _USCC_BODIES.map(make_uscc)


@settings(max_examples=150, deadline=None)
@given(code=_VALID_USCC)
def test_generated_credit_codes_validate(code: str) -> None:
    parsed = validate_credit_code(code.lower())
    assert parsed.value == code
    assert parsed.org_code == code[8:17]


@settings(max_examples=200, deadline=None)
@given(code=_VALID_USCC, position=st.integers(0, 17), data=st.data())
def test_any_single_character_change_of_a_credit_code_breaks_the_checksum(
    code: str, position: int, data: st.DataObject
) -> None:
    replacement = data.draw(st.sampled_from([c for c in _USCC_CHARS if c != code[position]]))
    changed = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(DomainError) as exc:
        validate_credit_code(changed)
    assert error_of(exc) == ("credit_code", "checksum")


# --- masking ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("110105194912311234", "1101**********1234"),
        ("11010519491231002x", "1101**********002X"),
        (" 110105 19491231 002X", "1101**********002X"),
        ("91350100M000100Y43", "9135**********0Y43"),
        ("123456789", "1234*6789"),
        ("12345678", "********"),
        ("", ""),
    ],
)
def test_mask_id_shows_only_the_ends(value: str, masked: str) -> None:
    assert mask_id(value) == masked
