"""Reads of the transparency log: checkpoints, entries, proofs, tiles, evidence, audits, health.

Design overview
---------------
Everything public is served for the *published* tree: the size of the latest signed
checkpoint, never the sequencer's uncommitted work, so any answer can be checked against a
checkpoint a client can fetch. Stored nodes never change, so reads take no locks; a proof is
one query for its O(log n) nodes. Bad requests raise :class:`doudesk.errors.DomainError`
(400 for a malformed range, 404 for something the log does not hold yet).

:func:`ledger_audit` is the operator's full check: it streams every leaf, compares each
leaf's text with the hash stored in the tree, and recomputes the root of the latest signed
checkpoint from the texts alone, so an edited row or node cannot go unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count

from doudesk.errors import DomainError
from doudesk.ledger.merkle import (
    EMPTY_ROOT,
    MerkleError,
    consistency_proof,
    inclusion_ranges,
    leaf_hash,
    range_hashes,
    root_at,
    root_of,
)
from doudesk.ledger.models import (
    Checkpoint,
    DbNodeStore,
    DeliveredUnit,
    DoubleSellingIncident,
    LogLeaf,
    LogTreeState,
)
from doudesk.ledger.notes import NoteError, open_checkpoint
from doudesk.ledger.services import ledger_origin, ledger_signer
from doudesk.ledger.tiles import (
    TileError,
    TileRef,
    encode_entry_bundle,
    parse_tile_path,
    read_tile,
    tile_exists,
)
from doudesk.ledger.verify import Verdict, make_bundle

if TYPE_CHECKING:
    from doudesk.orders.models import Order
    from doudesk.providers.models import Provider

MAX_ENTRIES = 1000
"""Most entries one ``GET /entries`` answers (a longer range is cut short, as in RFC 6962)."""


def _bad(field_: str, code: str, zh: str, en: str, status: int = 400) -> DomainError:
    """Build a refusal about one request parameter."""
    return DomainError.single(field_, code, zh, en, status=status)


def _no_checkpoint() -> DomainError:
    return _bad(
        "checkpoint", "no_checkpoint", "日志尚未发布检查点", "The log has no checkpoint yet", 404
    )


def ledger_checkpoint_latest() -> Checkpoint | None:
    """Return the latest signed checkpoint, or None before the first one."""
    return Checkpoint.objects.order_by("-size").first()


def ledger_checkpoint_get() -> Checkpoint:
    """Return the latest signed checkpoint, or raise a 404 error."""
    checkpoint = ledger_checkpoint_latest()
    if checkpoint is None:
        raise _no_checkpoint()
    return checkpoint


def ledger_checkpoint_dict(checkpoint: Checkpoint) -> dict[str, Any]:
    """Return the JSON form of a checkpoint: ``{"tree_size", "root_hash", "note"}``."""
    return {"tree_size": checkpoint.size, "root_hash": checkpoint.root_hex, "note": checkpoint.note}


def ledger_public_key() -> str:
    """Return the C2SP note verifier key ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
    return ledger_signer().verifier_key


def ledger_published_size() -> int:
    """Return the tree size of the latest checkpoint (0 before the first one)."""
    size = Checkpoint.objects.order_by("-size").values_list("size", flat=True).first()
    return size or 0


def ledger_tree_size() -> int:
    """Return the sequencer's committed tree size (may be ahead of the latest checkpoint)."""
    state = LogTreeState.objects.filter(pk=1).first()
    return state.size if state else 0


def ledger_pending_count() -> int:
    """Leaves recorded but not yet sequenced."""
    return LogLeaf.objects.filter(index__isnull=True).count()


