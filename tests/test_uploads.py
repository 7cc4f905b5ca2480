"""Uploaded files are stopped at their view's limit while they stream (doudesk.uploads)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory

from doudesk.uploads import view_max_bytes

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
    assert view_max_bytes(RequestFactory().post(path)) == limit
