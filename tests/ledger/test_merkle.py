"""RFC 6962 Merkle tree: published test vectors, the RFC recursion, properties and storage."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from doudesk.ledger.merkle import (
    EMPTY_ROOT,
    MemoryNodeStore,
    MerkleError,
    MerkleTree,
    NodeKey,
    NodeStore,
    canonical_json,
    compute_append,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    mismatched_leaves,
    node_hash,
    peak_keys,
    root_at,
    root_from_inclusion,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# The eight leaves of Certificate Transparency's reference tests (google/certificate-transparency
# merkle_tree_test.cc, transparency-dev/merkle proof/verify_test.go).
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

# MTH of the first 1..8 leaves.
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# (0-based leaf index, tree size, audit path); the reference lists 1-based leaf numbers.
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (0, 1, []),
]

CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def hexes(hashes: Sequence[bytes]) -> list[str]:
    """Hex-encode a list of hashes."""
    return [h.hex() for h in hashes]


def flip(data: bytes, bit: int) -> bytes:
    """Return ``data`` with one bit inverted."""
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@pytest.fixture(scope="module")
def ct_tree() -> MerkleTree:
    """Append the eight reference leaves one at a time."""
    tree = MerkleTree(MemoryNodeStore())
    for leaf in LEAVES:
        tree.append_leaves([leaf])
    return tree


# ---- the RFC 6962 §2.1 recursion, written straight from the text, as an oracle ----------------


def _k(n: int) -> int:
    """Largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n])."""
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n])."""
    if len(d) <= 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


# ---- published vectors ---------------------------------------------------------------------------


def test_hash_prefixes_and_empty_tree() -> None:
    """Leaf and node hashes carry the 0x00 / 0x01 domain separation; MTH({}) = SHA-256('')."""
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    expected = hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert node_hash(b"a" * 32, b"b" * 32) == expected
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert MerkleTree(MemoryNodeStore()).root() == EMPTY_ROOT
    assert root_of([]) == EMPTY_ROOT


def test_roots_of_every_prefix(ct_tree: MerkleTree) -> None:
    """Historical roots from the stored nodes, incremental roots and batch roots all match."""
    assert [ct_tree.root(n).hex() for n in range(1, 9)] == ROOTS
    incremental = MerkleTree(MemoryNodeStore())
    for n, leaf in enumerate(LEAVES, start=1):
        incremental.append_leaves([leaf])
        assert incremental.root().hex() == ROOTS[n - 1]
    for n in range(1, 9):
        batch = MerkleTree(MemoryNodeStore())
        batch.append_leaves(LEAVES[:n])
        assert batch.root().hex() == ROOTS[n - 1]
        assert ref_mth(LEAVES[:n]).hex() == ROOTS[n - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_reference_inclusion_proofs(
    ct_tree: MerkleTree, index: int, size: int, path: list[str]
) -> None:
    """Audit paths equal the published ones and verify against the published roots."""
    proof = ct_tree.inclusion_proof(index, size)
    assert hexes(proof) == path
    root = bytes.fromhex(ROOTS[size - 1])
    lh = leaf_hash(LEAVES[index])
    assert root_from_inclusion(lh, index, size, proof) == root
    assert verify_inclusion(lh, index, size, proof, root)


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY)
def test_reference_consistency_proofs(
    ct_tree: MerkleTree, size1: int, size2: int, proof: list[str]
) -> None:
    """Consistency proofs equal the published ones and verify."""
    got = ct_tree.consistency_proof(size1, size2)
    assert hexes(got) == proof
    r1, r2 = bytes.fromhex(ROOTS[size1 - 1]), bytes.fromhex(ROOTS[size2 - 1])
    assert verify_consistency(size1, size2, r1, r2, got)


