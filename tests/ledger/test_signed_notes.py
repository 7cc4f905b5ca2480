"""C2SP signed notes and checkpoints: reference vector, round trips and tampering."""

from __future__ import annotations

import base64

import pytest

from doudesk.ledger.merkle import MemoryNodeStore, MerkleTree
from doudesk.ledger.notes import (
    Checkpoint,
    NoteError,
    format_checkpoint,
    generate_key,
    generate_signer,
    key_id,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_note,
    sign_checkpoint,
    sign_note,
    signer_from_key,
    verifier_from_key,
)

# The example key pair and signed note of the Go reference (golang.org/x/mod/sumdb/note).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ORIGIN = "doudesk.example/ledger"


def test_go_reference_vector_byte_for_byte() -> None:
    """Key ids, key encodings and the (deterministic) Ed25519 signature match the reference."""
    signer = signer_from_key(GO_SKEY)
    assert signer.verifier_key == GO_VKEY
    assert signer.signer_key == GO_SKEY
    assert signer.key_id.hex() == "c74f20a3"
    assert key_id("PeterNeumann", signer.public_key).hex() == "c74f20a3"
    note = sign_note(GO_TEXT, signer)
    assert note == GO_TEXT + "\n" + GO_SIG
    verifier = verifier_from_key(GO_VKEY)
    assert verifier.key_string == GO_VKEY
    opened = open_note(GO_TEXT + "\n" + GO_SIG, verifier)
    assert opened.text == GO_TEXT
    assert opened.signatures[0].name == "PeterNeumann"


