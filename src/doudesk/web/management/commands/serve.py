"""``doudesk serve``: migrate, seed once, then run web, worker, beat and sandbox provider."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from doudesk.catalog.seed import seed_demo
from doudesk.pricing.seed import pricing_seed_demo
from doudesk.pricing.services import pricing_publish_all
from doudesk.processes import die_with_parent

STOP_GRACE_SECONDS = 10
#: The order children stop in: nothing new comes in, then nothing new is sent, then the
#: worker drains, and the sandbox provider it calls goes last.
STOP_ORDER = ("web", "beat", "worker", "sandbox-provider")
#: Seconds uvicorn lets requests finish on a stop. Live pages hold their event streams open:
#: they are cut after this (browsers reconnect) instead of keeping the server up for minutes.
WEB_GRACE_SECONDS = 3


def _stop_rank(name: str) -> int:
    return STOP_ORDER.index(name) if name in STOP_ORDER else len(STOP_ORDER)


def _int_in_range(what: str, low: int, high: int) -> Callable[[str], int]:
    """Return an argument type: a whole number from ``low`` to ``high``, else a clear refusal."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {what}: {raw!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be {low}-{high} (got {value})")
        return value

    return parse


_port = _int_in_range("port", 1, 65535)
_processes = _int_in_range("number of processes", 1, 64)


def _host(raw: str) -> str:
    """Return a host to listen on; an empty one would silently mean every interface."""
    host = raw.strip()
    if not host:
        raise argparse.ArgumentTypeError("host must not be empty (0.0.0.0 for every interface)")
    return host


def _listen_problem(host: str, port: int) -> str:
    """Return why a server could not listen on ``host:port`` (port taken...), or ""."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return ""


class Command(BaseCommand):
    help = "Run the whole platform in one command (Ctrl-C stops everything)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", type=_host, default="127.0.0.1")
        parser.add_argument("--port", type=_port, default=8000)
        parser.add_argument("--concurrency", type=int, default=4, help="worker threads")
        parser.add_argument(
            "--web-workers",
            type=_processes,
            default=settings.WEB_WORKERS,
            help="uvicorn processes serving the site (default: DOUDESK_WEB_WORKERS, or one per"
            " core up to 4)",
        )

    def handle(self, *args, **options) -> None:
        port = options["port"]
        if settings.SANDBOX and port == settings.SANDBOX_PROVIDER_PORT:
            raise CommandError(
                f"端口 {port} 已由沙盒服务商使用（DOUDESK_SANDBOX_PORT），请换一个端口 / "
                f"port {port} is the sandbox provider's (DOUDESK_SANDBOX_PORT):"
                " choose another --port or move the sandbox"
            )
        problem = _listen_problem(options["host"], port)
        if problem:
            raise CommandError(
                f"无法在 {options['host']}:{port} 上监听（{problem}），请换一个端口或地址 / "
                f"cannot listen on {options['host']}:{port} ({problem}): choose another --port"
                " or --host"
            )
        sandbox = (settings.SANDBOX_PROVIDER_HOST, settings.SANDBOX_PROVIDER_PORT)
        problem = _listen_problem(*sandbox) if settings.SANDBOX else ""
        if problem:
            raise CommandError(
                f"沙盒服务商无法在 {sandbox[0]}:{sandbox[1]} 上监听（{problem}），请用"
                f" DOUDESK_SANDBOX_PORT 换一个端口 / the sandbox provider cannot listen on"
                f" {sandbox[0]}:{sandbox[1]} ({problem}): choose another DOUDESK_SANDBOX_PORT"
            )
        call_command("migrate", interactive=False, verbosity=0)
        if settings.SANDBOX and seed_demo():
            self.stdout.write("已写入沙盒演示目录 / seeded the sandbox demo catalogue")
        if settings.SANDBOX:
            pricing_seed_demo()  # demo databases seeded before dynamic pricing existed
        pricing_publish_all(min_age_seconds=settings.PRICING_PUBLISH_INTERVAL / 2)
        processes = self._start(options)
        url = f"http://{options['host']}:{options['port']}"
        self.stdout.write(f"DouDesk 已启动 / running at {url}  (Ctrl-C 停止 / to stop)")
        sys.stdout.flush()
        stopping = False

        def _stop(signum: int, _frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        code = 0
        while not stopping:
            for name, proc in processes.items():
                if proc.poll() is not None:
                    self.stderr.write(f"{name} exited with {proc.returncode}; stopping")
                    stopping, code = True, 1
                    break
            time.sleep(0.5)
        self._stop_all(processes)
        self.stdout.write("DouDesk 已停止 / stopped")
        if code:
            sys.exit(code)

    def _start(self, options: dict) -> dict[str, subprocess.Popen]:
        python = sys.executable
        data = settings.DATA_DIR
        # The worker calls the site back (payment notifications) at its own address.
        own_host = "127.0.0.1" if options["host"] in ("0.0.0.0", "::", "") else options["host"]
        own_host = f"[{own_host}]" if ":" in own_host else own_host
        env = {
            "DOUDESK_SITE_URL": f"http://{own_host}:{options['port']}",
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "doudesk.settings",
        }
        commands: dict[str, list[str]] = {}
        if settings.SANDBOX:
            commands["sandbox-provider"] = [
                python, "-m", "doudesk.sandbox.provider_server",
                "--host", settings.SANDBOX_PROVIDER_HOST,
                "--port", str(settings.SANDBOX_PROVIDER_PORT),
                "--db", str(data / "sandbox_provider.sqlite3"),
                "--key", settings.SANDBOX_PROVIDER_KEY,
                "--speed", str(settings.SANDBOX_SPEED),
                "--partial-rate", str(settings.SANDBOX_PARTIAL_RATE),
                "--fail-rate", str(settings.SANDBOX_FAIL_RATE),
            ]  # fmt: skip
        commands["worker"] = [
            python, "-m", "celery", "-A", "doudesk", "worker", "--pool", "threads",
            "--concurrency", str(options["concurrency"]), "--loglevel", "WARNING",
            "--hostname", f"worker-{os.getpid()}@%h",
        ]  # fmt: skip
        commands["beat"] = [
            python, "-m", "celery", "-A", "doudesk", "beat", "--loglevel", "WARNING",
            "--schedule", str(data / "celerybeat-schedule"),
        ]  # fmt: skip
        commands["web"] = [
            python, "-m", "uvicorn", "doudesk.asgi:application",
            "--host", options["host"], "--port", str(options["port"]), "--log-level", "warning",
            "--workers", str(options["web_workers"]),
            "--timeout-graceful-shutdown", str(WEB_GRACE_SECONDS),
        ]  # fmt: skip
        # Each child gets its own process group so a terminal's Ctrl-C reaches only us, and we
        # stop them in order.
        return {
            name: subprocess.Popen(cmd, env=env, start_new_session=True, preexec_fn=die_with_parent)
            for name, cmd in commands.items()
        }

    def _stop_all(self, processes: dict[str, subprocess.Popen]) -> None:
        """Stop the children one after another, in :data:`STOP_ORDER`, each within its grace.

        The web stops taking orders first; the worker finishes the provider calls and tasks it
        holds (handing unstarted ones back to the broker) while the sandbox provider still
        answers: stopped together, a placement cut mid-call left an order awaiting a check.
        """
        deadline = time.monotonic() + 2 * STOP_GRACE_SECONDS
        for name in sorted(processes, key=_stop_rank):
            proc = processes[name]
            if proc.poll() is None:
                proc.terminate()
            grace = min(STOP_GRACE_SECONDS, deadline - time.monotonic())
            try:
                proc.wait(timeout=max(0.1, grace))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
