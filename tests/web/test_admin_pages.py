"""The operators' admin: every page opens, and every add form refuses bad input without a 500."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote as admin_quote
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

    # Another uncertain order cannot follow the same provider order: one delivery, two orders.
    other = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=1_000
    )
    services.order_dispatch(order_id=other.pk)
    other_url = reverse("admin:orders_order_reconcile", args=[other.pk])
    page = admin_client.post(other_url, {"external_id": " P-42 "}).content.decode()
    assert f"服务商订单号 P-42 已属于订单 #{order.pk}" in page
    other.refresh_from_db()
    assert (other.external_id, other.dispatch_uncertain_at is not None) == ("", True)


def test_an_operator_sets_a_provider_key_that_is_never_shown_back(seeded, admin_client):
    from doudesk.providers.models import Provider
    from doudesk.providers.registry import adapter_for

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
    assert provider.plain_api_key() == "secret-key-123"
    assert "secret-key-123" not in provider.api_key  # encrypted at rest, as ID numbers are
    assert adapter_for(provider)._key == "secret-key-123"  # the adapter calls with the plain key
    change = reverse("admin:providers_provider_change", args=[provider.pk])
    assert "secret-key-123" not in admin_client.get(change).content.decode()
    admin_client.post(change, {**form, "name": "MCN X2", "new_api_key": ""})
    provider.refresh_from_db()
    assert (provider.name, provider.plain_api_key()) == ("MCN X2", "secret-key-123")


def test_production_refuses_a_sandbox_provider_whose_orders_could_never_be_sent(
    seeded, admin_client, settings
):
    from doudesk.providers.models import Provider

    settings.SANDBOX = False
    form = {"code": "sb", "name": "SB", "adapter": "smm_v2", "is_sandbox": "on", "active": "on"}
    page = admin_client.post(reverse("admin:providers_provider_add"), form).content.decode()
    assert "生产模式下不能使用沙盒服务商" in page
    assert not Provider.objects.filter(code="sb").exists()
    settings.SANDBOX = True
    assert admin_client.post(reverse("admin:providers_provider_add"), form).status_code == 302


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


def test_catalogue_forms_name_the_field_that_is_wrong(seeded, admin_client):
    from django.forms.models import model_to_dict

    from doudesk.catalog.models import Package, ServiceModule

    plays = ServiceModule.objects.get(code="plays")
    change = reverse("admin:catalog_servicemodule_change", args=[plays.pk])
    fields = {k: v for k, v in model_to_dict(plays).items() if v is not None}
    page = admin_client.post(change, {**fields, "min_quantity": 2000, "max_quantity": 1000})
    assert "最大数量不能小于最小数量" in page.content.decode()
    page = admin_client.post(change, {**fields, "rate_per_1000": "-5"})
    assert "单价须大于 0" in page.content.decode()

    add = reverse("admin:catalog_package_add")
    package = {
        "code": "bad", "name_zh": "坏套餐", "name_en": "Bad", "price": "1.00",
        "target_kind": "video", "active": "on",
        "items-TOTAL_FORMS": 1, "items-INITIAL_FORMS": 0,
    }  # fmt: skip
    empty = admin_client.post(add, package)
    assert "套餐至少需要一个项目" in empty.content.decode()
    too_few = admin_client.post(add, {**package, "items-0-module": plays.pk, "items-0-quantity": 7})
    assert "数量须在 500 至" in too_few.content.decode()
    followers = ServiceModule.objects.get(code="followers")  # takes an account link
    wrong_link = admin_client.post(
        add, {**package, "items-0-module": followers.pk, "items-0-quantity": 100}
    )
    assert "此服务需要的链接类型与套餐不同" in wrong_link.content.decode()
    assert not Package.objects.filter(code="bad").exists()
    fine = admin_client.post(add, {**package, "items-0-module": plays.pk, "items-0-quantity": 500})
    assert fine.status_code == 302
    assert Package.objects.get(code="bad").price_fen == 100


def _order_of_1600_yuan(customer):
    from doudesk.orders import services
    from factories import VIDEO_URL, fund_customer, module_id

    fund_customer(customer, 1_000_000)
    return services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=100_000
    )


def _readonly(page: str) -> list[str]:
    return [v.strip() for v in re.findall(r'<div class="readonly">(.*?)</div>', page, re.S)]


def _inline_cells(page: str, field: str) -> list[str]:
    """Return the texts of an inline table's read-only column, row by row."""
    return re.findall(rf'<td class="field-{field}">\s*<p>(.*?)</p>', page)


