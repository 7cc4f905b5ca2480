"""Deliverables: an operator adds a report's file or a video's link; its customer downloads it."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from doudesk.errors import DomainError
from doudesk.ledger.models import LogLeaf
from doudesk.orders import deliverables, services
from doudesk.orders.deliverables import order_deliverable_add
from doudesk.orders.models import Deliverable, Order
from factories import ACCOUNT_URL, in_english, module_id, staff_client

pytestmark = pytest.mark.django_db

CONTENT = b"%PDF-1.7 a report"


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def report_order(customer) -> Order:
    return services.order_place(
        customer=customer, service_id=module_id("competitor-report"), target=ACCOUNT_URL, quantity=1
    )


def pdf(name: str = "report.pdf", content: bytes = CONTENT) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_a_file_is_kept_with_its_hash_and_the_log_holds_the_hash_not_the_name(customer):
    order = report_order(customer)
    added = order_deliverable_add(order_id=order.pk, name="", file=pdf("客户甲竞品报告.pdf"))
    assert added.name == "客户甲竞品报告.pdf"  # the file's name when none is given
    assert added.sha256 == hashlib.sha256(CONTENT).hexdigest()
    assert added.file.read() == CONTENT
    event = order.events.get(kind="deliverable_added")
    assert event.data == {"deliverable": "客户甲竞品报告.pdf", "sha256": added.sha256}
    leaf = json.loads(LogLeaf.objects.filter(order=order).order_by("-pk").first().leaf)
    assert (leaf["type"], leaf["sha256"]) == ("deliverable_added", added.sha256)
    assert "deliverable" not in leaf  # the name is the customer's business


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "x"}, "file"),  # neither a file nor a link
        ({"name": "x", "file": pdf(), "url": "https://pan.example.com/s/1"}, "file"),  # both
        ({"name": "x", "file": pdf("run.exe")}, "file"),
        ({"name": "x", "file": pdf(content=b"")}, "file"),
        ({"name": "x", "url": "http://pan.example.com/s/1"}, "url"),  # not https
        ({"name": "x", "url": "javascript:alert(1)"}, "url"),
        ({"name": "x" * 121, "url": "https://pan.example.com/s/1"}, "name"),
        ({"name": "a\x00b", "url": "https://pan.example.com/s/1"}, "name"),
    ],
)
def test_a_bad_deliverable_is_refused_by_field_and_writes_nothing(customer, kwargs, field):
    order = report_order(customer)
    with pytest.raises(DomainError) as refused:
        order_deliverable_add(order_id=order.pk, **kwargs)
    assert refused.value.errors[0].field == field
    assert refused.value.errors[0].message_zh
    assert refused.value.errors[0].message_en
    assert not Deliverable.objects.exists()
    assert not order.events.filter(kind="deliverable_added").exists()


def test_a_cancelled_order_takes_no_deliverable(customer):
    order = report_order(customer)
    Order.objects.filter(pk=order.pk).update(status="canceled")
    with pytest.raises(DomainError) as refused:
        order_deliverable_add(order_id=order.pk, name="r", url="https://pan.example.com/s/1")
    assert refused.value.status == 409


def test_the_customer_downloads_the_file_and_no_one_else_can(customer, other_customer, web):
    order = report_order(customer)
    added = order_deliverable_add(order_id=order.pk, name="竞品分析报告", file=pdf())
    page = web.get(f"/orders/{order.pk}/").content.decode()
    link = f"/orders/{order.pk}/deliverables/{added.pk}/"
    assert f'href="{link}"' in page
    assert added.sha256 in page
    download = web.get(link)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == CONTENT
    assert "attachment" in download["Content-Disposition"]
    assert "filename*=utf-8''%E7%AB%9E" in download["Content-Disposition"]  # 竞品分析报告.pdf
    other = Client()
    other.force_login(other_customer.user)
    assert other.get(link).status_code == 404
    assert Client().get(link).status_code == 302  # to log in


def test_a_link_is_shown_to_open_and_not_served(customer, web):
    order = report_order(customer)
    added = order_deliverable_add(
        order_id=order.pk, name="成片", url="https://pan.example.com/s/abc"
    )
    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert 'href="https://pan.example.com/s/abc" rel="noopener noreferrer"' in page
    assert web.get(f"/orders/{order.pk}/deliverables/{added.pk}/").status_code == 404


def test_an_operator_uploads_a_deliverable_from_the_admin_and_it_is_logged(customer):
    order = report_order(customer)
    url = reverse("admin:orders_order_deliverable", args=[order.pk])
    viewer = staff_client("view_order")
    assert viewer.post(url, {"name": "r", "url": "https://pan.example.com/s/1"}).status_code == 403
    ops = get_user_model().objects.get(username="staff")
    ops.user_permissions.add(Permission.objects.get(codename="change_order"))
    page = viewer.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert url in page
    refused = viewer.post(url, {"name": "r", "file": pdf("run.exe")})
    assert "不支持此文件类型" in refused.content.decode()
    done = viewer.post(url, {"name": "竞品分析报告", "file": pdf()})
    assert done.status_code == 302
    assert Deliverable.objects.get(order=order).name == "竞品分析报告"
    assert "上传交付物" in LogEntry.objects.get(object_id=str(order.pk)).get_change_message()


@pytest.mark.parametrize(
    ("english", "message"),
    [
        (False, "文件为空或超过 50 MB；更大的成品请以链接交付"),
        (True, "The file is empty or over 50 MB; deliver larger work as a link"),
    ],
)
def test_an_oversized_file_is_stopped_while_it_streams_and_refused_on_the_form(
    customer, monkeypatch, upload_disk_writes, tmp_path, english, message
):
    monkeypatch.setattr(deliverables, "DELIVERABLE_MAX_BYTES", 100_000)
    order = report_order(customer)
    url = reverse("admin:orders_order_deliverable", args=[order.pk])
    ops = staff_client("change_order")
    if english:
        in_english(ops)
    refused = ops.post(url, {"name": "r", "file": pdf(content=CONTENT + b"\x00" * 1_000_000)})
    assert refused.status_code == 200
    assert refused.context["form"].errors["file"] == [message]
    assert message in refused.content.decode()
    assert 0 < max(upload_disk_writes) <= 100_000  # what passed the limit was never written
    assert not list((tmp_path / "upload-tmp").iterdir())
    assert not Deliverable.objects.exists()
    taken = ops.post(url, {"name": "r", "file": pdf(content=CONTENT + b"\x00" * 90_000)})
    assert taken.status_code == 302
    assert Deliverable.objects.get().file.size == len(CONTENT) + 90_000


def test_the_api_lists_deliverables_and_serves_the_file_to_its_customer_only(
    customer, api_key_for, other_customer
):
    order = report_order(customer)
    added = order_deliverable_add(order_id=order.pk, name="报告", file=pdf())
    order_deliverable_add(order_id=order.pk, name="成片", url="https://pan.example.com/s/abc")
    mine = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(customer)}"}
    listed = Client().get(f"/api/v1/orders/{order.pk}/deliverables", **mine).json()
    assert [(d["name"], d["sha256"], d["link"]) for d in listed] == [
        ("报告", added.sha256, None),
        ("成片", None, "https://pan.example.com/s/abc"),
    ]
    download = Client().get(listed[0]["download"], **mine)
    assert download.status_code == 200
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == added.sha256
    theirs = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(other_customer)}"}
    assert Client().get(listed[0]["download"], **theirs).status_code == 404
    assert Client().get(f"/api/v1/orders/{order.pk}/deliverables", **theirs).status_code == 404
    assert Client().get(listed[0]["download"]).status_code == 401


def test_a_file_is_stored_under_a_name_of_its_own(customer):
    # A name of 70 four-byte characters passed the 100-character field and failed the disk's
    # 255-byte limit (a 500); the customer's name stays the deliverable's.
    order = report_order(customer)
    long_name = "𠀀" * 70 + ".pdf"
    added = order_deliverable_add(order_id=order.pk, name="", file=pdf(long_name))
    assert added.name == long_name
    stored = added.file.name.rsplit("/", 1)[-1]
    assert len(stored) == 36
    assert stored.endswith(".pdf")
    longest = order_deliverable_add(order_id=order.pk, name="", file=pdf("r" * 200 + ".pdf"))
    assert (len(longest.name), longest.name[-4:]) == (120, ".pdf")


def test_a_deliverable_given_by_mistake_is_withdrawn_from_its_customer(customer, web):
    order = report_order(customer)
    added = order_deliverable_add(order_id=order.pk, name="别人的报告", file=pdf())
    link = f"/orders/{order.pk}/deliverables/{added.pk}/"
    assert web.get(link).status_code == 200
    from doudesk.orders.deliverables import order_deliverable_withdraw

    order_deliverable_withdraw(deliverable_id=added.pk)
    assert web.get(link).status_code == 404
    assert "别人的报告" not in web.get(f"/orders/{order.pk}/").content.decode()
    event = order.events.get(kind="deliverable_withdrawn")
    assert event.data == {"deliverable": "别人的报告", "sha256": added.sha256}
    with pytest.raises(DomainError) as again:
        order_deliverable_withdraw(deliverable_id=added.pk)
    assert again.value.status == 409


def test_staff_who_may_see_orders_see_and_download_deliverables_and_change_rights_withdraw(
    customer,
):
    order = report_order(customer)
    added = order_deliverable_add(order_id=order.pk, name="报告", file=pdf())
    viewer = staff_client("view_order")
    page = viewer.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    file_url = reverse("admin:orders_order_deliverable_file", args=[order.pk, added.pk])
    assert file_url in page  # the list shows, with a download that works (/media/ is not served)
    assert b"".join(viewer.get(file_url).streaming_content) == CONTENT
    withdraw = reverse("admin:orders_order_deliverable_withdraw", args=[order.pk, added.pk])
    assert viewer.post(withdraw).status_code == 403
    assert Client().get(file_url).status_code == 302  # to the admin's log-in
    ops = get_user_model().objects.get(username="staff")
    ops.user_permissions.add(Permission.objects.get(codename="change_order"))
    assert "撤回后客户不再能看到" in viewer.get(withdraw).content.decode()
    assert viewer.post(withdraw).status_code == 302
    added.refresh_from_db()
    assert added.withdrawn_at is not None
    assert (
        "撤回交付物"
        in LogEntry.objects.filter(object_id=str(order.pk)).first().get_change_message()
    )


def test_view_only_staff_are_offered_no_action_they_would_be_refused(customer):
    order = report_order(customer)
    added = order_deliverable_add(order_id=order.pk, name="报告", file=pdf())
    viewer = staff_client("view_order")
    page = viewer.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    upload = f'href="{reverse("admin:orders_order_deliverable", args=[order.pk])}"'
    withdraw = reverse("admin:orders_order_deliverable_withdraw", args=[order.pk, added.pk])
    assert upload not in page
    assert withdraw not in page
    ops = get_user_model().objects.get(username="staff")
    ops.user_permissions.add(Permission.objects.get(codename="change_order"))
    page = viewer.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert upload in page
    assert withdraw in page
    assert "deletelink" not in page  # an order is never deleted


def test_the_history_reads_in_words_and_the_timeline_keeps_a_withdrawn_name_out(customer, web):
    order = report_order(customer)
    ops = staff_client("view_order", "change_order")
    url = reverse("admin:orders_order_deliverable", args=[order.pk])
    assert ops.post(url, {"name": "", "file": pdf("报告.pdf")}).status_code == 302
    message = LogEntry.objects.get(object_id=str(order.pk)).get_change_message()
    assert "None" not in message
    assert "名称:" not in message  # an empty field is left out
    added = Deliverable.objects.get(order=order)
    from doudesk.orders.deliverables import order_deliverable_withdraw

    order_deliverable_withdraw(deliverable_id=added.pk)
    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert "交付物已撤回" in page
    assert "报告.pdf" not in page  # given by mistake, its name may be someone else's
    answer = web.get(f"/orders/{order.pk}/deliverables/{added.pk}/")
    assert answer.status_code == 404
