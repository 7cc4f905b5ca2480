"""The command-line contracts: serve, demo-account and production mode."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

DOUDESK = [sys.executable, "-m", "doudesk.cli"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DOUDESK_MODE"}
    }
    env.update({"DOUDESK_DATA_DIR": str(tmp_path), **extra})
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat_fields(pid: int | str) -> list[str] | None:
    """Return the fields of ``/proc/<pid>/stat`` after the command name (state first), or None."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None  # gone


def _descendants(pid: int) -> dict[int, str]:
    """Return the processes below ``pid`` (Linux /proc), with their command lines."""
    parents = {
        int(entry.name): int(fields[1])
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and (fields := _stat_fields(entry.name)) is not None
    }
    below = {pid}
    while more := {child for child, parent in parents.items() if parent in below} - below:
        below |= more
    lines = {}
    for child in below - {pid}:
        try:
            lines[child] = (Path("/proc") / str(child) / "cmdline").read_bytes()
        except OSError:
            continue
    return {
        child: line.replace(b"\0", b" ").decode(errors="replace") for child, line in lines.items()
    }


def _still_running(pids: set[int], within: float) -> set[int]:
    """Return those of ``pids`` still running (not zombies) after waiting up to ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        running = {pid for pid in pids if (fields := _stat_fields(pid)) and fields[0] != "Z"}
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.3)


def _wait_healthy(port: int) -> httpx.Response | None:
    deadline = time.monotonic() + 90
    health = None
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            if health.status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return health


def _check(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``doudesk check`` (with ``args``) in an environment with ``extra`` set."""
    return subprocess.run(
        [*DOUDESK, "check", *args], env=_env(tmp_path, **extra),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_production_mode_refuses_to_start_without_a_secret_key(tmp_path):
    result = _check(tmp_path, DOUDESK_MODE="production")
    assert result.returncode != 0
    assert "DOUDESK_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DOUDESK_MODE", "prod"),
        ("DOUDESK_SANDBOX_PARTIAL_RATE", "x"),
        ("DOUDESK_SANDBOX_FAIL_RATE", "2"),
        ("DOUDESK_WEB_WORKERS", "0"),
    ],
)
def test_a_bad_setting_is_one_clear_line_not_a_traceback(tmp_path, name, value):
    result = _check(tmp_path, **{name: value})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert name in result.stderr
    assert repr(value) in result.stderr


@pytest.mark.parametrize("key", ["short-secret", "ab" * 40])
def test_production_refuses_a_weak_secret_key_without_showing_it(tmp_path, key):
    # It was accepted; only check --deploy warned.
    result = _check(tmp_path, DOUDESK_MODE="production", DOUDESK_SECRET_KEY=key)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "at least 50 characters" in result.stderr
    assert key not in result.stderr


def test_a_field_key_that_is_no_fernet_key_is_refused_without_showing_it(tmp_path):
    # It used to be taken, and every encryption then failed with a 500.
    result = _check(tmp_path, DOUDESK_FIELD_KEY="not-a-key-secret")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "DOUDESK_FIELD_KEY" in result.stderr
    assert "not-a-key-secret" not in result.stderr


def test_deploy_check_warns_when_personal_data_hangs_on_the_secret_key(tmp_path):
    from cryptography.fernet import Fernet

    production = {"DOUDESK_MODE": "production", "DOUDESK_SECRET_KEY": "s3cr-k3y-" * 6}
    unset, given = (
        _check(tmp_path, "--deploy", **production, **key)
        for key in ({}, {"DOUDESK_FIELD_KEY": Fernet.generate_key().decode()})
    )
    assert "doudesk.W001" in unset.stderr + unset.stdout
    assert "DOUDESK_FIELD_KEY" in unset.stderr + unset.stdout
    assert "doudesk.W001" not in given.stderr + given.stdout


def test_deploy_check_names_each_production_setting_left_unset(tmp_path):
    production = {"DOUDESK_MODE": "production", "DOUDESK_SECRET_KEY": "s3cr-k3y-" * 6}
    unset = _check(tmp_path, "--deploy", **production)
    warned = {w for w in re.findall(r"doudesk\.W\d{3}", unset.stderr + unset.stdout)}
    assert warned == {f"doudesk.W00{n}" for n in (1, 3, 4, 5, 7, 8, 9)}
    sandbox = _check(tmp_path, "--deploy")
    assert set(re.findall(r"doudesk\.W\d{3}", sandbox.stderr + sandbox.stdout)) == {"doudesk.W002"}


