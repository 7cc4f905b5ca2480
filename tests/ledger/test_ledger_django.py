"""The transparency log on the database: node store, sequencer, checkpoints, audits, tampering."""

from __future__ import annotations

import os
import random
import stat
from typing import Any

import pytest
from ledger_testing import ORIGIN, SIGNER

from doudesk.ledger import selectors, services
from doudesk.ledger.merkle import (
    MemoryNodeStore,
    MerkleError,
    MerkleTree,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from doudesk.ledger.models import Checkpoint, DbNodeStore, LogLeaf, LogNodeChunk, LogTreeState
from doudesk.ledger.notes import open_checkpoint, verifier_from_key
from doudesk.ledger.services import LedgerIntegrityError

pytestmark = pytest.mark.django_db


def record(n: int, start: int = 0) -> None:
    """Record ``n`` order-like events without orders."""
    for i in range(start, start + n):
        services.ledger_record(event={"type": "progress", "seq": i, "note": f"事件 {i}"})


def texts(size: int) -> list[bytes]:
    """Return the sequenced leaf texts ``0..size-1``."""
    rows = LogLeaf.objects.filter(index__lt=size).order_by("index").values_list("leaf", flat=True)
    return [t.encode() for t in rows]


def hex_list(items: list[str]) -> list[bytes]:
    """Decode a list of hex hashes."""
    return [bytes.fromhex(h) for h in items]


# --- the node store -------------------------------------------------------------------------


def test_database_store_builds_the_same_tree_as_the_memory_store(django_assert_num_queries):
    rng = random.Random(7)
    db_tree, mem_tree = MerkleTree(DbNodeStore()), MerkleTree(MemoryNodeStore())
    sizes = []
    while db_tree.size < 1100:
        batch = [leaf_hash(rng.randbytes(8)) for _ in range(rng.choice([1, 3, 255, 256, 300]))]
        db_tree.append(batch)
        mem_tree.append(batch)
        sizes.append(db_tree.size)
    reopened = MerkleTree(DbNodeStore(), db_tree.size)
    assert reopened.root() == mem_tree.root()
    for size in [1, 2, 255, 256, 257, *sizes]:
        assert db_tree.root(size) == mem_tree.root(size)
        index = rng.randrange(size)
        assert db_tree.inclusion_proof(index, size) == mem_tree.inclusion_proof(index, size)
        first = rng.randrange(size + 1)
        assert db_tree.consistency_proof(first, size) == mem_tree.consistency_proof(first, size)
    keys = [(0, 0), (0, 700), (3, 100), (8, 4), (10, 0), (0, 5000)]
    with django_assert_num_queries(1):
        got = DbNodeStore().get_many(keys)
    assert set(got) == {(0, 0), (0, 700), (3, 100), (10, 0)}
    assert got == {k: v for k, v in mem_tree.store.get_many(keys).items()}


def test_database_store_refuses_rewrites_and_gaps():
    store = DbNodeStore()
    store.put_many([((0, 0), b"a" * 32), ((0, 1), b"b" * 32)])
    store.put_many([((0, 1), b"b" * 32)])  # same hash again: harmless
    with pytest.raises(MerkleError, match="another hash"):
        store.put_many([((0, 1), b"c" * 32)])
    with pytest.raises(MerkleError, match="gap"):
        store.put_many([((0, 3), b"d" * 32)])
    assert store.get_many([(0, 1)]) == {(0, 1): b"b" * 32}


# --- sequencer and checkpoints --------------------------------------------------------------


def test_sequencer_indexes_in_record_order_and_every_leaf_is_covered_by_a_checkpoint():
    record(600)
    assert selectors.ledger_pending_count() == 600
    assert services.ledger_integrate(max_batch=250) == {"sequenced": 600, "checkpoint": 600}
    rows = list(LogLeaf.objects.order_by("pk").values_list("index", flat=True))
    assert rows == list(range(600))
    assert selectors.ledger_pending_count() == 0
    assert LogTreeState.objects.get(pk=1).size == 600
    checkpoint = Checkpoint.objects.get(size=600)
    signed = open_checkpoint(checkpoint.note, SIGNER.verifier)
    assert (signed.origin, signed.size) == (ORIGIN, 600)
    assert signed.root_hash == bytes(checkpoint.root) == root_of(map(leaf_hash, texts(600)))
    for index in (0, 255, 256, 599):
        proof = selectors.ledger_inclusion(index=index)
        assert verify_inclusion(
            leaf_hash(texts(600)[index]),
            index,
            600,
            hex_list(proof["audit_path"]),
            signed.root_hash,
        )
    assert selectors.ledger_audit().ok


def test_checkpoints_grow_consistently_and_all_are_kept():
    assert services.ledger_checkpoint().size == 0  # the empty tree is signed first
    record(5)
    services.ledger_integrate()
    assert services.ledger_checkpoint() is None  # nothing new: nothing signed
    record(7, start=5)
    services.ledger_integrate()
    assert list(Checkpoint.objects.values_list("size", flat=True)) == [12, 5, 0]
    old, new = Checkpoint.objects.get(size=5), Checkpoint.objects.get(size=12)
    proof = selectors.ledger_consistency(first=5, second=12)
    assert verify_consistency(5, 12, bytes(old.root), bytes(new.root), hex_list(proof["proof"]))


def test_sequencing_nothing_is_a_no_op():
    assert services.ledger_sequence() == 0
    assert services.ledger_integrate()["sequenced"] == 0


def test_the_signing_key_is_generated_once_with_owner_only_permissions(settings, tmp_path):
    settings.LEDGER_SIGNER_KEY = ""
    settings.LEDGER_KEY_FILE = tmp_path / "keys" / "ledger_signer.key"
    first = services.ledger_signer()
    services._signer.cache_clear()
    assert services.ledger_signer().verifier_key == first.verifier_key
    mode = stat.S_IMODE(os.stat(settings.LEDGER_KEY_FILE).st_mode)
    assert mode == 0o600
    assert settings.LEDGER_KEY_FILE.read_text().startswith(f"PRIVATE+KEY+{ORIGIN}+")
    assert verifier_from_key(selectors.ledger_public_key()).name == ORIGIN


# --- tampering ------------------------------------------------------------------------------


def sequenced(n: int) -> None:
    """Record and publish ``n`` leaves."""
    record(n)
    services.ledger_integrate()


def problems(audit: Any) -> set[tuple[str, str]]:
    """Return the audit's problems as (field, code) pairs."""
    return {(p.field, p.code) for p in audit.problems}


def test_editing_a_logged_leaf_is_detected_by_the_audit_and_its_proof():
    sequenced(40)
    LogLeaf.objects.filter(index=17).update(leaf='{"note":"改过","seq":17,"type":"progress"}')
    audit = selectors.ledger_audit()
    assert not audit.ok
    assert {("leaf[17]", "leaf_hash_mismatch"), ("leaf[17]", "tree_mismatch")} <= problems(audit)
    assert ("root", "root_mismatch") in problems(audit)
    # Even with its hash column rewritten to match, the tree still holds the original hash.
    edited = LogLeaf.objects.get(index=17)
    LogLeaf.objects.filter(pk=edited.pk).update(leaf_hash=leaf_hash(edited.leaf.encode()))
    audit = selectors.ledger_audit()
    assert ("leaf[17]", "tree_mismatch") in problems(audit)
    assert ("leaf[17]", "leaf_hash_mismatch") not in problems(audit)
    checkpoint = Checkpoint.objects.get(size=40)
    path = hex_list(selectors.ledger_inclusion(index=17)["audit_path"])
    assert not verify_inclusion(
        leaf_hash(edited.leaf.encode()), 17, 40, path, bytes(checkpoint.root)
    )


def test_editing_a_stored_node_is_detected_by_the_audit_and_by_proofs():
    sequenced(40)
    chunk = LogNodeChunk.objects.get(level=0, chunk=0)
    blob = bytearray(chunk.hashes)
    blob[3 * 32] ^= 0x01  # leaf hash of index 3
    LogNodeChunk.objects.filter(pk=chunk.pk).update(hashes=bytes(blob))
    audit = selectors.ledger_audit()
    assert ("leaf[3]", "tree_mismatch") in problems(audit)
    root = bytes(Checkpoint.objects.get(size=40).root)
    proof = selectors.ledger_inclusion(index=2)  # index 3 is leaf 2's sibling
    assert not verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]), 2, 40, hex_list(proof["audit_path"]), root
    )


def test_a_rewritten_inner_node_stops_the_next_checkpoint():
    sequenced(40)
    chunk = LogNodeChunk.objects.get(level=5, chunk=0)  # node (5, 0): leaves 0..31, a peak
    LogNodeChunk.objects.filter(pk=chunk.pk).update(hashes=b"\x00" * 32)
    assert ("nodes", "node_mismatch") in problems(selectors.ledger_audit())
    record(3, start=40)
    services.ledger_sequence()
    with pytest.raises(LedgerIntegrityError):
        services.ledger_checkpoint()
    assert not Checkpoint.objects.filter(size=43).exists()


def test_a_pending_leaf_edited_before_sequencing_stops_the_sequencer():
    record(3)
    LogLeaf.objects.filter(pk=LogLeaf.objects.order_by("pk")[1].pk).update(leaf='{"forged":1}')
    with pytest.raises(LedgerIntegrityError):
        services.ledger_sequence()
    assert not LogLeaf.objects.filter(index__isnull=False).exists()


def test_a_deleted_leaf_row_is_detected_by_the_audit():
    sequenced(10)
    LogLeaf.objects.filter(index=4).delete()
    assert ("leaf[4]", "missing") in problems(selectors.ledger_audit())
