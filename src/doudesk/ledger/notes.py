r"""C2SP signed notes with Ed25519, and C2SP tlog checkpoints.

Design overview
---------------
A *checkpoint* (c2sp.org/tlog-checkpoint) is three lines: the log's origin, the tree size in
decimal, and the base64 RFC 6962 root hash, each ending in a newline. It is published as a
*signed note* (c2sp.org/signed-note): the text, a blank line, then one line per signature,
``"\u2014 <key name> <base64(key id || signature)>\n"``. With Ed25519 (signature type 0x01)
the key id is the first four bytes of ``SHA-256(name || 0x0A || 0x01 || public key)`` and the
signature covers the note text including its final newline.

Keys use the encodings of the Go reference (golang.org/x/mod/sumdb/note) so standard tlog
tooling accepts them: verifier key ``<name>+<hex key id>+<base64(0x01 || public key)>`` and
signer key ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>``.

Parsing is strict (canonical base64, no leading zeros, no control characters) so that any
flipped bit in a note either breaks its signature or makes it unparseable. Errors are
:class:`NoteError` carrying a code and a message in Chinese and English.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = 0x01
"""Signed-note signature type byte for Ed25519."""

SIGNATURE_PREFIX = "\u2014 "
"""Em dash and space that start every signature line."""

MAX_SIGNATURES = 100
"""Verifiers must accept 16 signatures; more than this is refused outright."""

_PRIVATE_PREFIX = "PRIVATE+KEY+"
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_HEX8 = re.compile(r"[0-9a-f]{8}")


class NoteError(ValueError):
    """A malformed key, note or checkpoint, or a signature that does not verify."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        """Build the error with a machine code and both UI languages."""
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


def _b64decode_strict(text: str) -> bytes:
    """Decode standard padded base64, refusing any non-canonical spelling."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ValueError("invalid base64") from exc
    # Re-encoding catches non-zero padding bits, which b64decode silently ignores.
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("non-canonical base64")
    return raw


def _valid_name(name: str) -> bool:
    """Key names are non-empty, without Unicode spaces, plus signs or control characters."""
    return bool(name) and not any(c.isspace() or c == "+" or ord(c) < 0x20 for c in name)