def test_order_money_reads_in_yuan_under_a_yuan_title(seeded, admin_client, customer):
    order = _order_of_1600_yuan(customer)
    assert order.charge_fen == 160_000
    listing = admin_client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "订单金额（元）" in listing
    assert "已退款（元）" in listing
    assert "¥1,600.00" in listing
    assert ">160000<" not in listing
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    shown = _readonly(page.content.decode())
    assert "¥1,600.00" in shown  # the charge
    assert "160000" not in shown
    assert "服务商费用（元）" in page.content.decode()
    admin_client.cookies["django_language"] = "en"
    english = admin_client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "Order amount (yuan)" in english
    assert "Refunded (yuan)" in english


def test_admin_counts_read_with_thousands_separators(seeded, admin_client, customer):
    from doudesk.catalog.models import ServiceModule
    from doudesk.pricing.services import quote_create
    from factories import module_id

    order = _order_of_1600_yuan(customer)  # 100,000 plays
    listing = admin_client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert ">100,000<" in listing
    assert ">100000<" not in listing
    assert "数量" in listing  # the column keeps the field's title
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    shown = _readonly(page.content.decode())
    assert "100,000" in shown
    assert "100000" not in shown
    plays = ServiceModule.objects.get(pk=module_id("plays"))
    modules = admin_client.get(reverse("admin:catalog_servicemodule_changelist")).content
    assert f">{plays.max_quantity:,}<" in modules.decode()
    quote_create(customer=customer, module=plays, quantity=250_000)
    quotes = admin_client.get(reverse("admin:pricing_quote_changelist")).content.decode()
    assert ">250,000<" in quotes
    # The count column still sorts by the field (o=3 ascending, o=-3 not: the 4th column,
    # counted from 0; orders are never deleted, so the list has no action tick boxes).
    from doudesk.orders import services
    from factories import VIDEO_URL

    services.order_place(customer=customer, service_id=plays.pk, target=VIDEO_URL, quantity=2_000)
    changelist = reverse("admin:orders_order_changelist")
    rising = admin_client.get(changelist + "?o=3").content.decode()
    falling = admin_client.get(changelist + "?o=-3").content.decode()
    assert rising.index(">2,000<") < rising.index(">100,000<")
    assert falling.index(">100,000<") < falling.index(">2,000<")


