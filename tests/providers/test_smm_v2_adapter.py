"""The SMM API v2 HTTP adapter: answer parsing, error sorting, and real-socket failures.

Answer shapes are fed through ``httpx.MockTransport`` (exact, no sockets); failures of the
network itself use real loopback sockets: a dead port and a server that answers garbage.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doudesk.providers.adapters.base import (
    ProviderAdapter,
    ProviderDeliverable,
    ProviderError,
    ProviderOrderStatus,
    ProviderRefillStatus,
    ProviderRejected,
    ProviderStatus,
)
from doudesk.providers.adapters.smm_v2 import SmmV2Adapter
from doudesk.sandbox.provider_server import ProviderServer

URL = "http://provider.test/api/v2"
KEY = "secret-key-123"

Answer = Callable[[dict[str, str]], Any]


def mock_adapter(answer: Answer | Any, **kwargs: Any) -> tuple[SmmV2Adapter, list[dict[str, str]]]:
    """Build an adapter whose transport answers each form with ``answer(form)`` (or a value).

    An ``httpx.Response`` is returned as is; anything else is sent as JSON with HTTP 200.
    """
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        seen.append(form)
        result = answer(form) if callable(answer) else answer
        if isinstance(result, httpx.Response):
            return result
        return httpx.Response(200, json=result)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    return SmmV2Adapter(URL, KEY, client=client, **kwargs), seen


def raising_adapter(exc: Exception) -> SmmV2Adapter:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return SmmV2Adapter(URL, KEY, client=httpx.Client(transport=httpx.MockTransport(handler)))


# -- requests ----------------------------------------------------------------------------------


def test_adapter_satisfies_the_provider_protocol() -> None:
    assert isinstance(SmmV2Adapter(URL, KEY), ProviderAdapter)


def test_place_posts_the_convention_form_with_extras() -> None:
    adapter, seen = mock_adapter({"order": 23501})
    placed = adapter.place(
        service="3",
        link="https://www.douyin.com/video/1",
        quantity=20,
        options={"comments": ["好看", "支持"], "runs": 2, "interval": None},
    )
    assert placed.external_id == "23501"
    assert seen == [
        {
            "key": KEY,
            "action": "add",
            "service": "3",
            "link": "https://www.douyin.com/video/1",
            "quantity": "20",
            "comments": "好看\n支持",
            "runs": "2",
        }
    ]


def test_place_refuses_options_that_override_standard_fields() -> None:
    adapter, seen = mock_adapter({"order": 1})
    with pytest.raises(ValueError, match="quantity"):
        adapter.place(service="1", link="https://x.test", quantity=1, options={"quantity": 9})
    assert seen == []


def test_status_asks_for_units_only_when_configured() -> None:
    answer = {"status": "Pending", "remains": "10", "units": ["a", "b"]}
    plain, seen_plain = mock_adapter(answer)
    plain.status("5")
    assert "units" not in seen_plain[0]
    with_units, seen_units = mock_adapter(answer, request_units=True)
    assert with_units.status("5").delivered_units == ("a", "b")
    assert seen_units[0] == {"key": KEY, "action": "status", "order": "5", "units": "1"}


def test_status_many_chunks_by_100_and_keys_by_the_given_ids() -> None:
    def answer(form: dict[str, str]) -> dict[str, Any]:
        return {i: {"status": "Completed", "remains": "0"} for i in form["orders"].split(",")}

    adapter, seen = mock_adapter(answer)
    ids = [str(n) for n in range(1, 251)] + ["7"]  # a duplicate is asked once
    result = adapter.status_many(ids)
    assert [len(form["orders"].split(",")) for form in seen] == [100, 100, 50]
    assert list(result) == [str(n) for n in range(1, 251)]
    assert adapter.status_many([]) == {}


def test_repr_and_errors_never_show_the_key() -> None:
    adapter = raising_adapter(httpx.ConnectError("refused"))
    assert KEY not in repr(adapter)
    with pytest.raises(ProviderError) as caught:
        adapter.balance()
    assert KEY not in str(caught.value)


# -- parsing -----------------------------------------------------------------------------------


def test_status_parses_the_convention_example_exactly() -> None:
    adapter, _ = mock_adapter(
        {
            "charge": "0.27819",
            "start_count": "3572",
            "status": "Partial",
            "remains": "157",
            "currency": "USD",
        }
    )
    assert adapter.status("23501") == ProviderOrderStatus(
        external_id="23501",
        status=ProviderStatus.PARTIAL,
        start_count=3572,
        remains=157,
        charge=Decimal("0.27819"),
        currency="USD",
    )


@pytest.mark.parametrize(
    ("sent", "read"),
    [("RMB", "CNY"), ("rmb", "CNY"), ("ＲＭＢ", "CNY"), ("元", "CNY"), ("人民币", "CNY"),
     ("cny", "CNY"), ("usd", "USD"), ("¥", "¥"), ("X" * 80, "X" * 16)],
)  # fmt: skip
def test_the_yuan_is_read_however_a_panel_writes_it(sent: str, read: str) -> None:
    # "RMB" (common with Chinese panels) held every bill for an operator as a foreign one.
    adapter, _ = mock_adapter({"status": "Completed", "charge": "1", "currency": sent})
    assert adapter.status("1").currency == read


@pytest.mark.parametrize(
    ("raw", "status", "remains", "start_count", "charge"),
    [
        (
            {"status": "Completed", "charge": 0.08011655652, "start_count": 44},
            ProviderStatus.COMPLETED,
            0,  # Completed without remains means nothing remains
            44,
            Decimal("0.08011655652"),
        ),
        (
            {"status": "Cancelled", "remains": 100, "charge": "0"},
            ProviderStatus.CANCELED,
            100,
            None,
            Decimal(0),
        ),
        (
            {"status": "in_progress", "remains": "1,234", "start_count": "3572.0", "charge": ""},
            ProviderStatus.IN_PROGRESS,
            1234,
            3572,
            None,
        ),
    ],
)
def test_status_reads_numbers_and_words_leniently(
    raw: dict[str, Any],
    status: ProviderStatus,
    remains: int,
    start_count: int | None,
    charge: Decimal | None,
) -> None:
    adapter, _ = mock_adapter(raw)
    result = adapter.status("1")
    assert (result.status, result.remains, result.start_count, result.charge) == (
        status,
        remains,
        start_count,
        charge,
    )


@settings(max_examples=40, deadline=None)
@given(remains=st.integers(min_value=-(10**9), max_value=10**12), as_text=st.booleans())
def test_remains_round_trips_as_text_or_number(remains: int, as_text: bool) -> None:
    raw = str(remains) if as_text else remains
    adapter, _ = mock_adapter({"status": "In progress", "remains": raw})
    assert adapter.status("1").remains == remains


@pytest.mark.parametrize(
    "answer",
    [
        {"status": "Shipped"},
        {"status": "Partial", "remains": "lots"},
        {"status": "Partial", "charge": "1.2.3"},
        {"status": "Partial", "remains": True},
        {"status": "Partial", "units": "abc"},
        {"remains": "5"},
        ["Completed"],
    ],
)
def test_malformed_status_is_a_transient_error(answer: Any) -> None:
    adapter, _ = mock_adapter(answer)
    with pytest.raises(ProviderError) as caught:
        adapter.status("1")
    assert caught.value.retryable
    assert not isinstance(caught.value, ProviderRejected)


def test_status_many_reports_each_id_on_its_own() -> None:
    adapter, _ = mock_adapter(
        {
            "1": {"charge": "0.27819", "status": "Partial", "remains": "157"},
            "10": {"error": "Incorrect order ID"},
            "11": {"status": "???"},
        }
    )
    result = adapter.status_many(["1", "10", "11", "12"])
    assert isinstance(result["1"], ProviderOrderStatus)
    assert result["1"].remains == 157
    assert isinstance(result["10"], ProviderRejected)
    assert result["10"].code == "unknown_order"
    assert type(result["11"]) is ProviderError
    assert type(result["12"]) is ProviderError  # missing from the answer


def test_services_are_parsed_and_malformed_entries_skipped() -> None:
    adapter, _ = mock_adapter(
        [
            {
                "service": 1,
                "name": "Followers",
                "type": "Default",
                "category": "First Category",
                "rate": "0.90",
                "min": "50",
                "max": "10000",
                "refill": True,
                "cancel": True,
            },
            {"service": 2, "name": "Comments", "rate": 8, "min": 10, "max": 1500},
            {"service": 3, "name": "Broken"},
            "nonsense",
        ]
    )
    services = adapter.services()
    assert [s.service_id for s in services] == ["1", "2"]
    assert services[0].rate == Decimal("0.90")
    assert (services[0].min_quantity, services[0].max_quantity) == (50, 10000)
    assert services[0].refill
    assert services[0].cancel
    assert services[1].rate == Decimal(8)
    assert not services[1].refill


@pytest.mark.parametrize(
    "answer",
    [
        [{"order": 1, "cancel": {"error": "Incorrect order ID"}}, {"order": 2, "cancel": 1}],
        {"1": {"error": "Cannot cancel"}, "2": {"cancel": "requested"}},
    ],
)
def test_cancel_reads_list_and_keyed_answers(answer: Any) -> None:
    adapter, seen = mock_adapter(answer)
    assert adapter.cancel(["1", "2", "3"]) == {"1": False, "2": True, "3": False}
    assert seen[0]["orders"] == "1,2,3"


@pytest.mark.parametrize(
    ("answer", "refill_id"),
    [({"refill": "1"}, "1"), ({"refill": 12345, "success": "ok"}, "12345")],
)
def test_refill_returns_the_refill_id(answer: dict[str, Any], refill_id: str) -> None:
    adapter, _ = mock_adapter(answer)
    assert adapter.refill("9").refill_id == refill_id


def test_refill_error_inside_the_field_is_a_rejection() -> None:
    adapter, _ = mock_adapter({"refill": {"error": "Order not eligible for refill."}})
    with pytest.raises(ProviderRejected) as caught:
        adapter.refill("9")
    assert caught.value.code == "not_refillable"


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("Pending", ProviderRefillStatus.PENDING),
        ("in_progress", ProviderRefillStatus.IN_PROGRESS),
        ("COMPLETED", ProviderRefillStatus.COMPLETED),
        ("Rejected", ProviderRefillStatus.REJECTED),
        ("Cancelled", ProviderRefillStatus.REJECTED),
        ("Error", ProviderRefillStatus.ERROR),
    ],
)
def test_refill_status_reads_the_conventions_words(word: str, status: ProviderRefillStatus) -> None:
    adapter, seen = mock_adapter({"status": word})
    assert adapter.refill_status("77") is status
    assert seen[0]["action"] == "refill_status"
    assert seen[0]["refill"] == "77"


def test_refill_status_of_an_unknown_word_or_id_is_an_error() -> None:
    adapter, _ = mock_adapter({"status": "Teleported"})
    with pytest.raises(ProviderError) as caught:
        adapter.refill_status("77")
    assert caught.value.retryable
    adapter, _ = mock_adapter({"error": "Incorrect refill ID"})
    with pytest.raises(ProviderRejected) as rejected:
        adapter.refill_status("77")
    assert rejected.value.code == "unknown_refill"


def test_balance_is_an_exact_decimal() -> None:
    adapter, _ = mock_adapter({"balance": "100.84292", "currency": "USD"})
    assert adapter.balance() == Decimal("100.84292")


@pytest.mark.parametrize("answer", [{"order": None}, {}, {"order": ""}, [23501], {"order": True}])
def test_add_without_an_order_id_may_have_been_applied(answer: Any) -> None:
    adapter, _ = mock_adapter(answer)
    with pytest.raises(ProviderError) as caught:
        adapter.place(service="1", link="https://x.test", quantity=100, options={})
    assert caught.value.maybe_applied


# -- deliverables ------------------------------------------------------------------------------


def test_deliverables_are_read_with_addresses_resolved_against_the_endpoint() -> None:
    offered = [
        {"name": " 诊断报告 ", "url": "/files/1/r.txt"},
        {"name": "成片", "url": "https://cdn.example.net/v.mp4"},  # read; fetch_file refuses it
        {"name": "", "url": "/x.txt"},
        {"name": "无地址"},
        {"name": "n", "url": 5},
        "a file",
    ]
    adapter, _ = mock_adapter({"status": "Completed", "deliverables": offered})
    assert adapter.status("1").deliverables == (
        ProviderDeliverable("诊断报告", "http://provider.test/files/1/r.txt"),
        ProviderDeliverable("成片", "https://cdn.example.net/v.mp4"),
    )
    many = [{"name": f"f{n}", "url": f"/f{n}.txt"} for n in range(30)]
    adapter, _ = mock_adapter({"status": "Completed", "deliverables": many})
    assert len(adapter.status("1").deliverables) == 10


def test_files_past_the_tenth_are_left_out_with_a_warning(caplog) -> None:
    # An operator must learn that a provider named files the platform did not take.
    eleven = [{"name": f"f{n}", "url": f"/f{n}.txt"} for n in range(11)]
    adapter, _ = mock_adapter({"status": "Completed", "deliverables": eleven})
    kept = adapter.status("1").deliverables
    assert [d.name for d in kept] == [f"f{n}" for n in range(10)]
    assert "order 1: 1 deliverables left out, past the first 10" in caplog.text


@pytest.mark.parametrize("offered", [None, "yes", 3, {"name": "x"}])
def test_a_status_without_readable_deliverables_reads_none(offered: Any) -> None:
    answer = {"status": "Completed", "remains": "0"}
    if offered is not None:
        answer["deliverables"] = offered
    adapter, _ = mock_adapter(answer)
    assert adapter.status("1") == ProviderOrderStatus("1", ProviderStatus.COMPLETED, remains=0)


def file_adapter(
    answer: Callable[[httpx.Request], httpx.Response],
) -> tuple[SmmV2Adapter, list[httpx.Request]]:
    """Build an adapter whose transport answers each request with ``answer(request)``."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    return SmmV2Adapter(URL, KEY, client=client), seen


