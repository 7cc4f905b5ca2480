"""Accounts services: identifiers, sign-up, verification (KYC) and API keys."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.utils import timezone

from doudesk.accounts.models import ApiKey, User, Verification
from doudesk.accounts.services import (
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    customer_is_verified,
    customer_require_verified,
    customer_sign_up,
    normalize_identifier,
    verification_review,
    verification_submit,
)
from doudesk.crypto import decrypt_text
from doudesk.errors import DomainError
from factories import (
    CustomerFactory,
    image_bytes,
    make_verified_customer,
    valid_credit_code,
    valid_resident_id,
)

PASSWORD = "Lantern-Harbour-42"
PNG = image_bytes("PNG")


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", ("phone", "13800138000")),
        (" 138 0013 8000 ", ("phone", "13800138000")),
        ("+86-138-0013-8000", ("phone", "13800138000")),
        ("0086 138 0013 8000", ("phone", "13800138000")),
        ("Li.Ming@Example.com", ("email", "li.ming@example.com")),
    ],
)
def test_identifiers_are_normalised(raw, expected):
    assert normalize_identifier(raw) == expected


LONG_EMAIL = "x" * 64 + "@" + ("a" * 60 + ".") * 2 + "com"  # valid, 190 characters


@pytest.mark.parametrize(
    "raw", ["", "li", "12800138000", "1380013800", "+1 415 555 0100", "a@b", None, LONG_EMAIL]
)
def test_bad_identifiers_are_field_errors(raw):
    with pytest.raises(DomainError) as err:
        normalize_identifier(raw)
    assert [(e.field, e.code) for e in err.value.errors] == [("identifier", "invalid_identifier")]


@pytest.mark.django_db
def test_sign_up_reports_every_bad_field_at_once():
    with pytest.raises(DomainError) as err:
        customer_sign_up(identifier="nobody", password="123", kind="company")
    assert [e.field for e in err.value.errors] == ["identifier", "kind", "password"]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_sign_up_and_log_in_by_email_or_phone():
    by_mail = customer_sign_up(identifier="Wang@Example.com", password=PASSWORD, kind="individual")
    by_phone = customer_sign_up(identifier="13912345678", password=PASSWORD, kind="enterprise")
    request = RequestFactory().post("/login/")  # log-in throttling needs the request
    assert authenticate(request, username="WANG@example.com ", password=PASSWORD) == by_mail.user
    assert authenticate(request, username="+86 139 1234 5678", password=PASSWORD) == by_phone.user
    assert authenticate(request, username="13912345678", password="wrong-password") is None
    with pytest.raises(DomainError) as err:
        customer_sign_up(identifier="139-1234-5678", password=PASSWORD, kind="individual")
    assert err.value.errors[0].code == "identifier_taken"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Bank\u202eKCAB", "a\x1b[31mb", "zero\u200bwidth", "名" * 101])
def test_a_display_name_with_hidden_characters_or_too_long_is_refused(name):
    with pytest.raises(DomainError) as err:
        customer_sign_up(
            identifier="li@example.com", password=PASSWORD, kind="individual", display_name=name
        )
    assert [(e.field, e.code) for e in err.value.errors] == [("display_name", "name_invalid")]
    assert not User.objects.exists()  # it used to be stored, cut to 100 characters
    named = customer_sign_up(
        identifier="li@example.com", password=PASSWORD, kind="individual", display_name=" 名" * 50
    )
    assert named.display_name == ("名 " * 50).strip()


@pytest.mark.django_db
def test_a_sign_up_losing_a_race_for_its_account_is_told_it_is_taken(monkeypatch):
    # As if another request created the account between the check and the insert.
    monkeypatch.setattr(
        "doudesk.accounts.services.User.objects.filter",
        lambda **kwargs: User.objects.none(),
    )
    User.objects.create(username="li@example.com", email="li@example.com")
    with pytest.raises(DomainError) as err:
        customer_sign_up(identifier="li@example.com", password=PASSWORD, kind="individual")
    assert [e.code for e in err.value.errors] == ["identifier_taken"]  # it used to be a 500


@pytest.mark.django_db
def test_a_full_width_space_in_a_name_is_a_space_not_a_hidden_character():
    # An IME's full-width space (U+3000) was refused as a control character.
    customer = customer_sign_up(
        identifier="li@example.com", password=PASSWORD, kind="individual", display_name="小\u3000王"
    )
    assert customer.display_name == "小 王"
    verification = verification_submit(
        customer=customer, legal_name="\u00a0买买提\u3000艾力\u3000", number=valid_resident_id(45)
    )
    assert verification.legal_name == "买买提 艾力"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["张三\u202e", "张\x07三", "张\n三"])
def test_a_legal_name_with_hidden_characters_is_refused(name):
    customer = CustomerFactory(display_name="")
    with pytest.raises(DomainError) as err:
        verification_submit(customer=customer, legal_name=name, number=valid_resident_id(44))
    assert [(e.field, e.code) for e in err.value.errors] == [("legal_name", "name_invalid")]
    assert not Verification.objects.exists()


@pytest.mark.django_db
def test_individual_verification_is_encrypted_masked_and_approved_in_sandbox():
    customer = CustomerFactory(display_name="")
    assert not customer_is_verified(customer)
    number = valid_resident_id(42)
    verification = verification_submit(customer=customer, legal_name=" 王小明 ", number=number)
    assert verification.status == "approved"
    assert verification.reviewed_at is not None
    assert verification.legal_name == "王小明"
    assert verification.number_masked == number[:4] + "*" * 10 + number[-4:]
    assert number not in verification.number_encrypted
    assert decrypt_text(verification.number_encrypted) == number
    assert customer_is_verified(customer)
    customer.refresh_from_db()
    assert customer.display_name == "王小明"
    with pytest.raises(DomainError) as err:
        verification_submit(customer=customer, legal_name="王小明", number=number)
    assert err.value.status == 409


@pytest.mark.django_db
def test_production_mode_queues_submissions_for_review(settings):
    settings.SANDBOX = False
    customer = CustomerFactory()
    verification = verification_submit(
        customer=customer, legal_name="王小明", number=valid_resident_id(43)
    )
    assert verification.status == "pending"
    with pytest.raises(DomainError) as err:
        customer_require_verified(customer)
    assert (err.value.status, err.value.errors[0].field) == (403, "customer")
    with pytest.raises(DomainError) as twice:  # one submission in the queue at a time
        verification_submit(customer=customer, legal_name="王小明", number=valid_resident_id(43))
    assert (twice.value.status, twice.value.errors[0].code) == (409, "review_pending")
    assert customer.verifications.count() == 1
    reviewer = User.objects.create_user(username="operator", password=PASSWORD, is_staff=True)
    verification_review(
        verification=verification, reviewer=reviewer, approve=False, reason="照片模糊"
    )
    assert not customer_is_verified(customer)
    again = verification_submit(
        customer=customer, legal_name="王小明", number=valid_resident_id(43)
    )
    verification_review(verification=again, reviewer=reviewer, approve=True)
    customer_require_verified(customer)


@pytest.mark.django_db
@pytest.mark.parametrize("sandbox", [True, False])
def test_a_resident_id_verified_on_another_account_is_refused(settings, sandbox):
    settings.SANDBOX = sandbox
    number = valid_resident_id(45)
    first = CustomerFactory()
    verification = verification_submit(customer=first, legal_name="王小明", number=number)
    if not sandbox:
        reviewer = User.objects.create_user(username="operator", password=PASSWORD, is_staff=True)
        verification_review(verification=verification, reviewer=reviewer, approve=True)
    second = CustomerFactory()
    typed = f"{number[:6]} {number[6:14]} {number[14:].lower()}"  # the same number, typed apart
    with pytest.raises(DomainError) as err:
        verification_submit(customer=second, legal_name="王小明", number=typed)
    assert [(e.field, e.code) for e in err.value.errors] == [("id_number", "number_taken")]
    assert "其他账户" in err.value.errors[0].message_zh
    assert "another account" in err.value.errors[0].message_en
    assert not second.verifications.exists()
    assert not customer_is_verified(second)


@pytest.mark.django_db
def test_a_resident_id_only_pending_or_rejected_elsewhere_can_still_be_verified(settings):
    settings.SANDBOX = False
    number = valid_resident_id(46)
    reviewer = User.objects.create_user(username="operator", password=PASSWORD, is_staff=True)
    rejected = verification_submit(customer=CustomerFactory(), legal_name="王小明", number=number)
    verification_review(verification=rejected, reviewer=reviewer, approve=False, reason="不符")
    verification_submit(customer=CustomerFactory(), legal_name="王小明", number=number)  # pending
    mine = CustomerFactory()
    verification = verification_submit(customer=mine, legal_name="王小明", number=number)
    verification_review(verification=verification, reviewer=reviewer, approve=True)
    assert customer_is_verified(mine)


@pytest.mark.django_db
def test_an_enterprise_code_may_verify_several_accounts(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    code = valid_credit_code()
    for _ in range(2):
        customer = CustomerFactory(kind="enterprise")
        licence = SimpleUploadedFile("l.png", PNG, content_type="image/png")
        verification_submit(
            customer=customer, legal_name="某某有限公司", number=code, licence=licence
        )
        assert customer_is_verified(customer)


@pytest.mark.django_db
def test_bad_individual_submissions_write_nothing():
    customer = CustomerFactory()
    number = valid_resident_id(44)
    wrong_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    with pytest.raises(DomainError) as err:
        verification_submit(customer=customer, legal_name="王", number=wrong_check)
    assert [(e.field, e.code) for e in err.value.errors] == [
        ("legal_name", "name_required"),
        ("id_number", "checksum"),
    ]
    assert not Verification.objects.exists()


@pytest.mark.django_db
def test_enterprise_verification_needs_a_valid_code_and_an_image(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    customer = CustomerFactory(kind="enterprise")
    with pytest.raises(DomainError) as err:
        verification_submit(
            customer=customer, legal_name="某某有限公司", number="91350100M000100Y4X"
        )
    assert {e.field for e in err.value.errors} == {"credit_code", "licence"}
    licence = SimpleUploadedFile("l.png", PNG, content_type="image/png")
    code = valid_credit_code()
    verification = verification_submit(
        customer=customer, legal_name="某某有限公司", number=code, licence=licence
    )
    assert verification.status == "approved"
    assert verification.kind == "enterprise"
    assert decrypt_text(verification.number_encrypted) == code
    assert verification.number_masked == code[:4] + "*" * 10 + code[-4:]


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG", optimize=True)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("size", [(7_000, 7_000), (20_000, 20_000)])
def test_a_licence_image_of_too_many_pixels_is_refused_as_such(settings, tmp_path, size):
    # 20,000 × 20,000 (a few kilobytes) was told it was no JPEG or PNG; 144 megapixels passed.
    settings.MEDIA_ROOT = tmp_path
    customer = CustomerFactory(kind="enterprise")
    huge = SimpleUploadedFile("l.png", _png(*size), content_type="image/png")
    with pytest.raises(DomainError) as err:
        verification_submit(
            customer=customer, legal_name="某某有限公司", number=valid_credit_code(), licence=huge
        )
    assert [(e.field, e.message_zh) for e in err.value.errors] == [
        ("licence", "营业执照图片过大：最多 40 百万像素")
    ]
    assert not Verification.objects.exists()


@pytest.mark.django_db
def test_api_keys_are_stored_as_digests_and_shown_once():
    customer = CustomerFactory()
    with pytest.raises(DomainError):  # refused, not cut to 50 characters as before
        api_key_create(customer=customer, name="x" * 80)
    key, plain = api_key_create(customer=customer, name="x" * 50)
    assert plain.startswith("dd_test_")
    assert len(plain) > 30
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.digest == hashlib.sha256(plain.encode()).hexdigest()
    assert stored.prefix == plain[:12]
    assert len(stored.name) == 50
    assert all(plain not in str(getattr(stored, f.attname)) for f in ApiKey._meta.concrete_fields)
    assert stored.last_used_at is None
    assert api_key_authenticate(plain) == customer
    stored.refresh_from_db()
    assert stored.last_used_at is not None
    for bad in ("", plain[:-1], plain + "x", "x" * 300):
        assert api_key_authenticate(bad) is None


@pytest.mark.django_db
def test_a_key_reads_its_customer_and_verification_at_once_and_notes_use_once_a_minute(
    django_assert_num_queries,
):
    unverified, verified = CustomerFactory(), make_verified_customer()
    for customer, expected in ((unverified, False), (verified, True)):
        key, plain = api_key_create(customer=customer)
        with django_assert_num_queries(2):  # the key, then its first use noted
            found = api_key_authenticate(plain)
        assert found == customer
        assert found.display_name == customer.display_name
        assert found.ledger_salt == customer.ledger_salt
        with django_assert_num_queries(0):
            assert customer_is_verified(found) is expected
        recent = timezone.now() - timedelta(seconds=30)
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=recent)
        with django_assert_num_queries(1):  # used within the minute: nothing written
            assert api_key_authenticate(plain) == customer
        assert ApiKey.objects.get(pk=key.pk).last_used_at == recent
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=recent - timedelta(minutes=1))
        assert api_key_authenticate(plain) == customer
        assert ApiKey.objects.get(pk=key.pk).last_used_at > recent


@pytest.mark.django_db
def test_revoking_a_key_is_scoped_to_its_customer():
    owner, stranger = CustomerFactory(), CustomerFactory()
    key, plain = api_key_create(customer=owner)
    assert api_key_revoke(customer=stranger, key_id=key.pk) is False
    assert api_key_authenticate(plain) == owner
    assert api_key_revoke(customer=owner, key_id=key.pk) is True
    assert api_key_authenticate(plain) is None
    assert api_key_revoke(customer=owner, key_id=key.pk) is False


@pytest.mark.django_db
def test_demo_people_get_a_resident_id_no_account_has_verified(monkeypatch):
    from doudesk.accounts import demo
    from doudesk.accounts.idcheck import resident_id_check_char

    # Draws of zeros give a person born on 1970-01-01 with serial 000; that number is taken.
    taken_body = "11010519700101000"
    taken = taken_body + resident_id_check_char(taken_body)
    verification_submit(customer=CustomerFactory(), legal_name="王小明", number=taken)
    draws = iter([0, 0, 1, 7])
    monkeypatch.setattr(demo.secrets, "randbelow", lambda _n: next(draws))
    number = demo.demo_resident_id()
    assert number[:17] == "11010519700102007"  # drawn again: one day later, serial 007
    assert number == number[:17] + resident_id_check_char(number[:17])


@pytest.mark.django_db
def test_two_approvals_of_one_resident_id_at_once_leave_one_approved(settings, monkeypatch):
    # Both reviews pass the check before the write (neither sees the other's approval yet):
    # the database's unique constraint refuses the second, with the same field error.
    from doudesk.accounts import services

    settings.SANDBOX = False
    number = valid_resident_id(47)
    reviewer = User.objects.create_user(username="operator", password=PASSWORD, is_staff=True)
    first, second = (
        verification_submit(customer=CustomerFactory(), legal_name="王小明", number=number)
        for _ in range(2)
    )
    monkeypatch.setattr(services, "number_verified_elsewhere", lambda **_: False)
    verification_review(verification=first, reviewer=reviewer, approve=True)
    with pytest.raises(DomainError) as err:
        verification_review(verification=second, reviewer=reviewer, approve=True)
    assert (err.value.status, err.value.errors[0].code) == (409, "number_taken")
    second.refresh_from_db()
    assert second.status == "pending"
    assert not customer_is_verified(second.customer)