def test_wallet_and_quote_money_reads_in_yuan(seeded, admin_client, customer):
    from doudesk.catalog.models import ServiceModule
    from doudesk.pricing.services import quote_create
    from doudesk.wallet.models import Account, JournalEntry, TopUp
    from doudesk.wallet.services import topup_create
    from factories import module_id

    _order_of_1600_yuan(customer)  # a balance of ¥10,000 + ¥1,000 - ¥1,600
    cash = Account.objects.get(customer=customer, kind="customer_cash")
    assert cash.balance_fen == 940_000
    accounts = admin_client.get(reverse("admin:wallet_account_changelist")).content.decode()
    assert "余额（元）" in accounts
    assert "¥9,400.00" in accounts
    page = admin_client.get(reverse("admin:wallet_account_change", args=[cash.pk]))
    assert "¥9,400.00" in _readonly(page.content.decode())

    hold = JournalEntry.objects.get(kind="order_hold")
    entry = admin_client.get(reverse("admin:wallet_journalentry_change", args=[hold.pk]))
    legs = entry.content.decode()
    assert "金额（元）" in legs
    assert "-¥1,600.00" in legs  # out of the cash account
    assert "<p>¥1,600.00</p>" in legs or ">¥1,600.00<" in legs  # into the hold
    assert "160000" not in _readonly(legs)

    topup = topup_create(customer=customer, amount_fen=1_234_500)
    topups = admin_client.get(reverse("admin:wallet_topup_changelist")).content.decode()
    assert "¥12,345.00" in topups
    page = admin_client.get(reverse("admin:wallet_topup_change", args=[topup.pk]))
    assert "¥12,345.00" in _readonly(page.content.decode())
    assert TopUp.objects.get(pk=topup.pk).amount_fen == 1_234_500

    plays = ServiceModule.objects.get(pk=module_id("plays"))
    quote = quote_create(customer=customer, module=plays, quantity=100_000)
    quotes = admin_client.get(reverse("admin:pricing_quote_changelist")).content.decode()
    assert "总价（元）" in quotes
    shown = _readonly(
        # The admin escapes a text key in its URLs ("q_22…" would read as 'q"…'), as its links do.
        admin_client.get(
            reverse("admin:pricing_quote_change", args=[admin_quote(quote.pk)])
        ).content.decode()
    )
    assert f"¥{quote.total_fen // 100:,}.{quote.total_fen % 100:02d}" in shown


def test_a_package_price_is_typed_in_yuan_and_kept_in_exact_fen(seeded, admin_client):
    from doudesk.catalog.models import Package, ServiceModule

    plays = ServiceModule.objects.get(code="plays")
    add = reverse("admin:catalog_package_add")
    package = {
        "code": "big", "name_zh": "大套餐", "name_en": "Big", "target_kind": "video",
        "active": "on", "items-TOTAL_FORMS": 1, "items-INITIAL_FORMS": 0,
        "items-0-module": plays.pk, "items-0-quantity": 500,
    }  # fmt: skip
    form = admin_client.get(add).content.decode()
    assert "价格（元）" in form
    assert 'name="price_fen"' not in form
    refused = admin_client.post(add, {**package, "price": "12.345"})  # a fraction of a fen
    assert refused.status_code == 200
    assert not Package.objects.filter(code="big").exists()
    assert admin_client.post(add, {**package, "price": "12345.67"}).status_code == 302
    big = Package.objects.get(code="big")
    assert big.price_fen == 1_234_567
    listing = admin_client.get(reverse("admin:catalog_package_changelist")).content.decode()
    assert "¥12,345.67" in listing
    change = reverse("admin:catalog_package_change", args=[big.pk])
    assert 'name="price" value="12345.67"' in admin_client.get(change).content.decode()
    # Saved again unchanged, the price stays what it was, to the fen.
    item = big.items.get()
    again = {
        **package, "price": "12345.67", "items-INITIAL_FORMS": 1, "items-0-id": item.pk,
        "items-0-package": big.pk,
    }  # fmt: skip
    assert admin_client.post(change, again).status_code == 302
    big.refresh_from_db()
    assert big.price_fen == 1_234_567


CJK = re.compile(r"[\u4e00-\u9fff]")


def _admin_models() -> list:
    """Return the project's models the admin shows, with those of their inlines."""
    models = []
    for model, model_admin in admin.site._registry.items():
        for shown in (model, *(inline.model for inline in model_admin.inlines)):
            if shown.__module__.startswith("doudesk.") and shown not in models:
                models.append(shown)
    return models


