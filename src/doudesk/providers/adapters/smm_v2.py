"""HTTP client for providers speaking the SMM API v2 ("perfect panel") reseller convention.

Design overview
---------------
Every call is one form-encoded ``POST`` to a single URL with ``key`` and ``action``; answers are
JSON, and failures are ``{"error": "..."}`` with HTTP 200. :class:`SmmV2Adapter` turns those
answers into the dataclasses of :mod:`doudesk.providers.adapters.base` and sorts failures:

* transport problems (connection refused, timeouts), HTTP 429/5xx, non-JSON or malformed answers
  become :class:`ProviderError` (transient), with ``maybe_applied`` set when the request may have
  been acted on;
* an ``{"error": ...}`` answer is the provider refusing deliberately, so it becomes
  :class:`ProviderRejected`, unless its wording says it is temporary ("try again", "too many
  requests", "maintenance", ...), which stays a :class:`ProviderError`.

A status answer may carry ``"deliverables": [{"name": ..., "url": ...}]``, a DouDesk extension
the sandbox provider sends for finished orders whose work is a file (a report, a note on edited
videos); panels that send counts only leave it out and nothing changes for them. An entry that
cannot be read is skipped with a warning, never a failed status. :meth:`SmmV2Adapter.fetch_file`
fetches such a file from the provider's own host only (scheme, host and port of its endpoint),
without the API key, following no redirect, as sent (never inflated), within a size cap and a
time limit.

Providers are lax about types (``"3572"`` or ``3572``, ``"0.27819"`` or ``0.27819``): integers
and decimals are read leniently, amounts always as :class:`~decimal.Decimal`. A value that is
present but unreadable is a malformed answer (:class:`ProviderError`), never silently zero.

The API key is sent in the form body and never appears in errors or ``repr``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from doudesk.providers.adapters.base import (
    PlacedOrder,
    ProviderDeliverable,
    ProviderError,
    ProviderOrderStatus,
    ProviderRefillStatus,
    ProviderRejected,
    ProviderService,
    ProviderStatus,
    RefillResult,
)

__all__ = ["MAX_IDS_PER_CALL", "SmmV2Adapter"]

logger = logging.getLogger(__name__)

#: The convention caps multi-order calls (``orders=1,2,3``) at 100 ids; larger lists are chunked.
MAX_IDS_PER_CALL = 100
#: Files one status answer may hand over; more are left out (a report or a few videos' notes).
MAX_DELIVERABLES = 10

_RESERVED_FIELDS = frozenset({"key", "action", "service", "link", "quantity"})

_TRANSIENT_WORDING = re.compile(
    r"too many|rate.?limit|try again|temporar|maintenance|timeout|timed out|"
    r"internal|server error|busy|overload",
    re.IGNORECASE,
)

# Coarse reason codes for ProviderRejected, from the wording panels commonly use.
_REJECT_CODES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"api.?key|\bkey\b|unauthori[sz]ed|forbidden", re.I), "invalid_key"),
    (re.compile(r"fund|balance", re.I), "insufficient_funds"),
    (re.compile(r"refill.*(id|not found)|incorrect refill", re.I), "unknown_refill"),
    (re.compile(r"order id|order not found|incorrect order", re.I), "unknown_order"),
    (re.compile(r"service", re.I), "unknown_service"),
    (re.compile(r"link|url", re.I), "invalid_link"),
    (re.compile(r"quantit|minimal|maximal", re.I), "invalid_quantity"),
    (re.compile(r"cancel", re.I), "not_cancelable"),
    (re.compile(r"refill", re.I), "not_refillable"),
)


def _classify(message: str) -> ProviderError:
    """Turn a provider's ``{"error": message}`` into the matching exception."""
    if _TRANSIENT_WORDING.search(message):
        return ProviderError(f"provider error: {message}", maybe_applied=False)
    for pattern, code in _REJECT_CODES:
        if pattern.search(message):
            return ProviderRejected(message, code=code)
    return ProviderRejected(message)


