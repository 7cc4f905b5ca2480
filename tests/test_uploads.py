"""Uploaded files are stopped at their view's limit while they stream (doudesk.uploads)."""

from __future__ import annotations

import asyncio
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.asgi import ASGIHandler
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from doudesk import uploads
from doudesk.accounts import services as account_services
from doudesk.accounts.models import Verification
from doudesk.uploads import view_max_bytes
from factories import CustomerFactory, image_bytes, valid_credit_code

pytestmark = pytest.mark.django_db


def test_a_page_that_takes_no_file_writes_none_and_still_reads_the_form(upload_disk_writes):
    stray = SimpleUploadedFile("big.bin", b"\x00" * 1_000_000)
    form = {"identifier": "nobody@example.com", "password": "wrong", "stray": stray}
    response = Client().post("/login/", form)
    assert response.status_code == 400
    assert response.context["errors"]["identifier"] == ["账号或密码错误"]
    assert upload_disk_writes == []


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/verify/", 5 * 1024 * 1024),
        ("/admin/orders/order/1/deliverable/", 50 * 1024 * 1024),
        ("/admin/pricing/referenceprice/import-csv/", 2 * 1024 * 1024),
        ("/login/", 0),
        ("/api/v1/orders", 0),
        ("/no/such/page/", 0),
    ],
)
def test_each_view_that_takes_files_declares_its_limit_and_the_others_take_none(path, limit):
    assert view_max_bytes(path) == limit


def asgi_post(path: str, fields: dict, cookies: dict[str, str]) -> tuple[int, str]:
    """POST ``fields`` as a multipart form to the web process's ASGI application, in chunks."""
    from doudesk.asgi import application

    body = encode_multipart(BOUNDARY, fields)
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        "headers": [
            (b"host", b"127.0.0.1"), (b"cookie", cookie.encode()),
            (b"content-type", MULTIPART_CONTENT.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }  # fmt: skip
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    answer: dict = {"body": b""}

    async def receive() -> dict:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}
        await asyncio.Event().wait()  # the client stays until the answer

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        else:
            answer["body"] += message.get("body", b"")

    asyncio.run(application(scope, receive, send))
    return answer["status"], answer["body"].decode()


@pytest.mark.django_db(transaction=True)
def test_under_asgi_a_huge_licence_is_cut_while_it_arrives_and_refused_by_field(
    settings, monkeypatch, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(account_services, "LICENCE_MAX_BYTES", 100_000)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    monkeypatch.setattr(uploads, "BODY_FRAMING_BYTES", 10_000)
    spooled: list[int] = []
    read_body = ASGIHandler.read_body

    async def read_and_measure(handler, receive):
        body_file = await read_body(handler, receive)
        spooled.append(body_file.seek(0, os.SEEK_END))
        body_file.seek(0)
        return body_file

    monkeypatch.setattr(ASGIHandler, "read_body", read_and_measure)
    customer = CustomerFactory(kind="enterprise", display_name="")
    browser = Client()
    browser.force_login(customer.user)
    token = "k" * 32
    cookies = {"sessionid": browser.cookies["sessionid"].value, "csrftoken": token}
    licence = SimpleUploadedFile("big.png", image_bytes("PNG") + b"\x00" * 3_000_000, "image/png")
    form = {"csrfmiddlewaretoken": token, "legal_name": "某某科技有限公司"}
    form |= {"number": valid_credit_code(), "licence": licence}
    status, page = asgi_post("/verify/", form, cookies)
    assert status == 400
    assert "营业执照图片不能超过 5 MB" in page
    assert 'value="某某科技有限公司"' in page
    assert len(spooled) == 1
    assert spooled[0] <= 100_000 + 50_000 + 10_000 + 200  # the cap, and the closing line
    assert not Verification.objects.exists()
