"""C2SP tlog-tiles: tile paths, tile contents from a node store, and entry bundles.

Design overview
---------------
c2sp.org/tlog-tiles serves the Merkle tree as static *tiles*: tile ``N`` at tile level ``L``
is the run of (up to) 256 consecutive hashes of tree level ``8 * L`` starting at node
``N * 256``, i.e. ``MTH(D[(N*256 + i) * 256**L : (N*256 + i + 1) * 256**L])``. That is
exactly what :mod:`doudesk.ledger.merkle` stores as node ``(8 * L, N * 256 + i)``, so a tile
is one batched read. A *partial* tile (``.p/<W>``) holds the first ``W < 256`` hashes of a tile
that is not yet full; for a tree of size ``s`` the level-``L`` partial tile has
``floor(s / 256**L) mod 256`` hashes.

Entry bundles (``tile/entries/<N>``) hold the leaves of the matching level-0 tile, each as a
big-endian uint16 length and the leaf bytes.

Paths are parsed strictly (canonical spelling only) so one resource has one URL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .merkle import HASH_SIZE, NodeStore

TILE_HEIGHT = 8
"""Tree levels per tile level."""

TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes (or entries) in a full tile: 256."""

MAX_ENTRY_SIZE = 0xFFFF
"""Largest leaf an entry bundle can carry (uint16 length prefix)."""

_ELEMENT = re.compile(r"[0-9]{3}")
_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")


class TileError(ValueError):
    """A malformed tile path, or a tile that does not exist for the tree size."""


def encode_tile_index(index: int) -> str:
    """Encode a tile index as zero-padded 3-digit path elements: 1234067 -> ``x001/x234/067``."""
    if index < 0:
        raise TileError("a tile index cannot be negative")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def decode_tile_index(text: str) -> int:
    """Parse the canonical 3-digit-element encoding back to an index."""
    parts = text.split("/")
    value = 0
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if not last:
            if not part.startswith("x"):
                raise TileError(f"tile index element {part!r} must start with x")
            part = part[1:]
        if not _ELEMENT.fullmatch(part):
            raise TileError(f"tile index element {part!r} is not three digits")
        value = value * 1000 + int(part)
    if encode_tile_index(value) != text:
        raise TileError(f"tile index {text!r} is not in canonical form")
    return value


