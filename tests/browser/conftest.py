"""Browser fixtures: Debian's Chromium through Playwright, eager tasks, a sandbox provider.

Design overview
---------------
The browser test drives the real site in a real Chromium against pytest-django's ``live_server``
(transactional database, so the server thread sees what the test writes and the other way round).

* ``browser`` launches ``/usr/bin/chromium`` (never ``playwright install``); without Chromium or
  Playwright the test is skipped with the reason, it does not fail.
* ``eager_tasks`` runs Celery tasks in-process (``task_always_eager``) for the test and restores
  the app's configuration afterwards. Tasks enqueued after commit then run inside the live
  server's request thread: the sandbox gateway's callback POSTs back to the live server over HTTP,
  and an order's dispatch reaches the sandbox provider over loopback.
* ``sandbox_provider`` starts the sandbox provider on an ephemeral port, fast, and points the
  platform's settings at it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from doudesk.sandbox.provider_server import ProviderServer

CHROMIUM = os.environ.get("DOUDESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PROVIDER_KEY = "browser-sandbox-provider-key"


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    """Cheap password hashing: the browser test exercises pages, not PBKDF2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def _playwright() -> Iterator[Any]:
    # Function scope: the sync API keeps an event loop running in this thread while it lives,
    # which must not leak into the rest of the suite.
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: install it with "
            "`apt-get install -y chromium fonts-noto-cjk` (./test does)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed in this environment")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def browser(_playwright: Any) -> Iterator[Any]:
    """Launch a headless Debian Chromium."""
    try:
        chromium = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:  # noqa: BLE001 - any launch failure means "no usable browser"
        pytest.skip(f"Chromium at {CHROMIUM} could not be launched: {exc}")
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """Open a tab in a fresh browser context (own cookies) with a desktop viewport."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()
    # Playwright's sync API leaves its event loop marked as running in this thread, so Django keeps
    # the test's database connections in context-local storage that its own teardown, run after
    # Playwright stops, no longer sees: closed here, or PostgreSQL refuses to drop the test
    # database ("being accessed by other users").
    connections.close_all()


@pytest.fixture
def log_in(live_server: Any) -> Callable[[Any, Any], None]:
    """Return ``log_in(tab, customer)``: log in through the log-in page (the factory password)."""
    from playwright.sync_api import expect

    def go(tab: Any, customer: Any) -> None:
        tab.goto(live_server.url + "/login/")
        tab.get_by_label("邮箱或手机号").fill(customer.user.username)
        tab.get_by_label("密码").fill("correct-horse-9")
        tab.locator("form").get_by_role("button", name="登录").click()
        expect(tab).not_to_have_url(re.compile(r"/login/"))

    return go


@pytest.fixture
def eager_tasks(settings: Any) -> Iterator[None]:
    """Run Celery tasks in-process for this test; restore the app's configuration after."""
    from doudesk.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


@pytest.fixture
def sandbox_provider(settings: Any, tmp_path: Path) -> Iterator[ProviderServer]:
    """Start the sandbox provider on an ephemeral loopback port, delivering fast."""
    server = ProviderServer(
        db_path=tmp_path / "sandbox_provider.sqlite3",
        key=PROVIDER_KEY,
        speed=20_000.0,
        pending_seconds=0.2,
    )
    server.start()
    settings.SANDBOX_PROVIDER_HOST = server.host
    settings.SANDBOX_PROVIDER_PORT = server.port
    settings.SANDBOX_PROVIDER_KEY = PROVIDER_KEY
    yield server
    server.stop()