def _error_message(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def _parse_int(value: Any, field: str) -> int | None:
    """Read an integer sent as ``3572``, ``"3572"``, ``"3572.0"`` or ``"3,572"``; None if absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ProviderError(f"malformed {field}: {value!r}", maybe_applied=True)
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip().replace(",", ""))
        if number == number.to_integral_value():
            return int(number)
    except (InvalidOperation, ValueError):
        pass
    raise ProviderError(f"malformed {field}: {value!r}", maybe_applied=True)


def _parse_decimal(value: Any, field: str) -> Decimal | None:
    """Read an amount sent as a string or a JSON number, exactly; None if absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ProviderError(f"malformed {field}: {value!r}", maybe_applied=True)
    try:
        # str() of a float is its shortest repr, so 0.1 becomes Decimal("0.1"), not the binary.
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ProviderError(f"malformed {field}: {value!r}", maybe_applied=True) from None
    if not number.is_finite():
        raise ProviderError(f"malformed {field}: {value!r}", maybe_applied=True)
    return number


#: How Chinese panels write the yuan besides its ISO code ("¥" is not one: the yen's too).
_YUAN_NAMES = frozenset({"CNY", "RMB", "元", "人民币"})


def _parse_currency(value: Any) -> str | None:
    """Read a status answer's currency: "CNY" for the yuan however written, else its text.

    Another currency's text is kept (cut to 16 characters) so the bill can be held for an
    operator rather than booked as yuan.
    """
    if value is None or value == "":
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip().upper()
    return "CNY" if text in _YUAN_NAMES else text[:16]


def _parse_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() in {"1", "true", "yes"}
    return bool(value)


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), MAX_IDS_PER_CALL):
        yield ids[start : start + MAX_IDS_PER_CALL]


def _clean_ids(ids: Iterable[str]) -> list[str]:
    """Stringify and de-duplicate ids, keeping order; refuse ids that would break the CSV."""
    seen: dict[str, None] = {}
    for raw in ids:
        text = str(raw).strip()
        if not text or "," in text:
            raise ValueError(f"invalid order id {raw!r}")
        seen.setdefault(text, None)
    return list(seen)