@pytest.mark.parametrize("model", _admin_models(), ids=lambda m: m._meta.label)
def test_every_admin_field_is_labelled_in_the_operators_language(model):
    from django.utils import translation

    fields = [
        f
        for f in model._meta.get_fields()
        if f.concrete and not f.auto_created and not (f.primary_key and f.name == "id")
    ]
    for language, chinese in (("zh-hans", True), ("en", False)):
        with translation.override(language):
            labels = {f.name: str(f.verbose_name) for f in fields}
            labels["(model)"] = str(model._meta.verbose_name)
            wrong = {n: v for n, v in labels.items() if bool(CJK.search(v)) != chinese}
            assert wrong == {}, language


def test_the_order_page_reads_in_the_operators_language(seeded, admin_client, customer):
    order = _order_of_1600_yuan(customer)
    url = reverse("admin:orders_order_change", args=[order.pk])
    chinese = admin_client.get(url).content.decode()
    for label in ("服务商订单号", "已交付数量", "订单金额（元）", "创建时间", "订单事件"):
        assert label in chinese
    # The event the order was placed with names the status it entered in words, with its code.
    assert _inline_cells(chinese, "to_status_shown") == ["等待中 (pending)"]
    assert _inline_cells(chinese, "from_status_shown") == ["—"]
    admin_client.cookies["django_language"] = "en"
    english = admin_client.get(url).content.decode()
    for label in ("Provider order id", "Quantity delivered", "Order amount (yuan)", "Created at"):
        assert label in english
    assert "Order event" in english
    assert _inline_cells(english, "to_status_shown") == ["Pending (pending)"]
    assert "服务商订单号" not in english
    listing = admin_client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "Service module" in listing


def test_a_quote_top_up_or_journal_leg_is_named_with_its_amount_in_yuan(
    seeded, admin_client, customer
):
    from doudesk.wallet.models import JournalEntry
    from doudesk.wallet.services import topup_create

    order = _order_of_1600_yuan(customer)
    assert str(order.quote).endswith("= ¥1,600.00")
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert f"{order.quote.pk} " in page.content.decode()
    assert "= ¥1,600.00</a>" in page.content.decode()  # the order's quote, linked
    assert "= 160000" not in page.content.decode()
    hold = JournalEntry.objects.get(kind="order_hold")
    assert sorted(str(leg).split()[-1] for leg in hold.legs.all()) == ["+¥1,600.00", "-¥1,600.00"]
    assert str(topup_create(customer=customer, amount_fen=1_234_500)).split()[1] == "¥12,345.00"


def test_the_admin_sections_read_in_the_operators_language(admin_client):
    chinese = admin_client.get(reverse("admin:index")).content.decode()
    for section in ("客户与认证", "服务目录", "透明日志", "订单管理", "定价", "服务商管理", "钱包"):
        assert section in chinese
    admin_client.cookies["django_language"] = "en"
    english = admin_client.get(reverse("admin:index")).content.decode()
    for section in ("Customers and verification", "Transparency log", "Pricing", "Wallet"):
        assert section in english
    assert "透明日志" not in english


def test_the_permission_picker_names_permissions_in_the_operators_language(admin_client):
    """Django stores built-in permission names in English once ("Can view 订单")."""
    from django.contrib.auth import get_user_model
    from django.utils.html import escape

    operator = get_user_model().objects.create_user("operator", password="x" * 12)
    pages = (
        reverse("admin:auth_group_add"),
        reverse("admin:accounts_user_change", args=[operator.pk]),
    )
    for url in pages:
        chinese = admin_client.get(url).content.decode()
        assert escape("订单管理 | 订单 | 可查看订单") in chinese, url
        assert "Can view 订单" not in chinese, url
    admin_client.cookies["django_language"] = "en"
    for url in pages:
        english = admin_client.get(url).content.decode()
        assert escape("Orders | Order | Can view Order") in english, url


