"""RFC 6962 Merkle tree: hashing, incremental storage, inclusion and consistency proofs.

Design overview
---------------
The log is the Merkle Tree Hash (MTH) of RFC 6962 §2.1 over a list of leaves, with
``leaf_hash(d) = SHA-256(0x00 || d)`` and ``node_hash(l, r) = SHA-256(0x01 || l || r)``.

Storage keeps only the hashes of *complete* (perfect) subtrees, addressed by ``(level, index)``:
node ``(l, i)`` is the MTH of leaves ``[i * 2**l, (i + 1) * 2**l)``. Level 0 holds the leaf
hashes. This is the layout C2SP tlog-tiles serves (a tile at tile level ``L`` is a run of 256
nodes at tree level ``8 * L``), and it never changes once written: appending leaves only *adds*
nodes, so storage is write-once, about two hashes per leaf (64 bytes), and scales to 100 M
leaves (~6.4 GB of hashes) on a database table or on disk.

Appending a batch of ``k`` leaves to a tree of size ``n`` writes the ``k`` leaf hashes and every
newly completed parent (fewer than ``k`` more). The only old nodes it needs are the *frontier*
(the peaks of the size-``n`` tree, at most ``log2(n)`` of them), which :class:`MerkleTree`
caches between appends and reloads with one batched read.

Any tree size ``s`` up to the current size is still fully described by the stored nodes: the
MTH of a range ``[a, b)`` whose start is aligned (as every range in the RFC recursion is) is
the right fold of the perfect subtrees given by the binary digits of ``b - a``. So the root,
an inclusion proof or a consistency proof for any size costs O(log n) node reads, done in a
single ``get_many`` call, and O(log n) hashes.

Proof generation follows RFC 6962 §2.1.1 (PATH) and §2.1.2 (PROOF/SUBPROOF) exactly, and the
verifiers are the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2. The module has no Django
import; the Django layer implements :class:`NodeStore` on a table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import rfc8785

HASH_SIZE = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1)."""

