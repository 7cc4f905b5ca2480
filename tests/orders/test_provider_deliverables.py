"""Deliverables a provider hands over: the sandbox provider's samples, fetched and kept once.

The sandbox provider runs on loopback and the platform reaches it as in ``doudesk serve``:
through the registry's HTTP adapter, configured by the sandbox settings. The task that fetches
a finished order's files runs in-process when the settling transaction commits, as a worker
would run it; other providers' answers come from an ``httpx.MockTransport`` behind the same
adapter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from concurrency import postgres_only, run_concurrently
from doudesk.ledger.models import LogLeaf
from doudesk.orders import deliverables, services
from doudesk.orders.models import Deliverable, Order
from doudesk.providers.adapters.base import ProviderError
from doudesk.providers.adapters.smm_v2 import SmmV2Adapter
from doudesk.sandbox.provider_server import ProviderServer
from factories import ACCOUNT_URL, module_id

pytestmark = pytest.mark.django_db

KEY = "deliverables-test-key"
REPORT_NAME = "沙盒样例：账号诊断报告 Sandbox sample: account diagnosis report"


class Clock:
    """The sandbox provider's clock, moved by the test (so nothing sleeps)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(settings, tmp_path, clock) -> Iterator[ProviderServer]:
    """Run the sandbox provider on loopback, where the registry sends the sandbox's orders."""
    server = ProviderServer(
        db_path=tmp_path / "provider.sqlite3",
        key=KEY,
        speed=1000.0,
        pending_seconds=0.0,
        seed=7,
        clock=clock,
    )
    server.start()
    settings.SANDBOX_PROVIDER_HOST = server.host
    settings.SANDBOX_PROVIDER_PORT = server.port
    settings.SANDBOX_PROVIDER_KEY = KEY
    yield server
    server.stop()


@pytest.fixture
def fetches(monkeypatch) -> list[int]:
    """Run the fetch task in-process when it is sent, as a worker would; list its orders."""
    from doudesk.orders.tasks import order_provider_deliverables_task

    sent: list[int] = []

    def run(args=(), kwargs=None, **options) -> None:
        sent.append(args[0])
        deliverables.order_provider_deliverables_fetch(order_id=args[0])

    monkeypatch.setattr(order_provider_deliverables_task, "apply_async", run)
    return sent


def place_and_sync(customer, capture, clock: Clock) -> Order:
    """Place and send an account report, let the provider finish it, and run one status sync."""
    order = services.order_place(
        customer=customer, service_id=module_id("account-report"), target=ACCOUNT_URL, quantity=1
    )
    services.order_dispatch(order_id=order.pk)
    clock.now += 60
    with capture(execute=True):
        services.orders_sync()
    order.refresh_from_db()
    return order


