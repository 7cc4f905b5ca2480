"""Shared fixtures: seeded catalogue, verified and funded customers, API clients, row counts."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from django.test import Client

from factories import (
    FakeAdapter,
    fund_customer,
    make_verified_customer,
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def seeded(db) -> None:
    """Return the sandbox demo catalogue."""
    from doudesk.catalog.seed import seed_demo

    seed_demo()


@pytest.fixture
def customer(seeded):
    """Return a verified individual customer with ¥1,000."""
    customer = make_verified_customer()
    fund_customer(customer, 100_000)
    return customer


@pytest.fixture
def other_customer(seeded):
    """Return a second verified, funded customer (for isolation tests)."""
    customer = make_verified_customer()
    fund_customer(customer, 100_000)
    return customer


@pytest.fixture
def api_key_for() -> Callable:
    """Create an API key for a customer; returns the plain key."""
    from doudesk.accounts.services import api_key_create

    def make(customer) -> str:
        return api_key_create(customer=customer)[1]

    return make


@pytest.fixture
def api(customer, api_key_for) -> Client:
    """Return a test client authenticated with the customer's API key."""
    return Client(headers={"Authorization": f"Bearer {api_key_for(customer)}"})


@pytest.fixture
def web(customer) -> Client:
    """Return a browser-like client with the verified, funded customer logged in."""
    client = Client()
    client.force_login(customer.user)
    return client


@pytest.fixture
def fake_adapter(monkeypatch) -> FakeAdapter:
    """Replace provider adapters with a scripted in-memory one (unit tests of the order flow)."""
    adapter = FakeAdapter()
    monkeypatch.setattr("doudesk.orders.services.adapter_for", lambda provider: adapter)
    return adapter


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """Hash test passwords cheaply; the suites exercise the API, not PBKDF2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sid(seeded) -> Callable[[str], int]:
    """Look up a seeded service module's id by its code (ids differ between databases)."""
    from doudesk.catalog.models import ServiceModule

    ids = dict(ServiceModule.objects.values_list("code", "pk"))
    return ids.__getitem__


@pytest.fixture
def counts() -> Callable[..., dict[str, int]]:
    """Snapshot of the rows a write would add, plus the customers' balances."""
    from doudesk.orders.models import IdempotencyRecord, Order, OrderEvent
    from doudesk.pricing.models import Quote
    from doudesk.wallet.models import JournalEntry, Leg, TopUp
    from doudesk.wallet.selectors import wallet_balances

    def snapshot(*customers, quotes: bool = True) -> dict[str, int]:
        rows = {
            "orders": Order.objects.count(),
            "events": OrderEvent.objects.count(),
            "entries": JournalEntry.objects.count(),
            "legs": Leg.objects.count(),
            "topups": TopUp.objects.count(),
            "idempotency": IdempotencyRecord.objects.count(),
        }
        if quotes:
            rows["quotes"] = Quote.objects.count()
        for i, customer in enumerate(customers):
            rows[f"balance{i}"] = wallet_balances(customer=customer)["available_fen"]
            rows[f"held{i}"] = wallet_balances(customer=customer)["held_fen"]
        return rows

    return snapshot


def pytest_collection_modifyitems(config, items) -> None:
    """Run end-to-end and browser tests (real processes, committed data) after the fast ones."""
    items.sort(
        key=lambda item: bool(item.get_closest_marker("e2e") or item.get_closest_marker("browser"))
    )


@pytest.fixture
def upload_disk_writes(monkeypatch, settings, tmp_path) -> list[int]:
    """Send every upload to a temporary file, as large ones go; returns the sizes they reached.

    Each entry is how many bytes Django's temporary-file handler had written to one upload's
    file after a chunk; the temporary files live in ``tmp_path / "upload-tmp"``.
    """
    from django.core.files.uploadhandler import TemporaryFileUploadHandler

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # no upload is kept in memory instead
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "upload-tmp")
    (tmp_path / "upload-tmp").mkdir()
    written: list[int] = []
    receive = TemporaryFileUploadHandler.receive_data_chunk

    def receive_and_note(handler, raw_data, start):
        receive(handler, raw_data, start)
        written.append(handler.file.tell())

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", receive_and_note)
    return written