def raising(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        raise exc

    return answer


def test_a_file_on_the_providers_host_is_fetched_without_the_key() -> None:
    adapter, seen = file_adapter(lambda request: httpx.Response(200, content=b"report"))
    assert adapter.fetch_file("http://provider.test/f/r.txt", max_bytes=6, seconds=5) == b"report"
    [request] = seen
    assert (request.method, str(request.url)) == ("GET", "http://provider.test/f/r.txt")
    assert KEY not in str(request.url)
    assert all(KEY not in value for value in request.headers.values())


@pytest.mark.parametrize(
    "url",
    [
        "https://provider.test/f/r.txt",  # another scheme
        "http://provider.test:8080/f/r.txt",  # another port
        "http://files.provider.test/f/r.txt",  # another host, even a neighbour
        "http://127.0.0.1/f/r.txt",
        "file:///etc/passwd",
        "http://[bad",
    ],
)
def test_a_file_off_the_providers_host_is_refused_unasked(url: str) -> None:
    adapter, seen = file_adapter(lambda request: httpx.Response(200, content=b"x"))
    with pytest.raises(ProviderRejected) as refused:
        adapter.fetch_file(url, max_bytes=100, seconds=5)
    assert refused.value.code == "file_refused"
    assert seen == []


def _chunks(*parts: bytes, pause: float = 0.0) -> Iterator[bytes]:
    for part in parts:
        time.sleep(pause)
        yield part


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b"x" * 101),  # its length says so
        httpx.Response(200, content=_chunks(b"x" * 60, b"x" * 60)),  # no length: the bytes do
        httpx.Response(200, content=b""),
        httpx.Response(404, json={"error": "Not found"}),
        httpx.Response(302, headers={"Location": "http://169.254.169.254/latest"}),
    ],
)
def test_a_file_too_large_empty_missing_or_elsewhere_is_refused(response: httpx.Response) -> None:
    adapter, seen = file_adapter(lambda request: response)
    with pytest.raises(ProviderRejected) as refused:
        adapter.fetch_file("http://provider.test/f/r.txt", max_bytes=100, seconds=5)
    assert refused.value.code == "file_refused"
    assert len(seen) == 1  # a redirect is not followed


