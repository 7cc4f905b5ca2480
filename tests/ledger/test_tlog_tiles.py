"""C2SP tlog-tiles: path encoding, tile contents from the node store, entry bundles."""

from __future__ import annotations

import pytest

from doudesk.ledger.merkle import MemoryNodeStore, MerkleTree, leaf_hash, root_of
from doudesk.ledger.tiles import (
    TILE_WIDTH,
    TileError,
    TileRef,
    decode_entry_bundle,
    decode_tile_index,
    encode_entry_bundle,
    encode_tile_index,
    entries_path,
    parse_tile_path,
    read_tile,
    split_tile,
    tile_exists,
    tile_path,
    tiles_for_size,
)


@pytest.mark.parametrize(
    ("index", "encoded"),
    [
        (0, "000"),
        (7, "007"),
        (999, "999"),
        (1000, "x001/000"),
        (1234067, "x001/x234/067"),
        (1_000_000_000, "x001/x000/x000/000"),
    ],
)
def test_tile_index_encoding(index: int, encoded: str) -> None:
    """Indexes become 3-digit elements, all but the last prefixed with x."""
    assert encode_tile_index(index) == encoded
    assert decode_tile_index(encoded) == index


@pytest.mark.parametrize("bad", ["x000/001", "1", "0001", "x001/x234/67", "001/067", "x001", ""])
def test_non_canonical_tile_indexes_are_refused(bad: str) -> None:
    """Only the canonical spelling of an index is accepted."""
    with pytest.raises(TileError):
        decode_tile_index(bad)


def test_tile_paths() -> None:
    """Full and partial tiles and entry bundles, and parsing them back."""
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(1, 273, 112) == "tile/1/273.p/112"
    assert entries_path(5) == "tile/entries/005"
    assert entries_path(273, 112) == "tile/entries/273.p/112"
    for ref in (TileRef(0, 1234067), TileRef(2, 0, 1), TileRef(None, 273, 112), TileRef(63, 5)):
        assert parse_tile_path(ref.path()) == ref
        assert parse_tile_path("/" + ref.path()) == ref
    assert parse_tile_path("tile/entries/001").is_entries
    assert parse_tile_path("tile/0/001.p/3").is_partial
    assert TileRef(None, 2, 10).leaf_range() == (512, 522)


@pytest.mark.parametrize(
    "bad",
    [
        "tile/00/000",
        "tile/64/000",
        "tile/0/000.p/256",
        "tile/0/000.p/0",
        "tile/0/000.p/01",
        "tile/0/x000/001",
        "tile/0",
        "tiles/0/000",
        "tile/-1/000",
        "tile/entry/000",
    ],
)
def test_malformed_tile_paths_are_refused(bad: str) -> None:
    """Levels, widths and indexes must be canonical."""
    with pytest.raises(TileError):
        parse_tile_path(bad)


def test_partial_tiles_for_a_size() -> None:
    """The spec's examples: 70,000 and 256 leaves."""
    assert tiles_for_size(70_000) == [TileRef(0, 273, 112), TileRef(1, 1, 17), TileRef(2, 0, 1)]
    assert tiles_for_size(256) == [TileRef(1, 0, 1)]
    assert tiles_for_size(0) == []


@pytest.fixture(scope="module")
def tree70k() -> MerkleTree:
    """Build a 70,000-leaf tree."""
    tree = MerkleTree(MemoryNodeStore())
    tree.append([leaf_hash(b"%d" % i) for i in range(70_000)])
    return tree


def test_tile_contents(tree70k: MerkleTree) -> None:
    """Level 0 holds leaf hashes; a level-L hash is the MTH of a full level L-1 tile."""
    store = tree70k.store
    size = tree70k.size
    tile0 = split_tile(read_tile(store, TileRef(0, 3), size))
    assert tile0 == tree70k.leaf_hashes(768, 1024)
    assert isinstance(store, MemoryNodeStore)
    assert store.get_range(0, 768, 1024) == tile0
    level1 = split_tile(read_tile(store, TileRef(1, 1, 17), size))
    assert len(level1) == 17
    for i in (0, 5, 16):
        below = split_tile(read_tile(store, TileRef(0, 256 + i), size))
        assert level1[i] == root_of(below)
    assert level1[16] == root_of(tree70k.leaf_hashes((256 + 16) * 256, (256 + 17) * 256))
    level2 = read_tile(store, TileRef(2, 0, 1), size)
    assert level2 == tree70k.root(65_536)
    partial0 = split_tile(read_tile(store, TileRef(0, 273, 112), size))
    assert partial0 == tree70k.leaf_hashes(273 * 256, 70_000)


def test_tile_existence(tree70k: MerkleTree) -> None:
    """Narrower partial tiles of older sizes stay available; tiles beyond the size do not."""
    store, size = tree70k.store, tree70k.size
    assert tile_exists(TileRef(0, 273, 5), size)
    assert read_tile(store, TileRef(0, 273, 5), size) == b"".join(
        tree70k.leaf_hashes(273 * 256, 273 * 256 + 5)
    )
    for ref in (TileRef(0, 273), TileRef(0, 273, 113), TileRef(1, 1), TileRef(2, 0, 2)):
        assert not tile_exists(ref, size)
        with pytest.raises(TileError):
            read_tile(store, ref, size)
    with pytest.raises(TileError):
        read_tile(store, TileRef(0, 10), 2000)  # the tile exists now but not at size 2000
    with pytest.raises(TileError):
        read_tile(store, TileRef(None, 0), size)


def test_entry_bundles() -> None:
    """Each entry is a big-endian uint16 length then its bytes; malformed bundles are refused."""
    entries = [b"", b"a", "抖音".encode(), bytes(300)]
    data = encode_entry_bundle(entries)
    assert data[:5].hex() == "0000000161"
    assert data[5:7] == (6).to_bytes(2, "big")
    assert decode_entry_bundle(data) == entries
    with pytest.raises(TileError):
        decode_entry_bundle(data[:-1])
    with pytest.raises(TileError):
        decode_entry_bundle(b"\x00")
    with pytest.raises(TileError):
        encode_entry_bundle([bytes(65_536)])
    with pytest.raises(TileError):
        encode_entry_bundle([b"x"] * (TILE_WIDTH + 1))
    assert encode_entry_bundle([bytes(65_535)])[:2] == b"\xff\xff"
