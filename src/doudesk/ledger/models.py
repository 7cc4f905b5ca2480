"""Transparency log storage: leaves, complete-subtree hashes and signed checkpoints.

Design overview
---------------
* :class:`LogLeaf` holds each leaf's exact canonical JSON text. It is written pending (index
  NULL) in the order's transaction; the sequencer gives it an index.
* :class:`LogNodeChunk` holds the Merkle tree's complete-subtree hashes 256 to a row: row
  ``(level, chunk)`` is the concatenation of nodes ``(level, chunk * 256 + i)``, exactly a C2SP
  tlog tile when ``level`` is a multiple of 8. Rows only ever grow at their end, so 100 M
  leaves take about 780 k rows (6.4 GB of hashes) instead of 200 M node rows.
* :class:`LogTreeState` is the single row the sequencer locks: the committed tree size and its
  frontier (the peak hashes), enough to append without reading the tree.
* :class:`Checkpoint` keeps every signed tree head the log ever published.
* :class:`DeliveredUnit` attributes each delivered unit hash to one order for the platform's
  lifetime (a unique index); a second claim becomes a :class:`DoubleSellingIncident`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doudesk.ledger.merkle import HASH_SIZE, MerkleError
from doudesk.providers.models import Provider

CHUNK_WIDTH = 256
"""Hashes per :class:`LogNodeChunk` row (the width of a C2SP tile)."""


class LogLeaf(models.Model):
    """One leaf: the exact canonical JSON text hashed into the log.

    Written in the same transaction as the order event it records, with ``index`` unset; the
    sequencer assigns indexes in batches and integrates the leaves into the tree.
    """

    index = models.BigIntegerField(_("序号"), unique=True, null=True, blank=True)
    leaf = models.TextField(_("叶子内容"))
    leaf_hash = models.BinaryField(_("叶哈希"), max_length=32)
    order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("订单"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="log_leaves",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("日志叶子")
        verbose_name_plural = _("日志叶子")
        indexes = [
            # The sequencer's scan: pending leaves in primary-key order, a tiny partial index.
            models.Index(fields=["id"], name="ledger_leaf_pending", condition=Q(index__isnull=True))
        ]

    def __str__(self) -> str:
        return f"leaf {self.index if self.index is not None else '(pending)'}"


class LogNodeChunk(models.Model):
    """Up to 256 consecutive node hashes of one tree level (a tile's worth)."""

    level = models.PositiveSmallIntegerField()
    chunk = models.BigIntegerField()
    hashes = models.BinaryField()

    class Meta:
        verbose_name = _("日志节点块")
        verbose_name_plural = _("日志节点块")
        constraints = [
            models.UniqueConstraint(fields=["level", "chunk"], name="ledger_chunk_unique"),
        ]

    def __str__(self) -> str:
        return f"level {self.level} chunk {self.chunk} ({len(self.hashes) // 32} hashes)"


class LogTreeState(models.Model):
    """The committed tree: size and frontier. One row (pk 1), locked by the sequencer."""

    size = models.BigIntegerField(default=0)
    frontier = models.BinaryField(default=b"")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("日志树状态")
        verbose_name_plural = _("日志树状态")

    def __str__(self) -> str:
        return f"tree size {self.size}"


class Checkpoint(models.Model):
    """A signed tree head (C2SP checkpoint as a signed note), kept forever."""

    size = models.BigIntegerField(_("树大小"), unique=True)
    root = models.BinaryField(_("根哈希"), max_length=32)
    note = models.TextField(_("签名记录"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("检查点")
        verbose_name_plural = _("检查点")
        ordering = ["-size"]

    def __str__(self) -> str:
        return f"checkpoint {self.size}"

    @property
    def root_hex(self) -> str:
        """The root hash in lowercase hex."""
        return bytes(self.root).hex()


class DeliveredUnit(models.Model):
    """A delivered unit (hashed viewer or follower id) attributed to exactly one order, ever."""

    unit_hash = models.CharField(_("单元哈希"), max_length=128, unique=True)
    order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("订单"),
        on_delete=models.PROTECT,
        related_name="delivered_units",
    )
    provider = models.ForeignKey(
        "providers.Provider",
        verbose_name=_("服务商"),
        on_delete=models.PROTECT,
        related_name="delivered_units",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("已交付单元")
        verbose_name_plural = _("已交付单元")

    def __str__(self) -> str:
        return f"{self.unit_hash[:16]}… → order {self.order_id}"


class DoubleSellingIncident(models.Model):
    """A provider reported, for ``order``, a unit already attributed to ``other_order``."""

    provider = models.ForeignKey(
        "providers.Provider",
        verbose_name=_("服务商"),
        on_delete=models.PROTECT,
        related_name="double_selling_incidents",
    )
    order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("订单"),
        on_delete=models.PROTECT,
        related_name="double_selling_incidents",
    )
    unit_hash = models.CharField(_("单元哈希"), max_length=128)
    other_order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("已占用该单元的订单"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("重复售卖事件")
        verbose_name_plural = _("重复售卖事件")
        constraints = [
            # Providers re-send cumulative unit lists on every sync: one incident per claim.
            models.UniqueConstraint(fields=["order", "unit_hash"], name="ledger_incident_once"),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} reused {self.unit_hash[:16]}… of order {self.other_order_id}"


_CHUNK_TABLE = LogNodeChunk._meta.db_table


class DbNodeStore:
    """The Merkle core's :class:`~doudesk.ledger.merkle.NodeStore` on :class:`LogNodeChunk` rows.

    ``get_many`` is one query; ``put_many`` is one read of the chunks it touches plus one upsert.
    Writes are append-only: a node may be re-written only with the same hash, and never past
    the end of its chunk (the core's contract for refusing rewrites of history). The caller
    serialises writers (the sequencer holds the tree-state row lock).
    """

    # Up to this many keys are read as 32-byte slices, one index lookup each (a proof's path);
    # more (a tile, an audit batch) fetch whole chunk rows instead.
    SLICE_READ_MAX = 64

    def __init__(self, using: str | None = None) -> None:
        """Use the database alias ``using`` (default: the default database)."""
        self.using = using or "default"

    def _sql(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        """Run one raw query: the ORM's query building costs more than these reads."""
        with connections[self.using].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _rows(self, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Fetch the whole ``(level, chunk)`` rows among ``pairs`` in one query."""
        by_level: dict[int, set[int]] = {}
        for level, chunk in pairs:
            by_level.setdefault(level, set()).add(chunk)
        if not by_level:
            return {}
        where, params = [], []
        for level, chunks in sorted(by_level.items()):
            where.append(f"(level = %s AND chunk IN ({', '.join(['%s'] * len(chunks))}))")
            params += [level, *sorted(chunks)]
        rows = self._sql(
            f"SELECT level, chunk, hashes FROM {_CHUNK_TABLE} WHERE {' OR '.join(where)}", params
        )
        return {(level, chunk): bytes(blob) for level, chunk, blob in rows}

    def get_many(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Return the stored hash of each key that exists (one query)."""
        wanted = list(dict.fromkeys(k for k in keys if k[1] >= 0))
        if not wanted:
            return {}
        out: dict[tuple[int, int], bytes] = {}
        if len(wanted) <= self.SLICE_READ_MAX:
            # One slice per key, so only 32 bytes of each 8 KB chunk leave the database.
            offsets = [(index % CHUNK_WIDTH) * HASH_SIZE + 1 for _level, index in wanted]
            if connections[self.using].vendor == "postgresql":
                # Arrays plan far faster than a many-branch UNION ALL on PostgreSQL.
                sql = (
                    f"SELECT v.n, SUBSTR(c.hashes, v.off, {HASH_SIZE}) FROM "
                    "unnest(%s::int[], %s::int[], %s::bigint[], %s::int[]) AS v(n, lvl, chk, off) "
                    f"JOIN {_CHUNK_TABLE} c ON c.level = v.lvl AND c.chunk = v.chk"
                )
                params: list[Any] = [
                    list(range(len(wanted))),
                    [level for level, _index in wanted],
                    [index // CHUNK_WIDTH for _level, index in wanted],
                    offsets,
                ]
            else:
                selects, params = [], []
                for n, (level, index) in enumerate(wanted):
                    selects.append(
                        f"SELECT {n}, SUBSTR(hashes, %s, {HASH_SIZE}) FROM {_CHUNK_TABLE} "
                        "WHERE level = %s AND chunk = %s"
                    )
                    params += [offsets[n], level, index // CHUNK_WIDTH]
                sql = " UNION ALL ".join(selects)
            for n, value in self._sql(sql, params):
                if value is not None and len(value) == HASH_SIZE:
                    out[wanted[n]] = bytes(value)
            return out
        blobs = self._rows((level, index // CHUNK_WIDTH) for level, index in wanted)
        for key in wanted:
            level, index = key
            blob = blobs.get((level, index // CHUNK_WIDTH))
            if blob is not None:
                off = (index % CHUNK_WIDTH) * HASH_SIZE
                if off + HASH_SIZE <= len(blob):
                    out[key] = blob[off : off + HASH_SIZE]
        return out

    def put_many(self, nodes: Iterable[tuple[tuple[int, int], bytes]]) -> None:
        """Append nodes to their chunks; refuses gaps and changes to stored hashes."""
        pending: dict[tuple[int, int], list[tuple[int, bytes]]] = {}
        for (level, index), value in nodes:
            if len(value) != HASH_SIZE or index < 0:
                raise MerkleError("a node is a 32-byte hash at a non-negative index")
            pending.setdefault((level, index // CHUNK_WIDTH), []).append(
                (index % CHUNK_WIDTH, bytes(value))
            )
        if not pending:
            return
        existing = self._rows(pending)
        rows: list[LogNodeChunk] = []
        for (level, chunk), items in pending.items():
            blob = bytearray(existing.get((level, chunk), b""))
            for pos, value in sorted(items, key=lambda item: item[0]):
                off = pos * HASH_SIZE
                if off == len(blob):
                    blob += value
                elif off < len(blob):
                    if blob[off : off + HASH_SIZE] != value:
                        raise MerkleError(
                            f"node {(level, chunk * CHUNK_WIDTH + pos)} already holds another hash"
                        )
                else:
                    raise MerkleError(f"node {(level, chunk * CHUNK_WIDTH + pos)} leaves a gap")
            if bytes(blob) != existing.get((level, chunk)):
                rows.append(LogNodeChunk(level=level, chunk=chunk, hashes=bytes(blob)))
        if rows:
            LogNodeChunk.objects.using(self.using).bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["level", "chunk"],
                update_fields=["hashes"],
                batch_size=500,
            )


class ProviderIntegrity(Provider):
    """Providers seen from the ledger: delivered units, double-selling incidents, health score.

    A proxy (no table) so the admin can list provider health next to the incidents.
    """

    class Meta:
        proxy = True
        verbose_name = _("服务商诚信")
        verbose_name_plural = _("服务商诚信")
