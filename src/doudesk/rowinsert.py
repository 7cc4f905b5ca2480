"""One-row ``INSERT``s written out for the hottest writes of an order's life.

``row_insert`` stores a new row as ``Model.objects.create`` does (defaults, ``auto_now_add``,
each value prepared by its field) without building the statement with the ORM's compiler,
which cost the web and the worker several times running it: every order writes a quote, the
order itself and three or more events, each with its log leaf.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def row_insert(model: type[M], **values: Any) -> M:
    """Insert one row of ``model`` built from ``values`` and return it as saved.

    As ``model.objects.create(**values)`` for a model without parents: the instance is built
    with its defaults, each concrete field's ``pre_save`` runs (``auto_now_add``), each value is
    prepared by its field, and a primary key the database assigns is read back with
    ``RETURNING``. No model signals are sent (the platform listens to none).
    """
    obj = model(**values)
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    assert not meta.parents
    quote = connection.ops.quote_name
    fields = [f for f in meta.local_concrete_fields if not (f is pk and obj.pk is None)]
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    params = [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks})"
            f" RETURNING {quote(pk.column)}",
            params,
        )
        row = cursor.fetchone()
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj
