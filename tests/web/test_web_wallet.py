"""Wallet page, top-up through the sandbox gateway, and the signed payment callback."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from doudesk.orders import services
from doudesk.providers.adapters.base import ProviderStatus
from doudesk.sandbox.payment import sandbox_notify_params
from doudesk.sandbox.tasks import sandbox_payment_notify_task
from doudesk.wallet import gateway
from doudesk.wallet.models import JournalEntry, TopUp
from doudesk.wallet.selectors import journal_total_fen, wallet_balances
from doudesk.wallet.services import topup_create
from factories import VIDEO_URL, fund_customer, html_text, in_english, module_id

pytestmark = pytest.mark.django_db

NOTIFY = "/payments/sandbox/notify"


@pytest.fixture
def gateway_calls(monkeypatch) -> list[tuple]:
    """Callbacks the sandbox gateway would send (instead of reaching the broker)."""
    sent: list[tuple] = []
    monkeypatch.setattr(
        sandbox_payment_notify_task,
        "apply_async",
        lambda args=(), kwargs=None, **_: sent.append(tuple(args)),
    )
    return sent


def test_wallet_page_shows_balances_and_journal(web):
    page = web.get("/wallet/").content.decode()
    assert 'id="balance">¥1,000.00' in page
    assert 'id="held">¥0.00' in page
    assert "+¥1,000.00" in page


def _statement_rows(page: str) -> list[list[str]]:
    """Return the wallet's statement as text: memo, available and held movement per row."""
    body = page.split('id="journal"')[1].split("<tbody>")[1].split("</tbody>")[0]
    return [
        [html_text(cell) for cell in cells[1:]]
        for cells in (re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.split("</tr>"))
        if cells
    ]


def test_the_whole_statement_can_be_read_a_page_at_a_time(web, customer):
    # It showed the newest 50 lines and nothing of the rest, the opening credit included.
    for _ in range(54):
        fund_customer(customer, 100)
    first = web.get("/wallet/").content.decode()
    assert len(_statement_rows(first)) == 50
    assert "第 1 / 2 页" in first
    assert '<a href="?page=2">下一页</a>' in first
    second = web.get("/wallet/?page=2").content.decode()
    rows = _statement_rows(second)
    assert len(rows) == 5
    assert rows[-1][1] == "+¥1,000.00"  # the customer's first credit
    assert '<a href="?page=1">上一页</a>' in second


def test_the_statement_shows_an_order_held_then_settled_with_its_refund(
    web, customer, fake_adapter
):
    order = services.order_place(
        customer=customer, service_id=module_id("plays"), target=VIDEO_URL, quantity=10_000
    )
    assert services.order_dispatch(order_id=order.pk) == "dispatched"
    fake_adapter.report(fake_adapter.placed[0]["id"], ProviderStatus.PARTIAL, remains=4_000)
    services.orders_sync()
    rows = _statement_rows(web.get("/wallet/").content.decode())
    # Newest first: the settlement took the ¥160 held, ¥96 paid for 6,000 plays, ¥64 came back.
    assert rows == [
        [f"订单 #{order.pk} 结算：实付 ¥96.00，退款 ¥64.00", "+¥64.00", "-¥160.00"],
        [f"订单 #{order.pk} 冻结", "-¥160.00", "+¥160.00"],
        ["", "+¥1,000.00", "—"],  # the test's own credit, without a memo
    ]
    english = in_english(web).get("/wallet/").content.decode()
    assert f"Settlement of order #{order.pk}: paid ¥96.00, refunded ¥64.00" in english
    assert wallet_balances(customer=customer) == {"available_fen": 90_400, "held_fen": 0}


def test_the_payment_callback_goes_to_the_site_not_to_the_host_a_client_names(
    web, customer, gateway_calls, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "http://127.0.0.1:8123"  # what doudesk serve sets
    web.post("/wallet/", {"amount": "10"})
    topup = TopUp.objects.get(customer=customer)
    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"/sandbox/pay/{topup.out_trade_no}/", HTTP_HOST="127.0.0.1:8879")
    [(notify_url, _params)] = gateway_calls
    assert notify_url == f"http://127.0.0.1:8123{NOTIFY}"