def _option_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        # Custom comments and similar lists travel one item per line.
        return "\n".join(str(item) for item in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


_shared_client: tuple[int, httpx.Client] | None = None
_shared_lock = threading.Lock()


def shared_http_client() -> httpx.Client:
    """Return this process's HTTP client for provider calls (created once, thread-safe).

    Building an ``httpx.Client`` costs about 20 ms of CPU (its TLS context), more than the call
    itself; one pooled client also keeps connections to a provider alive between calls.
    """
    global _shared_client
    current = _shared_client
    if current is not None and current[0] == os.getpid():
        return current[1]
    with _shared_lock:
        if _shared_client is None or _shared_client[0] != os.getpid():
            _shared_client = (os.getpid(), httpx.Client())
        return _shared_client[1]


class SmmV2Adapter:
    """A :class:`~doudesk.providers.adapters.base.ProviderAdapter` over SMM API v2 HTTP.

    ``url`` is the provider's single endpoint (e.g. ``http://127.0.0.1:8765/api/v2``). Pass
    ``client`` to share a connection pool (it is then not closed by :meth:`close`).
    ``request_units`` adds ``units=1`` to status calls, which the DouDesk sandbox provider answers
    with the hashed ids of delivered units (other panels ignore unknown fields).
    """

    def __init__(
        self,
        url: str,
        key: str,
        *,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        request_units: bool = False,
    ) -> None:
        self.url = url
        self._key = key
        self.timeout = timeout
        self.request_units = request_units
        self._client = client if client is not None else shared_http_client()

    def __repr__(self) -> str:
        return f"SmmV2Adapter(url={self.url!r}, key='***')"

    def close(self) -> None:
        """Nothing to release: the HTTP client is the caller's or the process's shared one."""

    def __enter__(self) -> SmmV2Adapter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------------------

    def _call(self, action: str, fields: Mapping[str, str] | None = None) -> Any:
        """POST one action and return the decoded JSON; raise on transport or ``{"error"}``."""
        data = {"key": self._key, "action": action, **(fields or {})}
        try:
            response = self._client.post(self.url, data=data, timeout=self.timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ProviderError(
                f"cannot connect to provider ({action}): {type(exc).__name__}", maybe_applied=False
            ) from exc
        except httpx.TimeoutException as exc:
            raise ProviderError(
                f"provider timed out ({action}): {type(exc).__name__}", maybe_applied=True
            ) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"provider request failed ({action}): {type(exc).__name__}: {exc}",
                maybe_applied=True,
            ) from exc

        if response.status_code == 429:
            raise ProviderError(f"provider rate-limited {action} (HTTP 429)", maybe_applied=False)
        if response.status_code >= 500:
            raise ProviderError(
                f"provider failed {action} (HTTP {response.status_code})", maybe_applied=True
            )
        try:
            payload = response.json()
        except ValueError:
            raise ProviderError(
                f"provider answered {action} with non-JSON (HTTP {response.status_code})",
                maybe_applied=True,
            ) from None
        if isinstance(payload, dict) and "error" in payload:
            raise _classify(_error_message(payload["error"]))
        if response.status_code >= 400:
            raise ProviderError(
                f"provider refused {action} (HTTP {response.status_code})", maybe_applied=False
            )
        return payload

    # -- actions -------------------------------------------------------------------------------

    def services(self) -> list[ProviderService]:
        """List the provider's services; malformed entries are skipped with a warning."""
        payload = self._call("services")
        if not isinstance(payload, list):
            raise ProviderError("provider answered services with a non-list", maybe_applied=True)
        result: list[ProviderService] = []
        for entry in payload:
            try:
                result.append(self._parse_service(entry))
            except (ProviderError, KeyError, TypeError) as exc:
                logger.warning("skipping malformed provider service %r: %s", entry, exc)
        return result

    @staticmethod
    def _parse_service(entry: Any) -> ProviderService:
        if not isinstance(entry, dict):
            raise TypeError("service entry is not an object")
        rate = _parse_decimal(entry["rate"], "rate")
        low = _parse_int(entry.get("min"), "min")
        high = _parse_int(entry.get("max"), "max")
        if rate is None or low is None or high is None:
            raise TypeError("service entry lacks rate, min or max")
        return ProviderService(
            service_id=str(entry["service"]),
            name=str(entry.get("name", "")),
            type=str(entry.get("type") or "Default"),
            category=str(entry.get("category", "")),
            rate=rate,
            min_quantity=low,
            max_quantity=high,
            refill=_parse_bool(entry.get("refill", False)),
            cancel=_parse_bool(entry.get("cancel", False)),
        )

    def place(
        self, *, service: str, link: str, quantity: int, options: dict[str, Any] | None = None
    ) -> PlacedOrder:
        """Place an order (``action=add``); ``options`` are sent as extra form fields.

        A :class:`ProviderError` with ``maybe_applied`` means the order may exist upstream
        although no id came back: reconcile before placing it again.
        """
        fields = {"service": str(service), "link": link, "quantity": str(int(quantity))}
        for name, value in (options or {}).items():
            if name in _RESERVED_FIELDS:
                raise ValueError(f"option {name!r} would override a standard field")
            if value is not None:
                fields[name] = _option_value(value)
        payload = self._call("add", fields)
        order = payload.get("order") if isinstance(payload, dict) else None
        if order is None or isinstance(order, bool | dict | list) or str(order).strip() == "":
            raise ProviderError("provider answered add without an order id", maybe_applied=True)
        return PlacedOrder(external_id=str(order).strip())

    def _status_fields(self) -> dict[str, str]:
        return {"units": "1"} if self.request_units else {}

    def _parse_status(self, external_id: str, entry: Any) -> ProviderOrderStatus:
        if not isinstance(entry, dict) or not isinstance(entry.get("status"), str):
            raise ProviderError(
                f"malformed status for order {external_id}: {entry!r}", maybe_applied=True
            )
        try:
            status = ProviderStatus.parse(entry["status"])
        except ValueError as exc:
            raise ProviderError(str(exc), maybe_applied=True) from None
        remains = _parse_int(entry.get("remains"), "remains")
        if remains is None and status is ProviderStatus.COMPLETED:
            remains = 0
        units = entry.get("units") or ()
        if not isinstance(units, list | tuple) or not all(isinstance(u, str) for u in units):
            raise ProviderError(f"malformed units for order {external_id}", maybe_applied=True)
        currency = _parse_currency(entry.get("currency"))
        return ProviderOrderStatus(
            external_id=external_id,
            status=status,
            start_count=_parse_int(entry.get("start_count"), "start_count"),
            remains=remains,
            charge=_parse_decimal(entry.get("charge"), "charge"),
            currency=currency,
            delivered_units=tuple(units),
            deliverables=self._parse_deliverables(external_id, entry.get("deliverables")),
        )

    def _parse_deliverables(self, external_id: str, value: Any) -> tuple[ProviderDeliverable, ...]:
        """Read an answer's optional ``deliverables``; each url resolved against the endpoint."""
        if value is None:
            return ()
        entries = value if isinstance(value, list) else [value]
        if len(entries) > MAX_DELIVERABLES:
            logger.warning(
                "order %s: %d deliverables left out, past the first %d",
                external_id, len(entries) - MAX_DELIVERABLES, MAX_DELIVERABLES,
            )  # fmt: skip
        found: list[ProviderDeliverable] = []
        for entry in entries[:MAX_DELIVERABLES]:
            name = entry.get("name") if isinstance(entry, dict) else None
            url = entry.get("url") if isinstance(entry, dict) else None
            readable = isinstance(name, str) and isinstance(url, str)
            if not readable or not name.strip() or not url.strip():
                logger.warning("order %s: skipping malformed deliverable %r", external_id, entry)
                continue
            try:
                resolved = str(httpx.URL(self.url).join(url.strip()))
            except httpx.InvalidURL:
                logger.warning("order %s: skipping deliverable at %r", external_id, url)
                continue
            found.append(ProviderDeliverable(name=name.strip(), url=resolved))
        return tuple(found)

    def status(self, external_id: str) -> ProviderOrderStatus:
        """Return one order's status (``action=status&order=ID``)."""
        [order_id] = _clean_ids([external_id])
        payload = self._call("status", {"order": order_id, **self._status_fields()})
        return self._parse_status(order_id, payload)

    def status_many(self, ids: Iterable[str]) -> dict[str, ProviderOrderStatus | ProviderError]:
        """Return each order's status or its own error (``action=status&orders=1,2,3``).

        An id the provider does not know maps to ``ProviderRejected(code="unknown_order")``; an
        id missing from the answer or with a malformed entry maps to a :class:`ProviderError`.
        A failure of the whole call (network, bad key) raises instead.
        """
        wanted = _clean_ids(ids)
        result: dict[str, ProviderOrderStatus | ProviderError] = {}
        for chunk in _chunks(wanted):
            payload = self._call("status", {"orders": ",".join(chunk), **self._status_fields()})
            if not isinstance(payload, dict):
                raise ProviderError(
                    "provider answered status with a non-object", maybe_applied=True
                )
            for order_id in chunk:
                entry = payload.get(order_id)
                if entry is None:
                    result[order_id] = ProviderError(
                        f"provider answer lacks order {order_id}", maybe_applied=True
                    )
                elif isinstance(entry, dict) and "error" in entry:
                    result[order_id] = _classify(_error_message(entry["error"]))
                else:
                    try:
                        result[order_id] = self._parse_status(order_id, entry)
                    except ProviderError as exc:
                        result[order_id] = exc
        return result

    def cancel(self, ids: Iterable[str]) -> dict[str, bool]:
        """Ask for cancellation (``action=cancel&orders=1,2``); True where it was accepted.

        Acceptance is not the end state: the order's later status (Partial or Canceled, with
        ``remains``) says what was actually left undelivered.
        """
        wanted = _clean_ids(ids)
        result = dict.fromkeys(wanted, False)
        for chunk in _chunks(wanted):
            payload = self._call("cancel", {"orders": ",".join(chunk)})
            if isinstance(payload, list):
                rows = [
                    (str(row.get("order")), row.get("cancel"))
                    for row in payload
                    if isinstance(row, dict)
                ]
            elif isinstance(payload, dict):
                # Some panels key the answer by order id instead of returning a list.
                rows = [
                    (str(k), v.get("cancel") if isinstance(v, dict) else v)
                    for k, v in payload.items()
                ]
            else:
                raise ProviderError("provider answered cancel with garbage", maybe_applied=True)
            for order_id, outcome in rows:
                if order_id in result:
                    result[order_id] = _accepted(outcome)
        return result

    def refill(self, external_id: str) -> RefillResult:
        """Ask for a refill of a completed order (``action=refill&order=ID``)."""
        [order_id] = _clean_ids([external_id])
        payload = self._call("refill", {"order": order_id})
        refill = payload.get("refill") if isinstance(payload, dict) else None
        if isinstance(refill, dict) and "error" in refill:
            raise _classify(_error_message(refill["error"]))
        if refill is None or isinstance(refill, bool | dict | list) or str(refill).strip() == "":
            raise ProviderError("provider answered refill without a refill id", maybe_applied=True)
        return RefillResult(refill_id=str(refill).strip())

    def refill_status(self, refill_id: str) -> ProviderRefillStatus:
        """Return a refill's status (``action=refill_status&refill=ID``)."""
        payload = self._call("refill_status", {"refill": str(refill_id)})
        status = payload.get("status") if isinstance(payload, dict) else None
        if isinstance(status, dict) and "error" in status:
            raise _classify(_error_message(status["error"]))
        if not isinstance(status, str) or not status:
            raise ProviderError(
                "provider answered refill_status without a status", maybe_applied=True
            )
        try:
            return ProviderRefillStatus.parse(status)
        except ValueError as exc:
            raise ProviderError(str(exc), maybe_applied=True) from None

    def fetch_file(self, url: str, *, max_bytes: int, seconds: float) -> bytes:
        """Return the file at ``url`` (a deliverable's) if it is on the provider's host.

        ProviderRejected (``file_refused``) for another host or scheme, an answer other than
        HTTP 200 (a redirect included), an empty file or one over ``max_bytes`` (refused as soon
        as its length or the bytes read say so), or one sent compressed; ProviderError for a
        network failure, HTTP 429 or 5xx, or a transfer not done within ``seconds``. The API key
        is not sent: a file's address is the provider's to make unguessable.
        """
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL:
            raise ProviderRejected(
                f"unreadable file address {url!r}", code="file_refused"
            ) from None
        home = httpx.URL(self.url)
        if (target.scheme, target.host, target.port) != (home.scheme, home.host, home.port):
            raise ProviderRejected(
                f"file not on the provider's host: {target.scheme}://{target.host}",
                code="file_refused",
            )
        deadline = time.monotonic() + seconds
        received: list[bytes] = []
        size = 0
        try:
            with self._client.stream(
                "GET",
                target,
                headers={"Accept-Encoding": "identity"},
                timeout=min(self.timeout, seconds),
                follow_redirects=False,
            ) as response:
                if response.status_code == 429 or response.status_code >= 500:
                    raise ProviderError(
                        f"provider failed a file (HTTP {response.status_code})", maybe_applied=False
                    )
                if response.status_code != 200:
                    raise ProviderRejected(
                        f"provider answered a file with HTTP {response.status_code}",
                        code="file_refused",
                    )
                # Asked for as is: a compressed body is inflated a whole chunk at a time before
                # its size can be counted, and stacked encodings multiply (7 KB sent as "gzip,
                # gzip" inflated to gigabytes), so it is refused, never inflated.
                encoding = response.headers.get("Content-Encoding", "").strip().lower()
                if encoding not in ("", "identity"):
                    raise ProviderRejected(
                        f"file sent compressed ({encoding[:40]})", code="file_refused"
                    )
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise ProviderRejected(f"file over {max_bytes} bytes", code="file_refused")
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise ProviderRejected(f"file over {max_bytes} bytes", code="file_refused")
                    if time.monotonic() > deadline:
                        raise ProviderError(f"file not received within {seconds:g} s")
                    received.append(chunk)
        except httpx.HTTPError as exc:
            raise ProviderError(f"file not fetched: {type(exc).__name__}") from exc
        if not size:
            raise ProviderRejected("provider answered an empty file", code="file_refused")
        return b"".join(received)

    def balance(self) -> Decimal:
        """Return the remaining balance at the provider (``action=balance``)."""
        payload = self._call("balance")
        value = payload.get("balance") if isinstance(payload, dict) else None
        amount = _parse_decimal(value, "balance")
        if amount is None:
            raise ProviderError("provider answered balance without a balance", maybe_applied=True)
        return amount


def _accepted(outcome: Any) -> bool:
    """Read a cancel outcome: ``1``/``true``/a message is acceptance, ``{"error"}`` is not."""
    if isinstance(outcome, dict):
        return "error" not in outcome and bool(outcome)
    if isinstance(outcome, str):
        return outcome.strip().casefold() not in {"", "0", "false"}
    return bool(outcome)