def key_id(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte Ed25519 key id: ``SHA-256(name || 0x0A || 0x01 || public_key)[:4]``."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    """Return the 32-byte RFC 8032 encoding of a public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class NoteVerifier:
    """An Ed25519 note verifier: key name, key id and public key."""

    name: str
    key_id: bytes
    public_key: bytes

    @property
    def key_string(self) -> str:
        """The verifier key string ``<name>+<hex id>+<base64(0x01 || public key)>``."""
        material = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Return True if ``signature`` (64 bytes, without key id) signs ``text``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class NoteSigner:
    """An Ed25519 note signer; keep it secret. Build with :func:`signer_from_key`."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key."""
        return _raw_public(self.private_key.public_key())

    @property
    def key_id(self) -> bytes:
        """The 4-byte key id."""
        return key_id(self.name, self.public_key)

    @property
    def verifier(self) -> NoteVerifier:
        """The matching :class:`NoteVerifier`."""
        return NoteVerifier(self.name, self.key_id, self.public_key)

    @property
    def verifier_key(self) -> str:
        """The public verifier key string to publish (``GET /api/v1/ledger/public-key``)."""
        return self.verifier.key_string

    @property
    def signer_key(self) -> str:
        """The secret key string ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``."""
        seed = self.private_key.private_bytes_raw()
        material = base64.b64encode(bytes([ALG_ED25519]) + seed).decode()
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id.hex()}+{material}"

    def sign(self, text: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``text``."""
        return self.private_key.sign(text)


def _bad_key(what: str) -> NoteError:
    """Error for an unparseable key string."""
    return NoteError("bad_key", f"密钥格式无效：{what}", f"malformed key: {what}")


def signer_from_private_key(name: str, private_key: Ed25519PrivateKey) -> NoteSigner:
    """Wrap an Ed25519 private key as a signer named ``name`` (usually the log origin)."""
    if not _valid_name(name):
        raise _bad_key("the key name is empty or contains spaces or '+'")
    return NoteSigner(name, private_key)


def generate_signer(name: str) -> NoteSigner:
    """Generate a fresh Ed25519 signer named ``name``."""
    return signer_from_private_key(name, Ed25519PrivateKey.generate())


def generate_key(name: str) -> tuple[str, str]:
    """Generate a key pair; return ``(signer key string, verifier key string)``."""
    signer = generate_signer(name)
    return signer.signer_key, signer.verifier_key


def _split_key(key: str, parts: int) -> list[str]:
    """Split ``name+hash+material`` (the base64 material may itself contain '+')."""
    fields = key.split("+", parts - 1)
    if len(fields) != parts:
        raise _bad_key("expected name+hash+key")
    return fields


def signer_from_key(key: str) -> NoteSigner:
    """Parse a ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`` signer key string."""
    if not key.startswith(_PRIVATE_PREFIX):
        raise _bad_key("a signer key starts with PRIVATE+KEY+")
    name, hex_id, material = _split_key(key[len(_PRIVATE_PREFIX) :], 3)
    try:
        raw = _b64decode_strict(material)
    except ValueError:
        raise _bad_key("the key material is not base64") from None
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise _bad_key("only Ed25519 keys (type 0x01, 32-byte seed) are supported")
    signer = signer_from_private_key(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if not _HEX8.fullmatch(hex_id) or signer.key_id.hex() != hex_id:
        raise _bad_key("the key id does not match the key")
    return signer


def verifier_from_key(key: str) -> NoteVerifier:
    """Parse a ``<name>+<hex id>+<base64(0x01 || public key)>`` verifier key string."""
    name, hex_id, material = _split_key(key.strip(), 3)
    if not _valid_name(name):
        raise _bad_key("the key name is empty or contains spaces or '+'")
    try:
        raw = _b64decode_strict(material)
    except ValueError:
        raise _bad_key("the key material is not base64") from None
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise _bad_key("only Ed25519 keys (type 0x01, 32-byte public key) are supported")
    public_key = raw[1:]
    try:
        Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        raise _bad_key("the public key is not a valid Ed25519 key") from None
    if not _HEX8.fullmatch(hex_id) or key_id(name, public_key).hex() != hex_id:
        raise _bad_key("the key id does not match the key")
    return NoteVerifier(name, key_id(name, public_key), public_key)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key id and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """Format as a signature line, newline included."""
        blob = base64.b64encode(self.key_id + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True)
class Note:
    """A parsed (not yet verified) signed note."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def format(self) -> str:
        """Serialise back to the signed-note wire form."""
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def _malformed(why_zh: str, why_en: str) -> NoteError:
    """Error for an unparseable note."""
    return NoteError(
        "malformed_note", f"签名记录格式无效：{why_zh}", f"malformed signed note: {why_en}"
    )


def parse_note(note: str | bytes) -> Note:
    """Parse a signed note without verifying it. Raises :class:`NoteError` if malformed."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed("不是有效的 UTF-8", "not valid UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in note) or "\x7f" in note:
        raise _malformed("含有控制字符", "contains control characters")
    if not note.endswith("\n"):
        raise _malformed("未以换行结尾", "does not end in a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise _malformed("缺少签名部分", "no blank line before the signatures")
    text, sig_block = note[: split + 1], note[split + 2 :]
    lines = sig_block.split("\n")[:-1]
    if not lines:
        raise _malformed("没有签名", "no signatures")
    if len(lines) > MAX_SIGNATURES:
        raise _malformed("签名过多", "too many signatures")
    sigs: list[NoteSignature] = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise _malformed("签名行格式无效", "a signature line does not start with an em dash")
        name, sep, blob = line[len(SIGNATURE_PREFIX) :].rpartition(" ")
        if not sep or not _valid_name(name):
            raise _malformed("签名行格式无效", "a signature line has no valid key name")
        try:
            raw = _b64decode_strict(blob)
        except ValueError:
            raise _malformed("签名不是 base64", "a signature is not base64") from None
        if len(raw) < 5:
            raise _malformed("签名过短", "a signature is too short")
        sigs.append(NoteSignature(name, raw[:4], raw[4:]))
    return Note(text, tuple(sigs))


def sign_note(text: str, *signers: NoteSigner) -> str:
    """Sign ``text`` (newline-terminated, no blank-line issues) with each signer."""
    if not signers:
        raise ValueError("at least one signer is needed")
    if not text.endswith("\n") or any(ord(c) < 0x20 and c != "\n" for c in text):
        raise ValueError("note text must end in a newline and contain no control characters")
    data = text.encode()
    sigs = tuple(NoteSignature(s.name, s.key_id, s.sign(data)) for s in signers)
    return Note(text, sigs).format()


def open_note(note: str | bytes, verifier: NoteVerifier) -> Note:
    """Parse ``note`` and verify it against ``verifier``.

    Following c2sp.org/signed-note: signatures from other keys are ignored; a signature whose
    name and id match the verifier must verify, and at least one must. Raises
    :class:`NoteError` otherwise.
    """
    parsed = parse_note(note)
    data = parsed.text.encode()
    known = [
        s for s in parsed.signatures if s.name == verifier.name and s.key_id == verifier.key_id
    ]
    if not known:
        raise NoteError(
            "unknown_key",
            "签名记录没有由给定公钥签名",
            "the note carries no signature from the given public key",
        )
    for sig in known:
        if not verifier.verify(data, sig.signature):
            raise NoteError(
                "bad_signature",
                "签名无效：内容已被篡改或公钥不符",
                "invalid signature: the note was altered or the key does not match",
            )
    return parsed


@dataclass(frozen=True)
class Checkpoint:
    """A tlog checkpoint: origin, tree size, root hash, and optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """Return the checkpoint note text (every line newline-terminated)."""
        return format_checkpoint(self.origin, self.size, self.root_hash, self.extensions)


def format_checkpoint(
    origin: str, size: int, root_hash: bytes, extensions: tuple[str, ...] = ()
) -> str:
    """Format a checkpoint body: origin, decimal size, base64 root hash, extension lines."""
    if not origin or "\n" in origin or any(ord(c) < 0x20 for c in origin):
        raise ValueError("the origin must be one non-empty line")
    if size < 0:
        raise ValueError("tree size cannot be negative")
    if len(root_hash) != 32:
        raise ValueError("the root hash must be 32 bytes")
    if any(not e or "\n" in e for e in extensions):
        raise ValueError("extension lines must be non-empty single lines")
    lines = [origin, str(size), base64.b64encode(root_hash).decode(), *extensions]
    return "".join(line + "\n" for line in lines)


def _bad_checkpoint(why_zh: str, why_en: str) -> NoteError:
    """Error for an unparseable checkpoint body."""
    return NoteError(
        "malformed_checkpoint", f"检查点格式无效：{why_zh}", f"malformed checkpoint: {why_en}"
    )


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body (the note text, not the whole signed note)."""
    if not text.endswith("\n"):
        raise _bad_checkpoint("未以换行结尾", "does not end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise _bad_checkpoint("至少需要三行非空内容", "needs at least three non-empty lines")
    origin, size_text, root_text, *extensions = lines
    if not _DECIMAL.fullmatch(size_text) or len(size_text) > 20:
        raise _bad_checkpoint("树大小不是十进制整数", "the tree size is not a decimal integer")
    try:
        root = _b64decode_strict(root_text)
    except ValueError:
        raise _bad_checkpoint("根哈希不是 base64", "the root hash is not base64") from None
    if len(root) != 32:
        raise _bad_checkpoint("根哈希长度不是 32 字节", "the root hash is not 32 bytes")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(
    origin: str, size: int, root_hash: bytes, signer: NoteSigner | Ed25519PrivateKey
) -> str:
    """Return the signed checkpoint note for a tree head.

    A bare private key signs under the name ``origin`` (the key name SHOULD match the origin).
    """
    if isinstance(signer, Ed25519PrivateKey):
        signer = signer_from_private_key(origin, signer)
    return sign_note(format_checkpoint(origin, size, root_hash), signer)


def open_checkpoint(
    note: str | bytes, verifier: NoteVerifier, origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint and return its parsed body.

    ``origin`` defaults to the verifier's key name; a checkpoint for another log is refused.
    """
    parsed = open_note(note, verifier)
    checkpoint = parse_checkpoint(parsed.text)
    expected = verifier.name if origin is None else origin
    if checkpoint.origin != expected:
        raise NoteError(
            "wrong_origin",
            f"检查点属于另一个日志（{checkpoint.origin}），应为 {expected}",
            f"the checkpoint is for another log ({checkpoint.origin}), expected {expected}",
        )
    return checkpoint