ZEROS = 32 << 20
#: 32 MB of zeros in some KB, as each encoding sends them ("br": any bytes said to be Brotli).
BOMBS = {
    "gzip": lambda: gzip.compress(bytes(ZEROS)),
    "gzip, gzip": lambda: gzip.compress(gzip.compress(bytes(ZEROS))),
    "deflate": lambda: zlib.compress(bytes(ZEROS)),
    "br": lambda: gzip.compress(bytes(ZEROS)),
}


@pytest.mark.parametrize("encoding", BOMBS)
def test_a_compressed_file_is_refused_without_being_inflated(encoding: str) -> None:
    # Inflated whole, a chunk at a time, before its size was checked: stacked encodings
    # multiply, and 7 KB sent as "gzip, gzip" made the worker take 8 GB to refuse it.
    bomb = BOMBS[encoding]()
    adapter, seen = file_adapter(  # streamed, as from the network (bytes are read at once)
        lambda request: httpx.Response(
            200, content=iter([bomb]), headers={"Content-Encoding": encoding}
        )
    )
    tracemalloc.start()
    try:
        with pytest.raises(ProviderRejected) as refused:
            adapter.fetch_file("http://provider.test/f/r.txt", max_bytes=50 << 20, seconds=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.code == "file_refused"
    assert peak < 4 << 20, f"{peak} bytes taken for a refused file"
    [request] = seen
    assert request.headers["Accept-Encoding"] == "identity"  # so an honest server sends it as is


@pytest.mark.parametrize(
    "answer",
    [
        lambda request: httpx.Response(503),
        lambda request: httpx.Response(429),
        lambda request: httpx.Response(200, content=_chunks(b"a", b"b", b"c", pause=0.05)),
        raising(httpx.ReadTimeout("slow")),
        raising(httpx.ConnectError("refused")),
    ],
)
def test_a_file_not_fetched_for_now_is_a_transient_error(answer: Any) -> None:
    adapter, _ = file_adapter(answer)
    with pytest.raises(ProviderError) as failed:
        adapter.fetch_file("http://provider.test/f/r.txt", max_bytes=100, seconds=0.02)
    assert failed.value.retryable


# -- error sorting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("Invalid API key", "invalid_key"),
        ("Incorrect service ID", "unknown_service"),
        ("Incorrect link", "invalid_link"),
        ("Quantity less than minimal 100", "invalid_quantity"),
        ("Quantity more than maximal 1000", "invalid_quantity"),
        ("Not enough funds on balance", "insufficient_funds"),
        ("Incorrect order ID", "unknown_order"),
        ("Order cannot be canceled", "not_cancelable"),
        ("Incorrect refill ID", "unknown_refill"),
        ("Refill not found", "unknown_refill"),
        ("You have active order with this link. Please wait", "invalid_link"),
        ("Something odd", "rejected"),
    ],
)
def test_error_answers_are_permanent_rejections(message: str, code: str) -> None:
    adapter, _ = mock_adapter({"error": message})
    with pytest.raises(ProviderRejected) as caught:
        adapter.place(service="1", link="https://x.test", quantity=100, options={})
    assert caught.value.code == code
    assert caught.value.message == message
    assert not caught.value.retryable
    assert not caught.value.maybe_applied