def test_a_sandbox_report_ends_with_one_labelled_sample_whose_hash_is_in_its_event(
    customer, sandbox, clock, fetches, web, django_capture_on_commit_callbacks
):
    order = services.order_place(
        customer=customer, service_id=module_id("account-report"), target=ACCOUNT_URL, quantity=1
    )
    services.order_dispatch(order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.orders_sync()  # still at work: nothing to hand over yet
    assert fetches == []

    clock.now += 60
    with django_capture_on_commit_callbacks(execute=True):
        services.orders_sync()

    order.refresh_from_db()
    assert order.status == "completed"
    assert fetches == [order.pk]
    [sample] = Deliverable.objects.filter(order=order)
    assert sample.name == REPORT_NAME
    assert sample.source_url.startswith(f"http://127.0.0.1:{sandbox.port}/deliverables/")
    content = sample.file.read()
    text = content.decode()
    assert text.startswith("# 沙盒样例：账号诊断报告")
    assert "均为模拟" in text
    assert "simulated" in text
    assert ACCOUNT_URL in text  # made from the order: it names the account diagnosed
    assert sample.sha256 == hashlib.sha256(content).hexdigest()
    event = order.events.get(kind="deliverable_added")
    assert event.data == {"deliverable": REPORT_NAME, "sha256": sample.sha256}
    leaf = json.loads(LogLeaf.objects.filter(order=order).order_by("-pk").first().leaf)
    assert (leaf["type"], leaf["sha256"]) == ("deliverable_added", sample.sha256)

    # The customer opens it from the order page.
    page = web.get(f"/orders/{order.pk}/").content.decode()
    link = f"/orders/{order.pk}/deliverables/{sample.pk}/"
    assert f'href="{link}"' in page
    assert "沙盒样例：账号诊断报告" in page
    assert b"".join(web.get(link).streaming_content) == content


def test_video_editing_hands_over_a_note_on_each_video(
    customer, sandbox, clock, fetches, django_capture_on_commit_callbacks
):
    order = services.order_place(
        customer=customer, service_id=module_id("video-edit"), target="", quantity=3
    )
    services.order_dispatch(order_id=order.pk)
    clock.now += 60
    with django_capture_on_commit_callbacks(execute=True):
        services.orders_sync()

    [note] = Deliverable.objects.filter(order=order)
    assert note.name.startswith("沙盒样例：视频剪辑交付说明")
    text = note.file.read().decode()
    assert "成片数量 Videos：3 / 3" in text
    assert "3. 竖屏 9:16" in text
    assert "4. " not in text


def test_a_competitor_report_hands_over_a_competitor_analysis_not_a_diagnosis(
    customer, sandbox, clock, fetches, django_capture_on_commit_callbacks
):
    order = services.order_place(
        customer=customer, service_id=module_id("competitor-report"), target=ACCOUNT_URL,
        quantity=1,
    )  # fmt: skip
    services.order_dispatch(order_id=order.pk)
    clock.now += 60
    with django_capture_on_commit_callbacks(execute=True):
        services.orders_sync()

    [report] = Deliverable.objects.filter(order=order)
    assert report.name == "沙盒样例：竞品分析报告 Sandbox sample: competitor analysis report"
    text = report.file.read().decode()
    assert text.startswith("# 沙盒样例：竞品分析报告")
    assert "对标账号 C Benchmark C" in text
    assert "账号诊断" not in text


def test_repeated_syncs_and_task_runs_keep_the_sample_once(
    customer, sandbox, clock, fetches, django_capture_on_commit_callbacks
):
    order = place_and_sync(customer, django_capture_on_commit_callbacks, clock)
    report = SmmV2Adapter(sandbox.url, KEY).status(order.external_id)
    assert report.deliverables

    with django_capture_on_commit_callbacks(execute=True):
        services.orders_sync()
        services.order_apply_provider_status(order_id=order.pk, report=report)
    assert fetches == [order.pk]  # the order settled once, so the task was sent once
    for _ in range(2):  # the task run again (a retry, a message delivered twice)
        assert deliverables.order_provider_deliverables_fetch(order_id=order.pk) == 0

    assert Deliverable.objects.filter(order=order).count() == 1
    assert order.events.filter(kind="deliverable_added").count() == 1


def test_a_sample_withdrawn_by_an_operator_is_not_fetched_again(
    customer, sandbox, clock, fetches, django_capture_on_commit_callbacks
):
    order = place_and_sync(customer, django_capture_on_commit_callbacks, clock)
    deliverables.order_deliverable_withdraw(deliverable_id=order.deliverables.get().pk)

    assert deliverables.order_provider_deliverables_fetch(order_id=order.pk) == 0
    assert not deliverables.order_deliverables(order=order).exists()


def test_a_file_over_the_cap_is_refused_and_the_order_still_settles(
    customer, sandbox, clock, fetches, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(deliverables, "DELIVERABLE_MAX_BYTES", 100)

    order = place_and_sync(customer, django_capture_on_commit_callbacks, clock)

    assert (order.status, order.delivered, order.refunded_fen) == ("completed", 1, 0)
    assert fetches == [order.pk]
    assert not Deliverable.objects.exists()
    assert "over 100 bytes" in caplog.text


def test_in_production_mode_nothing_is_fetched_from_the_sandbox(
    customer, sandbox, clock, monkeypatch, settings, caplog, django_capture_on_commit_callbacks
):
    from doudesk.orders.tasks import order_provider_deliverables_task

    monkeypatch.setattr(order_provider_deliverables_task, "apply_async", lambda *_, **__: None)
    order = place_and_sync(customer, django_capture_on_commit_callbacks, clock)
    settings.SANDBOX = False  # a demo database switched to production before the task ran

    assert deliverables.order_provider_deliverables_fetch(order_id=order.pk) == 0
    assert not Deliverable.objects.exists()
    assert "disabled in production mode" in caplog.text


# -- another provider, through the same adapter ---------------------------------------------

PROVIDER_URL = "https://panel.example.com/api/v2"


@pytest.fixture
def panel(monkeypatch) -> Callable[..., list[httpx.Request]]:
    """Route orders to an SMM v2 panel answering ``deliverables`` as given; returns its requests.

    The panel takes every order as 777 and reports it Completed; a GET is answered with a file,
    or by ``files(request)`` where the test gives it.
    """

    def install(
        offered: Any, files: Callable[[httpx.Request], httpx.Response] | None = None
    ) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            if request.method == "GET":
                if files is not None:
                    return files(request)
                return httpx.Response(200, content=b"a file from anywhere")
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            if form["action"] == "add":
                return httpx.Response(200, json={"order": 777})
            status = {"status": "Completed", "remains": "0", "charge": "1.00", "currency": "CNY"}
            if offered is not None:
                status["deliverables"] = offered
            return httpx.Response(200, json={"777": status} if "orders" in form else status)

        client = httpx.Client(transport=httpx.MockTransport(answer))
        adapter = SmmV2Adapter(PROVIDER_URL, "panel-key", client=client)
        monkeypatch.setattr(services, "adapter_for", lambda provider: adapter)
        monkeypatch.setattr(deliverables, "adapter_for", lambda provider: adapter)
        return seen

    return install


def test_a_status_answer_without_deliverables_changes_nothing(
    customer, panel, clock, fetches, django_capture_on_commit_callbacks
):
    seen = panel(None)

    order = place_and_sync(customer, django_capture_on_commit_callbacks, clock)

    assert (order.status, order.delivered) == ("completed", 1)
    assert fetches == []
    assert [r.method for r in seen] == ["POST", "POST"]  # add, status: nothing fetched
    assert not Deliverable.objects.exists()
    kinds = list(order.events.values_list("kind", flat=True))
    assert "deliverable_added" not in kinds
    assert kinds[-1] == "completed"


@pytest.mark.parametrize(
    "offered",
    [
        [{"name": "报告", "url": "https://files.example.net/r.txt"}],  # another host
        [{"name": "报告", "url": "https://panel.example.com:8443/r.txt"}],  # another port
        [{"name": "报告", "url": "http://panel.example.com/r.txt"}],  # another scheme
        [{"name": "报告", "url": "file:///etc/passwd"}],
        [{"name": "报告"}],  # no address
        "yes",  # not a list of files at all
    ],
)
def test_a_file_off_the_providers_host_or_unreadable_is_refused_and_the_order_settles(
    customer, panel, clock, fetches, offered, django_capture_on_commit_callbacks
):
    seen = panel(offered)

    order = place_and_sync(customer, django_capture_on_commit_callbacks, clock)

    assert (order.status, order.refunded_fen) == ("completed", 0)
    assert not [r for r in seen if r.method == "GET"]  # nothing fetched from anywhere
    assert not Deliverable.objects.exists()


def test_a_file_on_the_providers_host_is_fetched_and_kept(
    customer, panel, clock, fetches, django_capture_on_commit_callbacks
):
    seen = panel([{"name": "诊断报告", "url": "/files/r-777.txt"}])

    order = place_and_sync(customer, django_capture_on_commit_callbacks, clock)

    [get] = [r for r in seen if r.method == "GET"]
    assert str(get.url) == "https://panel.example.com/files/r-777.txt"
    assert all("panel-key" not in value for value in get.headers.values())  # the API's only
    kept = order.deliverables.get()
    assert (kept.name, kept.file.read()) == ("诊断报告", b"a file from anywhere")


def test_a_file_named_twice_in_one_answer_is_fetched_and_kept_once(
    customer, panel, clock, fetches, django_capture_on_commit_callbacks
):
    seen = panel(
        [{"name": "报告", "url": "/files/r.txt"}, {"name": "报告副本", "url": "/files/r.txt"}]
    )

    order = place_and_sync(customer, django_capture_on_commit_callbacks, clock)

    assert len([r for r in seen if r.method == "GET"]) == 1
    assert list(order.deliverables.values_list("name", flat=True)) == ["报告"]


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        (
            "账号诊断报告\n2026　年度",
            "账号诊断报告 2026 年度",
        ),  # a line break, an ideographic space
        ("诊断\t报告\x07", "诊断 报告"),
        ("\u202etxt.exe 报告", "txt.exe 报告"),  # no right-to-left override turning the name
        ("\x00\x1b", "r-777.txt"),  # nothing readable: the file's own name
    ],
)
def test_a_providers_file_name_with_control_characters_is_kept_under_a_readable_name(
    customer, panel, clock, fetches, name, kept, django_capture_on_commit_callbacks
):
    panel([{"name": name, "url": "/files/r-777.txt"}])

    order = place_and_sync(customer, django_capture_on_commit_callbacks, clock)

    assert list(order.deliverables.values_list("name", flat=True)) == [kept]


