"""The log's REST endpoints (/api/v1/ledger/...) and C2SP tlog-tiles read paths (/ledger/...)."""

from __future__ import annotations

import pytest
from django.test import Client
from ledger_testing import SIGNER

from doudesk.ledger import services
from doudesk.ledger.merkle import (
    MemoryNodeStore,
    MerkleTree,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from doudesk.ledger.notes import open_checkpoint
from doudesk.ledger.tiles import decode_entry_bundle, split_tile

pytestmark = pytest.mark.django_db

API = "/api/v1/ledger"


def publish(n: int, start: int = 0) -> list[bytes]:
    """Record and publish ``n`` events; return their leaf texts."""
    leaves = []
    for i in range(start, start + n):
        leaf = services.ledger_record(event={"type": "progress", "seq": i, "名": "测试"})
        leaves.append(leaf.leaf.encode())
    services.ledger_integrate()
    return leaves


@pytest.fixture
def log() -> MerkleTree:
    """Publish a 300-leaf log, mirrored in memory for expected values."""
    tree = MerkleTree(MemoryNodeStore())
    tree.append_leaves(publish(300))
    return tree


def codes(response) -> list[str]:
    """Return the v1 error codes of a refusal."""
    return [e["code"] for e in response.json()["errors"]]


def test_no_checkpoint_yet_is_a_404():
    response = Client().get(f"{API}/checkpoint")
    assert response.status_code == 404
    assert codes(response) == ["no_checkpoint"]
    assert Client().get("/ledger/checkpoint").status_code == 404


def test_checkpoint_as_signed_note_and_as_json(log):
    client = Client()
    text = client.get(f"{API}/checkpoint")
    assert text.status_code == 200
    assert text["Content-Type"].startswith("text/plain")
    checkpoint = open_checkpoint(text.content, SIGNER.verifier)
    assert (checkpoint.size, checkpoint.root_hash) == (300, log.root())
    data = client.get(f"{API}/checkpoint", headers={"Accept": "application/json"}).json()
    assert data == {"tree_size": 300, "root_hash": log.root().hex(), "note": text.content.decode()}
    assert client.get("/ledger/checkpoint").content == text.content


def test_public_key_is_the_c2sp_verifier_key():
    response = Client().get(f"{API}/public-key")
    assert response.status_code == 200
    assert response.content.decode().strip() == SIGNER.verifier_key
    as_json = Client().get(f"{API}/public-key", headers={"Accept": "application/json"})
    assert as_json.json() == {"public_key": SIGNER.verifier_key}


def test_entries_are_the_exact_hashed_texts(log):
    entries = Client().get(f"{API}/entries", {"start": 254, "end": 258}).json()["entries"]
    assert [e["index"] for e in entries] == [254, 255, 256, 257]
    for e in entries:
        assert leaf_hash(e["leaf"].encode()).hex() == e["leaf_hash"]
        assert bytes.fromhex(e["leaf_hash"]) == log.leaf_hashes(e["index"], e["index"] + 1)[0]
    clipped = Client().get(f"{API}/entries", {"start": 295, "end": 5000}).json()["entries"]
    assert [e["index"] for e in clipped] == [295, 296, 297, 298, 299]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"start": 300}, 400, "out_of_range"),
        ({"start": 5, "end": 5}, 400, "empty_range"),
        ({"start": -1}, 422, "int_range"),
        ({"start": "x"}, 422, "int_range"),
        ({"start": 2**63}, 422, "int_range"),
        ({}, 422, "missing"),
    ],
)
def test_bad_entry_ranges_are_clear_4xx(log, params, status, code):
    response = Client().get(f"{API}/entries", params)
    assert response.status_code == status
    assert code in codes(response)
    assert response.json()["detail"]


def test_inclusion_proofs_verify_against_the_checkpoint(log):
    client = Client()
    for index, size in [(0, 300), (299, 300), (17, 18), (256, 257), (100, None)]:
        params = {"index": index} if size is None else {"index": index, "size": size}
        proof = client.get(f"{API}/proof/inclusion", params).json()
        size = size or 300
        assert (proof["leaf_index"], proof["tree_size"]) == (index, size)
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        assert path == log.inclusion_proof(index, size)
        assert verify_inclusion(
            bytes.fromhex(proof["leaf_hash"]), index, size, path, log.root(size)
        )
    for params in ({"index": 300}, {"index": 5, "size": 5}, {"index": 1, "size": 301}):
        assert client.get(f"{API}/proof/inclusion", params).status_code == 400


def test_consistency_proofs_verify(log):
    client = Client()
    for first, second in [(1, 300), (7, 200), (256, 300), (300, 300), (0, 300)]:
        proof = client.get(f"{API}/proof/consistency", {"first": first, "second": second}).json()
        hashes = [bytes.fromhex(h) for h in proof["proof"]]
        assert (proof["first"], proof["second"]) == (first, second)
        assert verify_consistency(first, second, log.root(first), log.root(second), hashes)
    assert client.get(f"{API}/proof/consistency", {"first": 3}).json()["second"] == 300
    bad = client.get(f"{API}/proof/consistency", {"first": 10, "second": 9})
    assert (bad.status_code, codes(bad)) == (400, ["out_of_range"])
    assert client.get(f"{API}/proof/consistency", {"first": 1, "second": 301}).status_code == 400