@dataclass(frozen=True)
class TileRef:
    """A tile resource: ``level`` is the tile level, or ``None`` for an entry bundle."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def is_entries(self) -> bool:
        """True for an entry bundle (``tile/entries/...``)."""
        return self.level is None

    @property
    def is_partial(self) -> bool:
        """True for a partial tile (fewer than 256 hashes)."""
        return self.width < TILE_WIDTH

    def path(self) -> str:
        """Return the resource path relative to the log prefix."""
        if self.level is None:
            return entries_path(self.index, self.width)
        return tile_path(self.level, self.index, self.width)

    def leaf_range(self) -> tuple[int, int]:
        """For an entry bundle or a level-0 tile: the leaf indexes ``[start, end)`` it holds."""
        start = self.index * TILE_WIDTH
        return start, start + self.width


def _suffix(width: int) -> str:
    """``.p/<W>`` for partial tiles, empty for full ones."""
    if not 1 <= width <= TILE_WIDTH:
        raise TileError("a tile width must be between 1 and 256")
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """Return ``tile/<L>/<N>[.p/<W>]``."""
    if not 0 <= level <= 63:
        raise TileError("a tile level must be between 0 and 63")
    return f"tile/{level}/{encode_tile_index(index)}{_suffix(width)}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """Return ``tile/entries/<N>[.p/<W>]``."""
    return f"tile/entries/{encode_tile_index(index)}{_suffix(width)}"


def parse_tile_path(path: str) -> TileRef:
    """Parse ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` (leading ``/`` allowed).

    Raises :class:`TileError` for anything but the canonical spelling.
    """
    rest = path.lstrip("/")
    if not rest.startswith("tile/"):
        raise TileError("a tile path starts with tile/")
    rest = rest[len("tile/") :]
    head, sep, rest = rest.partition("/")
    if not sep:
        raise TileError("a tile path needs a level and an index")
    level: int | None
    if head == "entries":
        level = None
    elif _LEVEL.fullmatch(head) and int(head) <= 63:
        level = int(head)
    else:
        raise TileError(f"bad tile level {head!r}")
    width = TILE_WIDTH
    index_text, dot, width_text = rest.partition(".p/")
    if dot:
        if not _WIDTH.fullmatch(width_text) or int(width_text) >= TILE_WIDTH:
            raise TileError(f"bad partial tile width {width_text!r}")
        width = int(width_text)
    return TileRef(level, decode_tile_index(index_text), width)


def level_count(tree_size: int, level: int) -> int:
    """Return the number of hashes that exist at tile level ``level`` for ``tree_size`` leaves."""
    return tree_size >> (TILE_HEIGHT * level)


def tile_exists(ref: TileRef, tree_size: int) -> bool:
    """Tell whether ``ref`` is fully determined by a tree of ``tree_size`` leaves.

    A partial tile narrower than the current one stays valid (its hashes never change), so any
    width up to what the size covers is served.
    """
    count = level_count(tree_size, 0 if ref.level is None else ref.level)
    return ref.index * TILE_WIDTH + ref.width <= count


def tiles_for_size(tree_size: int) -> list[TileRef]:
    """Return the partial tiles a checkpoint of ``tree_size`` requires (rightmost per level).

    Full tiles are all those of lower index; the spec's example: size 70,000 has partial tiles
    level 0 width 112, level 1 width 17 and level 2 width 1.
    """
    refs: list[TileRef] = []
    level = 0
    while (count := level_count(tree_size, level)) > 0:
        width = count % TILE_WIDTH
        if width:
            refs.append(TileRef(level, count // TILE_WIDTH, width))
        level += 1
    return refs


def read_tile(store: NodeStore, ref: TileRef, tree_size: int) -> bytes:
    """Return the tile's bytes (``width`` concatenated 32-byte hashes) for ``tree_size``.

    Raises :class:`TileError` if the tile does not exist at that size or the store lacks nodes.
    """
    if ref.level is None:
        raise TileError("entry bundles come from the entries table, not the node store")
    if not tile_exists(ref, tree_size):
        raise TileError(f"{ref.path()} does not exist for tree size {tree_size}")
    tree_level = TILE_HEIGHT * ref.level
    start = ref.index * TILE_WIDTH
    keys = [(tree_level, start + i) for i in range(ref.width)]
    nodes = store.get_many(keys)
    try:
        return b"".join(nodes[k] for k in keys)
    except KeyError:
        raise TileError(f"the node store is missing hashes of {ref.path()}") from None


def split_tile(data: bytes) -> list[bytes]:
    """Split tile bytes into its 32-byte hashes."""
    if len(data) % HASH_SIZE or not 0 < len(data) <= TILE_WIDTH * HASH_SIZE:
        raise TileError("tile data must be 1 to 256 hashes of 32 bytes")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Encode entries as big-endian uint16 length-prefixed records."""
    if len(entries) > TILE_WIDTH:
        raise TileError("an entry bundle holds at most 256 entries")
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise TileError("an entry is longer than 65535 bytes")
        out += len(entry).to_bytes(2, "big")
        out += entry
    return bytes(out)


def decode_entry_bundle(data: bytes) -> list[bytes]:
    """Decode an entry bundle back into its entries."""
    entries: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise TileError("truncated entry length")
        length = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if pos + length > len(data):
            raise TileError("truncated entry")
        entries.append(data[pos : pos + length])
        pos += length
    if len(entries) > TILE_WIDTH:
        raise TileError("an entry bundle holds at most 256 entries")
    return entries