def test_top_up_pay_and_the_callback_credits_once(
    web, customer, gateway_calls, django_capture_on_commit_callbacks
):
    response = web.post("/wallet/", {"amount": "88.80"})
    topup = TopUp.objects.get(customer=customer)
    assert (response.status_code, response["Location"]) == (
        302,
        f"/sandbox/pay/{topup.out_trade_no}/",
    )
    assert (topup.amount_fen, topup.status) == (8_880, "pending")
    cashier = web.get(response["Location"]).content.decode()
    assert "¥88.80" in cashier
    assert 'id="pay-confirm"' in cashier
    with django_capture_on_commit_callbacks(execute=True):
        paid = web.post(response["Location"])
    assert (paid.status_code, paid["Location"]) == (302, f"/wallet/?paid={topup.out_trade_no}")
    assert wallet_balances(customer=customer)["available_fen"] == 100_000  # not until the callback
    waiting = web.get(paid["Location"]).content.decode()
    assert "sse-connect" in waiting
    assert "支付结果确认中…" in waiting  # paid at the cashier, the callback not in yet
    assert "时间均为北京时间（UTC+8）" in waiting
    [(notify_url, params)] = gateway_calls
    assert notify_url == f"http://testserver{NOTIFY}"
    assert gateway.verify(params)
    assert params["out_trade_no"] == topup.out_trade_no
    for _ in range(2):
        callback = Client().post(NOTIFY, params)
        assert (callback.status_code, callback.content) == (200, b"success")
    topup.refresh_from_db()
    assert topup.status == "paid"
    assert topup.gateway_txn == params["txn_id"]
    assert wallet_balances(customer=customer)["available_fen"] == 108_880
    assert JournalEntry.objects.filter(ref=f"topup:{topup.pk}").count() == 1
    assert journal_total_fen() == 0
    assert "已到账" in web.get("/wallet/").content.decode()


def test_a_paid_top_up_is_not_paid_again_from_the_cashier(
    web, customer, gateway_calls, django_capture_on_commit_callbacks
):
    topup = topup_create(customer=customer, amount_fen=5_000)
    Client().post(NOTIFY, sandbox_notify_params(topup=topup))
    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"/sandbox/pay/{topup.out_trade_no}/")
    assert gateway_calls == []
    assert "已到账" in web.get(f"/sandbox/pay/{topup.out_trade_no}/").content.decode()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("abc", "最多两位小数"),
        ("0.5", "充值金额须在"),
        ("-100", "充值金额须在"),
        ("", "最多两位小数"),
        ("2000000", "充值金额须在 ¥1.00 至 ¥1,000,000.00 之间"),
        ("1e30", "最多两位小数"),  # exponent notation: "1e3" would credit ¥1,000 for a typo
        ("1,000,000.01", "充值金额须在"),
        ("1E+999999999", "最多两位小数"),
        ("88.888", "最多两位小数"),
    ],
)
def test_bad_top_up_amounts_are_field_errors(web, customer, amount, message):
    response = web.post("/wallet/", {"amount": amount})
    assert response.status_code == 400
    assert message in response.context["errors"]["amount"][0]
    assert response.context["errors"]["amount"][0] in response.content.decode()
    assert not TopUp.objects.exists()