def test_a_file_not_fetched_for_now_holds_back_no_other_file(
    customer, panel, clock, monkeypatch, django_capture_on_commit_callbacks
):
    from doudesk.orders.tasks import order_provider_deliverables_task

    monkeypatch.setattr(order_provider_deliverables_task, "apply_async", lambda *_, **__: None)
    down = {"/files/a.txt"}

    def files(request: httpx.Request) -> httpx.Response:
        if request.url.path in down:
            return httpx.Response(503)
        return httpx.Response(200, content=request.url.path.encode())

    panel([{"name": "甲", "url": "/files/a.txt"}, {"name": "乙", "url": "/files/b.txt"}], files)
    order = place_and_sync(customer, django_capture_on_commit_callbacks, clock)

    with pytest.raises(ProviderError):  # the task is retried for the file still to come ...
        deliverables.order_provider_deliverables_fetch(order_id=order.pk)
    assert list(order.deliverables.values_list("name", flat=True)) == ["乙"]  # ... not for this

    down.clear()
    assert deliverables.order_provider_deliverables_fetch(order_id=order.pk) == 1
    assert list(order.deliverables.values_list("name", flat=True)) == ["乙", "甲"]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_postgres_two_runs_of_the_fetch_task_at_once_keep_one_file(
    customer, sandbox, clock, monkeypatch, django_capture_on_commit_callbacks
):
    from doudesk.orders.tasks import order_dispatch_task, orders_dispatch_round_task

    for task in (orders_dispatch_round_task, order_dispatch_task):
        monkeypatch.setattr(task, "apply_async", lambda *_, **__: None)
    sent: list[int] = []
    from doudesk.orders.tasks import order_provider_deliverables_task

    monkeypatch.setattr(
        order_provider_deliverables_task, "apply_async", lambda args=(), **_: sent.extend(args)
    )
    order = place_and_sync(customer, django_capture_on_commit_callbacks, clock)
    assert sent == [order.pk]

    results = run_concurrently(
        lambda _i: deliverables.order_provider_deliverables_fetch(order_id=order.pk), 3
    )

    assert all(isinstance(r, int) for r in results), results
    assert Deliverable.objects.filter(order=order).count() == 1
    assert order.events.filter(kind="deliverable_added").count() == 1