@pytest.mark.parametrize(
    "bad",
    [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+!!!!",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys_are_refused(bad: str) -> None:
    """Wrong length, id mismatch, upper-case id, spaces, missing parts, other algorithms."""
    with pytest.raises(NoteError):
        verifier_from_key(bad)


def test_generated_keys_round_trip() -> None:
    """A generated key pair signs and verifies, and its strings parse back."""
    skey, vkey = generate_key(ORIGIN)
    signer = signer_from_key(skey)
    verifier = verifier_from_key(vkey)
    assert signer.verifier == verifier
    raw = base64.b64decode(vkey.split("+", 2)[2])
    assert raw[0] == 0x01
    assert len(raw) == 33
    assert vkey.split("+")[1] == key_id(ORIGIN, raw[1:]).hex()
    assert open_note(sign_note("hello\n", signer), verifier).text == "hello\n"
    with pytest.raises(NoteError):
        signer_from_key(skey.replace(vkey.split("+")[1], "00000000"))


def test_checkpoint_body_format() -> None:
    """Origin line, decimal size, base64 root, each newline-terminated; strict parsing."""
    root = bytes(range(32))
    body = format_checkpoint(ORIGIN, 20852163, root)
    assert body == f"{ORIGIN}\n20852163\n{base64.b64encode(root).decode()}\n"
    assert parse_checkpoint(body) == Checkpoint(ORIGIN, 20852163, root)
    # The C2SP tlog-checkpoint example body.
    example = (
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    parsed = parse_checkpoint(example)
    assert (parsed.origin, parsed.size) == ("example.com/behind-the-sofa", 20852163)
    assert parsed.body() == example
    with_extension = f"{ORIGIN}\n0\n{base64.b64encode(root).decode()}\next\n"
    assert parse_checkpoint(with_extension).extensions == ("ext",)
    b64 = base64.b64encode(root).decode()
    for bad in (
        f"{ORIGIN}\n012\n{b64}\n",  # leading zero
        f"{ORIGIN}\n-1\n{b64}\n",
        f"{ORIGIN}\n12\n{b64}",  # no final newline
        f"{ORIGIN}\n12\n",  # two lines
        f"{ORIGIN}\n12\n{base64.b64encode(root[:31]).decode()}\n",  # short hash
        f"{ORIGIN}\n12\n{b64[:-2]}B=\n",  # non-canonical padding bits
        f"\n12\n{b64}\n",
        f"{ORIGIN}\n12\n{b64}\n\n",
    ):
        with pytest.raises(NoteError):
            parse_checkpoint(bad)


@pytest.fixture(scope="module")
def signed() -> tuple[str, str, bytes]:
    """Sign a checkpoint of a 5-leaf tree; return (verifier key, note, root)."""
    signer = generate_signer(ORIGIN)
    tree = MerkleTree(MemoryNodeStore())
    tree.append_leaves([b"a", b"b", b"c", b"d", b"e"])
    return signer.verifier_key, sign_checkpoint(ORIGIN, 5, tree.root(), signer), tree.root()


def test_signed_checkpoint_round_trip(signed: tuple[str, str, bytes]) -> None:
    """The note is body, blank line, one em-dash signature line; it opens to the tree head."""
    vkey, note, root = signed
    body, sig = note.split("\n\n")
    assert body + "\n" == format_checkpoint(ORIGIN, 5, root)
    assert sig.startswith(f"\u2014 {ORIGIN} ")
    assert sig.endswith("\n")
    assert sig.count("\n") == 1
    blob = base64.b64decode(sig.split(" ")[2])
    assert len(blob) == 4 + 64
    assert blob[:4].hex() == vkey.split("+")[1]
    assert open_checkpoint(note, verifier_from_key(vkey)) == Checkpoint(ORIGIN, 5, root)


def test_checkpoint_signed_with_a_bare_private_key_uses_the_origin_as_name() -> None:
    """``sign_checkpoint`` accepts an Ed25519 private key and names the key after the origin."""
    signer = generate_signer(ORIGIN)
    note = sign_checkpoint(ORIGIN, 0, bytes(32), signer.private_key)
    assert open_checkpoint(note, signer.verifier).size == 0


def test_every_flipped_bit_in_a_signed_checkpoint_is_refused(
    signed: tuple[str, str, bytes],
) -> None:
    """Flipping any single bit of the note makes opening it fail."""
    vkey, note, _ = signed
    verifier = verifier_from_key(vkey)
    raw = note.encode()
    for bit in range(len(raw) * 8):
        tampered = bytearray(raw)
        tampered[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(NoteError):
            open_checkpoint(bytes(tampered), verifier)


def test_signature_rules(signed: tuple[str, str, bytes]) -> None:
    """Unknown keys are ignored, a bad known signature or a missing one is refused."""
    vkey, note, _ = signed
    verifier = verifier_from_key(vkey)
    other = generate_signer("witness.example/w1")
    cosigned = sign_note(parse_note(note).text, other)
    both = note + cosigned.split("\n\n")[1]
    assert open_checkpoint(both, verifier).size == 5  # a witness cosignature is ignored
    with pytest.raises(NoteError) as exc:
        open_checkpoint(cosigned, verifier)
    assert exc.value.code == "unknown_key"
    impostor = generate_signer(ORIGIN)  # same name, different key id
    with pytest.raises(NoteError):
        open_checkpoint(sign_note(parse_note(note).text, impostor), verifier)
    with pytest.raises(NoteError) as exc:
        open_checkpoint(note, verifier, origin="another.example/log")
    assert exc.value.code == "wrong_origin"
    assert exc.value.message_zh
    assert exc.value.message_en


@pytest.mark.parametrize(
    "bad",
    [
        "text\n",  # no signatures
        "text\n\n",  # empty signature block
        "text\n\n\u2014 name AAAA\n",  # signature too short
        "text\n\n- name AAAAAAAA\n",  # hyphen, not em dash
        "text\n\n\u2014 name AAAAAAAA",  # no final newline
        "te\txt\n\n\u2014 name AAAAAAAA\n",  # control character
        "text\n\n\u2014 na+me AAAAAAAA\n",  # plus in key name
        "text\n\n\u2014 name AAAAAAB=\n",  # non-canonical base64 (padding bits set)
    ],
)
def test_malformed_notes_are_refused(bad: str) -> None:
    """The signed-note grammar is enforced."""
    with pytest.raises(NoteError):
        parse_note(bad)


def test_parse_note_round_trip() -> None:
    """A note with blank lines in its text splits at the last blank line."""
    signer = generate_signer("a.example")
    text = "line one\n\nline three\n"
    note = sign_note(text, signer)
    parsed = parse_note(note)
    assert parsed.text == text
    assert parsed.format() == note
    assert open_note(note.encode(), signer.verifier).text == text
