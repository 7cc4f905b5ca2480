"""The English switch and the English catalogue, without a browser.

The site speaks Simplified Chinese by default; ``POST /i18n/setlang/`` stores English in the
session and every later page, catalogue data included, comes back in English. The ``.po`` file is
checked for completeness so a string added without its translation shows up here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

import doudesk

PO_FILE = Path(doudesk.__file__).parent / "locale" / "en" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\{ *\w+ *\}\}")


def _po_entries(text: str) -> list[tuple[str, str, bool]]:
    """``(msgid, msgstr, fuzzy)`` for every entry but the header."""

    def joined(lines: list[str]) -> str:
        return "".join(re.sub(r"^(msgid|msgstr)\s*", "", ln).strip()[1:-1] for ln in lines)

    entries = []
    for block in text.split("\n\n"):
        lines = block.strip().splitlines()
        body = [ln for ln in lines if not ln.startswith("#")]
        start = next((i for i, ln in enumerate(body) if ln.startswith("msgid ")), None)
        stop = next((i for i, ln in enumerate(body) if ln.startswith("msgstr")), None)
        if start is None or stop is None:
            continue
        msgid, msgstr = joined(body[start:stop]), joined(body[stop:])
        if msgid:
            fuzzy = any(ln.startswith("#,") and "fuzzy" in ln for ln in lines)
            entries.append((msgid, msgstr, fuzzy))
    return entries


def test_every_english_entry_is_translated_with_its_placeholders() -> None:
    entries = _po_entries(PO_FILE.read_text(encoding="utf-8"))
    assert len(entries) > 100
    untranslated = [msgid for msgid, msgstr, fuzzy in entries if fuzzy or not msgstr]
    assert untranslated == []
    for msgid, msgstr, _fuzzy in entries:
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


def test_compiled_catalogue_translates_the_order_statuses() -> None:
    from doudesk.orders.models import OrderStatus

    with translation.override("en"):
        labels = {str(label) for _value, label in OrderStatus.choices}
    assert {"Pending", "In progress", "Processing", "Completed", "Partial", "Canceled"} <= labels


@pytest.mark.usefixtures("seeded")
def test_set_language_switches_the_catalogue_to_english_and_back() -> None:
    client = Client()
    chinese = client.get("/").content.decode()
    assert "抖音推广、内容与数据服务，在线自助下单" in chinese
    assert "视频播放" in chinese

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    english = client.get("/").content.decode()
    assert '<html lang="en">' in english
    assert "Douyin promotion, content and data services, ordered online in minutes" in english
    assert "Video plays" in english
    assert "Official promotion" in english
    assert "服务目录" not in english
    assert "抖音推广" not in english

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "服务目录" in client.get("/").content.decode()


@pytest.mark.usefixtures("seeded")
def test_signed_in_pages_read_in_english(customer) -> None:
    client = Client()
    client.force_login(customer.user)
    client.post("/i18n/setlang/", {"language": "en"})
    wallet = client.get("/wallet/").content.decode()
    assert "Available balance" in wallet
    assert "Proceed to payment" in wallet
    verify = client.get("/verify/").content.decode()
    assert "Verified: " in verify


@pytest.mark.parametrize(
    ("kind", "ref", "memo", "order_id", "chinese", "english"),
    [
        ("order_hold", "order:7:hold", "订单 #7 冻结", 7, "订单 #7 冻结", "Hold for order #7"),
        # A settlement names what was paid and what came back (its movements: held, cash).
        (
            "order_settle:-1000:300",
            "order:7:settle",
            "订单 #7 结算",
            7,
            "订单 #7 结算：实付 ¥7.00，退款 ¥3.00",
            "Settlement of order #7: paid ¥7.00, refunded ¥3.00",
        ),
        (
            "order_settle:-1000:0",
            "order:7:settle",
            "订单 #7 结算",
            7,
            "订单 #7 结算：实付 ¥10.00",
            "Settlement of order #7: paid ¥10.00",
        ),
        ("topup", "topup:3", "充值 T2026ABC", None, "充值 T2026ABC", "Top-up T2026ABC"),
        ("topup", "demo-credit:1", "沙盒演示额度", None, "沙盒演示额度", "Sandbox demo credit"),
        ("misc", "other:1", "人工调整", None, "人工调整", "人工调整"),
    ],
)
def test_journal_memos_follow_the_language(
    kind: str, ref: str, memo: str, order_id: int | None, chinese: str, english: str
) -> None:
    from doudesk.wallet.models import JournalEntry
    from doudesk.web.templatetags.doudesk import journal_memo

    kind, *movements = kind.split(":")
    entry = JournalEntry(kind=kind, ref=ref, memo=memo, order_id=order_id)
    if movements:  # as wallet_statement annotates them
        entry.held_fen, entry.cash_fen = (int(fen) for fen in movements)
    with translation.override("zh-hans"):
        assert journal_memo(entry) == chinese
    with translation.override("en"):
        assert journal_memo(entry) == english
