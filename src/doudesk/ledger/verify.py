"""Offline verification of evidence bundles and checkpoint consistency.

Design overview
---------------
An *evidence bundle* lets a customer prove, with the log's public key alone, that their order's
events are in the log unaltered. It is one JSON object (version 1)::

    {
      "version": 1,
      "origin": "<log origin, the checkpoint's first line>",
      "checkpoint": "<the signed checkpoint note, verbatim>",
      "tree_size": <int, equal to the checkpoint's size>,
      "root_hash": "<lowercase hex, equal to the checkpoint's root>",
      "entries": [
        {"index": <int>, "leaf": "<the exact canonical JSON text hashed>",
         "leaf_hash": "<lowercase hex>", "audit_path": ["<lowercase hex>", ...]}
      ],
      "disclosure": {"customer": <int>, "salt": "<the customer's log salt>", "target": "<link>"}
    }

The optional ``disclosure`` opens what the ``placed`` leaf names only by salted hashes, so its
customer can check the leaf is about their order and their link: with the order's salt
``salt:order`` (the leaf's ``order``), the leaf's ``customer`` must be SHA-256 of
``salt:order:customer`` and its ``target`` SHA-256 of ``salt:order:target``. Leaves written
before hashes were salted per order use ``salt`` alone, and the earliest targets the link
alone. Whoever holds the bundle learns the salt, and with it can test links against the
customer's other leaves; without it, a customer's leaves cannot be told apart from others'.

Verification checks the checkpoint's Ed25519 signature, recomputes every leaf hash from the leaf
text, checks each leaf is RFC 8785 canonical JSON, and verifies each inclusion proof (RFC 9162
§2.1.3.2) against the signed root. Nothing in the bundle is trusted without being checked:
unknown keys, duplicate keys, upper-case hex and non-canonical base64 are refused, so flipping
any single bit of a bundle makes verification fail. Problems are reported as
:class:`doudesk.errors.FieldError` (field path, code, Chinese and English message).

:func:`verify_consistency_checkpoints` checks that a newer signed checkpoint extends an older one
(RFC 9162 §2.1.4.2), i.e. the log was never rewritten between them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from doudesk.errors import FieldError

from .merkle import canonical_json, leaf_hash, verify_consistency, verify_inclusion
from .notes import Checkpoint, NoteError, NoteVerifier, open_checkpoint, verifier_from_key

BUNDLE_VERSION = 1
"""The evidence bundle format version this module writes and reads."""

BUNDLE_KEYS = frozenset({"version", "origin", "checkpoint", "tree_size", "root_hash", "entries"})
OPTIONAL_BUNDLE_KEYS = frozenset({"disclosure"})
DISCLOSURE_KEYS = frozenset({"customer", "salt", "target"})
ENTRY_KEYS = frozenset({"index", "leaf", "leaf_hash", "audit_path"})
_HEX32 = re.compile(r"[0-9a-f]{64}")


class BundleFormatError(ValueError):
    """The bundle file is not strict JSON (bad UTF-8, duplicate keys, NaN...)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` refusing duplicate keys (a later key would hide an earlier one)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BundleFormatError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    """``parse_constant`` refusing NaN and Infinity, which are not JSON."""
    raise BundleFormatError(f"{name} is not valid JSON")


def strict_json_loads(data: str | bytes) -> Any:
    """Parse JSON strictly: UTF-8 only, no duplicate keys, no NaN/Infinity."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BundleFormatError("not valid UTF-8") from exc
    try:
        return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BundleFormatError(f"not valid JSON: {exc}") from exc


def load_bundle(data: str | bytes) -> dict[str, Any]:
    """Parse a bundle file strictly; raises :class:`BundleFormatError`."""
    bundle = strict_json_loads(data)
    if not isinstance(bundle, dict):
        raise BundleFormatError("a bundle is a JSON object")
    return bundle


def make_bundle(
    origin: str,
    checkpoint_note: str,
    tree_size: int,
    root_hash: bytes,
    entries: Sequence[tuple[int, bytes, Sequence[bytes]]],
) -> dict[str, Any]:
    """Build a version-1 bundle from ``(index, leaf bytes, audit path)`` triples.

    ``leaf`` must be the exact bytes that were hashed into the log (canonical JSON, UTF-8).
    """
    return {
        "version": BUNDLE_VERSION,
        "origin": origin,
        "checkpoint": checkpoint_note,
        "tree_size": tree_size,
        "root_hash": root_hash.hex(),
        "entries": [
            {
                "index": index,
                "leaf": leaf.decode("utf-8"),
                "leaf_hash": leaf_hash(leaf).hex(),
                "audit_path": [h.hex() for h in path],
            }
            for index, leaf, path in entries
        ],
    }


def dump_bundle(bundle: Mapping[str, Any]) -> str:
    r"""Serialise a bundle for download: UTF-8 text, two-space indent, trailing newline.

    ``ensure_ascii=False`` keeps Chinese text literal; ``\uXXXX`` escapes would let a case flip
    in a hex digit go unnoticed.
    """
    return json.dumps(bundle, ensure_ascii=False, indent=2) + "\n"


@dataclass(frozen=True)
class VerifiedEntry:
    """One bundle entry whose inclusion in the signed tree was proven."""

    index: int
    leaf: str
    leaf_hash: bytes
    event: Any


@dataclass
class Verdict:
    """Common shape of a verification outcome."""

    problems: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems

    def add(self, field_: str, code: str, zh: str, en: str) -> None:
        """Record a problem."""
        self.problems.append(FieldError(field_, code, zh, en))

    def messages(self, language: str = "zh-hans") -> list[str]:
        """Problem messages in ``language``, each prefixed with its field."""
        return [f"{p.field}: {p.message(language)}" for p in self.problems]


@dataclass
class BundleResult(Verdict):
    """Outcome of :func:`verify_bundle`."""

    checkpoint: Checkpoint | None = None
    entries: list[VerifiedEntry] = field(default_factory=list)
    #: The link the placed record names, when the bundle discloses it and it matched.
    target: str | None = None

    def verdict(self, language: str = "zh-hans") -> str:
        """Return a one-line human verdict in Chinese (default) or English."""
        en = language.startswith("en")
        if self.ok and self.checkpoint is not None:
            n, size = len(self.entries), self.checkpoint.size
            # Inclusion proofs show that each entry given is in the log, not that none is left
            # out: the verdict says so.
            if en:
                named = (
                    f" The placed record names the link {self.target}."
                    if self.target is not None
                    else ""
                )
                return (
                    f"VERIFIED: each of the {n} entries in this bundle is in the signed log "
                    f"(tree size {size}); proofs of inclusion do not show that none is missing."
                    + named
                )
            named = f"下单记录中的链接为 {self.target}。" if self.target is not None else ""
            return (
                f"验证通过：证据包中的 {n} 条记录均已收录于已签名的日志（树大小 {size}）；"
                "包含证明不能证明没有记录被删去。" + named
            )
        n = len(self.problems)
        if en:
            return f"VERIFICATION FAILED: {n} problem(s) found."
        return f"验证失败：发现 {n} 个问题。"


@dataclass
class ConsistencyResult(Verdict):
    """Outcome of :func:`verify_consistency_checkpoints`."""

    old: Checkpoint | None = None
    new: Checkpoint | None = None

    def verdict(self, language: str = "zh-hans") -> str:
        """Return a one-line human verdict in Chinese (default) or English."""
        en = language.startswith("en")
        if self.ok and self.old is not None and self.new is not None:
            a, b = self.old.size, self.new.size
            if en:
                return f"CONSISTENT: the log of size {b} extends the log of size {a} unchanged."
            return f"一致：大小为 {b} 的日志在未改动的前提下扩展了大小为 {a} 的日志。"
        n = len(self.problems)
        if en:
            return f"INCONSISTENT OR INVALID: {n} problem(s) found."
        return f"不一致或无效：发现 {n} 个问题。"


def _verifier(key: str | NoteVerifier, result: Verdict) -> NoteVerifier | None:
    """Parse the public key, recording a problem if it is malformed."""
    if isinstance(key, NoteVerifier):
        return key
    try:
        return verifier_from_key(key)
    except NoteError as exc:
        result.add("public_key", exc.code, exc.message_zh, exc.message_en)
        return None


def _is_int(value: object) -> TypeGuard[int]:
    """Tell whether ``value`` is a JSON integer (a bool is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _hex32(value: object) -> bytes | None:
    """Decode a lowercase 64-digit hex hash, or None."""
    if isinstance(value, str) and _HEX32.fullmatch(value):
        return bytes.fromhex(value)
    return None


def _open(
    note: object, verifier: NoteVerifier, origin: str | None, field_: str, result: Verdict
) -> Checkpoint | None:
    """Verify a signed checkpoint, recording a problem on failure."""
    if not isinstance(note, str | bytes):
        result.add(field_, "missing", "缺少已签名的检查点", "the signed checkpoint is missing")
        return None
    try:
        return open_checkpoint(note, verifier, origin=origin)
    except NoteError as exc:
        result.add(field_, exc.code, exc.message_zh, exc.message_en)
        return None


def _check_entry(
    i: int, entry: object, checkpoint: Checkpoint | None, result: BundleResult
) -> None:
    """Verify one bundle entry; append it to ``result.entries`` if it is proven."""
    where = f"entries[{i}]"
    if not isinstance(entry, dict):
        result.add(where, "invalid", "记录格式无效", "the entry is not an object")
        return
    bad = len(result.problems)
    keys = set(entry)
    for key in sorted(keys - ENTRY_KEYS):
        result.add(f"{where}.{key}", "unknown_field", "未知字段", "unknown field")
    for key in sorted(ENTRY_KEYS - keys):
        result.add(f"{where}.{key}", "missing", "缺少字段", "missing field")
    if len(result.problems) > bad:
        return
    index, leaf, claimed, path = (entry[k] for k in ("index", "leaf", "leaf_hash", "audit_path"))
    size = checkpoint.size if checkpoint else None
    if not _is_int(index) or index < 0 or (size is not None and index >= size):
        result.add(
            f"{where}.index",
            "out_of_range",
            "序号无效或超出已签名的树大小",
            "the index is invalid or beyond the signed tree size",
        )
    if not isinstance(leaf, str):
        result.add(f"{where}.leaf", "invalid", "记录内容不是文本", "the leaf is not a string")
        return
    leaf_bytes = leaf.encode("utf-8", "surrogatepass")
    computed = leaf_hash(leaf_bytes)
    event: Any = None
    try:
        event = strict_json_loads(leaf)
        canonical = canonical_json(event) == leaf_bytes
    except (BundleFormatError, ValueError):
        canonical = False
    if not canonical:
        result.add(
            f"{where}.leaf",
            "not_canonical",
            "记录内容不是规范 JSON（RFC 8785）",
            "the leaf is not canonical JSON (RFC 8785)",
        )
    claimed_bytes = _hex32(claimed)
    if claimed_bytes is None:
        result.add(
            f"{where}.leaf_hash",
            "invalid",
            "叶哈希不是 64 位小写十六进制",
            "the leaf hash is not 64 lowercase hex digits",
        )
    elif claimed_bytes != computed:
        result.add(
            f"{where}.leaf_hash",
            "mismatch",
            "叶哈希与记录内容不符：记录已被改动",
            "the leaf hash does not match the leaf: it was altered",
        )
    hashes = [_hex32(h) for h in path] if isinstance(path, list) else [None]
    if any(h is None for h in hashes):
        result.add(
            f"{where}.audit_path",
            "invalid",
            "审计路径必须是 64 位小写十六进制哈希的列表",
            "the audit path must be a list of 64-digit lowercase hex hashes",
        )
    if len(result.problems) > bad or checkpoint is None:
        return
    proof = [h for h in hashes if h is not None]
    if not verify_inclusion(computed, index, checkpoint.size, proof, checkpoint.root_hash):
        result.add(
            f"{where}.audit_path",
            "inclusion_failed",
            "包含证明不成立：该记录不在已签名的日志中，或已被改动",
            "the inclusion proof fails: the entry is not in the signed log or was altered",
        )
        return
    result.entries.append(VerifiedEntry(index, leaf, computed, event))


def verify_bundle(
    bundle: Mapping[str, Any] | str | bytes, verifier_key: str | NoteVerifier
) -> BundleResult:
    """Verify an evidence bundle against the log's verifier key; never raises on bad input."""
    result = BundleResult()
    if isinstance(bundle, str | bytes):
        try:
            bundle = load_bundle(bundle)
        except BundleFormatError as exc:
            zh, en = f"证据包不是有效的 JSON：{exc}", f"the bundle is not valid JSON: {exc}"
            result.add("bundle", "invalid_json", zh, en)
            return result
    if not isinstance(bundle, Mapping):
        zh, en = "证据包必须是 JSON 对象", "the bundle must be a JSON object"
        result.add("bundle", "invalid", zh, en)
        return result
    verifier = _verifier(verifier_key, result)
    keys = set(bundle)
    for key in sorted(keys - BUNDLE_KEYS - OPTIONAL_BUNDLE_KEYS):
        result.add(key, "unknown_field", "未知字段", "unknown field")
    for key in sorted(BUNDLE_KEYS - keys):
        result.add(key, "missing", "缺少字段", "missing field")
    version = bundle.get("version")
    if "version" in bundle and (not _is_int(version) or version != BUNDLE_VERSION):
        result.add("version", "unsupported", "不支持的证据包版本", "unsupported bundle version")
    origin = bundle.get("origin")
    if "origin" in bundle and not isinstance(origin, str):
        result.add("origin", "invalid", "日志标识无效", "the origin is not a string")
        origin = None
    checkpoint = None
    if verifier is not None and isinstance(origin, str):
        checkpoint = _open(bundle.get("checkpoint"), verifier, origin, "checkpoint", result)
    result.checkpoint = checkpoint
    if checkpoint is not None:
        tree_size = bundle.get("tree_size")
        if "tree_size" in bundle and (not _is_int(tree_size) or tree_size != checkpoint.size):
            result.add(
                "tree_size",
                "mismatch",
                "树大小与已签名的检查点不符",
                "the tree size differs from the signed checkpoint",
            )
        if "root_hash" in bundle and _hex32(bundle["root_hash"]) != checkpoint.root_hash:
            result.add(
                "root_hash",
                "mismatch",
                "根哈希与已签名的检查点不符",
                "the root hash differs from the signed checkpoint",
            )
    entries = bundle.get("entries")
    if "entries" in bundle and (not isinstance(entries, list) or not entries):
        result.add("entries", "empty", "证据包中没有记录", "the bundle holds no entries")
    elif isinstance(entries, list):
        last = -1
        for i, entry in enumerate(entries):
            _check_entry(i, entry, checkpoint, result)
            index = entry.get("index") if isinstance(entry, dict) else None
            if _is_int(index) and index <= last:
                result.add(
                    f"entries[{i}].index",
                    "duplicate" if index == last else "unordered",
                    "同一条记录出现了两次" if index == last else "记录须按序号从小到大排列",
                    "the same entry appears twice"
                    if index == last
                    else "the entries must be in increasing index order",
                )
            if _is_int(index):
                last = max(last, index)
    if result.ok:
        _check_one_order(result)
    if result.ok and "disclosure" in bundle:
        _check_disclosure(bundle["disclosure"], result)
    if not result.ok:
        result.entries = []
    return result


def _check_one_order(result: BundleResult) -> None:
    """Hold a bundle's verified entries to one order's records, with one placed record at most.

    Each entry is proven to be in the log, but the log holds every order's records: entries of
    another order mixed in would otherwise pass as this order's history.
    """
    events = [e.event if isinstance(e.event, dict) else {} for e in result.entries]
    if len({json.dumps(event.get("order")) for event in events}) > 1:
        result.add(
            "entries",
            "mixed_orders",
            "证据包中的记录不属于同一个订单",
            "the bundle's entries are not all records of one order",
        )
    elif sum(event.get("type") == "placed" for event in events) > 1:
        result.add(
            "entries",
            "placed_twice",
            "证据包中有多条下单记录",
            "the bundle holds more than one placed record",
        )


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_disclosure(disclosure: Any, result: BundleResult) -> None:
    """Check a bundle's disclosure against the verified ``placed`` leaves it opens."""
    if not isinstance(disclosure, dict) or set(disclosure) != DISCLOSURE_KEYS:
        result.add(
            "disclosure",
            "invalid",
            "披露信息须恰好包含 customer、salt、target",
            "the disclosure must hold exactly customer, salt and target",
        )
        return
    customer, salt, target = disclosure["customer"], disclosure["salt"], disclosure["target"]
    if not _is_int(customer) or not isinstance(salt, str) or not isinstance(target, str):
        result.add(
            "disclosure",
            "invalid",
            "披露信息的类型不对（customer 为整数，salt 与 target 为文本）",
            "the disclosure has the wrong types (customer an integer, salt and target text)",
        )
        return
    placed = [
        e.event
        for e in result.entries
        if isinstance(e.event, dict) and e.event.get("type") == "placed"
    ]
    if not placed:
        result.add(
            "disclosure",
            "no_placed_record",
            "证据包中没有下单记录，无法核对披露的链接",
            "the bundle holds no placed record to check the disclosure against",
        )
        return
    for event in placed:
        # Leaves are salted per order ("salt:order"); the earliest with the salt alone, and
        # the first links were not salted at all.
        salts = (f"{salt}:{event.get('order')}", salt)
        target_hashes = {_sha256_hex(f"{s}:{target}") for s in salts} | {_sha256_hex(target)}
        if not target:
            target_hashes = {""}
        if event.get("customer") not in {_sha256_hex(f"{s}:{customer}") for s in salts}:
            result.add(
                "disclosure.customer",
                "mismatch",
                "披露的客户与下单记录中的哈希不符",
                "the disclosed customer does not match the hash in the placed record",
            )
        if event.get("target") not in target_hashes:
            result.add(
                "disclosure.target",
                "mismatch",
                "披露的链接与下单记录中的哈希不符",
                "the disclosed link does not match the hash in the placed record",
            )
    if result.ok and target:
        result.target = target


def verify_consistency_checkpoints(
    old_note: str | bytes,
    new_note: str | bytes,
    proof: Sequence[str | bytes],
    verifier_key: str | NoteVerifier,
) -> ConsistencyResult:
    """Check two signed checkpoints of one log and the consistency proof between them.

    ``proof`` is the ``proof`` list of ``GET /api/v1/ledger/proof/consistency`` (lowercase hex
    strings) or raw 32-byte hashes. Never raises on bad input.
    """
    result = ConsistencyResult()
    verifier = _verifier(verifier_key, result)
    if verifier is None:
        return result
    result.old = _open(old_note, verifier, None, "old", result)
    result.new = _open(new_note, verifier, None, "new", result)
    hashes: list[bytes] = []
    for i, item in enumerate(proof):
        h = item if isinstance(item, bytes) and len(item) == 32 else _hex32(item)
        if h is None:
            result.add(
                f"proof[{i}]",
                "invalid",
                "证明中的哈希必须是 64 位小写十六进制",
                "proof hashes must be 64 lowercase hex digits",
            )
        else:
            hashes.append(h)
    old, new = result.old, result.new
    if old is None or new is None or not result.ok:
        return result
    if old.size > new.size:
        result.add(
            "old",
            "order",
            "旧检查点的树大小大于新检查点",
            "the old checkpoint is larger than the new one",
        )
        return result
    if not verify_consistency(old.size, new.size, old.root_hash, new.root_hash, hashes):
        result.add(
            "proof",
            "inconsistent",
            "一致性证明不成立：日志可能被改写",
            "the consistency proof fails: the log may have been rewritten",
        )
    return result