def _inclusion_probes(
    index: int, size: int, proof: list[bytes], root: bytes, lh: bytes
) -> list[tuple[int, int, list[bytes], bytes, bytes]]:
    """Corruptions of a valid inclusion proof (the reference test's probe set)."""
    probes = [
        (index - 1, size, proof, root, lh),
        (index + 1, size, proof, root, lh),
        (index ^ 2, size, proof, root, lh),
        (index, size * 2, proof, root, lh),
        (index, size // 2, proof, root, lh),
        (index, size, proof, root, b"WrongLeaf"),
        (index, size, proof, EMPTY_ROOT, lh),
        (index, size, proof, SOME_HASH, lh),
        (index, size, [*proof, b""], root, lh),
        (index, size, [*proof, root], root, lh),
        (index, size, [b"", *proof], root, lh),
        (index, size, [root, *proof], root, lh),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = flip(bad[i], 3)
        probes.append((index, size, bad, root, lh))
    if proof:
        probes.append((index, size, proof[:-1], root, lh))
    if len(proof) > 1:
        probes.append((index, size, [proof[0], SOME_HASH, *proof[1:]], root, lh))
    return probes


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION[:4])
def test_corrupted_inclusion_proofs_fail(index: int, size: int, path: list[str]) -> None:
    """Every corruption of the reference proofs is refused."""
    proof = [bytes.fromhex(h) for h in path]
    root, lh = bytes.fromhex(ROOTS[size - 1]), leaf_hash(LEAVES[index])
    for i, s, p, r, leaf in _inclusion_probes(index, size, proof, root, lh):
        assert not verify_inclusion(leaf, i, s, p, r), (i, s, hexes(p))


@pytest.mark.parametrize(("size1", "size2", "path"), [c for c in CONSISTENCY if c[2]])
def test_corrupted_consistency_proofs_fail(size1: int, size2: int, path: list[str]) -> None:
    """Every corruption of the reference consistency proofs is refused."""
    proof = [bytes.fromhex(h) for h in path]
    r1, r2 = bytes.fromhex(ROOTS[size1 - 1]), bytes.fromhex(ROOTS[size2 - 1])
    probes = [
        (size1 - 1, size2, r1, r2, proof),
        (size1 + 1, size2, r1, r2, proof),
        (size1 ^ 2, size2, r1, r2, proof),
        (size1, size2 * 2, r1, r2, proof),
        (size1, size2 // 2, r1, r2, proof),
        (size1, size2, b"WrongRoot", r2, proof),
        (size1, size2, r1, b"WrongRoot", proof),
        (size1, size2, r2, r1, proof),
        (size1, size2, r1, r2, []),
        (size1, size2, r1, r2, [*proof, b""]),
        (size1, size2, r1, r2, [*proof, r1]),
        (size1, size2, r1, r2, [*proof, r2]),
        (size1, size2, r1, r2, [b"", *proof]),
        (size1, size2, r1, r2, [r1, *proof]),
        (size1, size2, r1, r2, [r2, *proof]),
        (size1, size2, r1, r2, [proof[0], *proof]),
        (size1, size2, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = flip(bad[i], 4)
        probes.append((size1, size2, r1, r2, bad))
    for s1, s2, a, b, p in probes:
        assert not verify_consistency(s1, s2, a, b, p), (s1, s2, hexes(p))


def test_consistency_edge_cases() -> None:
    """Trivial sizes: same-size needs equal roots and no proof; size 0 needs no proof.

    The empty tree has one root (the hash of no input): a size-0 checkpoint naming another
    root is a forgery and extends nothing.
    """
    r1, r2 = b"1" * 32, b"2" * 32
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 1, EMPTY_ROOT, r2, [])
    assert not verify_consistency(0, 0, r1, r1, [])
    assert not verify_consistency(0, 1, r1, r2, [])
    assert verify_consistency(1, 1, r2, r2, [])
    assert not verify_consistency(0, 0, r1, r2, [])
    assert not verify_consistency(1, 1, r1, r2, [])
    assert not verify_consistency(1, 0, r1, r2, [])
    assert not verify_consistency(2, 1, r1, r2, [])
    assert not verify_consistency(1, 2, r1, r2, [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    assert not verify_consistency(0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    assert not verify_consistency(1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])


def test_inclusion_edge_cases() -> None:
    """Single-leaf trees, empty trees and out-of-range indexes."""
    lh = leaf_hash(b"data")
    assert verify_inclusion(lh, 0, 1, [], lh)
    assert not verify_inclusion(lh, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], lh)
    for index, size in ((0, 0), (1, 0), (2, 1), (1, 1)):
        assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)
    with pytest.raises(MerkleError):
        root_from_inclusion(lh, 1, 1, [])


# ---- against the RFC recursion for every small shape ---------------------------------------------


def test_every_small_tree_matches_the_rfc_recursion() -> None:
    """All roots, paths and consistency proofs for sizes up to 33 equal the RFC recursion."""
    data = [f"leaf-{i}".encode() for i in range(33)]
    tree = MerkleTree(MemoryNodeStore())
    tree.append_leaves(data)
    for n in range(1, 34):
        assert tree.root(n) == ref_mth(data[:n])
        for m in range(n):
            assert tree.inclusion_proof(m, n) == ref_path(m, data[:n])
        for m in range(1, n):
            assert tree.consistency_proof(m, n) == ref_subproof(m, data[:n], True)
    assert tree.consistency_proof(0, 10) == []
    assert tree.consistency_proof(10, 10) == []


# ---- properties on a shared 10,000-leaf tree ----------------------------------------------------

BIG = 10_000


@pytest.fixture(scope="module")
def big_tree() -> MerkleTree:
    """Build a 10,000-leaf tree from random-sized batches."""
    rng = random.Random(6962)
    tree = MerkleTree(MemoryNodeStore())
    n = 0
    while n < BIG:
        k = min(BIG - n, rng.choice([1, 1, 2, 3, 7, 64, 255, 256, 1000]))
        tree.append([leaf_hash(b"%d" % i) for i in range(n, n + k)])
        n += k
    return tree


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_inclusion_proof_verifies_and_any_flip_fails(
    big_tree: MerkleTree, data: st.DataObject
) -> None:
    """For random (index, size) the proof verifies; one flipped bit anywhere breaks it."""
    size = data.draw(st.integers(1, BIG), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    lh = leaf_hash(b"%d" % index)
    proof = big_tree.inclusion_proof(index, size)
    root = big_tree.root(size)
    assert verify_inclusion(lh, index, size, proof, root)
    assert len(proof) <= (size - 1).bit_length()
    target = data.draw(st.integers(0, len(proof) + 1), label="target")
    bit = data.draw(st.integers(0, 255), label="bit")
    if target == len(proof):
        assert not verify_inclusion(flip(lh, bit), index, size, proof, root)
    elif target == len(proof) + 1:
        assert not verify_inclusion(lh, index, size, proof, flip(root, bit))
    else:
        bad = list(proof)
        bad[target] = flip(bad[target], bit)
        assert not verify_inclusion(lh, index, size, bad, root)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_consistency_proof_verifies_and_any_flip_fails(
    big_tree: MerkleTree, data: st.DataObject
) -> None:
    """For random size1 <= size2 the proof verifies; one flipped bit anywhere breaks it."""
    size2 = data.draw(st.integers(1, BIG), label="size2")
    size1 = data.draw(st.integers(1, size2), label="size1")
    r1, r2 = big_tree.root(size1), big_tree.root(size2)
    proof = big_tree.consistency_proof(size1, size2)
    assert verify_consistency(size1, size2, r1, r2, proof)
    if size1 == size2:
        return
    target = data.draw(st.integers(0, len(proof) + 1), label="target")
    bit = data.draw(st.integers(0, 255), label="bit")
    if target == len(proof):
        assert not verify_consistency(size1, size2, flip(r1, bit), r2, proof)
    elif target == len(proof) + 1:
        assert not verify_consistency(size1, size2, r1, flip(r2, bit), proof)
    else:
        bad = list(proof)
        bad[target] = flip(bad[target], bit)
        assert not verify_consistency(size1, size2, r1, r2, bad)


@settings(max_examples=40, deadline=None)
@given(batches=st.lists(st.integers(0, 40), max_size=25))
def test_batched_appends_equal_single_appends(batches: list[int]) -> None:
    """Any split of the same leaves into batches stores identical nodes and roots."""
    total = sum(batches)
    hashes = [leaf_hash(b"%d" % i) for i in range(total)]
    batched, single = MemoryNodeStore(), MemoryNodeStore()
    tree = MerkleTree(batched)
    pos = 0
    for k in batches:
        assert tree.append(hashes[pos : pos + k]) == pos + k
        pos += k
    one = MerkleTree(single)
    for h in hashes:
        one.append([h])
    assert batched.levels == single.levels
    assert tree.root() == one.root() == ref_mth([b"%d" % i for i in range(total)])


# ---- storage behaviour ---------------------------------------------------------------------------


class CountingStore:
    """A NodeStore wrapper that counts batched calls and keys."""

    def __init__(self) -> None:
        """Wrap a fresh in-memory store."""
        self.inner = MemoryNodeStore()
        self.gets: list[int] = []
        self.puts: list[int] = []

    def get_many(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        """Record the batch size and delegate."""
        self.gets.append(len(keys))
        return self.inner.get_many(keys)

    def put_many(self, nodes: Iterable[tuple[NodeKey, bytes]]) -> None:
        """Record the batch size and delegate."""
        items = list(nodes)
        self.puts.append(len(items))
        self.inner.put_many(items)


def test_store_traffic_is_logarithmic() -> None:
    """Appends write only new nodes and read nothing; proofs are one batched O(log n) read."""
    store = CountingStore()
    assert isinstance(store, NodeStore)
    tree = MerkleTree(store)
    tree.append([leaf_hash(b"%d" % i) for i in range(5000)])
    store.gets.clear()
    store.puts.clear()
    for i in range(5000, 5100):
        tree.append([leaf_hash(b"%d" % i)])
    assert store.gets == []
    assert max(store.puts) <= 14  # one leaf completes at most log2(n) + 1 nodes
    assert sum(store.puts) < 2 * 100 + 14
    n = tree.size
    for index, size in ((1, n), (n - 1, n), (1234, 4321), (4999, 5001)):
        store.gets.clear()
        tree.inclusion_proof(index, size)
        assert len(store.gets) == 1
        assert store.gets[0] <= 2 * size.bit_length()
        store.gets.clear()
        tree.consistency_proof(index, size)
        assert len(store.gets) == 1
        assert store.gets[0] <= 3 * size.bit_length()


def test_stateless_reads_need_one_query_and_no_frontier() -> None:
    """Proof endpoints can read straight from the store at a checkpoint's size."""
    store = CountingStore()
    tree = MerkleTree(store)
    tree.append([leaf_hash(b"%d" % i) for i in range(3000)])
    for call, expected in (
        (lambda: inclusion_proof(store, 1234, 2999), tree.inclusion_proof(1234, 2999)),
        (lambda: consistency_proof(store, 1000, 2999), tree.consistency_proof(1000, 2999)),
        (lambda: [root_at(store, 2999)], [tree.root(2999)]),
    ):
        store.gets.clear()
        assert call() == expected
        assert len(store.gets) == 1
    assert root_at(store, 0) == EMPTY_ROOT
    with pytest.raises(MerkleError):
        inclusion_proof(store, 0, 3001)  # beyond what the store holds


def test_reopening_a_tree_loads_only_the_frontier() -> None:
    """A tree reopened at a size (as the DB sequencer does) continues identically."""
    store = CountingStore()
    first = MerkleTree(store)
    first.append([leaf_hash(b"%d" % i) for i in range(777)])
    store.gets.clear()
    reopened = MerkleTree(store, 777)
    assert store.gets == [len(peak_keys(777))]
    assert reopened.root() == first.root()
    reopened.append([leaf_hash(b"%d" % i) for i in range(777, 1000)])
    assert reopened.root() == ref_mth([b"%d" % i for i in range(1000)])
    # Opening at an older size serves that size's head without touching newer nodes.
    old = MerkleTree(store, 500)
    assert old.root() == ref_mth([b"%d" % i for i in range(500)])


def test_store_refuses_rewrites_gaps_and_missing_nodes() -> None:
    """History cannot be rewritten through the store, and missing nodes are reported."""
    store = MemoryNodeStore()
    tree = MerkleTree(store)
    tree.append_leaves([b"a", b"b", b"c"])
    store.put_many([((0, 1), leaf_hash(b"b"))])  # same value: idempotent
    with pytest.raises(MerkleError):
        store.put_many([((0, 1), leaf_hash(b"x"))])
    with pytest.raises(MerkleError):
        store.put_many([((0, 9), leaf_hash(b"x"))])
    with pytest.raises(MerkleError):
        MerkleTree(MemoryNodeStore(), 3)
    with pytest.raises(MerkleError):
        tree.inclusion_proof(3, 3)
    with pytest.raises(MerkleError):
        tree.root(4)
    with pytest.raises(MerkleError):
        tree.consistency_proof(3, 2)
    with pytest.raises(MerkleError):
        compute_append(3, {}, [leaf_hash(b"d")])
    with pytest.raises(MerkleError):
        tree.append([b"short"])


def test_tampered_store_is_detected_by_the_next_proof() -> None:
    """Changing a stored leaf hash makes proofs computed afterwards fail against the old root."""
    store = MemoryNodeStore()
    tree = MerkleTree(store)
    tree.append_leaves([b"%d" % i for i in range(100)])
    root = tree.root()
    store.levels[1][4 * 32] ^= 1  # corrupt node (1, 4), on the audit path of leaf 10
    proof = tree.inclusion_proof(10)
    assert not verify_inclusion(leaf_hash(b"10"), 10, 100, proof, root)


def test_streaming_root_and_leaf_audit() -> None:
    """A full audit recomputes the root from the leaves and spots an edited leaf row."""
    leaves = [b"%d" % i for i in range(1000)]
    tree = MerkleTree(MemoryNodeStore())
    tree.append_leaves(leaves)
    assert root_of(leaf_hash(x) for x in leaves) == tree.root()
    assert root_of(leaf_hash(x) for x in leaves[:777]) == tree.root(777)
    edited = list(leaves)
    edited[500] = b"five hundred"
    assert mismatched_leaves(tree.store, 0, leaves) == []
    assert mismatched_leaves(tree.store, 400, edited[400:600]) == [500]
    assert mismatched_leaves(tree.store, 999, [b"999", b"1000"]) == [1000]  # not logged
    assert root_of(leaf_hash(x) for x in edited) != tree.root()


def test_canonical_json_is_rfc8785() -> None:
    """Leaves are JCS: sorted keys, no whitespace, literal UTF-8, shortest numbers."""
    event = {"type": "placed", "quantity": 1000, "price_fen": 1250, "service": "抖音粉丝"}
    text = canonical_json(event)
    assert text == (
        '{"price_fen":1250,"quantity":1000,"service":"抖音粉丝","type":"placed"}'.encode()
    )
    assert canonical_json({"b": [1, 2.5, None, True], "a": "\u0007"}) == (
        b'{"a":"\\u0007","b":[1,2.5,null,true]}'
    )
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json({"n": float("nan")})
