"""End to end: place an order over HTTP, sequence the log, download the evidence, verify offline."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from ledger_testing import SIGNER

from doudesk.catalog.models import ServiceModule
from doudesk.ledger.tasks import ledger_sequence_task
from doudesk.ledger.verify import verify_bundle
from doudesk.orders import services as orders
from doudesk.providers.adapters.base import ProviderStatus
from factories import VIDEO_URL

pytestmark = pytest.mark.django_db


def place_over_http(api: Client, quantity: int = 1_000) -> int:
    """POST /api/v1/orders; return the new order's id."""
    response = api.post(
        "/api/v1/orders",
        {
            "service_id": ServiceModule.objects.get(code="plays").pk,
            "target": VIDEO_URL,
            "quantity": quantity,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``doudesk`` console entry point in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "doudesk.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_order_placed_over_http_is_proven_by_its_evidence_bundle(api, fake_adapter, tmp_path):
    order_id = place_over_http(api)
    early = api.get(f"/api/v1/orders/{order_id}/evidence")
    assert early.status_code == 409  # not sequenced yet
    ledger_sequence_task.apply().get()
    first_checkpoint = Client().get("/api/v1/ledger/checkpoint").content.decode()

    # The order runs to completion; every step lands in the log.
    orders.order_dispatch(order_id=order_id)
    external = fake_adapter.placed[0]["id"]
    fake_adapter.report(external, ProviderStatus.IN_PROGRESS, remains=400)
    orders.orders_sync()
    fake_adapter.report(external, ProviderStatus.COMPLETED, remains=0, charge="10")
    orders.orders_sync()
    ledger_sequence_task.apply().get()

    response = api.get(f"/api/v1/orders/{order_id}/evidence")
    assert response.status_code == 200
    bundle = response.json()
    kinds = [json.loads(e["leaf"])["type"] for e in bundle["entries"]]
    assert kinds == ["placed", "dispatched", "progress", "completed"]
    assert all(json.loads(e["leaf"])["order"] == order_id for e in bundle["entries"])
    key = Client().get("/api/v1/ledger/public-key").content.decode().strip()

    bundle_path = tmp_path / "evidence.json"
    bundle_path.write_bytes(response.content)
    ok = cli("verify", str(bundle_path), "--public-key", key, "--lang", "en")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith(
        "VERIFIED: each of the 4 entries in this bundle is in the signed log"
    )

    bundle["entries"][0]["leaf"] = bundle["entries"][0]["leaf"].replace(
        '"quantity":1000', '"quantity":9000'
    )
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("verify", str(forged), "--public-key", key, "--lang", "zh", stdout=out)
    assert failed.value.returncode == 1
    assert out.getvalue().startswith("验证失败")

    # The log only grew between the two checkpoints the customer saw.
    latest = Client().get("/api/v1/ledger/checkpoint").content.decode()
    old_size, new_size = int(first_checkpoint.split("\n")[1]), int(latest.split("\n")[1])
    proof = Client().get(
        "/api/v1/ledger/proof/consistency", {"first": old_size, "second": new_size}
    )
    files = {}
    for name, text in [("old", first_checkpoint), ("new", latest), ("proof", proof.content)]:
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        files[name] = str(path)
    out = StringIO()
    call_command(
        "verify", "--consistency", files["old"], files["new"], "--proof", files["proof"],
        "--public-key", key, "--lang", "en", stdout=out,
    )  # fmt: skip
    assert out.getvalue().startswith("CONSISTENT")


def test_the_bundle_lets_its_customer_check_the_placed_record_names_their_link(api, customer):
    # The public leaf names the customer and the link by salted hashes; the customer's own
    # bundle opens them, and the verifier checks them against the signed leaf.
    order_id = place_over_http(api)
    ledger_sequence_task.apply().get()
    bundle = api.get(f"/api/v1/orders/{order_id}/evidence").json()
    assert bundle["disclosure"] == {
        "customer": customer.pk,
        "salt": customer.ledger_salt,
        "target": VIDEO_URL,
    }
    key = Client().get("/api/v1/ledger/public-key").content.decode().strip()
    verified = verify_bundle(bundle, key)
    assert (verified.ok, verified.target) == (True, VIDEO_URL)
    assert verified.verdict("en").endswith(f"The placed record names the link {VIDEO_URL}.")
    assert f"下单记录中的链接为 {VIDEO_URL}" in verified.verdict()

    def problems(**disclosure) -> list[tuple[str, str]]:
        changed = {**bundle, "disclosure": {**bundle["disclosure"], **disclosure}}
        return [(p.field, p.code) for p in verify_bundle(changed, key).problems]

    other_link = VIDEO_URL.replace("7", "8")
    assert problems(target=other_link) == [("disclosure.target", "mismatch")]
    assert problems(salt="guess") == [
        ("disclosure.customer", "mismatch"),
        ("disclosure.target", "mismatch"),
    ]
    assert problems(customer=customer.pk + 1) == [("disclosure.customer", "mismatch")]
    assert problems(extra=1) == [("disclosure", "invalid")]
    # Without it, a bundle still proves inclusion; it names no link.
    private = {k: v for k, v in bundle.items() if k != "disclosure"}
    assert (verify_bundle(private, key).ok, verify_bundle(private, key).target) == (True, None)


def test_evidence_is_only_for_the_orders_own_customer(api, other_customer, api_key_for):
    order_id = place_over_http(api)
    ledger_sequence_task.apply().get()
    assert api.get(f"/api/v1/orders/{order_id}/evidence").status_code == 200
    stranger = Client(headers={"Authorization": f"Bearer {api_key_for(other_customer)}"})
    assert stranger.get(f"/api/v1/orders/{order_id}/evidence").status_code == 404
    assert Client().get(f"/api/v1/orders/{order_id}/evidence").status_code == 401
    assert api.get("/api/v1/orders/999999/evidence").status_code == 404


def test_the_order_page_offers_the_bundle_as_a_download(api, customer, other_customer, tmp_path):
    order_id = place_over_http(api)
    browser = Client()
    browser.force_login(customer.user)
    pending = browser.get(f"/orders/{order_id}/evidence.json")
    assert pending.status_code == 409
    ledger_sequence_task.apply().get()
    page = browser.get(f"/orders/{order_id}/")
    link = f"/orders/{order_id}/evidence.json"
    assert link.encode() in page.content
    assert "存证包附有您的盐值" in page.content.decode()  # what sharing the bundle gives away
    download = browser.get(link)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert json.loads(download.content)["entries"][0]["index"] >= 0
    stranger = Client()
    stranger.force_login(other_customer.user)
    assert stranger.get(link).status_code == 404
    out = StringIO()
    target = tmp_path / "download.json"
    target.write_bytes(download.content)
    key = SIGNER.verifier_key
    call_command("verify", str(target), "--public-key", key, "--lang", "zh", stdout=out)
    assert out.getvalue().startswith("验证通过")
