"""Sign-up, log-in and identity verification pages."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from doudesk.accounts import services as account_services
from doudesk.accounts.models import Customer, User, Verification
from doudesk.accounts.services import LICENCE_MAX_BYTES
from doudesk.crypto import decrypt_text
from factories import (
    CustomerFactory,
    image_bytes,
    in_english,
    valid_credit_code,
    valid_resident_id,
)

pytestmark = pytest.mark.django_db

PASSWORD = "Lantern-Harbour-42"
PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")


def test_sign_up_with_email_logs_in_and_asks_for_verification(db):
    client = Client()
    response = client.post(
        "/signup/",
        {"identifier": " Ming.Li@Example.COM ", "password": PASSWORD, "kind": "individual"},
    )
    assert (response.status_code, response["Location"]) == (302, "/verify/")
    user = User.objects.get()
    assert (user.username, user.email, user.phone) == (
        "ming.li@example.com",
        "ming.li@example.com",
        None,
    )
    assert user.check_password(PASSWORD)
    assert Customer.objects.get(user=user).kind == "individual"
    page = client.get("/verify/")
    assert page.status_code == 200
    assert "身份证号" in page.content.decode()


def test_sign_up_with_a_mobile_number_as_an_enterprise(db):
    client = Client()
    response = client.post(
        "/signup/", {"identifier": "+86 138-0013-8000", "password": PASSWORD, "kind": "enterprise"}
    )
    assert response.status_code == 302
    user = User.objects.get()
    assert (user.username, user.phone) == ("13800138000", "13800138000")
    assert Customer.objects.get(user=user).kind == "enterprise"
    assert "统一社会信用代码" in client.get("/verify/").content.decode()


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"identifier": "not-an-email"}, "请输入有效的邮箱或中国大陆手机号"),
        ({"identifier": "12345678901"}, "请输入有效的邮箱或中国大陆手机号"),
        ({"identifier": ""}, "请输入有效的邮箱或中国大陆手机号"),
        ({"password": "1234567"}, "密码至少 8 位"),
        ({"password": "password123"}, "密码至少 8 位"),
        ({"kind": "robot"}, "请选择个人或企业"),
    ],
    ids=["bad-email", "bad-mobile", "blank", "short-password", "common-password", "bad-kind"],
)
def test_bad_sign_up_shows_the_field_error_and_creates_nothing(db, form, message):
    data = {"identifier": "new@example.com", "password": PASSWORD, "kind": "individual"} | form
    response = Client().post("/signup/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.exists()
    assert not Customer.objects.exists()


@pytest.mark.parametrize("field", ["identifier", "display_name", "password"])
def test_a_nul_character_in_a_form_field_is_refused_and_creates_nothing(db, field):
    # PostgreSQL text cannot hold NUL: the form is refused, naming the field, before any write.
    data = {"identifier": "nul@example.com", "password": PASSWORD, "kind": "individual"}
    data[field] = data.get(field, "x") + "\x00"
    response = Client().post("/signup/", data)
    assert response.status_code == 400
    assert response.content.decode().startswith(f"{field}: ")
    assert not User.objects.exists()


def test_sign_up_errors_speak_english_when_asked(db):
    response = in_english(Client()).post(
        "/signup/",
        {"identifier": "nope", "password": "123", "kind": "individual"},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid email address or mainland China mobile number" in body
    assert "Password needs at least 8 characters" in body


def test_a_taken_identifier_is_refused(db):
    CustomerFactory(user__username="taken@example.com", user__email="taken@example.com")
    response = Client().post(
        "/signup/", {"identifier": "TAKEN@example.com", "password": PASSWORD, "kind": "individual"}
    )
    assert response.status_code == 400
    assert "该账号已注册" in response.content.decode()
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("signed_up_as", "logs_in_as"),
    [
        ("ming@example.com", "  MING@example.com"),
        ("13912345678", "139 1234 5678"),
        ("13912345678", "+8613912345678"),
    ],
)
def test_log_in_with_email_or_mobile(db, signed_up_as, logs_in_as):
    Client().post(
        "/signup/", {"identifier": signed_up_as, "password": PASSWORD, "kind": "individual"}
    )
    client = Client()
    response = client.post(
        "/login/", {"identifier": logs_in_as, "password": PASSWORD, "next": "/orders/"}
    )
    assert (response.status_code, response["Location"]) == (302, "/orders/")
    assert client.get("/orders/").status_code == 200


def test_five_wrong_passwords_lock_the_account_out_from_that_address(db):
    Client().post(
        "/signup/", {"identifier": "ming@example.com", "password": PASSWORD, "kind": "individual"}
    )
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(5):
        spelling = "ming@example.com" if n % 2 else " MING@Example.com"  # one account
        wrong = guesser.post("/login/", {"identifier": spelling, "password": f"guess-{n}"})
        assert wrong.status_code == (429 if n == 4 else 400)  # the fifth locks it
    locked = guesser.post("/login/", {"identifier": "ming@example.com", "password": PASSWORD})
    assert locked.status_code == 429
    assert "密码错误次数过多" in locked.content.decode()
    assert "_auth_user_id" not in guesser.session
    # The owner, from another address, still logs in.
    owner = Client(REMOTE_ADDR="198.51.100.7")
    ok = owner.post("/login/", {"identifier": "ming@example.com", "password": PASSWORD})
    assert ok.status_code == 302


def test_sign_up_and_log_in_with_an_overlong_identifier_are_refused_on_the_field(db):
    # A valid address longer than an account name (150) and a log-in name longer than
    # django-axes' column (255) both failed PostgreSQL with a 500.
    email = "x" * 64 + "@" + ("a" * 60 + ".") * 2 + "com"
    sign_up = Client().post(
        "/signup/", {"identifier": email, "password": PASSWORD, "kind": "individual"}
    )
    assert sign_up.status_code == 400
    assert "邮箱过长：最多 150 个字符" in sign_up.content.decode()
    for identifier in (email, "a" * 256):
        response = Client().post("/login/", {"identifier": identifier, "password": "x"})
        assert response.status_code == 400
        assert "账号或密码错误" in response.content.decode()


def test_wrong_password_and_unsafe_next_are_refused(db):
    Client().post(
        "/signup/", {"identifier": "a@example.com", "password": PASSWORD, "kind": "individual"}
    )
    client = Client()
    wrong = client.post(
        "/login/", {"identifier": "a@example.com", "password": "Lantern-Harbour-43"}
    )
    assert wrong.status_code == 400
    assert "账号或密码错误" in wrong.content.decode()
    assert client.get("/orders/").status_code == 302
    offsite = client.post(
        "/login/", {"identifier": "a@example.com", "password": PASSWORD, "next": "//evil.example/"}
    )
    assert offsite["Location"] == "/"


def test_pages_behind_log_in_redirect_to_it(seeded):
    for path in ("/orders/", "/wallet/", "/verify/", "/api-keys/", "/services/1/order/"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


# Verification -----------------------------------------------------------------------------


@pytest.fixture
def individual(db) -> tuple[Customer, Client]:
    """Log in an unverified individual."""
    customer = CustomerFactory()
    client = Client()
    client.force_login(customer.user)
    return customer, client


@pytest.fixture
def enterprise(db, settings, tmp_path) -> tuple[Customer, Client]:
    """Log in an unverified enterprise; uploads go to a temporary directory."""
    settings.MEDIA_ROOT = tmp_path
    customer = CustomerFactory(kind="enterprise", display_name="")
    client = Client()
    client.force_login(customer.user)
    return customer, client


def test_a_valid_resident_id_is_approved_at_once_and_shown_masked(individual):
    customer, client = individual
    number = valid_resident_id(1234)
    response = client.post("/verify/", {"legal_name": "李明", "number": number})
    assert response.status_code == 302
    verification = Verification.objects.get(customer=customer)
    assert verification.status == "approved"
    masked = f"{number[:4]}{'*' * 10}{number[-4:]}"
    assert verification.number_masked == masked
    page = client.get("/verify/").content.decode()
    assert masked in page
    assert number not in page


def test_the_id_number_is_stored_encrypted(individual):
    customer, client = individual
    number = valid_resident_id(777)
    client.post("/verify/", {"legal_name": "李明", "number": number})
    verification = Verification.objects.get(customer=customer)
    assert number not in verification.number_encrypted
    assert decrypt_text(verification.number_encrypted) == number
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Verification._meta.db_table}")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert number not in stored
    assert number[6:14] not in stored


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (
            lambda: valid_resident_id(5)[:-1] + ("0" if valid_resident_id(5)[-1] != "0" else "1"),
            "校验",
        ),
        (lambda: "11010519900101123", "18"),
        (lambda: "", "18"),
    ],
    ids=["wrong-check-digit", "17-digits", "blank"],
)
def test_an_invalid_resident_id_is_a_field_error(individual, number, message):
    customer, client = individual
    response = client.post("/verify/", {"legal_name": "李明", "number": number()})
    assert response.status_code == 400
    errors = [e for e in response.context["errors"].get("id_number", [])]
    assert errors
    assert message in errors[0]
    assert errors[0] in response.content.decode()
    assert not Verification.objects.filter(customer=customer).exists()


def test_a_resident_id_verified_on_another_account_is_a_field_error(individual):
    customer, client = individual
    number = valid_resident_id(778)
    other = Client()
    other.force_login(CustomerFactory().user)
    assert other.post("/verify/", {"legal_name": "李明", "number": number}).status_code == 302
    response = client.post("/verify/", {"legal_name": "李明", "number": number})
    assert response.status_code == 400
    [error] = response.context["errors"]["id_number"]
    assert "已在其他账户完成实名认证" in error
    assert error in response.content.decode()
    assert not Verification.objects.filter(customer=customer).exists()


def test_a_missing_name_is_a_field_error(individual):
    customer, client = individual
    response = client.post("/verify/", {"legal_name": " ", "number": valid_resident_id(6)})
    assert response.status_code == 400
    assert "请填写身份证上的真实姓名" in response.content.decode()
    assert not Verification.objects.exists()


def test_a_name_too_long_says_so(individual, enterprise):
    for _customer, client in (individual, enterprise):
        response = client.post("/verify/", {"legal_name": "张" * 6000, "number": "x"})
        assert response.status_code == 400
        assert "名称最多 100 个字" in response.content.decode()
    assert not Verification.objects.exists()


def test_a_missing_company_name_asks_for_the_registered_name(enterprise):
    _customer, client = enterprise
    response = client.post("/verify/", {"legal_name": "", "number": "x"})
    assert response.status_code == 400
    assert "请填写营业执照上的企业全称" in response.content.decode()


def test_an_enterprise_with_a_valid_code_and_png_licence_is_approved(enterprise, tmp_path):
    customer, client = enterprise
    licence = SimpleUploadedFile("licence.png", PNG, content_type="image/png")
    response = client.post(
        "/verify/",
        {
            "legal_name": "成都星河文化传媒有限公司",
            "number": valid_credit_code(),
            "licence": licence,
        },
    )
    assert response.status_code == 302
    verification = Verification.objects.get(customer=customer)
    assert (verification.status, verification.kind) == ("approved", "enterprise")
    assert verification.licence.read() == PNG
    assert str(tmp_path) in verification.licence.path
    assert re.fullmatch(r"licences/\d{4}/\d{2}/[0-9a-f]{32}\.png", verification.licence.name)
    customer.refresh_from_db()
    assert customer.display_name == "成都星河文化传媒有限公司"


def test_a_jpeg_licence_is_accepted_too(enterprise):
    customer, client = enterprise
    licence = SimpleUploadedFile("licence.jpg", JPEG, content_type="image/jpeg")
    client.post(
        "/verify/",
        {"legal_name": "某某科技有限公司", "number": valid_credit_code(), "licence": licence},
    )
    assert Verification.objects.get(customer=customer).status == "approved"


@pytest.mark.parametrize(
    ("licence", "message"),
    [
        (None, "请上传营业执照图片"),
        (
            lambda: SimpleUploadedFile(
                "big.png", PNG[:8] + b"\x00" * LICENCE_MAX_BYTES, "image/png"
            ),
            "5 MB",
        ),
        (
            lambda: SimpleUploadedFile("l.gif", b"GIF89a" + b"\x00" * 100, "image/gif"),
            "JPEG 或 PNG",
        ),
        (lambda: SimpleUploadedFile("l.png", b"%PDF-1.7 fake png", "image/png"), "JPEG 或 PNG"),
        (
            lambda: SimpleUploadedFile(
                "a.html", PNG[:8] + b"<script>alert(1)</script>", "image/png"
            ),
            "JPEG 或 PNG",
        ),
        (
            lambda: SimpleUploadedFile("l.jpg", JPEG[:4] + b"\x00" * 200, "image/jpeg"),
            "JPEG 或 PNG",
        ),
        (lambda: SimpleUploadedFile("empty.png", b"", "image/png"), "文件为空"),
    ],
    ids=[
        "missing",
        "too-large",
        "gif",
        "pdf-named-png",
        "png-signature-only",
        "jpeg-signature-only",
        "empty",
    ],
)
def test_a_bad_licence_is_a_field_error(enterprise, licence, message):
    customer, client = enterprise
    form = {"legal_name": "某某科技有限公司", "number": valid_credit_code()}
    if licence is not None:
        form["licence"] = licence()
    response = client.post("/verify/", form)
    assert response.status_code == 400
    errors = response.context["errors"].get("licence", [])
    assert errors
    assert message in errors[0]
    assert errors[0] in response.content.decode()
    assert not Verification.objects.filter(customer=customer).exists()


@pytest.mark.parametrize(
    ("english", "message"),
    [(False, "营业执照图片不能超过 5 MB"), (True, "The licence image must be at most 5 MB")],
)
def test_an_oversized_licence_is_stopped_while_it_streams_and_refused_by_field(
    enterprise, monkeypatch, upload_disk_writes, tmp_path, english, message
):
    customer, client = enterprise
    monkeypatch.setattr(account_services, "LICENCE_MAX_BYTES", 100_000)
    if english:
        in_english(client)
    licence = SimpleUploadedFile("big.png", PNG + b"\x00" * 1_000_000, "image/png")
    name, number = "某某科技有限公司", valid_credit_code()
    response = client.post("/verify/", {"legal_name": name, "number": number, "licence": licence})
    assert response.status_code == 400
    assert response.context["errors"]["licence"] == [message]
    assert message in response.content.decode()
    assert f'value="{name}"' in response.content.decode()  # the other fields are still there
    assert 0 < max(upload_disk_writes) <= 100_000  # what passed the limit was never written
    assert not list((tmp_path / "upload-tmp").iterdir())  # and what was is deleted at once
    assert not Verification.objects.filter(customer=customer).exists()


def test_a_licence_of_exactly_the_limit_is_taken_whole(enterprise, monkeypatch, upload_disk_writes):
    customer, client = enterprise
    monkeypatch.setattr(account_services, "LICENCE_MAX_BYTES", len(PNG) + 200_000)
    content = PNG + b"\x00" * 200_000  # Pillow reads the image and ignores what trails it
    licence = SimpleUploadedFile("licence.png", content, "image/png")
    form = {"legal_name": "某某科技有限公司", "number": valid_credit_code(), "licence": licence}
    assert client.post("/verify/", form).status_code == 302
    stored = Verification.objects.get(customer=customer).licence
    assert stored.read() == content
    assert max(upload_disk_writes) == len(content)


def test_a_bad_credit_code_is_a_field_error(enterprise):
    customer, client = enterprise
    code = valid_credit_code()
    bad = code[:-1] + ("0" if code[-1] != "0" else "1")
    licence = SimpleUploadedFile("licence.png", PNG, content_type="image/png")
    response = client.post(
        "/verify/", {"legal_name": "某某科技有限公司", "number": bad, "licence": licence}
    )
    assert response.status_code == 400
    errors = response.context["errors"].get("credit_code", [])
    assert errors
    assert errors[0] in response.content.decode()
    assert not Verification.objects.exists()


def test_verification_errors_speak_english_when_asked(individual):
    _, client = individual
    response = in_english(client).post("/verify/", {"legal_name": "Li", "number": "123"})
    assert response.status_code == 400
    error = response.context["errors"]["id_number"][0]
    assert error.isascii()
    assert error in response.content.decode()


def test_a_verified_customer_cannot_submit_again(individual):
    customer, client = individual
    client.post("/verify/", {"legal_name": "李明", "number": valid_resident_id(8)})
    page = client.get("/verify/").content.decode()
    assert 'id="verified"' in page
    again = client.post("/verify/", {"legal_name": "李明", "number": valid_resident_id(9)})
    assert again.status_code == 409
    # The refusal used to be dropped: the page showed only the verified panel.
    [message] = again.context["errors"]["customer"]
    assert message in again.content.decode()
    assert Verification.objects.filter(customer=customer).count() == 1


def test_a_key_name_that_is_too_long_is_refused_on_the_keys_page_and_kept(web, customer):
    before = customer.api_keys.count()
    response = web.post("/api-keys/", {"name": "n" * 51})
    assert response.status_code == 400
    page = response.content.decode()
    assert "名称最多 50 个字符" in page
    assert f'value="{"n" * 51}"' in page
    assert customer.api_keys.count() == before


def test_a_new_key_is_shown_once_and_a_reload_creates_no_second_one(web, customer):
    from doudesk.accounts.services import api_key_authenticate

    created = web.post("/api-keys/", {"name": "ERP"})
    assert (created.status_code, created["Location"]) == (302, "/api-keys/")
    page = web.get("/api-keys/").content.decode()
    plain = re.search(r'<code id="new-key">([^<]+)</code>', page).group(1)
    assert api_key_authenticate(plain) == customer
    assert "<th>名称</th>" in page
    assert '<span class="ok">使用中</span>' in page  # a live key says so beside its button
    again = web.get("/api-keys/").content.decode()  # reloading the page
    assert plain not in again
    assert 'id="new-key"' not in again
    assert customer.api_keys.count() == 1
    key = customer.api_keys.get()
    revoked = web.post("/api-keys/", {"revoke": str(key.pk)})
    assert (revoked.status_code, revoked["Location"]) == (302, "/api-keys/")
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api_key_authenticate(plain) is None