def test_tlog_tiles_serve_hashes_and_entry_bundles(log):
    client = Client()
    full = client.get("/ledger/tile/0/000")
    assert full.status_code == 200
    assert full["Content-Type"] == "application/octet-stream"
    assert "immutable" in full["Cache-Control"]
    assert split_tile(full.content) == log.leaf_hashes(0, 256)
    partial = client.get("/ledger/tile/0/001.p/44")
    assert split_tile(partial.content) == log.leaf_hashes(256, 300)
    narrower = client.get("/ledger/tile/0/001.p/10")  # an older partial tile stays valid
    assert split_tile(narrower.content) == log.leaf_hashes(256, 266)
    level1 = client.get("/ledger/tile/1/000.p/1")
    assert split_tile(level1.content) == [log.root(256)]
    entries = decode_entry_bundle(client.get("/ledger/tile/entries/001.p/44").content)
    assert [leaf_hash(e) for e in entries] == log.leaf_hashes(256, 300)
    assert len(decode_entry_bundle(client.get("/ledger/tile/entries/000").content)) == 256


@pytest.mark.parametrize(
    "path",
    [
        "/ledger/tile/0/001",  # not full yet
        "/ledger/tile/0/001.p/45",  # wider than the tree
        "/ledger/tile/0/1",  # not canonical
        "/ledger/tile/1/000",
        "/ledger/tile/2/000.p/1",
        "/ledger/tile/entries/002.p/1",
        "/ledger/tile/0/000.p/256",
    ],
)
def test_missing_or_malformed_tiles_are_404(log, path):
    answer = Client().get(path)
    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("text/plain")  # the tiles' own 404, not a page


@pytest.mark.parametrize("path", ["/ledger/tile/-1/000", "/ledger/tile/", "/ledger/tile/0/ÿ"])
def test_tile_paths_of_no_tile_shape_get_the_tiles_plain_404(log, path):
    # They got the site's HTML 404 page.
    answer = Client().get(path)
    assert (answer.status_code, answer["Content-Type"]) == (404, "text/plain; charset=utf-8")


@pytest.mark.parametrize("path", ["/ledger/checkpoint", "/ledger/tile/0/000"])
def test_tlog_paths_answer_head_as_get(log, path):
    # A client or cache probing with HEAD used to get 405.
    client = Client()
    head, get = client.head(path), client.get(path)
    assert (head.status_code, get.status_code) == (200, 200)
    assert head["Content-Type"] == get["Content-Type"]
    assert head["Cache-Control"] == get["Cache-Control"]
    assert client.post(path).status_code == 405
    # Not a CSRF page, even from a client that enforces CSRF.
    assert Client(enforce_csrf_checks=True).post(path).status_code == 405


@pytest.mark.parametrize(
    "path", ["/checkpoint", "/public-key", "/entries?start=0&end=2", "/proof/inclusion?index=1"]
)
def test_the_ledger_api_answers_head_as_get_without_a_body(log, path):
    # RFC 9110 asks every server for HEAD where it answers GET; these answered 405.
    client = Client()
    head, get = client.head(API + path), client.get(API + path)
    assert (head.status_code, get.status_code) == (200, 200)
    assert head["Content-Type"] == get["Content-Type"]
    assert head["Content-Length"] == str(len(get.content))
    assert head.content == b""


def test_head_on_an_api_path_that_takes_no_get_is_still_refused(log):
    answer = Client().head("/api/v1/orders/1/cancel")
    assert answer.status_code == 405


def test_the_published_view_waits_for_the_checkpoint(log):
    """Sequenced but not yet checkpointed leaves are not served."""
    services.ledger_record(event={"type": "progress", "seq": 300})
    services.ledger_sequence()
    assert Client().get(f"{API}/entries", {"start": 300}).status_code == 400
    assert Client().get(f"{API}/proof/inclusion", {"index": 300}).status_code == 400
    services.ledger_checkpoint()
    assert Client().get(f"{API}/proof/inclusion", {"index": 300}).json()["tree_size"] == 301


def test_a_signing_key_named_for_another_log_is_refused_at_start(settings, tmp_path):
    # Every consistency check failed ("for another log") when the key's name and the origin
    # differed: a key set by hand, or a key file kept across a change of origin.
    from doudesk.ledger.checks import ledger_key_names_the_origin
    from doudesk.ledger.notes import generate_key

    settings.LEDGER_KEY_FILE = tmp_path / "ledger_signer.key"
    settings.LEDGER_ORIGIN = "doudesk.example/ledger"
    settings.LEDGER_SIGNER_KEY = ""
    assert ledger_key_names_the_origin() == []  # no key yet: one is made for the origin
    settings.LEDGER_KEY_FILE.write_text(generate_key("old.example/ledger")[0] + "\n")
    [error] = ledger_key_names_the_origin()
    assert error.id == "doudesk.E001"
    assert "'old.example/ledger'" in error.msg
    assert "DOUDESK_LEDGER_ORIGIN" in error.msg
    assert error.hint.startswith("Set DOUDESK_LEDGER_ORIGIN")
    settings.LEDGER_SIGNER_KEY = generate_key("doudesk.example/ledger")[0]
    assert ledger_key_names_the_origin() == []  # the key given overrides the file
    settings.LEDGER_SIGNER_KEY = "PRIVATE+KEY+garbage"
    [garbage] = ledger_key_names_the_origin()
    assert "cannot be read" in garbage.msg
    assert "PRIVATE+KEY+" in garbage.hint  # what to give, not the origin advice
    settings.LEDGER_SIGNER_KEY = ""
    settings.LEDGER_KEY_FILE = tmp_path  # a directory: said, not a traceback
    [directory] = ledger_key_names_the_origin()
    assert "cannot be read" in directory.msg
    assert "key file" in directory.hint
