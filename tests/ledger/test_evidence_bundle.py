"""Offline verification of evidence bundles and of checkpoint consistency."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest

from doudesk.ledger.merkle import MemoryNodeStore, MerkleTree, canonical_json, leaf_hash
from doudesk.ledger.notes import NoteSigner, generate_signer, sign_checkpoint
from doudesk.ledger.verify import (
    BundleFormatError,
    dump_bundle,
    load_bundle,
    make_bundle,
    verify_bundle,
    verify_consistency_checkpoints,
)

ORIGIN = "doudesk.example/ledger"


def event(i: int) -> dict[str, Any]:
    """Return a plausible order event: each order has three, the first its placed record."""
    return {
        "type": "placed" if i % 3 == 0 else "progress",
        "order": f"DD{i // 3:06d}",
        "service": "抖音粉丝",
        "quantity": 1000 + i,
        "price_fen": 1250 * (i + 1),
        "at": "2025-01-01T08:00:00Z",
    }


class Log:
    """A small log with a signer, as the platform would hold it."""

    def __init__(self, n: int, events: list[dict[str, Any]] | None = None) -> None:
        """Append ``n`` canonical order events (or ``events``)."""
        self.signer: NoteSigner = generate_signer(ORIGIN)
        self.leaves = [canonical_json(e) for e in events or [event(i) for i in range(n)]]
        self.tree = MerkleTree(MemoryNodeStore())
        self.tree.append_leaves(self.leaves)

    def checkpoint(self, size: int | None = None) -> str:
        """Sign the head at ``size``."""
        size = self.tree.size if size is None else size
        return sign_checkpoint(ORIGIN, size, self.tree.root(size), self.signer)

    def bundle(self, indexes: list[int], size: int | None = None) -> dict[str, Any]:
        """Evidence for ``indexes`` against the head at ``size``."""
        size = self.tree.size if size is None else size
        entries = [(i, self.leaves[i], self.tree.inclusion_proof(i, size)) for i in indexes]
        return make_bundle(ORIGIN, self.checkpoint(size), size, self.tree.root(size), entries)


@pytest.fixture(scope="module")
def log() -> Log:
    """Build a 37-event log."""
    return Log(37)


def test_a_genuine_bundle_verifies(log: Log) -> None:
    """Signature, leaf hashes and inclusion proofs all check out; the events are returned."""
    bundle = log.bundle([15, 16, 17])
    result = verify_bundle(bundle, log.signer.verifier_key)
    assert result.ok, result.messages("en")
    assert result.checkpoint is not None
    assert result.checkpoint.size == 37
    assert [e.index for e in result.entries] == [15, 16, 17]
    assert result.entries[1].event["order"] == "DD000005"
    assert "验证通过" in result.verdict()
    assert result.verdict("en").startswith("VERIFIED")
    assert verify_bundle(dump_bundle(bundle), log.signer.verifier_key).ok
    assert verify_bundle(dump_bundle(bundle).encode(), log.signer.verifier).ok
    older = log.bundle([3], size=20)
    assert verify_bundle(older, log.signer.verifier_key).ok


def _codes(bundle: Any, key: str) -> set[str]:
    """Verify and return the problem codes (asserting it failed)."""
    result = verify_bundle(bundle, key)
    assert not result.ok
    assert result.entries == []
    assert all(p.message_zh and p.message_en for p in result.problems)
    assert "验证失败" in result.verdict()
    return {p.code for p in result.problems}


def test_tampering_is_reported_precisely(log: Log) -> None:
    """Each kind of alteration is caught and named."""
    key = log.signer.verifier_key
    good = log.bundle([3, 4])

    def altered(**changes: Any) -> dict[str, Any]:
        b = copy.deepcopy(good)
        for path, value in changes.items():
            target = b
            *parents, last = path.split("__")
            for p in parents:
                target = target[int(p)] if p.isdigit() else target[p]
            target[int(last) if last.isdigit() else last] = value
        return b

    other = generate_signer(ORIGIN).verifier_key
    assert "unknown_key" in _codes(good, other)
    assert "bad_key" in _codes(good, "not a key")
    forged_leaf = json.loads(good["entries"][0]["leaf"])
    forged_leaf["quantity"] = 999_999
    forged_text = canonical_json(forged_leaf).decode()
    assert "mismatch" in _codes(altered(entries__0__leaf=forged_text), key)
    rehashed = altered(entries__0__leaf=forged_text)
    rehashed["entries"][0]["leaf_hash"] = leaf_hash(forged_text.encode()).hex()
    assert _codes(rehashed, key) == {"inclusion_failed"}
    assert _codes(altered(entries__0__index=2), key) == {"inclusion_failed"}
    assert _codes(altered(entries__0__index=4), key) == {"inclusion_failed", "duplicate"}
    assert _codes(altered(entries__1__index=37), key) == {"out_of_range"}
    assert "mismatch" in _codes(altered(tree_size=36), key)
    assert "mismatch" in _codes(altered(root_hash="00" * 32), key)
    assert "mismatch" in _codes(altered(root_hash=good["root_hash"].upper()), key)
    upper_leaf_hash = good["entries"][0]["leaf_hash"].upper()
    assert "invalid" in _codes(altered(entries__0__leaf_hash=upper_leaf_hash), key)
    upper_path = [h.upper() for h in good["entries"][0]["audit_path"]]
    assert "invalid" in _codes(altered(entries__0__audit_path=upper_path), key)
    assert "unsupported" in _codes(altered(version=2), key)
    assert "unsupported" in _codes(altered(version=True), key)
    assert "wrong_origin" in _codes(altered(origin="evil.example/ledger"), key)
    assert "empty" in _codes(altered(entries=[]), key)
    assert "unknown_field" in _codes(altered(note="trust me"), key)
    missing = copy.deepcopy(good)
    del missing["entries"][1]["audit_path"]
    assert "missing" in _codes(missing, key)
    spaced = json.dumps(json.loads(good["entries"][0]["leaf"]), ensure_ascii=False)
    assert "not_canonical" in _codes(altered(entries__0__leaf=spaced), key)
    assert "invalid_json" in _codes(b"\xff{}", key)
    assert "invalid_json" in _codes("[]", key)
    assert "invalid" in _codes([], key)


def test_a_bundle_holds_one_order_s_records_in_log_order(log: Log) -> None:
    """Each entry is in the log, but the log holds every order: mixing orders is refused."""
    key = log.signer.verifier_key
    # Order DD000001's records with one of DD000002's appended (or put in place of one).
    assert _codes(log.bundle([3, 4, 7]), key) == {"mixed_orders"}
    assert _codes(log.bundle([3, 7]), key) == {"mixed_orders"}
    assert _codes(log.bundle([4, 3]), key) == {"unordered"}
    twice = Log(4, [{"type": "placed", "order": 1, "n": n} for n in range(4)])
    assert _codes(twice.bundle([0, 2]), twice.signer.verifier_key) == {"placed_twice"}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    "salt", ["s3cret:7", "s3cret"], ids=["salted per order", "salted per customer (older)"]
)
def test_a_disclosure_opens_the_placed_record_salted_per_order_or_as_before(salt: str) -> None:
    placed = {
        "type": "placed",
        "order": 7,
        "customer": _sha(f"{salt}:42"),
        "target": _sha(f"{salt}:L"),
    }
    log = Log(1, [placed])
    key = log.signer.verifier_key
    bundle = log.bundle([0]) | {"disclosure": {"customer": 42, "salt": "s3cret", "target": "L"}}
    result = verify_bundle(bundle, key)
    assert (result.ok, result.target) == (True, "L"), result.messages("en")
    other = bundle | {"disclosure": {"customer": 43, "salt": "s3cret", "target": "L"}}
    assert _codes(other, key) == {"mismatch"}


def test_strict_bundle_parsing() -> None:
    """Duplicate keys and NaN are refused."""
    with pytest.raises(BundleFormatError):
        load_bundle('{"version": 1, "version": 1}')
    with pytest.raises(BundleFormatError):
        load_bundle('{"version": NaN}')


def test_every_flipped_bit_of_a_bundle_file_fails() -> None:
    """Flip each bit of a downloaded bundle file in turn: verification always fails."""
    small = Log(6)
    data = dump_bundle(small.bundle([4])).encode()
    key = small.signer.verifier_key
    assert verify_bundle(data, key).ok
    survivors = []
    for bit in range(len(data) * 8):
        tampered = bytearray(data)
        tampered[bit // 8] ^= 1 << (bit % 8)
        if verify_bundle(bytes(tampered), key).ok:
            survivors.append(bit)
    assert survivors == []


def test_consistency_between_checkpoints(log: Log) -> None:
    """A later checkpoint extends an earlier one; forgeries and rewrites are caught."""
    key = log.signer.verifier_key
    old, new = log.checkpoint(20), log.checkpoint(37)
    proof = [h.hex() for h in log.tree.consistency_proof(20, 37)]
    result = verify_consistency_checkpoints(old, new, proof, key)
    assert result.ok, result.messages("en")
    assert result.old is not None
    assert result.new is not None
    assert (result.old.size, result.new.size) == (20, 37)
    assert result.verdict("en").startswith("CONSISTENT")
    assert verify_consistency_checkpoints(new, new, [], key).ok
    raw = [bytes.fromhex(h) for h in proof]
    assert verify_consistency_checkpoints(old.encode(), new.encode(), raw, key).ok

    flipped = list(proof)
    flipped[1] = ("0" if proof[1][0] != "0" else "1") + proof[1][1:]
    assert not verify_consistency_checkpoints(old, new, flipped, key).ok
    assert not verify_consistency_checkpoints(new, old, proof, key).ok
    assert not verify_consistency_checkpoints(b"\xff" + old.encode(), new, proof, key).ok
    assert not verify_consistency_checkpoints(old, new, proof, "not a key").ok
    assert not verify_consistency_checkpoints(old, new, proof[:-1], key).ok
    assert not verify_consistency_checkpoints(old, new, [h.upper() for h in proof], key).ok
    stranger = generate_signer(ORIGIN).verifier_key
    assert not verify_consistency_checkpoints(old, new, proof, stranger).ok

    # A log that rewrote entry 3 signs a head that is not consistent with the old one.
    rewritten = Log(0)
    rewritten.signer = log.signer
    rewritten.leaves = list(log.leaves)
    rewritten.leaves[3] = canonical_json({**event(3), "quantity": 1})
    rewritten.tree.append_leaves(rewritten.leaves)
    forged_new = rewritten.checkpoint(37)
    forged_proof = [h.hex() for h in rewritten.tree.consistency_proof(20, 37)]
    bad = verify_consistency_checkpoints(old, forged_new, forged_proof, key)
    assert not bad.ok
    assert {p.code for p in bad.problems} == {"inconsistent"}
    assert "不一致" in bad.verdict()
