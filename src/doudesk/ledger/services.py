"""Writes to the transparency log: record, sequence, checkpoint, and delivered-unit attribution.

Design overview
---------------
* **Record.** ``ledger_record`` stores the canonical JSON (RFC 8785) of an event as a pending
  leaf inside the caller's transaction: one insert, no contention on the log's tail.
* **Sequence.** ``ledger_sequence`` locks the single tree-state row, takes pending leaves in
  primary-key order, gives them consecutive indexes (one ``UPDATE`` for the whole batch) and
  appends their hashes to the Merkle tree (one read and one upsert of node chunks). The cached
  frontier means no existing node is read to append.
* **Checkpoint.** ``ledger_checkpoint`` signs a C2SP checkpoint for the committed size when it
  grew. Before signing it re-derives the root from the stored nodes and checks it against the
  frontier and, by a consistency proof, against the previous checkpoint: a node edited in the
  database stops the log instead of being signed over. Every checkpoint is kept.
* **Integrate.** ``ledger_integrate`` (the beat's task, every 0.5 s) drains the queue and then
  checkpoints, so an event is covered by a signed checkpoint within about a second.
* **Units.** ``ledger_units_attribute`` gives each delivered unit hash to at most one order,
  ever (a unique index, in the caller's transaction); a unit another order already owns is
  refused, recorded as a double-selling incident against the provider and never credited.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from doudesk.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MerkleTree,
    canonical_json,
    consistency_proof,
    leaf_hash,
    peak_keys,
    root_at,
    verify_consistency,
)
from doudesk.ledger.models import (
    Checkpoint,
    DbNodeStore,
    DeliveredUnit,
    DoubleSellingIncident,
    LogLeaf,
    LogTreeState,
)
from doudesk.ledger.notes import (
    NoteError,
    NoteSigner,
    generate_key,
    open_checkpoint,
    sign_checkpoint,
    signer_from_key,
)
from doudesk.rowinsert import row_insert

if TYPE_CHECKING:
    from doudesk.orders.models import Order
    from doudesk.providers.models import Provider

DEFAULT_ORIGIN = "doudesk.local/ledger"
MAX_UNIT_HASH_LENGTH = 128
_UNIT_QUERY_CHUNK = 500


class LedgerIntegrityError(RuntimeError):
    """The stored log disagrees with itself or its checkpoints; the log stops until resolved."""


# --- keys -----------------------------------------------------------------------------------


def ledger_origin() -> str:
    """Return the log's origin line (``settings.LEDGER_ORIGIN``)."""
    return getattr(settings, "LEDGER_ORIGIN", DEFAULT_ORIGIN)


def _key_file() -> Path:
    """Where a generated signing key is kept."""
    default = Path(settings.DATA_DIR) / "ledger_signer.key"
    return Path(getattr(settings, "LEDGER_KEY_FILE", default))