def _serve_refusal(tmp_path: Path, *args: str, **extra: str) -> str:
    """Run ``doudesk serve`` expecting a refusal before anything starts; return its stderr."""
    result = subprocess.run(
        [*DOUDESK, "serve", *args], env=_env(tmp_path, **extra),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert not (tmp_path / "doudesk.sqlite3").exists()
    return result.stderr


def _setting(tmp_path: Path, name: str, **extra: str) -> str:
    """Return ``repr`` of one setting as a process with this environment sees it."""
    show = f"from django.conf import settings; print(repr(settings.{name}))"
    return subprocess.run(
        [*DOUDESK, "shell", "-c", show], env=_env(tmp_path, **extra),
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip


@pytest.mark.parametrize("port", ["99999", "-1", "0"])
def test_serve_refuses_a_port_out_of_range_before_starting_anything(tmp_path, port):
    assert "port must be 1-65535" in _serve_refusal(tmp_path, f"--port={port}")


@pytest.mark.parametrize("count", ["0", "65", "two"])
def test_serve_refuses_a_number_of_web_processes_out_of_range_before_starting_anything(
    tmp_path, count
):
    refusal = _serve_refusal(tmp_path, f"--web-workers={count}")
    assert "--web-workers" in refusal
    assert "number of processes" in refusal


def test_web_processes_default_to_one_per_core_up_to_four(tmp_path):
    assert _setting(tmp_path, "WEB_WORKERS") == str(min(len(os.sched_getaffinity(0)), 4))
    assert _setting(tmp_path, "WEB_WORKERS", DOUDESK_WEB_WORKERS="3") == "3"


def test_serve_refuses_an_empty_host_which_would_listen_everywhere(tmp_path):
    assert "host must not be empty" in _serve_refusal(tmp_path, "--host", " ")


def test_serve_refuses_a_port_in_use_before_saying_it_runs(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*DOUDESK, "serve", "--port", str(port)], env=_env(tmp_path),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "running at" not in result.stdout
    assert not (tmp_path / "doudesk.sqlite3").exists()


def test_serve_refuses_a_sandbox_provider_port_in_use_before_saying_it_runs(tmp_path):
    # A second serve on its own --port said it was running, then died on the provider's port.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        sandbox_port = taken.getsockname()[1]
        env = {**_env(tmp_path), "DOUDESK_SANDBOX_PORT": str(sandbox_port)}
        result = subprocess.run(
            [*DOUDESK, "serve", "--port", str(_free_port())], env=env,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode != 0
    assert f"the sandbox provider cannot listen on 127.0.0.1:{sandbox_port}" in result.stderr
    assert "DOUDESK_SANDBOX_PORT" in result.stderr
    assert "running at" not in result.stdout
    assert not (tmp_path / "doudesk.sqlite3").exists()


def test_serve_refuses_the_sandbox_providers_port_before_starting_anything(tmp_path):
    refusal = _serve_refusal(tmp_path, "--port", "8123", DOUDESK_SANDBOX_PORT="8123")
    assert "sandbox provider's (DOUDESK_SANDBOX_PORT)" in refusal
    assert "沙盒服务商" in refusal


def test_production_answers_only_given_host_names_and_shows_no_sample_filing_or_address(
    tmp_path,
):
    production = {"DOUDESK_MODE": "production", "DOUDESK_SECRET_KEY": "s3cr-k3y-" * 6}

    def setting(name: str, **extra: str) -> str:
        return _setting(tmp_path, name, **production, **extra)

    assert setting("ALLOWED_HOSTS") == "['127.0.0.1', 'localhost', '[::1]']"
    hosts = setting("ALLOWED_HOSTS", DOUDESK_ALLOWED_HOSTS="shop.example.cn")
    assert hosts == "['shop.example.cn']"
    assert setting("ICP_FILING") == "''"
    assert setting("SUPPORT_EMAIL") == "''"
    assert setting("SUPPORT_EMAIL", DOUDESK_SUPPORT_EMAIL="help@shop.example.cn") == (
        "'help@shop.example.cn'"
    )
    assert setting("SESSION_COOKIE_SECURE") == setting("CSRF_COOKIE_SECURE") == "False"
    assert setting("SESSION_COOKIE_SECURE", DOUDESK_HTTPS="1") == "True"  # behind TLS
    assert setting("SECURE_PROXY_SSL_HEADER", DOUDESK_HTTPS="1") == (
        "('HTTP_X_FORWARDED_PROTO', 'https')"
    )
    assert setting("SECURE_HSTS_SECONDS") == "0"  # not without HTTPS
    assert setting("SECURE_HSTS_SECONDS", DOUDESK_HTTPS="1") == "31536000"
    assert setting("SECURE_HSTS_SECONDS", DOUDESK_HTTPS="1", DOUDESK_HSTS_SECONDS="0") == "0"


def test_help_lists_the_commands_by_their_doudesk_names(tmp_path):
    listing = subprocess.run(
        [*DOUDESK, "--help"], env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert listing.returncode == 0
    commands = {line.strip() for line in listing.stdout.splitlines()}
    assert {"demo-account", "seed-demo", "serve", "verify"} <= commands
    assert not {"demo_account", "seed_demo"} & commands
    for args in (["help", "demo-account"], ["demo-account", "--help"]):
        usage = subprocess.run(
            [*DOUDESK, *args], env=_env(tmp_path), capture_output=True, text=True, timeout=60
        )
        assert usage.returncode == 0
        assert usage.stdout.startswith("usage: doudesk demo-account")


def test_production_mode_has_no_demo_account(tmp_path):
    env = _env(tmp_path, DOUDESK_MODE="production", DOUDESK_SECRET_KEY="s3cr-k3y-" * 6)
    subprocess.run([*DOUDESK, "migrate", "-v0"], env=env, check=True, timeout=120)
    result = subprocess.run(
        [*DOUDESK, "demo-account"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "sandbox" in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("balance", "message"),
    [
        ("1.234", "two decimals"),
        ("99999999999999999999", "between"),
        ("1E+999999999", "between"),
        ("-5", "between"),
        ("abc", "amount in yuan"),
        ("NaN", "amount in yuan"),
    ],
)
def test_demo_account_refuses_a_balance_it_cannot_hold_exactly(balance, message):
    from django.core.management import CommandError, call_command

    from doudesk.accounts.models import Customer

    with pytest.raises(CommandError, match=message):
        call_command("demo_account", "--balance", balance)
    assert not Customer.objects.exists()


def test_demo_account_prints_one_json_line_with_a_working_key(tmp_path):
    env = _env(tmp_path)  # a fresh data directory: it used to fail with "no such table"
    result = subprocess.run(
        [*DOUDESK, "demo-account", "--balance", "250"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    account = json.loads(lines[0])
    assert set(account) == {"email", "password", "api_key"}
    check = (
        "from doudesk.accounts.services import api_key_authenticate as a;"
        "from doudesk.wallet.selectors import wallet_balances as w;"
        f"c=a({account['api_key']!r});print(w(customer=c)['available_fen'])"
    )
    balance = subprocess.run(
        [*DOUDESK, "shell", "-c", check], env=env, capture_output=True, text=True, timeout=60
    )
    assert balance.stdout.strip().splitlines()[-1] == "25000"


@pytest.mark.e2e
def test_serve_runs_everything_and_stops_cleanly_on_ctrl_c(tmp_path):
    port, sandbox_port = _free_port(), _free_port()
    env = _env(tmp_path, DOUDESK_SANDBOX_PORT=str(sandbox_port), DOUDESK_WEB_WORKERS="2")
    proc = subprocess.Popen(
        [*DOUDESK, "serve", "--port", str(port)], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        health = _wait_healthy(port)
        assert health is not None
        assert health.json() == {"status": "ok"}
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert "抖音业务自助下单平台" in home.text
        assert (
            httpx.get(
                f"http://127.0.0.1:{port}/static/vendor/htmx/htmx.min.js", timeout=5
            ).status_code
            == 200
        )
        services = httpx.get(f"http://127.0.0.1:{port}/api/v1/services", timeout=5).json()
        assert len(services) >= 12
        children = _descendants(proc.pid)
        web_processes = [line for line in children.values() if "spawn_main" in line]
        assert len(web_processes) == 2, children  # uvicorn's, one per DOUDESK_WEB_WORKERS
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "stopped" in output
    assert not _still_running(set(children), within=5)
    for listened in (port, sandbox_port):  # every child released its port
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", listened)) != 0


@pytest.mark.e2e
def test_serve_killed_outright_leaves_no_process_behind(tmp_path):
    port, sandbox_port = _free_port(), _free_port()
    env = _env(tmp_path, DOUDESK_SANDBOX_PORT=str(sandbox_port), DOUDESK_WEB_WORKERS="2")
    proc = subprocess.Popen(
        [*DOUDESK, "serve", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    health = _wait_healthy(port)
    assert health is not None
    assert health.status_code == 200
    children = _descendants(proc.pid)
    assert len(children) >= 6, children  # worker, beat, sandbox provider, uvicorn and its two
    proc.kill()
    proc.wait(timeout=10)
    assert not _still_running(set(children), within=15)
    for listened in (port, sandbox_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", listened)) != 0


class _Child:
    """A stand-in child process that records when it is told to stop and when it has."""

    def __init__(self, name: str, log: list[tuple[str, str]]) -> None:
        self.name, self.log, self.alive = name, log, True

    def poll(self) -> int | None:
        return None if self.alive else 0

    def terminate(self) -> None:
        self.log.append(("terminate", self.name))

    def wait(self, timeout: float | None = None) -> int:
        if self.alive:
            self.log.append(("exited", self.name))
            self.alive = False
        return 0

    def kill(self) -> None:
        self.log.append(("kill", self.name))


def test_serve_stops_the_worker_before_the_provider_it_calls():
    # Stopped all at once, the sandbox provider went while the worker was placing an order.
    from doudesk.web.management.commands.serve import Command

    log: list[tuple[str, str]] = []
    children = {name: _Child(name, log) for name in ("sandbox-provider", "worker", "beat", "web")}
    Command()._stop_all(children)  # type: ignore[arg-type]
    assert log == [
        (step, name)
        for name in ("web", "beat", "worker", "sandbox-provider")
        for step in ("terminate", "exited")
    ]