def test_a_refused_typed_amount_is_kept_and_no_preset_takes_its_place(web, customer):
    response = web.post("/wallet/", {"amount_other": "12.345"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="12.345"' in page
    radios = page.split('type="radio" name="amount"')[1:]
    assert len(radios) >= 3
    assert all(r.split(">")[0].endswith(" disabled") for r in radios)
    assert not TopUp.objects.exists()


def test_top_up_errors_speak_english_when_asked(web):
    response = in_english(web).post("/wallet/", {"amount": "0"})
    assert "Top-up amount must be between ¥1.00 and ¥1,000,000.00" in response.content.decode()


@pytest.fixture
def topup(customer) -> TopUp:
    """Open a pending ¥100 top-up."""
    return topup_create(customer=customer, amount_fen=10_000)


def _unchanged(customer, topup: TopUp) -> None:
    topup.refresh_from_db()
    assert topup.status == "pending"
    assert wallet_balances(customer=customer)["available_fen"] == 100_000
    assert not JournalEntry.objects.filter(ref=f"topup:{topup.pk}").exists()


def test_a_callback_with_a_bad_signature_moves_no_money(customer, topup):
    params = sandbox_notify_params(topup=topup)
    forged = params | {"sign": "0" * 64}
    response = Client().post(NOTIFY, forged)
    assert (response.status_code, response.content) == (400, b"Invalid signature")
    tampered = params | {"txn_id": "SBXFORGED"}
    assert Client().post(NOTIFY, tampered).status_code == 400
    unsigned = {k: v for k, v in params.items() if k != "sign"}
    assert Client().post(NOTIFY, unsigned).status_code == 400
    for sign in ("签名", "é" * 64):  # non-ASCII text used to raise a 500
        response = Client().post(NOTIFY, params | {"sign": sign})
        assert (response.status_code, response.content) == (400, b"Invalid signature")
    _unchanged(customer, topup)


def test_a_callback_with_another_amount_moves_no_money(customer, topup):
    params = sandbox_notify_params(topup=topup) | {"amount_fen": "1000000"}
    params["sign"] = gateway.sign(params)
    response = Client().post(NOTIFY, params)
    assert (response.status_code, response.content) == (400, b"Amount mismatch")
    _unchanged(customer, topup)


def test_a_callback_for_an_unknown_payment_is_refused(customer, topup):
    params = sandbox_notify_params(topup=topup) | {"out_trade_no": "T20990101NOPE"}
    params["sign"] = gateway.sign(params)
    assert Client().post(NOTIFY, params).status_code == 400
    _unchanged(customer, topup)


def test_a_failed_payment_marks_the_top_up_failed_and_credits_nothing(customer, topup):
    interim = Client().post(NOTIFY, sandbox_notify_params(topup=topup, trade_status="WAIT_PAY"))
    assert interim.status_code == 200
    topup.refresh_from_db()
    assert topup.status == "pending"  # an interim state closes nothing
    response = Client().post(NOTIFY, sandbox_notify_params(topup=topup, trade_status="failed"))
    assert response.status_code == 200
    topup.refresh_from_db()
    assert topup.status == "failed"
    assert wallet_balances(customer=customer)["available_fen"] == 100_000


def test_a_payment_that_arrives_after_a_failure_notice_is_credited_once(customer, topup):
    Client().post(NOTIFY, sandbox_notify_params(topup=topup, trade_status="failed"))
    for _ in range(2):
        late_paid = Client().post(NOTIFY, sandbox_notify_params(topup=topup))
        assert late_paid.status_code == 200
    topup.refresh_from_db()
    assert topup.status == "paid"
    assert wallet_balances(customer=customer)["available_fen"] == 100_000 + topup.amount_fen
    assert journal_total_fen() == 0


def test_the_callback_only_accepts_post(topup):
    assert Client().get(NOTIFY, sandbox_notify_params(topup=topup)).status_code == 405


@pytest.mark.parametrize(
    ("form", "fen"),
    [
        ({"amount": "100", "amount_other": ""}, 10_000),  # a preset, nothing typed
        ({"amount": "50", "amount_other": "12.34"}, 1_234),  # typed wins over the preset
        ({"amount_other": "200"}, 20_000),  # typed, presets greyed out by the page's script
        ({"amount_other": "1,000.5"}, 100_050),  # written with a thousands separator
    ],
)
def test_a_top_up_takes_the_preset_or_the_typed_amount_as_the_form_sends_them(web, form, fen):
    page = web.get("/wallet/").content.decode()
    assert 'type="radio" name="amount" value="100"' in page
    assert 'name="amount_other" id="topup-amount"' in page
    response = web.post("/wallet/", form)
    assert response.status_code == 302
    assert TopUp.objects.get().amount_fen == fen


def test_production_offers_no_online_top_up_and_says_how_to_pay(web, settings):
    settings.SANDBOX = False  # no payment gateway yet: bank transfers are credited by hand
    settings.SUPPORT_EMAIL = "pay@doudesk.example"
    page = web.get("/wallet/").content.decode()
    assert 'id="topup-submit"' not in page
    offline = page[page.index('id="topup-offline"') :]
    assert "请通过银行转账充值" in offline
    assert "pay@doudesk.example" in offline


def test_only_a_sandbox_top_up_has_a_cashier_page_and_only_in_sandbox_mode(
    web, customer, topup, settings
):
    from doudesk.wallet.services import topup_credit_manual

    assert web.get(f"/sandbox/pay/{topup.out_trade_no}/").status_code == 200
    credited = topup_credit_manual(customer=customer, amount_fen=10_000, reference="BANK-7")
    # A credited bank transfer used to get the sandbox cashier, with its "confirm" button.
    assert web.get(f"/sandbox/pay/{credited.out_trade_no}/").status_code == 404
    settings.SANDBOX = False
    assert web.get(f"/sandbox/pay/{topup.out_trade_no}/").status_code == 404
    assert web.post(f"/sandbox/pay/{topup.out_trade_no}/").status_code == 404
    topup.refresh_from_db()
    assert topup.status == "pending"