def _int(value: Any, field_: str) -> int:
    """Coerce a query parameter to a non-negative int or refuse it."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _bad(field_, "invalid", "须为整数", "Must be an integer") from None
    if number < 0:
        raise _bad(field_, "negative", "不能为负数", "Must not be negative")
    return number


def ledger_entries(*, start: Any, end: Any = None) -> list[dict[str, Any]]:
    """Leaves ``start`` to ``end - 1`` (half-open) of the published tree, in index order.

    ``end`` defaults to ``start + MAX_ENTRIES``; the range is cut at the published size and at
    ``MAX_ENTRIES`` entries (clients ask again from the next index).
    """
    start = _int(start, "start")
    end = start + MAX_ENTRIES if end is None else _int(end, "end")
    if end <= start:
        raise _bad("end", "empty_range", "end 必须大于 start", "end must be greater than start")
    size = ledger_published_size()
    if start >= size:
        raise _bad(
            "start",
            "out_of_range",
            f"start 超出已发布的树大小（{size}）",
            f"start is beyond the published tree size ({size})",
        )
    end = min(end, size, start + MAX_ENTRIES)
    rows = (
        LogLeaf.objects.filter(index__gte=start, index__lt=end)
        .order_by("index")
        .values_list("index", "leaf", "leaf_hash")
    )
    return [{"index": i, "leaf": text, "leaf_hash": bytes(h).hex()} for i, text, h in rows]


def _size_param(size: Any, published: int, field_: str) -> int:
    """Resolve an optional tree size against the published size."""
    if size is None:
        return published
    size = _int(size, field_)
    if size > published:
        raise _bad(
            field_,
            "out_of_range",
            f"超出已发布的树大小（{published}）",
            f"beyond the published tree size ({published})",
        )
    return size


def ledger_inclusion(*, index: Any, size: Any = None) -> dict[str, Any]:
    """``{"leaf_index", "tree_size", "leaf_hash", "audit_path"}`` for a published leaf."""
    index = _int(index, "index")
    size = _size_param(size, ledger_published_size(), "size")
    if index >= size:
        raise _bad(
            "index",
            "out_of_range",
            f"序号须小于树大小（{size}）",
            f"index must be less than the tree size ({size})",
        )
    # The leaf and its audit path in one read.
    hashes = range_hashes(DbNodeStore(), [(index, index + 1), *inclusion_ranges(index, size)])
    return {
        "leaf_index": index,
        "tree_size": size,
        "leaf_hash": hashes[0].hex(),
        "audit_path": [h.hex() for h in hashes[1:]],
    }


def ledger_consistency(*, first: Any, second: Any = None) -> dict[str, Any]:
    """``{"first", "second", "proof"}``: RFC 6962 PROOF(first, D[second]) (empty if trivial)."""
    first = _int(first, "first")
    second = _size_param(second, ledger_published_size(), "second")
    if first > second:
        raise _bad("first", "out_of_range", "first 不能大于 second", "first must not exceed second")
    proof = consistency_proof(DbNodeStore(), first, second)
    return {"first": first, "second": second, "proof": [h.hex() for h in proof]}


def ledger_tile(*, path: str) -> bytes:
    """Return a tlog-tiles resource: ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>...``.

    Raises a 404 :class:`DomainError` for a malformed path or a tile the published tree does
    not determine yet.
    """
    try:
        ref = parse_tile_path(path)
    except TileError as exc:
        raise _bad("path", "bad_tile_path", "瓦片路径无效", str(exc), 404) from None
    size = ledger_published_size()
    if not tile_exists(ref, size):
        raise _bad("path", "no_tile", "该瓦片尚不存在", "No such tile for the published tree", 404)
    if ref.is_entries:
        return _entry_bundle(ref)
    try:
        return read_tile(DbNodeStore(), ref, size)
    except TileError as exc:
        raise _bad("path", "no_tile", "该瓦片尚不存在", str(exc), 404) from None


def _entry_bundle(ref: TileRef) -> bytes:
    """Encode the entry bundle of a level-0 tile from the leaves table."""
    start, end = ref.leaf_range()
    leaves = list(
        LogLeaf.objects.filter(index__gte=start, index__lt=end)
        .order_by("index")
        .values_list("leaf", flat=True)
    )
    if len(leaves) != end - start:
        raise _bad("path", "no_tile", "日志记录缺失", "The log is missing entries", 404)
    return encode_entry_bundle([leaf.encode() for leaf in leaves])


def ledger_evidence(*, order: Order) -> dict[str, Any]:
    """Build the evidence bundle (``doudesk.ledger.verify`` format, version 1) of an order.

    Every leaf of the order covered by the latest checkpoint, with its inclusion proof against
    that checkpoint, and the disclosure that lets the customer check the ``placed`` leaf names
    them and their link. Refuses with 409 while none of the order's leaves is published yet.
    """
    checkpoint = ledger_checkpoint_latest()
    leaves = list(
        LogLeaf.objects.filter(order=order, index__isnull=False)
        .filter(index__lt=checkpoint.size if checkpoint else 0)
        .order_by("index")
        .values_list("index", "leaf")
    )
    if checkpoint is None or not leaves:
        raise _bad(
            "order",
            "not_logged_yet",
            "订单记录尚未写入已签名的日志，请几秒后再试",
            "The order's records are not in a signed checkpoint yet; try again in a few seconds",
            409,
        )
    size = checkpoint.size
    per_leaf = [inclusion_ranges(index, size) for index, _text in leaves]
    flat = range_hashes(DbNodeStore(), [r for ranges in per_leaf for r in ranges])
    entries = []
    pos = 0
    for (index, text), ranges in zip(leaves, per_leaf, strict=True):
        entries.append((index, text.encode(), flat[pos : pos + len(ranges)]))
        pos += len(ranges)
    bundle = make_bundle(ledger_origin(), checkpoint.note, size, bytes(checkpoint.root), entries)
    # The bundle is its customer's: it opens the hashes that name them and their link.
    bundle["disclosure"] = {
        "customer": order.customer_id,
        "salt": order.customer.ledger_salt,
        "target": order.target,
    }
    return bundle


# --- audit ----------------------------------------------------------------------------------


@dataclass
class LedgerAudit(Verdict):
    """Outcome of :func:`ledger_audit`: the checked size and every problem found."""

    size: int = 0


def _leaf_rows(size: int, batch: int) -> Iterator[list[tuple[int, str, bytes]]]:
    """Stream ``(index, leaf, leaf_hash)`` for indexes ``0..size-1`` in batches."""
    start = 0
    while start < size:
        end = min(size, start + batch)
        rows = list(
            LogLeaf.objects.filter(index__gte=start, index__lt=end)
            .order_by("index")
            .values_list("index", "leaf", "leaf_hash")
        )
        yield [(i, text, bytes(h)) for i, text, h in rows]
        start = end


def ledger_audit(*, batch: int = 5000) -> LedgerAudit:
    """Check the whole published log against its latest signed checkpoint.

    Verifies the checkpoint's signature; that leaves ``0..size-1`` all exist; that each leaf's
    text hashes to its ``leaf_hash`` column and to the leaf hash stored in the tree; that the
    root recomputed from the texts alone equals the signed root; and that the stored nodes
    give the same root. Cost: one pass over the leaves, O(log n) memory.
    """
    audit = LedgerAudit()
    checkpoint = ledger_checkpoint_latest()
    if checkpoint is None:
        return audit
    try:
        signed = open_checkpoint(checkpoint.note, ledger_signer().verifier, origin=ledger_origin())
    except NoteError as exc:
        audit.add("checkpoint", exc.code, exc.message_zh, exc.message_en)
        return audit
    size = audit.size = signed.size
    if signed.root_hash != bytes(checkpoint.root) or size != checkpoint.size:
        audit.add(
            "checkpoint", "row_mismatch", "检查点记录与签名内容不符", "checkpoint row differs"
        )
    store = DbNodeStore()

    def hashes() -> Iterator[bytes]:
        expected = 0
        for rows in _leaf_rows(size, batch):
            in_tree = store.get_many([(0, index) for index, _text, _h in rows])
            for index, text, stored in rows:
                if index != expected:
                    audit.add(f"leaf[{expected}]", "missing", "日志记录缺失", "the leaf is missing")
                    expected = index
                h = leaf_hash(text.encode())
                if h != stored:
                    audit.add(
                        f"leaf[{index}]",
                        "leaf_hash_mismatch",
                        "记录内容与其哈希不符：已被改动",
                        "the leaf text does not match its hash: it was altered",
                    )
                if in_tree.get((0, index)) != h:
                    audit.add(
                        f"leaf[{index}]",
                        "tree_mismatch",
                        "记录内容与日志树中的哈希不符",
                        "the leaf text does not match the hash stored in the tree",
                    )
                expected += 1
                yield h
        if expected < size:
            audit.add(f"leaf[{expected}]", "missing", "日志记录缺失", "leaves are missing")

    recomputed = root_of(hashes()) if size else EMPTY_ROOT
    if recomputed != signed.root_hash:
        audit.add(
            "root",
            "root_mismatch",
            "由记录重新计算的根哈希与已签名的检查点不符",
            "the root recomputed from the leaves differs from the signed checkpoint",
        )
    try:
        stored_root = root_at(store, size)
    except MerkleError as exc:
        audit.add("nodes", "missing_nodes", "日志树节点缺失", str(exc))
    else:
        if stored_root != signed.root_hash:
            audit.add(
                "nodes",
                "node_mismatch",
                "日志树中存储的节点与已签名的根哈希不符",
                "the stored tree nodes do not hash to the signed root",
            )
    return audit


# --- provider health ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderHealth:
    """A provider's delivered-unit record: clean units, double-selling incidents, score."""

    provider_id: int
    units: int
    incidents: int

    @property
    def score(self) -> float:
        """Share of reported units that were not already sold: ``1 - incidents / reported``.

        1.0 for a provider that never reported units.
        """
        reported = self.units + self.incidents
        return 1.0 if reported == 0 else round(1 - self.incidents / reported, 4)


def provider_health_many(*, provider_ids: list[int] | None = None) -> dict[int, ProviderHealth]:
    """Health of several providers (two grouped queries)."""
    units = DeliveredUnit.objects.all()
    incidents = DoubleSellingIncident.objects.all()
    if provider_ids is not None:
        units = units.filter(provider_id__in=provider_ids)
        incidents = incidents.filter(provider_id__in=provider_ids)
    u = dict(units.values("provider_id").annotate(n=Count("id")).values_list("provider_id", "n"))
    i = dict(
        incidents.values("provider_id").annotate(n=Count("id")).values_list("provider_id", "n")
    )
    ids = set(provider_ids or []) | set(u) | set(i)
    return {pid: ProviderHealth(pid, u.get(pid, 0), i.get(pid, 0)) for pid in ids}


def provider_health(*, provider: Provider) -> ProviderHealth:
    """One provider's health."""
    return provider_health_many(provider_ids=[provider.pk])[provider.pk]


def order_units_credited(*, order: Order) -> int:
    """Units attributed to ``order``."""
    return DeliveredUnit.objects.filter(order=order).count()
