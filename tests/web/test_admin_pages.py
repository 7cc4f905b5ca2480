"""The operators' admin: every page opens, and every add form refuses bad input without a 500."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db

MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.mark.parametrize("model", MODELS, ids=[m._meta.label for m in MODELS])
def test_every_admin_list_opens_and_every_add_form_answers_an_empty_save(
    seeded, admin_client, model
):
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    assert admin_client.get(reverse(f"{name}_changelist")).status_code == 200
    add = reverse(f"{name}_add")
    page = admin_client.get(add)
    if page.status_code == 403:  # rows that only customers or the engine create
        return
    assert page.status_code == 200
    # An empty save is refused with the form's errors (an add form whose required fields are
    # all read-only would crash on the database instead).
    assert admin_client.post(add, {}).status_code in (200, 302)


def test_reviewers_see_the_licence_image_and_customers_cannot(seeded, admin_client, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from doudesk.accounts.services import verification_submit
    from factories import CustomerFactory, image_bytes, valid_credit_code

    png = image_bytes("PNG")
    verification = verification_submit(
        customer=CustomerFactory(kind="enterprise"),
        legal_name="某某有限公司",
        number=valid_credit_code(),
        licence=SimpleUploadedFile("my licence.png", png, content_type="image/png"),
    )
    url = reverse("admin:accounts_verification_licence", args=[verification.pk])
    page = admin_client.get(reverse("admin:accounts_verification_change", args=[verification.pk]))
    assert url in page.content.decode()
    image = admin_client.get(url)
    assert (image.status_code, image["Content-Type"]) == (200, "image/png")
    assert b"".join(image.streaming_content) == png
    assert client.get(url).status_code == 302  # to the admin log-in
    assert client.get(f"/media/{verification.licence.name}").status_code == 404


def test_an_operator_reconciles_an_uncertain_dispatch_from_the_order_page(
    seeded, admin_client, customer, fake_adapter
):
    from doudesk.orders import services
    from doudesk.orders.models import Order
    from doudesk.providers.adapters.base import ProviderError
    from factories import VIDEO_URL, module_id

    fake_adapter.place_error = ProviderError("read timeout", maybe_applied=True)
    order = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
    )
    services.order_dispatch(order_id=order.pk)
    url = reverse("admin:orders_order_reconcile", args=[order.pk])
    change = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert url in change.content.decode()
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"external_id": "P-42"}).status_code == 302
    assert Order.objects.get(pk=order.pk).external_id == "P-42"
    refused = admin_client.post(url, {"external_id": "P-43"})  # nothing left to reconcile
    assert refused.status_code == 200
    assert Order.objects.get(pk=order.pk).external_id == "P-42"


def test_an_operator_sets_a_provider_key_that_is_never_shown_back(seeded, admin_client):
    from doudesk.providers.models import Provider

    form = {
        "code": "mcn-x",
        "name": "MCN X",
        "adapter": "smm_v2",
        "api_url": "https://panel.example.cn/api/v2",
        "active": "on",
        "new_api_key": "secret-key-123",
    }
    response = admin_client.post(reverse("admin:providers_provider_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    provider = Provider.objects.get(code="mcn-x")
    assert provider.api_key == "secret-key-123"
    change = reverse("admin:providers_provider_change", args=[provider.pk])
    assert "secret-key-123" not in admin_client.get(change).content.decode()
    admin_client.post(change, {**form, "name": "MCN X2", "new_api_key": ""})
    provider.refresh_from_db()
    assert (provider.name, provider.api_key) == ("MCN X2", "secret-key-123")


def test_a_reviewer_compares_the_full_number_and_decides_on_the_review_page(
    seeded, admin_client, settings, caplog
):
    from doudesk.accounts.models import Verification
    from doudesk.accounts.services import verification_submit
    from factories import CustomerFactory

    settings.SANDBOX = False  # production: submissions wait for a reviewer
    number = "11010519491231002X"
    first = verification_submit(customer=CustomerFactory(), legal_name="张三", number=number)
    second = verification_submit(customer=CustomerFactory(), legal_name="李四", number=number)
    assert first.status == second.status == "pending"
    queue = admin_client.get(reverse("admin:accounts_verification_changelist")).content.decode()
    assert queue.index(f">{second.pk}<") < queue.index(f">{first.pk}<")  # newest pending first
    url = reverse("admin:accounts_verification_change", args=[second.pk])
    with caplog.at_level("INFO", logger="doudesk.audit"):
        page = admin_client.get(url).content.decode()
    assert number in page  # the reviewer compares it with the ID or licence
    assert f"#{first.pk} 张三" in page  # the same number, submitted by another customer
    assert 'name="_approve"' in page
    assert f"verification {second.pk}: full number shown to admin" in caplog.text
    fields = {"reject_reason": "同一身份证号已用于其他账户"}
    response = admin_client.post(url, {**fields, "_reject": "1"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert (second.status, second.reject_reason) == ("rejected", "同一身份证号已用于其他账户")
    assert 'name="_approve"' not in admin_client.get(url).content.decode()
    done = admin_client.post(
        reverse("admin:accounts_verification_changelist"),
        {"action": "approve", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    assert "已处理 1 条，跳过 1 条已审核的认证" in done.content.decode()
    assert Verification.objects.get(pk=first.pk).status == "approved"
    assert Verification.objects.get(pk=second.pk).status == "rejected"