NodeKey = tuple[int, int]
"""``(level, index)`` of a complete subtree, covering leaves ``[i << level, (i + 1) << level)``."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256


class MerkleError(ValueError):
    """A request the tree cannot answer (size or index out of range, store missing a node)."""


def leaf_hash(leaf: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 || leaf)``."""
    return _sha256(_LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash ``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def canonical_json(obj: Any) -> bytes:
    """Serialise ``obj`` as RFC 8785 (JCS) canonical JSON, the exact bytes a leaf holds.

    Raises ``rfc8785.CanonicalizationError`` (a ``ValueError``) for values JCS cannot represent
    (integers beyond 2**53, NaN, non-string keys).
    """
    return rfc8785.dumps(obj)


def _split(n: int) -> int:
    """Return the largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def peak_keys(size: int) -> list[NodeKey]:
    """Return the perfect subtrees whose right fold is the root of a ``size``-leaf tree.

    Ordered left to right (highest level first). These are also the *frontier* an append to a
    tree of this size needs.
    """
    return range_keys(0, size)


def range_keys(start: int, end: int) -> list[NodeKey]:
    """Decompose the aligned leaf range ``[start, end)`` into perfect subtrees, left to right.

    ``start`` must be a multiple of the smallest power of two ``>= end - start`` (true of every
    range in the RFC 6962 recursion); then MTH of the range is the right fold of these nodes.
    """
    keys: list[NodeKey] = []
    pos = start
    width = end - start
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            keys.append((level, pos >> level))
            pos += 1 << level
    return keys


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Right fold of peak hashes: ``H(p0, H(p1, ... H(pk-1, pk)))``."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose MTHs form PATH(index, D[size]) (RFC 6962 §2.1.1), bottom-up."""
    if not 0 <= index < size:
        raise MerkleError(f"leaf index {index} is outside a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose MTHs form PROOF(size1, D[size2]) (RFC 6962 §2.1.2).

    Empty when ``size1`` is 0 or equal to ``size2`` (nothing to prove).
    """
    if not 0 <= size1 <= size2:
        raise MerkleError(f"cannot prove consistency from size {size1} to size {size2}")
    if size1 in (0, size2):
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size2
    complete = True  # SUBPROOF's flag b: whether the old tree is a complete subtree so far
    while True:
        m = size1 - lo
        if m == hi - lo:
            if not complete:
                ranges.append((lo, hi))
            break
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            complete = False
    ranges.reverse()
    return ranges


@runtime_checkable
class NodeStore(Protocol):
    """Write-once storage of complete-subtree hashes keyed by ``(level, index)``.

    Both calls are batched so a database implementation does one query per call. Keys absent
    from the store are simply absent from ``get_many``'s answer. ``put_many`` receives new
    nodes only; an implementation SHOULD refuse to overwrite an existing key with a different
    hash (that would be a rewrite of history).
    """

    def get_many(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        """Return the stored hash of each key that exists."""
        ...

    def put_many(self, nodes: Iterable[tuple[NodeKey, bytes]]) -> None:
        """Store new nodes (given in level order, indexes ascending within a level)."""
        ...


class MemoryNodeStore:
    """In-memory :class:`NodeStore`: one ``bytearray`` of concatenated hashes per level.

    32 bytes per node and no per-node object, so a million-leaf tree takes about 64 MB.
    """

    def __init__(self) -> None:
        """Create an empty store."""
        self.levels: list[bytearray] = []

    def count(self, level: int) -> int:
        """Return how many nodes are stored at ``level``."""
        return len(self.levels[level]) // HASH_SIZE if level < len(self.levels) else 0

    def get_many(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """Return the stored hash of each key that exists."""
        out: dict[NodeKey, bytes] = {}
        levels = self.levels
        for key in keys:
            level, index = key
            if level < len(levels):
                off = index * HASH_SIZE
                row = levels[level]
                if 0 <= off and off + HASH_SIZE <= len(row):
                    out[key] = bytes(row[off : off + HASH_SIZE])
        return out

    def get_range(self, level: int, start: int, end: int) -> list[bytes]:
        """Return nodes ``start..end-1`` at ``level`` (raises if any is missing)."""
        if level >= len(self.levels) or end * HASH_SIZE > len(self.levels[level]):
            raise MerkleError(f"nodes {start}..{end} at level {level} are not stored")
        row = self.levels[level]
        return [bytes(row[i * HASH_SIZE : (i + 1) * HASH_SIZE]) for i in range(start, end)]

    def put_many(self, nodes: Iterable[tuple[NodeKey, bytes]]) -> None:
        """Store nodes; appends in index order, refuses gaps and conflicting rewrites."""
        levels = self.levels
        for (level, index), value in nodes:
            if len(value) != HASH_SIZE:
                raise MerkleError("a node hash must be 32 bytes")
            while level >= len(levels):
                levels.append(bytearray())
            row = levels[level]
            off = index * HASH_SIZE
            if off == len(row):
                row += value
            elif off < len(row):
                if row[off : off + HASH_SIZE] != value:
                    raise MerkleError(f"node {(level, index)} already holds a different hash")
            else:
                raise MerkleError(f"node {(level, index)} would leave a gap at level {level}")


@dataclass(frozen=True)
class AppendRun:
    """Consecutive new nodes at one level: ``hashes[j]`` is node ``(level, start + j)``."""

    level: int
    start: int
    hashes: list[bytes]

    def items(self) -> Iterator[tuple[NodeKey, bytes]]:
        """Yield ``((level, index), hash)`` pairs, ready for :meth:`NodeStore.put_many`."""
        level, start = self.level, self.start
        for j, h in enumerate(self.hashes):
            yield (level, start + j), h


def compute_append(
    size: int, frontier: Mapping[NodeKey, bytes], leaf_hashes: Sequence[bytes]
) -> list[AppendRun]:
    """Return every node that appending ``leaf_hashes`` to a ``size``-leaf tree completes.

    ``frontier`` must hold at least the nodes of ``peak_keys(size)``. Pure function: the caller
    stores the runs. Cost: about ``2 * len(leaf_hashes)`` hashes, no reads.
    """
    for h in leaf_hashes:
        if len(h) != HASH_SIZE:
            raise MerkleError("a leaf hash must be 32 bytes")
    runs: list[AppendRun] = []
    if not leaf_hashes:
        return runs
    level, start = 0, size
    current: list[bytes] = list(leaf_hashes)
    while True:
        runs.append(AppendRun(level, start, current))
        end = start + len(current)
        parent_start, parent_end = start >> 1, end >> 1
        if parent_end <= parent_start:
            break
        if start & 1:
            try:
                left = frontier[(level, start - 1)]
            except KeyError:
                raise MerkleError(f"frontier node {(level, start - 1)} is missing") from None
            seq = [left, *current]
        else:
            seq = current
        current = [node_hash(seq[2 * j], seq[2 * j + 1]) for j in range(parent_end - parent_start)]
        level, start = level + 1, parent_start
    return runs


def read_nodes(store: NodeStore, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
    """Fetch ``keys`` in one batch; a missing or malformed node raises :class:`MerkleError`."""
    wanted = list(dict.fromkeys(keys))
    got = store.get_many(wanted) if wanted else {}
    missing = [k for k in wanted if k not in got]
    if missing:
        raise MerkleError(f"the node store is missing nodes {missing[:5]}")
    for k in wanted:
        if len(got[k]) != HASH_SIZE:
            raise MerkleError(f"the node store holds a malformed hash at {k}")
    return {k: bytes(got[k]) for k in wanted}


def range_hashes(store: NodeStore, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """Return MTH of each aligned leaf range, reading every needed node in one batch."""
    per_range = [range_keys(a, b) for a, b in ranges]
    nodes = read_nodes(store, [k for keys in per_range for k in keys])
    return [_fold([nodes[k] for k in keys]) for keys in per_range]


def root_at(store: NodeStore, size: int) -> bytes:
    """Return the MTH of the first ``size`` leaves held in ``store`` (one batched read)."""
    if size < 0:
        raise MerkleError("tree size cannot be negative")
    return EMPTY_ROOT if size == 0 else range_hashes(store, [(0, size)])[0]


def inclusion_proof(store: NodeStore, index: int, size: int) -> list[bytes]:
    """Return PATH(index, D[size]) from ``store`` (one batched read, no frontier needed).

    The caller checks ``size`` against its authoritative tree size; nodes past it are never read.
    """
    return range_hashes(store, inclusion_ranges(index, size))


def consistency_proof(store: NodeStore, size1: int, size2: int) -> list[bytes]:
    """Return PROOF(size1, D[size2]) from ``store`` (one batched read, no frontier needed)."""
    return range_hashes(store, consistency_ranges(size1, size2))


class MerkleTree:
    """An append-only RFC 6962 tree over a :class:`NodeStore`.

    The caller owns the authoritative size (for the Django layer: a row locked in the append
    transaction) and must serialise appends; reads for any size up to :attr:`size` are safe
    concurrently because stored nodes never change.
    """

    def __init__(
        self, store: NodeStore, size: int = 0, frontier: Mapping[NodeKey, bytes] | None = None
    ) -> None:
        """Open the tree of ``size`` leaves held in ``store``.

        ``frontier`` (the nodes of ``peak_keys(size)``) is loaded from the store when omitted.
        """
        if size < 0:
            raise MerkleError("tree size cannot be negative")
        self.store = store
        self._size = size
        if frontier is None:
            frontier = read_nodes(store, peak_keys(size))
        self._frontier = {k: frontier[k] for k in peak_keys(size)}

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def frontier(self) -> dict[NodeKey, bytes]:
        """The peaks of the current tree (enough state to append without reading the store)."""
        return dict(self._frontier)

    def append(self, leaf_hashes: Sequence[bytes]) -> int:
        """Append leaf hashes (already hashed), store the new nodes, and return the new size."""
        runs = compute_append(self._size, self._frontier, leaf_hashes)
        if not runs:
            return self._size
        self.store.put_many(item for run in runs for item in run.items())
        new_size = self._size + len(leaf_hashes)
        by_level = {run.level: run for run in runs}
        frontier: dict[NodeKey, bytes] = {}
        for key in peak_keys(new_size):
            level, index = key
            run = by_level.get(level)
            if run is not None and run.start <= index < run.start + len(run.hashes):
                frontier[key] = run.hashes[index - run.start]
            else:
                frontier[key] = self._frontier[key]
        self._frontier = frontier
        self._size = new_size
        return new_size

    def append_leaves(self, leaves: Sequence[bytes]) -> int:
        """Hash raw leaves with :func:`leaf_hash`, append them, and return the new size."""
        return self.append([leaf_hash(leaf) for leaf in leaves])

    def _check_size(self, size: int | None) -> int:
        """Resolve ``None`` to the current size and refuse sizes the tree has not reached."""
        if size is None:
            return self._size
        if not 0 <= size <= self._size:
            raise MerkleError(f"tree size {size} is outside 0..{self._size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """Return the MTH of the first ``size`` leaves (default: all)."""
        size = self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        if size == self._size:
            return _fold([self._frontier[k] for k in peak_keys(size)])
        return root_at(self.store, size)

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Return the stored leaf hashes of indexes ``start..end-1``."""
        if not 0 <= start <= end <= self._size:
            raise MerkleError(f"leaf range {start}..{end} is outside 0..{self._size}")
        keys = [(0, i) for i in range(start, end)]
        nodes = read_nodes(self.store, keys)
        return [nodes[k] for k in keys]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return PATH(index, D[size]): the audit path, leaf sibling first (RFC 6962 §2.1.1)."""
        size = self._check_size(size)
        return inclusion_proof(self.store, index, size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Return PROOF(size1, D[size2]) (RFC 6962 §2.1.2); empty if size1 is 0 or size2."""
        size2 = self._check_size(size2)
        return consistency_proof(self.store, size1, size2)


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """Return the MTH of a stream of leaf hashes in O(log n) memory.

    For a full audit: stream every leaf from the database, hash it, and compare the result with
    the root of the latest signed checkpoint.
    """
    stack: list[tuple[int, bytes]] = []  # the compact range: (level, hash) of each peak
    for h in leaf_hashes:
        level = 0
        while stack and stack[-1][0] == level:
            h = node_hash(stack.pop()[1], h)
            level += 1
        stack.append((level, h))
    if not stack:
        return EMPTY_ROOT
    return _fold([h for _, h in stack])


def mismatched_leaves(store: NodeStore, start: int, leaves: Sequence[bytes]) -> list[int]:
    """Return the indexes in ``start..`` whose stored leaf hash differs from ``leaf_hash(leaf)``.

    Detects a leaf row edited after it was logged (one batched read per call).
    """
    keys = [(0, start + i) for i in range(len(leaves))]
    stored = store.get_many(keys)
    return [start + i for i, leaf in enumerate(leaves) if stored.get(keys[i]) != leaf_hash(leaf)]


def _valid_hash(h: object) -> bool:
    """Tell whether ``h`` is a 32-byte hash."""
    return isinstance(h, bytes | bytearray) and len(h) == HASH_SIZE


def root_from_inclusion(leaf_hash_: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """Recompute the root an audit path leads to (RFC 9162 §2.1.3.2, steps 1-4).

    Raises :class:`MerkleError` when the path has the wrong shape for ``index`` and ``size``.
    """
    if not 0 <= index < size:
        raise MerkleError(f"leaf index {index} is outside a tree of size {size}")
    if not _valid_hash(leaf_hash_) or not all(_valid_hash(p) for p in path):
        raise MerkleError("every hash must be 32 bytes")
    fn, sn = index, size - 1
    r = bytes(leaf_hash_)
    for p in path:
        if sn == 0:
            raise MerkleError("the audit path is too long")
        if fn & 1 or fn == sn:
            r = node_hash(bytes(p), r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, bytes(p))
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleError("the audit path is too short")
    return r


def verify_inclusion(
    leaf_hash_: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """Return True if ``path`` proves leaf ``index`` of a ``size``-leaf tree with ``root``."""
    if not _valid_hash(root):
        return False
    try:
        return root_from_inclusion(leaf_hash_, index, size, path) == bytes(root)
    except MerkleError:
        return False


def roots_from_consistency(
    size1: int, size2: int, root1: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """Recompute ``(old root, new root)`` from a consistency proof (RFC 9162 §2.1.4.2).

    For ``0 < size1 < size2``. Raises :class:`MerkleError` when the proof has the wrong shape.
    """
    if not 0 < size1 < size2:
        raise MerkleError(f"sizes {size1} -> {size2} need no proof or cannot have one")
    if not proof:
        raise MerkleError("the consistency proof is empty")
    if not _valid_hash(root1) or not all(_valid_hash(p) for p in proof):
        raise MerkleError("every hash must be 32 bytes")
    path = [bytes(p) for p in proof]
    if size1 & (size1 - 1) == 0:
        path.insert(0, bytes(root1))
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise MerkleError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleError("the consistency proof is too short")
    return fr, sr


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> bool:
    """Return True if ``proof`` shows the ``size1`` tree (``root1``) is a prefix of ``root2``'s.

    Equal sizes need an empty proof and equal roots; size 0 needs an empty proof and the empty
    tree's root (RFC 6962 2.1: the hash of no input), so a forged empty checkpoint is refused.
    """
    if not 0 <= size1 <= size2 or not _valid_hash(root1) or not _valid_hash(root2):
        return False
    if size1 == 0 and bytes(root1) != EMPTY_ROOT:
        return False
    if size1 == size2:
        return not proof and bytes(root1) == bytes(root2)
    if size1 == 0:
        return not proof
    try:
        fr, sr = roots_from_consistency(size1, size2, root1, proof)
    except MerkleError:
        return False
    return fr == bytes(root1) and sr == bytes(root2)
