"""The sandbox upstream provider: a small real HTTP server speaking SMM API v2 on loopback.

Design overview
---------------
In sandbox mode the platform fulfils orders through this server, reached only through the
ordinary HTTP adapter (:class:`doudesk.providers.adapters.smm_v2.SmmV2Adapter`), so the whole
dispatch → status-sync → refund path runs exactly as it would against a real provider.

* **Protocol.** ``POST /api/v2`` with a form-encoded (or JSON object) body holding ``key`` and
  ``action``: ``services``, ``add``, ``status`` (``order`` or ``orders=1,2,3``, at most 100),
  ``cancel`` (``orders`` or ``order``), ``refill`` (``order`` or ``orders``), ``refill_status``
  (``refill`` or ``refills``) and ``balance``, answered with the convention's shapes. Every
  refusal is ``{"error": "..."}`` with HTTP 200, as reseller clients expect. ``GET /healthz``
  answers ``{"status": "ok"}``. Amounts are CNY decimal strings with 5 decimals.
* **State.** One SQLite file (WAL), one connection per request, so orders survive restarts and
  concurrent requests are safe. Order ids start at 10001 so they never coincide with the
  platform's own small ids by accident.
* **Delivery is a function of time.** Nothing runs in the background: an order stores its
  creation time, speed and fate, and every status read computes
  ``delivered = min(target, floor(speed * (now - created - pending_seconds)))``. The order is
  ``Pending`` for its first ``pending_seconds``, then ``In progress``, then final.
* **Fate.** At placement each order draws (from a seeded or random RNG): with probability
  ``fail_rate`` it delivers nothing and is ``Canceled`` after ``fail_after_seconds``; with
  probability ``partial_rate`` it stops at a random 20-90 % of the quantity and ends ``Partial``
  (``remains`` = undelivered; a 1-unit order cannot stop part-way and ends ``Canceled``);
  otherwise it ends ``Completed``.
* **Money.** The provider bills ``rate`` (CNY per 1,000 units, fixed at placement) for delivered
  units only: ``charge = rate * delivered / 1000`` rounded half-up to 5 decimals. As common panels
  do, the full price is held against the balance while the order runs, and a final order keeps
  only its charge; an order costing more than the balance is refused with
  ``Not enough funds on balance``. What has been spent is a running sum kept in the file, so an
  ``add`` costs the same however many orders came before it.
* **Cancel** (like common panels): accepted while the order is not final and its service allows
  it. Delivery stops at the units delivered at that moment; the order then reads ``Partial`` with
  ``remains = quantity - delivered`` when something was delivered, else ``Canceled`` with
  ``remains = quantity``; ``charge`` covers the delivered units only.
* **Refill**: accepted for ``Completed`` orders of services that allow it; the refill reads
  ``Pending``, then ``In progress``, then ``Completed``.
* **Units.** With ``units=1`` a status answer also carries ``"units"``: the hex SHA-256 of
  ``f"sandbox:{order}:{n}"`` for each delivered unit ``n`` (1-based), so the platform can check
  that no unit is sold twice. Without it the answer keeps the standard shape. The list grows with
  the order, so ask for it on modest orders only.
* **Deliverables.** A final order of a service whose work is a file (the account diagnosis
  report, video editing) that delivered something also carries ``"deliverables": [{"name",
  "url"}]``: one sample from :mod:`doudesk.sandbox.samples`, labelled a sandbox sample, at a url
  relative to this server (``/deliverables/ORDER/TOKEN/FILE``; the token is an HMAC of the order
  id under the API key, so only the key's holder learns the address, and the key is not sent to
  fetch it). ``GET`` on that address answers the file as ``text/plain``; every other answer
  keeps the standard shape.

Run it alone with ``python -m doudesk.sandbox.provider_server --host 127.0.0.1 --port 8765
--db PATH --key KEY``; the knobs default to ``DOUDESK_SANDBOX_SPEED``,
``DOUDESK_SANDBOX_PARTIAL_RATE`` and ``DOUDESK_SANDBOX_FAIL_RATE`` (see :func:`main`).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import logging
import math
import os
import random
import signal
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from doudesk.sandbox.samples import SAMPLES, Sample, SampleOrder

__all__ = [
    "CURRENCY",
    "SANDBOX_LABEL",
    "SERVICES",
    "ProviderServer",
    "SandboxProvider",
    "SandboxService",
    "build_parser",
    "main",
    "unit_id",
]

logger = logging.getLogger(__name__)

SANDBOX_LABEL = "[沙盒 Sandbox]"
CURRENCY = "CNY"
API_PATH = "/api/v2"
DELIVERABLES_PATH = "/deliverables/"
MAX_IDS = 100
MAX_BODY_BYTES = 1 << 20
MAX_LINK_LENGTH = 2048
FIRST_ORDER_ID = 10001
_AMOUNT = Decimal("0.00001")

ERR_KEY = "Invalid API key"
ERR_REQUEST = "Incorrect request"
ERR_SERVICE = "Incorrect service ID"
ERR_LINK = "Incorrect link"
ERR_QUANTITY = "Incorrect quantity"
ERR_FUNDS = "Not enough funds on balance"
ERR_ORDER = "Incorrect order ID"
ERR_TOO_MANY = f"Too many IDs (max {MAX_IDS})"
ERR_NOT_CANCELABLE = "Order cannot be canceled"
ERR_NOT_REFILLABLE = "Order is not eligible for refill"
ERR_REFILL = "Refill not found"


@dataclass(frozen=True)
class SandboxService:
    """One service the sandbox provider sells; ``rate`` is its cost in CNY per 1,000 units."""

    service_id: int
    name: str
    category: str
    rate: Decimal
    min_quantity: int
    max_quantity: int
    refill: bool
    cancel: bool
    start_count: tuple[int, int]
    #: Whether an order must name a link. Production services (video editing) work from the
    #: customer's brief, not from a link: an empty link is accepted there.
    needs_link: bool = True
    #: The sample a finished order hands over (a key of ``SAMPLES``); none for counted work.
    sample: str = ""

    def as_api(self) -> dict[str, Any]:
        """Render as an entry of the ``services`` answer."""
        return {
            "service": self.service_id,
            "name": self.name,
            "type": "Default",
            "category": self.category,
            "rate": f"{self.rate:.2f}",
            "min": str(self.min_quantity),
            "max": str(self.max_quantity),
            "refill": self.refill,
            "cancel": self.cancel,
        }


def _svc(
    sid: int,
    name: str,
    category: str,
    rate: str,
    low: int,
    high: int,
    *,
    refill: bool,
    cancel: bool,
    start: tuple[int, int] = (0, 0),
    needs_link: bool = True,
    sample: str = "",
) -> SandboxService:
    return SandboxService(
        sid, f"{SANDBOX_LABEL} {name}", f"{SANDBOX_LABEL} {category}", Decimal(rate),
        low, high, refill, cancel, start, needs_link, sample,
    )  # fmt: skip


_PROMO = "官方推广 Official promotion"  # plays, engagement, followers: DOU+-style only

# Provider cost prices, below what the platform sells at (DOU+ sells about 5,000 plays for ¥100).
SERVICES: tuple[SandboxService, ...] = (
    _svc(1, "抖音视频播放 Douyin video plays", _PROMO, "12.00", 100, 1_000_000,
         refill=True, cancel=True, start=(200, 50_000)),
    _svc(2, "抖音视频点赞 Douyin video likes", _PROMO, "40.00", 10, 100_000,
         refill=True, cancel=True, start=(10, 5_000)),
    _svc(3, "抖音视频评论 Douyin video comments", _PROMO, "300.00", 5, 5_000,
         refill=False, cancel=True, start=(0, 500)),
    _svc(4, "抖音视频分享 Douyin video shares", _PROMO, "80.00", 10, 50_000,
         refill=True, cancel=True, start=(0, 1_000)),
    _svc(5, "抖音账号粉丝 Douyin account followers", _PROMO, "150.00", 10, 100_000,
         refill=True, cancel=True, start=(50, 20_000)),
    _svc(6, "抖音直播间人气 Douyin live-room viewers", _PROMO, "60.00", 10, 50_000,
         refill=False, cancel=True, start=(0, 300)),
    _svc(7, "同城LBS推广曝光 Local LBS exposure", "本地推广 Local promotion", "20.00", 500,
         1_000_000, refill=False, cancel=True, start=(0, 10_000)),
    _svc(8, "短视频剪辑 Short-video editing (per video)", "内容 Content", "120000.00", 1, 20,
         refill=False, cancel=False, needs_link=False, sample="editing"),
    _svc(9, "账号诊断报告 Account diagnosis report", "数据 Data", "60000.00", 1, 1,
         refill=False, cancel=False, sample="report"),
    _svc(10, "竞品分析报告 Competitor analysis report", "数据 Data", "90000.00", 1, 1,
         refill=False, cancel=False, sample="competitors"),
)  # fmt: skip


def unit_id(order_id: int, n: int) -> str:
    """Return the hashed identifier of the ``n``-th (1-based) unit delivered for an order."""
    return hashlib.sha256(f"sandbox:{order_id}:{n}".encode()).hexdigest()


def _amount(value: Decimal) -> str:
    return str(value.quantize(_AMOUNT, rounding=ROUND_HALF_UP))


def _cost(rate: Decimal, units: int) -> Decimal:
    return (rate * units / 1000).quantize(_AMOUNT, rounding=ROUND_HALF_UP)


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service INTEGER NOT NULL,
    link TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    extras TEXT NOT NULL,
    rate TEXT NOT NULL,
    start_count INTEGER NOT NULL,
    created_at REAL NOT NULL,
    pending_s REAL NOT NULL,
    speed REAL NOT NULL,
    fate TEXT NOT NULL,
    target INTEGER NOT NULL,
    finish_at REAL NOT NULL,
    final_delivered INTEGER NOT NULL,
    canceled_at REAL,
    settled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS refills (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    created_at REAL NOT NULL,
    started_at REAL NOT NULL,
    done_at REAL NOT NULL
);
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'orders', {FIRST_ORDER_ID - 1}
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'orders');
CREATE TABLE IF NOT EXISTS spending (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    amount TEXT NOT NULL,
    through_order INTEGER NOT NULL
);
INSERT INTO spending (id, amount, through_order)
    SELECT 1, '0', 0 WHERE NOT EXISTS (SELECT 1 FROM spending);
"""
# Files an earlier version wrote have no ``settled`` column: their orders are all counted afresh
# (``spending`` starts at order 0), then settled as they are found final.
_SETTLED_COLUMN = "ALTER TABLE orders ADD COLUMN settled INTEGER NOT NULL DEFAULT 0"
_UNSETTLED_INDEX = (
    "CREATE INDEX IF NOT EXISTS orders_unsettled ON orders (finish_at) WHERE settled = 0"
)