def _read_or_create_key_file(path: Path, origin: str) -> str:
    """Return the signer key stored at ``path``, generating it (mode 0600) exactly once.

    The key is written to a private temporary file and hard-linked into place, so concurrent
    first starts agree on one key and nobody ever reads a half-written file.
    """
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    signer_key, _verifier = generate_key(origin)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(signer_key + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race: use its key
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()


def ledger_key_problem() -> tuple[str, str]:
    """Say why the configured signing key cannot sign this log, and what to do; ("", "") if it can.

    The key (``DOUDESK_LEDGER_KEY``, or the key file once made) must be readable and named
    for the origin. Reads only: no key file is made here (one is made for the origin on first
    use).
    """
    origin = ledger_origin()
    key = (getattr(settings, "LEDGER_SIGNER_KEY", "") or "").strip()
    where = "DOUDESK_LEDGER_KEY"
    unreadable = "Give DOUDESK_LEDGER_KEY as a PRIVATE+KEY+... note key."
    if not key:
        where = str(_key_file())
        unreadable = "Restore the key file from its backup, or remove it to start a new log."
        try:
            key = _key_file().read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return "", ""
        except (OSError, UnicodeDecodeError) as exc:
            return f"the transparency log's signing key ({where}) cannot be read: {exc}", unreadable
    try:
        name = signer_from_key(key).name
    except NoteError as exc:
        problem = f"the transparency log's signing key ({where}) cannot be read: {exc.message_en}"
        return problem, unreadable
    if name == origin:
        return "", ""
    return (
        f"the transparency log's signing key ({where}) is named {name!r}, but the log's origin "
        f"(DOUDESK_LEDGER_ORIGIN) is {origin!r}",
        "Set DOUDESK_LEDGER_ORIGIN to the key's name, or give a key made for this origin (a new "
        "key starts a new log: verifiers then need its public key).",
    )


@lru_cache(maxsize=4)
def _signer(origin: str, key: str, key_file: str) -> NoteSigner:
    """Build (once per configuration) the signer from a key string or the key file."""
    text = key or _read_or_create_key_file(Path(key_file), origin)
    return signer_from_key(text)


def ledger_signer() -> NoteSigner:
    """Return the log's Ed25519 note signer.

    From ``settings.LEDGER_SIGNER_KEY`` (env ``DOUDESK_LEDGER_KEY``, a ``PRIVATE+KEY+...``
    string) when set, else from ``DATA_DIR/ledger_signer.key``, generated on first use.
    """
    key = getattr(settings, "LEDGER_SIGNER_KEY", "") or ""
    return _signer(ledger_origin(), key.strip(), str(_key_file()))


# --- record and sequence --------------------------------------------------------------------


def ledger_record(*, event: dict[str, Any], order_id: int | None = None) -> LogLeaf:
    """Append ``event`` to the log as a pending leaf (call inside the writing transaction)."""
    data = canonical_json(event)
    return row_insert(LogLeaf, leaf=data.decode(), leaf_hash=leaf_hash(data), order_id=order_id)


def _state_for_update() -> LogTreeState:
    """Lock (creating if needed) the tree-state row; every tree write goes through this lock."""
    state = LogTreeState.objects.select_for_update().filter(pk=1).first()
    if state is None:
        LogTreeState.objects.get_or_create(pk=1)
        state = LogTreeState.objects.select_for_update().get(pk=1)
    return state


def _frontier(state: LogTreeState) -> dict[tuple[int, int], bytes]:
    """Decode the state row's frontier (peak hashes in ``peak_keys`` order)."""
    keys = peak_keys(state.size)
    blob = bytes(state.frontier)
    if len(blob) != HASH_SIZE * len(keys):
        raise LedgerIntegrityError(f"the tree state's frontier does not fit size {state.size}")
    return {k: blob[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i, k in enumerate(keys)}


def _open_tree(state: LogTreeState, store: DbNodeStore) -> MerkleTree:
    """Open the tree at the state's committed size, appending from the cached frontier."""
    return MerkleTree(store, state.size, frontier=_frontier(state))


def _assign_indexes(pks: Sequence[int], start: int) -> None:
    """Give ``pks[i]`` index ``start + i`` in one statement (per database vendor)."""
    table = connection.ops.quote_name(LogLeaf._meta.db_table)
    col = connection.ops.quote_name("index")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET {col} = v.idx FROM unnest(%s::bigint[], %s::bigint[]) "
                f"AS v(id, idx) WHERE {table}.id = v.id",
                [list(pks), list(range(start, start + len(pks)))],
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                f"UPDATE {table} SET {col} = %s + j.key FROM json_each(%s) AS j "
                f"WHERE {table}.id = j.value",
                [start, json.dumps(list(pks))],
            )
        else:
            LogLeaf.objects.bulk_update(
                [LogLeaf(pk=pk, index=start + i) for i, pk in enumerate(pks)],
                ["index"],
                batch_size=500,
            )
            return
        if cursor.rowcount != len(pks):
            raise LedgerIntegrityError("pending leaves changed while they were sequenced")


def ledger_sequence(*, max_batch: int = 10_000) -> int:
    """Integrate up to ``max_batch`` pending leaves into the tree; return how many.

    One transaction: lock the tree state, read the pending leaves in primary-key order,
    append their hashes, assign consecutive indexes and save the new size and frontier.
    A leaf whose stored hash no longer matches its text stops the batch (tampering).
    """
    with transaction.atomic(durable=True):
        state = _state_for_update()
        rows = list(
            LogLeaf.objects.filter(index__isnull=True)
            .order_by("pk")
            .values_list("pk", "leaf", "leaf_hash")[:max_batch]
        )
        if not rows:
            return 0
        hashes = []
        for pk, text, stored in rows:
            h = leaf_hash(text.encode())
            if h != bytes(stored):
                raise LedgerIntegrityError(f"pending leaf {pk} was altered after it was recorded")
            hashes.append(h)
        start = state.size
        tree = _open_tree(state, DbNodeStore())
        tree.append(hashes)
        _assign_indexes([pk for pk, _text, _h in rows], start)
        frontier = tree.frontier
        state.size = tree.size
        state.frontier = b"".join(frontier[k] for k in peak_keys(tree.size))
        state.save(update_fields=["size", "frontier", "updated_at"])
    return len(rows)


# --- checkpoints ----------------------------------------------------------------------------


def _check_against(
    store: DbNodeStore, size: int, root: bytes, previous: Checkpoint | None, signer: NoteSigner
) -> None:
    """Refuse to sign ``root`` unless the stored nodes and the previous checkpoint agree."""
    if size and root_at(store, size) != root:
        raise LedgerIntegrityError(f"the stored nodes do not hash to the tree root at {size}")
    if previous is None:
        return
    try:
        signed = open_checkpoint(previous.note, signer.verifier, origin=ledger_origin())
    except NoteError as exc:
        raise LedgerIntegrityError(f"checkpoint {previous.size} does not verify: {exc}") from None
    if signed.size != previous.size or signed.root_hash != bytes(previous.root):
        raise LedgerIntegrityError(f"checkpoint {previous.size}'s row differs from its note")
    proof = consistency_proof(store, previous.size, size)
    if not verify_consistency(previous.size, size, signed.root_hash, root, proof):
        raise LedgerIntegrityError(
            f"the tree of size {size} is not an extension of checkpoint {previous.size}"
        )


def ledger_checkpoint() -> Checkpoint | None:
    """Sign and keep a checkpoint for the committed tree size if it grew; else return None.

    The very first call signs the empty tree, so a checkpoint always exists once the
    sequencer has run. Raises :class:`LedgerIntegrityError` instead of signing a tree that
    does not extend the previous checkpoint.
    """
    with transaction.atomic(durable=True):
        state = _state_for_update()
        previous = Checkpoint.objects.order_by("-size").first()
        if previous is not None and previous.size == state.size:
            return None
        if previous is not None and previous.size > state.size:
            raise LedgerIntegrityError(
                f"checkpoint {previous.size} is ahead of the tree ({state.size})"
            )
        store = DbNodeStore()
        root = _open_tree(state, store).root() if state.size else EMPTY_ROOT
        signer = ledger_signer()
        _check_against(store, state.size, root, previous, signer)
        note = sign_checkpoint(ledger_origin(), state.size, root, signer)
        return Checkpoint.objects.create(size=state.size, root=root, note=note)


def ledger_integrate(*, max_batch: int = 10_000, max_rounds: int = 20) -> dict[str, int]:
    """Sequence every pending leaf (up to ``max_rounds`` batches), then checkpoint.

    The beat runs this every 0.5 s through ``ledger_sequence_task``; safe to run concurrently
    (the tree-state lock serialises the work) and to run twice.
    """
    # Idle runs only read: on SQLite a write transaction would take the database's write lock
    # twice a second for nothing.
    if not LogLeaf.objects.filter(index__isnull=True).exists():
        size = LogTreeState.objects.filter(pk=1).values_list("size", flat=True).first()
        latest = Checkpoint.objects.order_by("-size").values_list("size", flat=True).first()
        if latest is not None and latest == size:
            return {"sequenced": 0, "checkpoint": -1}
    sequenced = 0
    for _ in range(max_rounds):
        n = ledger_sequence(max_batch=max_batch)
        sequenced += n
        if n < max_batch:
            break
    checkpoint = ledger_checkpoint()
    return {"sequenced": sequenced, "checkpoint": checkpoint.size if checkpoint else -1}


# --- delivered units ------------------------------------------------------------------------


def _clean_units(unit_hashes: Iterable[str]) -> list[str]:
    """Strip and de-duplicate unit hashes, keeping the first-seen order.

    An identifier that is too long or holds spaces or control characters is replaced by
    ``sha256:<hex>`` of it (deterministic), so a sloppy provider cannot break the status sync.
    """
    seen: dict[str, None] = {}
    for raw in unit_hashes:
        unit = str(raw).strip()
        if not unit:
            continue
        if len(unit) > MAX_UNIT_HASH_LENGTH or any(ord(c) < 0x21 or ord(c) == 0x7F for c in unit):
            unit = "sha256:" + hashlib.sha256(unit.encode("utf-8", "surrogatepass")).hexdigest()
        seen.setdefault(unit, None)
    return list(seen)


def _owners(units: Sequence[str]) -> dict[str, int]:
    """Map each unit hash already attributed to the order that owns it."""
    owners: dict[str, int] = {}
    for i in range(0, len(units), _UNIT_QUERY_CHUNK):
        chunk = units[i : i + _UNIT_QUERY_CHUNK]
        owners.update(
            DeliveredUnit.objects.filter(unit_hash__in=chunk).values_list("unit_hash", "order_id")
        )
    return owners


def _units_digest(units: Iterable[str]) -> str:
    """SHA-256 (hex) of the sorted unit hashes, one per line: what a leaf commits to."""
    return hashlib.sha256("\n".join(sorted(units)).encode()).hexdigest()


def ledger_units_attribute(*, order: Order, provider: Provider, unit_hashes: Iterable[str]) -> int:
    """Attribute delivered units to ``order``; return how many units the order owns in total.

    Runs in the caller's transaction. Units new to the platform are inserted and credited;
    units this order already owns count once; units another order owns are refused, recorded
    as :class:`DoubleSellingIncident` against ``provider`` and not credited. Concurrent claims
    of one unit are settled by the unique index: whoever inserts first owns it, the other
    sees the row after the insert and records an incident. A ``delivered_units`` leaf commits
    to each batch (count and digest of the newly credited units, count refused).
    """
    units = _clean_units(unit_hashes)
    with transaction.atomic():
        # Providers report cumulative lists: set aside what this order already owns in one read.
        mine = set(DeliveredUnit.objects.filter(order=order).values_list("unit_hash", flat=True))
        units = [u for u in units if u not in mine]
        if not units:
            return len(mine)
        owners = _owners(units)
        fresh = [u for u in units if u not in owners]
        if fresh:
            # Sorted: concurrent claims wait on each other's index entries in one global order,
            # so two orders reporting shared units in different orders cannot deadlock.
            DeliveredUnit.objects.bulk_create(
                [DeliveredUnit(unit_hash=u, order=order, provider=provider) for u in sorted(fresh)],
                ignore_conflicts=True,
                batch_size=_UNIT_QUERY_CHUNK,
            )
            # Re-read rather than trust ignore_conflicts: a concurrent order may have won some.
            owners.update(_owners(fresh))
        credited = [u for u in fresh if owners.get(u) == order.pk]
        stolen = [u for u in units if owners.get(u) not in (None, order.pk)]
        known: set[str] = set()
        for i in range(0, len(stolen), _UNIT_QUERY_CHUNK):
            known.update(
                DoubleSellingIncident.objects.filter(
                    order=order, unit_hash__in=stolen[i : i + _UNIT_QUERY_CHUNK]
                ).values_list("unit_hash", flat=True)
            )
        incidents = [u for u in stolen if u not in known]
        if incidents:
            DoubleSellingIncident.objects.bulk_create(
                [
                    DoubleSellingIncident(
                        provider=provider, order=order, unit_hash=u, other_order_id=owners[u]
                    )
                    for u in incidents
                ],
                ignore_conflicts=True,
                batch_size=_UNIT_QUERY_CHUNK,
            )
        if credited or incidents:
            ledger_record(
                event={
                    "type": "delivered_units",
                    "order": order.pk,
                    "credited": len(credited),
                    "units": _units_digest(credited),
                    "refused": len(incidents),
                    "time": timezone.now().isoformat(),
                },
                order_id=order.pk,
            )
        return len(mine) + len(credited)
