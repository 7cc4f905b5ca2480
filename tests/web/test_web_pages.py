"""Catalogue page, language switch, health check and customer isolation on the web."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from doudesk.health.models import WorkerHeartbeat
from doudesk.orders import services
from factories import VIDEO_URL, html_text, in_english

pytestmark = pytest.mark.django_db


def test_no_filing_number_shows_no_filing_link(seeded, settings):
    settings.ICP_FILING = ""  # production without DOUDESK_ICP_FILING: no made-up number
    assert "beian.miit.gov.cn" not in Client().get("/").content.decode()


def test_the_footer_names_the_support_address_when_there_is_one(seeded, settings):
    settings.SUPPORT_EMAIL = "help@example.cn"
    footer = Client().get("/").content.decode().split('<footer class="footer">')[1]
    assert '客服 <a href="mailto:help@example.cn">help@example.cn</a>' in footer
    english = in_english(Client()).get("/").content.decode().split('<footer class="footer">')[1]
    assert 'Support <a href="mailto:help@example.cn">' in english
    settings.SUPPORT_EMAIL = ""  # production without DOUDESK_SUPPORT_EMAIL: no made-up address
    assert "mailto:" not in Client().get("/").content.decode()


def test_catalogue_lists_modules_packages_plan_and_the_icp_number(seeded, settings):
    settings.ICP_FILING = "沪ICP备2099123456号-7"
    response = Client().get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert len(set(re.findall(r'data-module="(\d+)"', page))) >= 12
    assert len(set(re.findall(r'href="/bundles/package/(\d+)/order/"', page))) == 3
    assert len(set(re.findall(r'href="/bundles/plan/(\d+)/order/"', page))) == 1
    for name in (
        "视频播放",
        "同城曝光",
        "短视频剪辑",
        "账号诊断报告",
        "新视频起量包",
        "每日涨粉计划",
    ):
        assert name in page
    footer = page[page.index('<footer class="footer">') :]
    assert "沪ICP备2099123456号-7" in footer
    assert '<html lang="zh-hans">' in page


def test_the_language_switch_turns_the_site_english(seeded):
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert (response.status_code, response["Location"]) == (302, "/")
    page = client.get("/").content.decode()
    assert '<html lang="en">' in page
    assert "Video plays" in page
    assert "New video starter" in page
    assert "Daily follower growth" in page
    assert "Packages and plans" in page
    assert "组合套餐" not in page
    assert "视频播放" not in page
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "视频播放" in client.get("/").content.decode()


def test_pages_speak_chinese_until_switched_whatever_the_browser_language(seeded):
    page = Client().get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}).content.decode()
    assert "视频播放" in page
    assert "Video plays" not in page
    assert "Video plays" in in_english(Client()).get("/").content.decode()


def test_the_api_follows_accept_language(seeded):
    response = Client().post(
        "/api/v1/quotes", "{", content_type="application/json",
        headers={"Accept-Language": "en"},
    )  # fmt: skip
    assert response.json()["detail"] == response.json()["errors"][0]["message_en"]


def test_healthz_is_503_without_a_worker_heartbeat(db):
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] != "ok"


def test_healthz_is_ok_with_a_fresh_heartbeat(db):
    WorkerHeartbeat.objects.create(hostname="celery@test", seen_at=timezone.now())
    response = Client().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_healthz_is_503_when_the_heartbeat_is_stale(db):
    WorkerHeartbeat.objects.create(
        hostname="celery@old", seen_at=timezone.now() - timedelta(minutes=5)
    )
    assert Client().get("/healthz").status_code == 503


def test_a_customer_never_sees_another_customers_order(customer, other_customer, sid):
    theirs = services.order_place(
        customer=other_customer, service_id=sid("plays"), target=VIDEO_URL, quantity=500
    )
    client = Client()
    client.force_login(customer.user)
    assert client.get(f"/orders/{theirs.pk}/").status_code == 404
    assert client.post(f"/orders/{theirs.pk}/cancel/").status_code == 404
    listing = client.get("/orders/").content.decode()
    assert f"/orders/{theirs.pk}/" not in listing
    theirs.refresh_from_db()
    assert theirs.status == "pending"


def test_unknown_services_and_bundles_are_404(customer):
    client = Client()
    client.force_login(customer.user)
    assert client.get("/services/987654/order/").status_code == 404
    assert client.get("/services/987654/price/?quantity=1000").status_code == 404
    assert client.get("/bundles/package/987654/order/").status_code == 404
    assert client.get("/bundles/gift/1/order/").status_code == 404


def test_a_customer_sees_only_their_own_sandbox_payment(customer, other_customer):
    from doudesk.wallet.services import topup_create

    theirs = topup_create(customer=other_customer, amount_fen=10_000)
    client = Client()
    client.force_login(customer.user)
    assert client.get(f"/sandbox/pay/{theirs.out_trade_no}/").status_code == 404
    assert client.post(f"/sandbox/pay/{theirs.out_trade_no}/").status_code == 404


def test_a_missing_page_is_the_sites_own_page_in_the_visitors_language(customer, other_customer):
    client = Client()
    client.force_login(customer.user)
    missing = client.get("/orders/999999/")
    assert missing.status_code == 404
    page = missing.content.decode()
    assert "页面不存在" in page
    assert 'href="/orders/"' in page  # the site's header and a way back
    assert "沙盒模式" in page
    english = in_english(client).get("/no-such-page/")
    assert english.status_code == 404
    assert "Page not found" in english.content.decode()
    assert "Back to the catalogue" in english.content.decode()


def test_every_page_names_its_icon_and_the_icon_is_served(customer):
    page = Client().get("/").content.decode()
    assert 'rel="icon" href="/static/web/favicon.svg"' in page
    icon = Client().get("/static/web/favicon.svg")
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)


def test_favicon_ico_leads_to_the_pages_icon():
    response = Client().get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (302, "/static/web/favicon.svg")


def test_the_price_line_separates_the_saving_from_the_price_history_link(seeded, web, sid):
    for path in ("/", f"/services/{sid('plays')}/order/"):
        page = web.get(path).content.decode()
        lines = re.findall(r'<p class="price-today"[^>]*>(.*?)</p>', page, re.S)
        saving = [line for line in lines if "比市场最低价省" in line]
        assert saving, f"the demo plays undercut the market on {path}"
        for line in saving:
            text = html_text(line)
            expected = r"^(今日价 .+ · )?比市场最低价省 [\d.]+% · 价格走势与阶梯价$"
            assert re.search(expected, text), text


def test_an_expired_form_gets_the_sites_own_page_in_the_customers_language(customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer.user)
    page = client.post("/wallet/", {"amount": "100"})
    assert page.status_code == 403
    text = page.content.decode()
    assert "页面已过期" in text
    assert "DEBUG" not in text  # Django's page told a shop owner to set DEBUG=True
    assert 'href="/wallet/"' in text  # open the page again
    english = in_english(client).post("/wallet/", {"amount": "100"}).content.decode()
    assert "This page has expired" in english


def test_own_pages_and_api_answers_are_kept_out_of_shared_caches(customer, api, web):
    # A new API key shown once, balances, evidence: sent with no Cache-Control at all.
    assert web.get("/api-keys/")["Cache-Control"] == "private, no-store"
    assert web.get("/wallet/")["Cache-Control"] == "private, no-store"
    assert api.get("/api/v1/wallet")["Cache-Control"] == "private, no-store"
    assert Client().get("/api/v1/services")["Cache-Control"] == "private, no-store"
    assert not Client().get("/").has_header("Cache-Control")  # the public catalogue may be kept
