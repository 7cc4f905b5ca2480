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
