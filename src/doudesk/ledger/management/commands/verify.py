"""``doudesk verify``: check evidence bundles and checkpoint consistency offline.

Two modes, both needing only files and the log's public key (no network, no database)::

    doudesk verify BUNDLE.json --public-key KEY
    doudesk verify --consistency OLD NEW [--proof PROOF.json] --public-key KEY

``KEY`` is the verifier key string (``GET /api/v1/ledger/public-key``) or a file holding it.
``OLD`` and ``NEW`` are signed checkpoints as served by ``GET /api/v1/ledger/checkpoint`` (the
note text, or its JSON form); ``PROOF.json`` is the answer of
``GET /api/v1/ledger/proof/consistency?first=<old size>&second=<new size>``. The proof may be
left out only when nothing needs proving (equal sizes or an empty old tree).

The verdict is printed in Chinese or English (``--lang``; default from ``LC_ALL``/``LANG``,
else Chinese). Exit status: 0 verified, 1 verification failed, 2 unusable input.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doudesk.ledger.verify import (
    BundleFormatError,
    ConsistencyResult,
    strict_json_loads,
    verify_bundle,
    verify_consistency_checkpoints,
)

EXIT_FAILED = 1
EXIT_USAGE = 2


class VerificationFailed(CommandError):
    """Verification failed; the verdict and its reasons are already on stdout."""


def default_language() -> str:
    """``en`` when the locale environment asks for English, else ``zh``."""
    for var in ("LC_ALL", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "en" if value.lower().startswith("en") else "zh"
    return "zh"


class Command(BaseCommand):
    help = (
        "Verify an order's evidence bundle (BUNDLE.json) or the consistency of two signed "
        "checkpoints (--consistency OLD NEW --proof PROOF.json), offline, with the log's "
        "public key. 离线验证订单存证包或两个检查点之间的一致性。"
    )
    requires_system_checks: list[str] = []

    def execute(self, *args: Any, **options: Any) -> str | None:
        """Run the command; from the command line a failed verdict exits 1 without an echo.

        Django's command line prints every ``CommandError`` on stderr, which repeated the
        verdict just printed; ``call_command`` still raises it (with ``returncode`` 1).
        """
        try:
            return super().execute(*args, **options)
        except VerificationFailed as exc:
            if getattr(self, "_called_from_command_line", False):  # set by run_from_argv
                sys.exit(exc.returncode)
            raise

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("bundle", nargs="?", metavar="BUNDLE.json", help="evidence bundle")
        parser.add_argument(
            "--public-key",
            required=True,
            metavar="KEY",
            help="verifier key string, or a file holding it",
        )
        parser.add_argument(
            "--consistency",
            nargs=2,
            metavar=("OLD", "NEW"),
            help="two signed checkpoint files (older first)",
        )
        parser.add_argument(
            "--proof", metavar="PROOF.json", help="answer of /api/v1/ledger/proof/consistency"
        )
        parser.add_argument("--lang", choices=["zh", "en"], default=None, help="verdict language")

    def handle(self, *args: Any, **options: Any) -> None:
        lang = options["lang"] or default_language()
        self.language = "en" if lang == "en" else "zh-hans"
        key = self._key(options["public_key"])
        if options["consistency"]:
            if options["bundle"]:
                raise self._usage(
                    "给出 --consistency 时不能同时给出证据包",
                    "give either a bundle or --consistency, not both",
                )
            self._consistency(*options["consistency"], options["proof"], key)
        elif options["bundle"]:
            self._bundle(options["bundle"], key)
        else:
            raise self._usage(
                "请给出证据包文件，或 --consistency OLD NEW",
                "give a bundle file, or --consistency OLD NEW",
            )

    # --- helpers ------------------------------------------------------------------------

    def _say(self, zh: str, en: str) -> str:
        return en if self.language == "en" else zh

    def _usage(self, zh: str, en: str) -> CommandError:
        return CommandError(self._say(zh, en), returncode=EXIT_USAGE)

    def _read(self, name: str) -> str:
        try:
            return Path(name).read_bytes().decode("utf-8")
        except OSError as exc:
            raise self._usage(
                f"无法读取文件 {name}：{exc.strerror}", f"cannot read {name}: {exc.strerror}"
            ) from None
        except UnicodeDecodeError:
            raise self._usage(f"文件 {name} 不是 UTF-8 文本", f"{name} is not UTF-8 text") from None

    def _key(self, value: str) -> str:
        """Return the key string itself, or the contents of the file it names."""
        path = Path(value)
        if "+" not in value or path.is_file():
            return self._read(value).strip()
        return value.strip()

    def _checkpoint_text(self, name: str) -> str:
        """Read a signed checkpoint file: the note itself or the endpoint's JSON form."""
        text = self._read(name)
        if text.lstrip().startswith("{"):
            try:
                data = strict_json_loads(text)
            except BundleFormatError as exc:
                raise self._usage(
                    f"{name} 不是有效的 JSON：{exc}", f"{name} is not valid JSON: {exc}"
                ) from None
            note = data.get("note") if isinstance(data, dict) else None
            if not isinstance(note, str):
                raise self._usage(f"{name} 中没有 note 字段", f'{name} has no "note" field')
            return note
        return text

    def _fail(self, verdict: str, problems: list[str]) -> CommandError:
        for line in problems:
            self.stdout.write(f"  - {line}")
        return VerificationFailed(verdict, returncode=EXIT_FAILED)

    # --- modes --------------------------------------------------------------------------

    def _bundle(self, name: str, key: str) -> None:
        result = verify_bundle(self._read(name).encode("utf-8"), key)
        verdict = result.verdict(self.language)
        self.stdout.write(verdict)
        if not result.ok:
            raise self._fail(verdict, result.messages(self.language))
        if result.checkpoint is not None:
            self.stdout.write(
                self._say(
                    f"日志 {result.checkpoint.origin}，根哈希 {result.checkpoint.root_hash.hex()}",
                    f"log {result.checkpoint.origin}, root hash "
                    f"{result.checkpoint.root_hash.hex()}",
                )
            )
        for entry in result.entries:
            event = entry.event if isinstance(entry.event, dict) else {}
            summary = " ".join(
                f"{k}={event[k]}"
                # A delivered file's hash, to check a downloaded file against (sha256sum).
                for k in ("type", "order", "status", "sha256", "time")
                if k in event
            )
            self.stdout.write(f"  [{entry.index}] {summary}")

    def _consistency(self, old_name: str, new_name: str, proof_name: str | None, key: str) -> None:
        old = self._checkpoint_text(old_name)
        new = self._checkpoint_text(new_name)
        proof: list[Any] = []
        claimed: tuple[Any, Any] | None = None
        if proof_name:
            try:
                data = strict_json_loads(self._read(proof_name))
            except BundleFormatError as exc:
                raise self._usage(
                    f"{proof_name} 不是有效的 JSON：{exc}", f"{proof_name} is not valid JSON: {exc}"
                ) from None
            if not isinstance(data, dict) or not isinstance(data.get("proof"), list):
                raise self._usage(
                    f"{proof_name} 须为一致性证明接口的应答（含 proof 列表）",
                    f"{proof_name} must be the consistency endpoint's answer "
                    '(with a "proof" list)',
                )
            proof = data["proof"]
            claimed = (data.get("first"), data.get("second"))
        result = verify_consistency_checkpoints(old, new, proof, key)
        self._check_sizes(result, claimed, proof_name is not None)
        verdict = result.verdict(self.language)
        self.stdout.write(verdict)
        if not result.ok:
            raise self._fail(verdict, result.messages(self.language))

    def _check_sizes(
        self, result: ConsistencyResult, claimed: tuple[Any, Any] | None, has_proof: bool
    ) -> None:
        """Check the proof file is for the two checkpoints' sizes and given when needed."""
        if result.old is None or result.new is None:
            return
        sizes = (result.old.size, result.new.size)
        if claimed is not None and claimed != sizes:
            result.add(
                "proof",
                "size_mismatch",
                f"证明针对的树大小 {claimed[0]}→{claimed[1]} 与检查点 {sizes[0]}→{sizes[1]} 不符",
                f"the proof is for sizes {claimed[0]}->{claimed[1]}, "
                f"the checkpoints are {sizes[0]}->{sizes[1]}",
            )
        if not has_proof and 0 < sizes[0] < sizes[1]:
            # Say what is missing rather than that an empty proof fails.
            result.problems = [p for p in result.problems if p.code != "inconsistent"]
            result.add(
                "proof",
                "missing",
                "缺少一致性证明：请用 --proof 给出 "
                f"/api/v1/ledger/proof/consistency?first={sizes[0]}&second={sizes[1]} 的应答",
                "a consistency proof is needed: pass --proof with the answer of "
                f"/api/v1/ledger/proof/consistency?first={sizes[0]}&second={sizes[1]}",
            )