@pytest.mark.parametrize(
    "message",
    ["Too many requests", "Service temporarily unavailable", "Please try again later"],
)
def test_error_answers_that_say_temporary_are_transient(message: str) -> None:
    adapter, _ = mock_adapter({"error": message})
    with pytest.raises(ProviderError) as caught:
        adapter.balance()
    assert not isinstance(caught.value, ProviderRejected)


@pytest.mark.parametrize(
    ("response", "maybe_applied"),
    [
        (httpx.Response(500, text="oops"), True),
        (httpx.Response(502, json={"error": "bad gateway"}), True),
        (httpx.Response(429, text="slow down"), False),
        (httpx.Response(200, text="<html>maintenance</html>"), True),
        (httpx.Response(404, text="not here"), True),
        (httpx.Response(403, json={"status": "nope"}), False),
    ],
)
def test_http_failures_are_transient(response: httpx.Response, maybe_applied: bool) -> None:
    adapter, _ = mock_adapter(response)
    with pytest.raises(ProviderError) as caught:
        adapter.place(service="1", link="https://x.test", quantity=100, options={})
    assert not isinstance(caught.value, ProviderRejected)
    assert caught.value.maybe_applied is maybe_applied


@pytest.mark.parametrize(
    ("exc", "maybe_applied"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow connect"), False),
        (httpx.ReadTimeout("slow answer"), True),
        (httpx.RemoteProtocolError("peer closed"), True),
    ],
)
def test_transport_failures_are_transient(exc: Exception, maybe_applied: bool) -> None:
    with pytest.raises(ProviderError) as caught:
        raising_adapter(exc).place(service="1", link="https://x.test", quantity=1, options={})
    assert not isinstance(caught.value, ProviderRejected)
    assert caught.value.maybe_applied is maybe_applied