_ORDER_COLUMNS = (
    "id, service, quantity, rate, start_count, created_at, pending_s, speed, target, "
    "finish_at, final_delivered"
)


@dataclass(frozen=True)
class _Progress:
    status: str
    delivered: int


def _progress(row: sqlite3.Row, now: float) -> _Progress:
    """Compute an order's status and delivered units at ``now`` from its stored plan."""
    quantity = row["quantity"]
    if now >= row["finish_at"]:
        done = row["final_delivered"]
        if done >= quantity:
            return _Progress("Completed", quantity)
        return _Progress("Partial" if done > 0 else "Canceled", done)
    started = row["created_at"] + row["pending_s"]
    if now < started:
        return _Progress("Pending", 0)
    # Rounding to the microsecond keeps float noise in timestamps from losing a unit.
    elapsed = round(now - started, 6)
    delivered = min(row["target"], math.floor(row["speed"] * elapsed + 1e-9), quantity - 1)
    return _Progress("In progress", max(delivered, 0))


def _parse_id(text: str) -> int | None:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def _split_ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _id_echo(text: str) -> int | str:
    value = _parse_id(text)
    return value if value is not None else text


class SandboxProvider:
    """The sandbox provider's logic: answers one API v2 request (a dict of fields) at a time.

    Thread-safe: every call opens its own SQLite connection; the RNG is guarded by a lock.
    """

    def __init__(
        self,
        *,
        db_path: str | os.PathLike[str],
        key: str,
        speed: float = 100.0,
        partial_rate: float = 0.0,
        fail_rate: float = 0.0,
        seed: int | None = None,
        pending_seconds: float = 1.0,
        fail_after_seconds: float = 2.0,
        initial_balance: Decimal = Decimal("1000000"),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not key:
            raise ValueError("the sandbox provider needs a non-empty key")
        if not speed > 0 or math.isinf(speed):
            raise ValueError("speed must be a positive number of units per second")
        for name, rate in (("partial_rate", partial_rate), ("fail_rate", fail_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must lie between 0 and 1")
        if partial_rate + fail_rate > 1.0 + 1e-9:
            raise ValueError("partial_rate + fail_rate must not exceed 1")
        if pending_seconds < 0 or fail_after_seconds < 0:
            raise ValueError("pending_seconds and fail_after_seconds must not be negative")
        self.db_path = Path(db_path)
        self._key = key.encode()
        self.speed = float(speed)
        self.partial_rate = float(partial_rate)
        self.fail_rate = float(fail_rate)
        self.pending_seconds = float(pending_seconds)
        self.fail_after_seconds = float(fail_after_seconds)
        self.initial_balance = Decimal(initial_balance)
        self.clock = clock
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._services = {s.service_id: s for s in SERVICES}
        self._init_db()

    # -- storage -------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=10.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 10000")
        return conn

    def _init_db(self) -> None:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            columns = {row["name"] for row in conn.execute("PRAGMA table_info(orders)")}
            if "settled" not in columns:
                conn.execute(_SETTLED_COLUMN)
            conn.execute(_UNSETTLED_INDEX)
            conn.execute("COMMIT")
        finally:
            conn.close()

    @staticmethod
    @contextlib.contextmanager
    def _writing(conn: sqlite3.Connection) -> Iterator[None]:
        """Hold SQLite's write lock for the block: commit after it, roll back on an error."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- dispatch ------------------------------------------------------------------------------

    def handle(self, fields: Mapping[str, str]) -> Any:
        """Answer one API v2 request; refusals come back as ``{"error": ...}``."""
        if not hmac.compare_digest(fields.get("key", "").encode(), self._key):
            return {"error": ERR_KEY}
        handler = {
            "services": self._services_action,
            "add": self._add,
            "status": self._status,
            "cancel": self._cancel,
            "refill": self._refill,
            "refill_status": self._refill_status,
            "balance": self._balance,
        }.get(fields.get("action", "").strip())
        if handler is None:
            return {"error": ERR_REQUEST}
        conn = self._connect()
        try:
            return handler(conn, fields)
        finally:
            conn.close()

    def _services_action(self, conn: sqlite3.Connection, fields: Mapping[str, str]) -> Any:
        return [s.as_api() for s in SERVICES]

    # -- add -----------------------------------------------------------------------------------

    def _draw(self, service: SandboxService, quantity: int) -> tuple[str, int, int]:
        """Draw an order's fate, the units it will deliver, and its start count."""
        with self._rng_lock:
            roll = self._rng.random()
            fraction = self._rng.uniform(0.2, 0.9)
            start = self._rng.randint(*service.start_count)
        if roll < self.fail_rate:
            return "fail", 0, start
        if roll < self.fail_rate + self.partial_rate:
            # A 1-unit order cannot stop part-way: it stops at 0 and so ends Canceled.
            target = min(quantity - 1, max(1, math.floor(quantity * fraction)))
            return "partial", target, start
        return "complete", quantity, start

    def _add(self, conn: sqlite3.Connection, fields: Mapping[str, str]) -> Any:
        service_id = _parse_id(fields.get("service", ""))
        service = self._services.get(service_id) if service_id is not None else None
        if service is None:
            return {"error": ERR_SERVICE}
        link = fields.get("link", "").strip()
        scheme = urlsplit(link).scheme if link else ""
        if (link or service.needs_link) and (
            scheme not in ("http", "https")
            or len(link) > MAX_LINK_LENGTH
            or any(c.isspace() for c in link)
            or not urlsplit(link).netloc
        ):
            return {"error": ERR_LINK}
        quantity = _parse_id(fields.get("quantity", ""))
        if quantity is None:
            return {"error": ERR_QUANTITY}
        if quantity < service.min_quantity:
            return {"error": f"Quantity less than minimal {service.min_quantity}"}
        if quantity > service.max_quantity:
            return {"error": f"Quantity more than maximal {service.max_quantity}"}
        extras = {
            k: v
            for k, v in fields.items()
            if k not in {"key", "action", "service", "link", "quantity"}
        }
        fate, target, start_count = self._draw(service, quantity)
        conn.execute("BEGIN IMMEDIATE")
        try:
            now = self.clock()
            if _cost(service.rate, quantity) > self._balance_amount(conn, now):
                conn.execute("ROLLBACK")
                return {"error": ERR_FUNDS}
            started = now + self.pending_seconds
            if fate == "fail":
                finish_at = now + self.fail_after_seconds
            else:
                finish_at = started + target / self.speed
            cursor = conn.execute(
                "INSERT INTO orders (service, link, quantity, extras, rate, start_count,"
                " created_at, pending_s, speed, fate, target, finish_at, final_delivered)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    service.service_id, link, quantity, json.dumps(extras, ensure_ascii=False),
                    str(service.rate), start_count, now, self.pending_seconds, self.speed, fate,
                    target, finish_at, target,
                ),
            )  # fmt: skip
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return {"order": cursor.lastrowid}

    # -- status --------------------------------------------------------------------------------

    def _load(self, conn: sqlite3.Connection, order_id: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = ?", (order_id,)
        ).fetchone()
        return row

    def _render(self, row: sqlite3.Row, now: float, *, units: bool) -> dict[str, Any]:
        progress = _progress(row, now)
        answer: dict[str, Any] = {
            "charge": _amount(_cost(Decimal(row["rate"]), progress.delivered)),
            "start_count": str(row["start_count"]),
            "status": progress.status,
            "remains": str(row["quantity"] - progress.delivered),
            "currency": CURRENCY,
        }
        if units:
            answer["units"] = [unit_id(row["id"], n) for n in range(1, progress.delivered + 1)]
        sample = self._sample_of(row, progress)
        if sample is not None:
            token = self._deliverable_token(row["id"])
            path = f"{DELIVERABLES_PATH}{row['id']}/{token}/{sample.filename(row['id'])}"
            answer["deliverables"] = [{"name": sample.name, "url": path}]
        return answer

    def _status(self, conn: sqlite3.Connection, fields: Mapping[str, str]) -> Any:
        units = fields.get("units", "").strip() in {"1", "true"}
        now = self.clock()
        if "orders" in fields:
            ids = _split_ids(fields["orders"])
            if not ids:
                return {"error": ERR_REQUEST}
            if len(ids) > MAX_IDS:
                return {"error": ERR_TOO_MANY}
            answer: dict[str, Any] = {}
            for text in ids:
                order_id = _parse_id(text)
                row = self._load(conn, order_id) if order_id is not None else None
                answer[text] = (
                    self._render(row, now, units=units) if row is not None else {"error": ERR_ORDER}
                )
            return answer
        if "order" in fields:
            order_id = _parse_id(fields["order"])
            row = self._load(conn, order_id) if order_id is not None else None
            if row is None:
                return {"error": ERR_ORDER}
            return self._render(row, now, units=units)
        return {"error": ERR_REQUEST}

    # -- deliverables --------------------------------------------------------------------------

    def _deliverable_token(self, order_id: int) -> str:
        message = f"deliverable:{order_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def _sample_of(self, row: sqlite3.Row, progress: _Progress) -> Sample | None:
        """Return the sample an order hands over: once final with work delivered, if any."""
        if progress.status not in ("Completed", "Partial"):
            return None
        return SAMPLES.get(self._services[row["service"]].sample)

    def deliverable(self, path: str) -> bytes | None:
        """Return the file at ``path`` (a status answer's deliverable url); None if none is."""
        parts = path.removeprefix(DELIVERABLES_PATH).split("/")
        if len(parts) != 3:
            return None
        text, token, filename = parts
        order_id = _parse_id(text)
        if order_id is None or not hmac.compare_digest(
            token.encode(), self._deliverable_token(order_id).encode()
        ):
            return None
        conn = self._connect()
        try:
            row = conn.execute(
                f"SELECT {_ORDER_COLUMNS}, link FROM orders WHERE id = ?", (order_id,)
            ).fetchone()
        finally:
            conn.close()
        if row is None:
            return None
        progress = _progress(row, self.clock())
        sample = self._sample_of(row, progress)
        if sample is None or filename != sample.filename(order_id):
            return None
        order = SampleOrder(
            order_id=order_id,
            link=row["link"],
            quantity=row["quantity"],
            delivered=progress.delivered,
            created_at=row["created_at"],
            finished_at=row["finish_at"],
        )
        return sample.render(order)

    # -- cancel --------------------------------------------------------------------------------

    def _cancel_one(self, conn: sqlite3.Connection, text: str) -> Any:
        order_id = _parse_id(text)
        with self._writing(conn):
            row = self._load(conn, order_id) if order_id is not None else None
            if row is None:
                return {"error": ERR_ORDER}
            now = self.clock()
            progress = _progress(row, now)
            if not self._services[row["service"]].cancel or progress.status in (
                "Completed", "Partial", "Canceled",
            ):  # fmt: skip
                return {"error": ERR_NOT_CANCELABLE}
            conn.execute(
                "UPDATE orders SET canceled_at = ?, finish_at = ?, final_delivered = ?"
                " WHERE id = ?",
                (now, now, progress.delivered, order_id),
            )
            return 1

    def _cancel(self, conn: sqlite3.Connection, fields: Mapping[str, str]) -> Any:
        ids = _split_ids(fields.get("orders", fields.get("order", "")))
        if not ids:
            return {"error": ERR_REQUEST}
        if len(ids) > MAX_IDS:
            return {"error": ERR_TOO_MANY}
        return [{"order": _id_echo(text), "cancel": self._cancel_one(conn, text)} for text in ids]

    # -- refill --------------------------------------------------------------------------------

    def _refill_one(self, conn: sqlite3.Connection, text: str) -> tuple[int | None, str | None]:
        order_id = _parse_id(text)
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = self._load(conn, order_id) if order_id is not None else None
            if row is None:
                conn.execute("ROLLBACK")
                return None, ERR_ORDER
            now = self.clock()
            if (
                not self._services[row["service"]].refill
                or _progress(row, now).status != "Completed"
            ):
                conn.execute("ROLLBACK")
                return None, ERR_NOT_REFILLABLE
            started = now + self.pending_seconds
            cursor = conn.execute(
                "INSERT INTO refills (order_id, created_at, started_at, done_at)"
                " VALUES (?, ?, ?, ?)",
                (order_id, now, started, started + 1.0),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return cursor.lastrowid, None

    def _refill(self, conn: sqlite3.Connection, fields: Mapping[str, str]) -> Any:
        if "orders" in fields:
            ids = _split_ids(fields["orders"])
            if not ids:
                return {"error": ERR_REQUEST}
            if len(ids) > MAX_IDS:
                return {"error": ERR_TOO_MANY}
            rows = []
            for text in ids:
                refill_id, error = self._refill_one(conn, text)
                rows.append({"order": _id_echo(text), "refill": refill_id or {"error": error}})
            return rows
        if "order" in fields:
            refill_id, error = self._refill_one(conn, fields["order"])
            return {"refill": str(refill_id)} if error is None else {"error": error}
        return {"error": ERR_REQUEST}

    def _refill_word(self, conn: sqlite3.Connection, text: str, now: float) -> str | None:
        refill_id = _parse_id(text)
        row = (
            conn.execute(
                "SELECT started_at, done_at FROM refills WHERE id = ?", (refill_id,)
            ).fetchone()
            if refill_id is not None
            else None
        )
        if row is None:
            return None
        if now >= row["done_at"]:
            return "Completed"
        return "In progress" if now >= row["started_at"] else "Pending"

    def _refill_status(self, conn: sqlite3.Connection, fields: Mapping[str, str]) -> Any:
        now = self.clock()
        if "refills" in fields:
            ids = _split_ids(fields["refills"])
            if not ids:
                return {"error": ERR_REQUEST}
            if len(ids) > MAX_IDS:
                return {"error": ERR_TOO_MANY}
            return [
                {"refill": _id_echo(text), "status": word or {"error": ERR_REFILL}}
                for text in ids
                for word in [self._refill_word(conn, text, now)]
            ]
        if "refill" in fields:
            word = self._refill_word(conn, fields["refill"], now)
            return {"status": word} if word is not None else {"error": ERR_REFILL}
        return {"error": ERR_REQUEST}

    # -- balance -------------------------------------------------------------------------------

    def _balance_amount(self, conn: sqlite3.Connection, now: float) -> Decimal:
        """Return the initial balance minus final charges and the price of running orders.

        Must run in a write transaction. The sum is kept in the ``spending`` row rather than
        added up over every order ever placed, which made each ``add`` slower as orders piled
        up: orders placed since the row was last brought up to date are added at their full
        price, and orders that have become final since (``settled = 0``, found through a
        partial index) give back the price of what they did not deliver. Each order's price
        and charge round on their own, as the provider bills them.
        """
        row = conn.execute("SELECT amount, through_order FROM spending WHERE id = 1").fetchone()
        spent, through = Decimal(row["amount"]), row["through_order"]
        for order in conn.execute(
            "SELECT id, rate, quantity FROM orders WHERE id > ? ORDER BY id", (through,)
        ):
            spent += _cost(Decimal(order["rate"]), order["quantity"])
            through = order["id"]
        final = "settled = 0 AND finish_at <= ?"
        for order in conn.execute(
            f"SELECT rate, quantity, final_delivered FROM orders WHERE {final}", (now,)
        ):
            rate = Decimal(order["rate"])
            spent -= _cost(rate, order["quantity"]) - _cost(rate, order["final_delivered"])
        conn.execute(f"UPDATE orders SET settled = 1 WHERE {final}", (now,))
        conn.execute(
            "UPDATE spending SET amount = ?, through_order = ? WHERE id = 1", (str(spent), through)
        )
        return self.initial_balance - spent

    def _balance(self, conn: sqlite3.Connection, fields: Mapping[str, str]) -> Any:
        with self._writing(conn):
            amount = self._balance_amount(conn, self.clock())
        return {"balance": _amount(amount), "currency": CURRENCY}


# -- HTTP ------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    provider: SandboxProvider

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut the kept-alive connections, so a stopped server answers nobody."""
        with self._open_lock:
            open_now = list(self._open)
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "DouDeskSandboxProvider/1.0"
    protocol_version = "HTTP/1.1"  # keep-alive: the platform's pooled client reuses connections
    # Headers and body go out in two writes: with Nagle's algorithm on, the body would wait for
    # the client's delayed ACK (40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True
    timeout = 30  # a stalled client must not hold a worker thread for ever

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    def _reply(self, code: int, payload: Any, *, close: bool = False) -> None:
        """Send ``payload`` as JSON; ``close`` ends the connection (a body was left unread)."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        self._send(code, body, "application/json; charset=utf-8", close=close)

    def _send(self, code: int, body: bytes, content_type: str, *, close: bool = False) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        if path == "/healthz":
            self._reply(200, {"status": "ok"})
        elif path == API_PATH:
            self._reply(405, {"error": "Method not allowed: use POST"})
        elif path.startswith(DELIVERABLES_PATH):
            self._deliver(path)
        else:
            self._reply(404, {"error": "Not found"})

    def _deliver(self, path: str) -> None:
        try:
            body = self.server.provider.deliverable(path)
        except Exception:
            logger.exception("sandbox provider failed on deliverable %r", path)
            self._reply(500, {"error": "Internal error"})
            return
        if body is None:
            self._reply(404, {"error": "Not found"})
        else:
            self._send(200, body, "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._reply(200, {"error": ERR_REQUEST}, close=True)
            return
        if length > MAX_BODY_BYTES:
            self._reply(413, {"error": "Request too large"}, close=True)
            return
        raw = self.rfile.read(length)
        if urlsplit(self.path).path.rstrip("/") != API_PATH:
            self._reply(404, {"error": "Not found"})
            return
        fields = self._fields(raw)
        if fields is None:
            self._reply(200, {"error": ERR_REQUEST})
            return
        try:
            answer = self.server.provider.handle(fields)
        except Exception:
            logger.exception("sandbox provider failed on action %r", fields.get("action"))
            self._reply(500, {"error": "Internal error"})
            return
        self._reply(200, answer)

    def _fields(self, raw: bytes) -> dict[str, str] | None:
        """Decode a form-encoded or JSON-object body into string fields (first value wins)."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if "json" in (self.headers.get("Content-Type") or ""):
            try:
                data = json.loads(text)
            except ValueError:
                return None
            if not isinstance(data, dict):
                return None
            return {str(k): "" if v is None else str(v) for k, v in data.items()}
        fields: dict[str, str] = {}
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
        except ValueError:
            return None
        for name, value in pairs:
            fields.setdefault(name, value)
        return fields


class ProviderServer:
    """The sandbox provider served over HTTP on a background thread.

    ``port=0`` binds an ephemeral port; :attr:`url` gives the API endpoint once started.
    Other keyword arguments are those of :class:`SandboxProvider`.
    """

    def __init__(
        self,
        *,
        db_path: str | os.PathLike[str],
        key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 100.0,
        partial_rate: float = 0.0,
        fail_rate: float = 0.0,
        seed: int | None = None,
        pending_seconds: float = 1.0,
        fail_after_seconds: float = 2.0,
        initial_balance: Decimal = Decimal("1000000"),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.port = port
        self.provider = SandboxProvider(
            db_path=db_path,
            key=key,
            speed=speed,
            partial_rate=partial_rate,
            fail_rate=fail_rate,
            seed=seed,
            pending_seconds=pending_seconds,
            fail_after_seconds=fail_after_seconds,
            initial_balance=initial_balance,
            clock=clock,
        )
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The API v2 endpoint, e.g. ``http://127.0.0.1:8765/api/v2`` (the bound port)."""
        return f"http://{self.host}:{self.port}{API_PATH}"

    @property
    def running(self) -> bool:
        """Whether the server is accepting requests."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Bind the socket and serve on a daemon thread; OSError if the port is taken."""
        if self._httpd is not None:
            raise RuntimeError("the sandbox provider is already started")
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.provider = self.provider
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-provider",
            daemon=True,
        )
        self._thread.start()
        logger.info("sandbox provider listening on %s", self.url)

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            httpd.close_connections()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> ProviderServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# -- command line ----------------------------------------------------------------------------


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction between 0 and 1")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def build_parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """Build the command-line parser, with defaults read from ``DOUDESK_SANDBOX_*`` variables."""
    env = os.environ if environ is None else environ
    data_dir = env.get("DOUDESK_DATA_DIR") or "var"
    parser = argparse.ArgumentParser(
        prog="python -m doudesk.sandbox.provider_server",
        description="DouDesk sandbox upstream provider (SMM API v2 over HTTP); not a real one.",
    )
    parser.add_argument("--host", default=env.get("DOUDESK_SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=env.get("DOUDESK_SANDBOX_PORT", "8765"))
    parser.add_argument(
        "--db",
        default=env.get("DOUDESK_SANDBOX_DB") or str(Path(data_dir) / "sandbox_provider.sqlite3"),
        help="SQLite file holding the provider's orders (created if missing)",
    )
    parser.add_argument(
        "--key",
        default=env.get("DOUDESK_SANDBOX_KEY"),
        required=not env.get("DOUDESK_SANDBOX_KEY"),
        help="API key clients must send (default: $DOUDESK_SANDBOX_KEY)",
    )
    parser.add_argument(
        "--speed",
        type=_positive,
        default=env.get("DOUDESK_SANDBOX_SPEED", "100"),
        help="units delivered per second per order",
    )
    parser.add_argument(
        "--partial-rate", type=_rate, default=env.get("DOUDESK_SANDBOX_PARTIAL_RATE", "0")
    )
    parser.add_argument(
        "--fail-rate", type=_rate, default=env.get("DOUDESK_SANDBOX_FAIL_RATE", "0")
    )
    parser.add_argument("--seed", type=int, default=env.get("DOUDESK_SANDBOX_SEED") or None)
    parser.add_argument("--pending-seconds", type=_non_negative, default="1.0")
    parser.add_argument("--fail-after-seconds", type=_non_negative, default="2.0")
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox provider in the foreground until SIGINT or SIGTERM; return an exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        server = ProviderServer(
            db_path=args.db,
            key=args.key,
            host=args.host,
            port=args.port,
            speed=args.speed,
            partial_rate=args.partial_rate,
            fail_rate=args.fail_rate,
            seed=args.seed,
            pending_seconds=args.pending_seconds,
            fail_after_seconds=args.fail_after_seconds,
        )
        server.start()
    except (OSError, ValueError, sqlite3.Error) as exc:
        logger.error("sandbox provider cannot start: %s", exc)
        return 1
    stopping = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.set())
    try:
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        logger.info("sandbox provider stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