def test_every_permission_in_the_picker_reads_in_the_page_language(admin_client):
    """Every model's section and name has both words: "可查看order group" mixed two languages."""
    from html import unescape

    def permissions(page: str) -> list[str]:
        options = re.findall(r"<option[^>]*>([^<]*)</option>", page)
        return [unescape(option) for option in options if " | " in option]

    chinese = permissions(admin_client.get(reverse("admin:auth_group_add")).content.decode())
    assert len(chinese) > 100
    # Latin letters only in names that are the same in both languages (API 密钥).
    assert [p for p in chinese if re.search(r"[A-Za-z]", p.replace("API", ""))] == []
    admin_client.cookies["django_language"] = "en"
    english = permissions(admin_client.get(reverse("admin:auth_group_add")).content.decode())
    assert [p for p in english if re.search(r"[\u3000-\u9fff]", p)] == []
    assert "Orders | Order group | Can view Order group" in english


def test_the_log_in_protection_reads_in_the_operators_language(admin_client):
    """django-axes ships no Chinese: its section, models and fields are named by DouDesk."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.utils import translation

    chinese = admin_client.get(reverse("admin:index")).content.decode()
    for name in ("登录防护", "登录尝试", "登录日志", "登录失败记录"):
        assert name in chinese
    with translation.override("zh-hans"):
        for model in (AccessAttempt, AccessFailureLog, AccessLog):
            labels = {f.name: str(f.verbose_name) for f in model._meta.concrete_fields}
            labels.pop("id")
            assert [n for n, label in labels.items() if not CJK.search(label)] == [], model
    AccessAttempt.objects.create(
        user_agent="curl", ip_address="203.0.113.9", username="a@example.com",
        http_accept="*/*", path_info="/login/", get_data="", post_data="",
        failures_since_start=5,
    )  # fmt: skip
    attempts = admin_client.get(reverse("admin:axes_accessattempt_changelist")).content.decode()
    for column in ("IP 地址", "失败次数", "已锁定"):
        assert column in attempts
    admin_client.cookies["django_language"] = "en"
    english = admin_client.get(reverse("admin:index")).content.decode()
    assert "Log-in protection" in english
    assert "Access attempts" in english
    assert "登录防护" not in english


def test_a_log_in_attempts_status_reads_in_the_operators_language(admin_client):
    """django-axes names its status column "Status" and words it "3 Attempt Remaining"."""
    from axes.models import AccessAttempt

    for failures in (2, 5):
        AccessAttempt.objects.create(
            user_agent="curl", ip_address="203.0.113.9", username=f"{failures}@example.com",
            http_accept="*/*", path_info="/login/", get_data="", post_data="",
            failures_since_start=failures,
        )  # fmt: skip
    url = reverse("admin:axes_accessattempt_changelist")
    chinese = admin_client.get(url).content.decode()
    texts = re.findall(r'<th scope="col" class="[^"]*column-.*?<div class="text">(.*?)</div>',
                       chinese, re.S)  # fmt: skip
    headers = [re.sub(r"<[^>]+>", "", text).strip() for text in texts]
    assert "状态" in headers
    assert [h for h in headers if not CJK.search(h) and h != "IP 地址"] == []
    assert "还可再试 3 次" in chinese
    assert "已锁定" in chinese
    admin_client.cookies["django_language"] = "en"
    english = admin_client.get(url).content.decode()
    assert "3 attempts left" in english
    assert "Locked out" in english


def test_a_resident_id_is_approved_on_one_account_only_even_from_the_queue(
    seeded, admin_client, settings
):
    # Both submissions wait side by side in production; the second approval must be refused.
    from doudesk.accounts.models import Verification
    from doudesk.accounts.services import verification_submit
    from factories import CustomerFactory

    settings.SANDBOX = False
    number = "11010519491231002X"
    first = verification_submit(customer=CustomerFactory(), legal_name="张三", number=number)
    second = verification_submit(customer=CustomerFactory(), legal_name="张三", number=number)
    third = verification_submit(customer=CustomerFactory(), legal_name="张三", number=number)
    admin_client.post(
        reverse("admin:accounts_verification_change", args=[first.pk]),
        {"reject_reason": "", "_approve": "1"},
    )
    page = admin_client.post(
        reverse("admin:accounts_verification_change", args=[second.pk]),
        {"reject_reason": "", "_approve": "1"},
        follow=True,
    ).content.decode()
    assert "该身份证号已在其他账户完成实名认证" in page
    done = admin_client.post(
        reverse("admin:accounts_verification_changelist"),
        {"action": "approve", "_selected_action": [third.pk]},
        follow=True,
    )
    assert done.status_code == 200
    assert f"#{third.pk}: 该身份证号已在其他账户完成实名认证" in done.content.decode()
    statuses = dict(Verification.objects.values_list("pk", "status"))
    assert [statuses[v.pk] for v in (first, second, third)] == ["approved", "pending", "pending"]


def test_verifications_cannot_be_deleted_and_a_verified_customers_kind_is_fixed(
    seeded, admin_client
):
    from doudesk.accounts.models import Verification
    from factories import make_verified_customer

    customer = make_verified_customer()
    verification = Verification.objects.get(customer=customer)
    delete = reverse("admin:accounts_verification_delete", args=[verification.pk])
    assert admin_client.get(delete).status_code == 403
    queue = admin_client.get(reverse("admin:accounts_verification_changelist")).content.decode()
    assert 'value="delete_selected"' not in queue
    url = reverse("admin:accounts_customer_change", args=[customer.pk])
    admin_client.post(url, {"user": customer.user_id, "kind": "enterprise", "display_name": "x"})
    customer.refresh_from_db()
    assert customer.kind == "individual"
    assert 'name="kind"' not in admin_client.get(url).content.decode()


def test_journal_entries_are_filtered_and_described_in_the_operators_language(
    seeded, admin_client, customer
):
    # The filter listed raw codes and the memo column showed the stored Chinese in English.
    from doudesk.wallet.models import JournalEntry
    from doudesk.wallet.services import topup_credit_manual

    topup_credit_manual(customer=customer, amount_fen=10_000, reference="BANK-001")
    _order_of_1600_yuan(customer)
    url = reverse("admin:wallet_journalentry_changelist")
    chinese = admin_client.get(url).content.decode()
    assert "人工入账 BANK-001" in chinese
    assert '<a href="?kind=order_hold">订单冻结 (order_hold)</a>' in chinese  # as the column
    admin_client.cookies["django_language"] = "en"
    english = admin_client.get(url).content.decode()
    assert "Bank transfer BANK-001" in english
    assert "人工入账" not in english
    holds = admin_client.get(url, {"kind": "order_hold"})
    shown = holds.context["cl"].result_list
    assert {entry.kind for entry in shown} == {"order_hold"}
    assert len(shown) == JournalEntry.objects.filter(kind="order_hold").count()
    # The entry's own page showed the stored Chinese memo to English operators too.
    hold = JournalEntry.objects.filter(kind="order_hold").first()
    page = admin_client.get(reverse("admin:wallet_journalentry_change", args=[hold.pk]))
    shown = _readonly(page.content.decode())
    assert f"Hold for order #{hold.order_id}" in shown
    assert not [field for field in shown if "冻结" in field]


def test_an_orders_group_is_named_as_its_customer_knows_it(seeded, admin_client, customer):
    # It read "growth_plan 每日涨粉计划", the kind's code before the plan's name.
    from doudesk.catalog.models import GrowthPlan
    from doudesk.orders import services
    from factories import ACCOUNT_URL

    plan = GrowthPlan.objects.get(code="daily-followers")
    group = services.growth_plan_order(customer=customer, plan=plan, target=ACCOUNT_URL)
    order = group.orders.order_by("pk").first()
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert f"#{group.pk} 每日涨粉计划" in _readonly(page.content.decode())
    assert "growth_plan" not in " ".join(_readonly(page.content.decode()))