# -- real sockets ------------------------------------------------------------------------------


def test_dead_port_is_a_transient_error_that_was_not_applied() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = SmmV2Adapter(f"http://127.0.0.1:{port}/api/v2", KEY, timeout=2.0)
    with pytest.raises(ProviderError) as caught:
        adapter.place(service="1", link="https://x.test", quantity=100, options={})
    assert not isinstance(caught.value, ProviderRejected)
    assert caught.value.maybe_applied is False


class _GarbageHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<html><body>502 Bad Gateway... or is it?</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def garbage_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GarbageHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v2"
    server.shutdown()
    server.server_close()
    thread.join()


def test_server_answering_garbage_is_a_transient_error(garbage_url: str) -> None:
    with SmmV2Adapter(garbage_url, KEY, timeout=2.0) as adapter:
        for call in (adapter.balance, adapter.services, lambda: adapter.status("1")):
            with pytest.raises(ProviderError) as caught:
                call()
            assert not isinstance(caught.value, ProviderRejected)
            assert "non-JSON" in caught.value.message


def test_full_round_trip_against_the_sandbox_provider(tmp_path: Path) -> None:
    clock = [1_800_000_000.0]
    server = ProviderServer(
        db_path=tmp_path / "p.sqlite3", key=KEY, speed=100.0, seed=1, clock=lambda: clock[0]
    )
    with server, SmmV2Adapter(server.url, KEY) as adapter:
        plays = next(s for s in adapter.services() if "播放" in s.name)
        link = "https://v.douyin.com/iRNBho6u/"
        placed = adapter.place(service=plays.service_id, link=link, quantity=500, options={})
        clock[0] += 1.0 + 2.0
        assert adapter.status(placed.external_id).remains == 300
        assert adapter.cancel([placed.external_id]) == {placed.external_id: True}
        clock[0] += 60
        final = adapter.status(placed.external_id)
        assert final.status is ProviderStatus.PARTIAL
        assert final.remains == 300
        assert final.charge == plays.rate * 200 / 1000
        assert final.currency == "CNY"
        assert adapter.balance() == Decimal(1_000_000) - final.charge
