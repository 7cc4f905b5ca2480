"""``SELECT``s of whole model rows, written out for the hottest reads.

``row_get`` reads a row by primary key with some of its foreign keys and reverse one-to-one
relations joined in, as ``Model.objects.select_related(...).get(pk=..., ...)`` does;
``rows_select`` reads the rows a written-out condition selects, as ``Model.objects.raw`` does.
Both build their column lists and converters once per process instead of once per call. Every
order reads its service module with four relations, the module's offers and reference prices,
the API key's customer and the customer's accounts, and later the order again to send it and
to lock it for each report that changes it: building those statements with the ORM's compiler
(or resolving a raw query's columns) cost the web and the worker several times running them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.db import connection, models
from django.db.models.fields.related import ForeignObjectRel, RelatedField

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class _Part:
    """One table of the statement: its model, its columns' attribute names and converters."""

    model: type[models.Model]
    attnames: tuple[str, ...]
    columns: str  # the columns as the statement selects them
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]
    relation: Any  # the relation's field or ``ForeignObjectRel``; None for the row itself
    pk_index: int

    def build(self, values: list[Any]) -> models.Model | None:
        """Return the instance of ``values`` (this part's columns), or ``None`` for no row."""
        for index, functions, expression in self.converters:
            for convert in functions:
                values[index] = convert(values[index], expression, connection)
        if self.relation is not None and values[self.pk_index] is None:
            return None
        return self.model.from_db(connection.alias, self.attnames, values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Plan:
    sql: str
    parts: tuple[_Part, ...]
    filters: tuple[models.Field[Any, Any], ...]


def row_get(
    model: type[M], pk: int, *, related: Sequence[str] = (), lock: bool = False, **equal: Any
) -> M | None:
    """Return the row ``pk`` of ``model`` with ``related`` read in, or ``None``.

    As ``model.objects.select_related(*related).filter(**equal).filter(pk=pk).first()``:
    ``related`` names foreign keys or reverse one-to-one relations of ``model`` (one level), each
    read through a join and cached on the instance (``None`` where there is no row); ``equal``
    are further conditions ``field=value`` on the row's own fields. With ``lock`` the row (and
    only the row, not the joined ones) is locked for update, as ``select_for_update(of=("self",))``
    locks it where the database has row locks. Columns are converted as the ORM converts them.
    As the ORM, a key beyond a 64-bit column finds nothing (SQLite's driver would refuse it).
    """
    if not -(2**63) <= pk < 2**63:
        return None
    plan = _plan(model, tuple(related), tuple(equal), lock, connection.alias)
    params = [pk, *(f.get_db_prep_value(equal[f.name], connection) for f in plan.filters)]
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    start = 0
    main: Any = None
    for part in plan.parts:
        width = len(part.attnames)
        obj = part.build(list(row[start : start + width]))
        start += width
        if part.relation is None:
            main = obj
        else:
            part.relation.set_cached_value(main, obj)
            if obj is not None and isinstance(part.relation, ForeignObjectRel):
                part.relation.field.set_cached_value(obj, main)  # the other row's way back
    return main


def rows_select(
    model: type[M], tail: str, params: Sequence[Any], *, extra: Mapping[str, str] | None = None
) -> list[M]:
    """Return the rows of ``SELECT <model's columns>, <extra> FROM <model's table> t0 <tail>``.

    ``tail`` (joins, ``WHERE``, ``ORDER BY``) names the model's table ``t0``; ``params`` fill
    the ``%s`` marks of ``extra`` then of ``tail``. ``extra`` maps attribute names to further
    SQL expressions, each set on its row's instance unconverted. As ``model.objects.raw(...)``
    selecting ``t0.*`` and the extra columns, with each of the model's columns converted as the
    ORM converts it.
    """
    extra = extra or {}
    part = _part(model, "t0", None, connection.alias)
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join([part.columns, *extra.values()])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} t0 {tail}", params)
        rows = cursor.fetchall()
    width = len(part.attnames)
    found = []
    for row in rows:
        obj = cast(M, part.build(list(row[:width])))
        for name, value in zip(extra, row[width:], strict=True):
            setattr(obj, name, value)
        found.append(obj)
    return found


@functools.cache
def _plan(
    model: type[models.Model],
    related: tuple[str, ...],
    equal: tuple[str, ...],
    lock: bool,
    alias: str,
) -> _Plan:
    """Build the statement and the columns' converters for the database ``alias``.

    Kept for the process: the converters a backend gives depend only on the field and on the
    alias's settings (the connections of an alias on other threads convert alike).
    """
    quote = connection.ops.quote_name
    parts = [_part(model, "t0", None, alias)]
    joins = []
    for number, name in enumerate(related, start=1):
        relation: Any = model._meta.get_field(name)
        other: type[models.Model] = relation.related_model
        table = f"t{number}"
        join = "LEFT JOIN"
        if isinstance(relation, ForeignObjectRel):  # reverse one-to-one: the other row points here
            assert relation.one_to_one, name
            on = f"{table}.{quote(relation.field.column)} = t0.{quote(_pk(model).column)}"
        else:
            assert isinstance(relation, RelatedField), name
            assert relation.many_to_one or relation.one_to_one, name
            on = f"{table}.{quote(_pk(other).column)} = t0.{quote(relation.column)}"
            if not relation.null:
                join = "INNER JOIN"  # as the ORM joins a required key
        joins.append(f" {join} {quote(other._meta.db_table)} {table} ON {on}")
        parts.append(_part(other, table, relation, alias))
    filters = tuple(cast("models.Field[Any, Any]", model._meta.get_field(name)) for name in equal)
    where = "".join(f" AND t0.{quote(field.column)} = %s" for field in filters)
    sql = (
        f"SELECT {', '.join(part.columns for part in parts)}"
        f" FROM {quote(model._meta.db_table)} t0{''.join(joins)}"
        f" WHERE t0.{quote(_pk(model).column)} = %s{where}"
    )
    features = connection.features
    if lock and features.has_select_for_update:
        sql += " FOR UPDATE OF t0" if features.has_select_for_update_of else " FOR UPDATE"
    return _Plan(sql, tuple(parts), filters)


def _pk(model: type[models.Model]) -> models.Field[Any, Any]:
    pk = model._meta.pk
    assert pk is not None
    return pk


@functools.cache
def _part(model: type[models.Model], table: str, relation: Any, alias: str) -> _Part:
    """Return the columns of ``model`` as ``table`` (its name in the statement), converted."""
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            converters.append((index, tuple(functions), column))
    attnames = tuple(f.attname for f in fields)
    columns = ", ".join(f"{table}.{connection.ops.quote_name(f.column)}" for f in fields)
    pk_index = attnames.index(_pk(model).attname)
    return _Part(model, attnames, columns, tuple(converters), relation, pk_index)
