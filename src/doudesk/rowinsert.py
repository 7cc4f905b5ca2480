"""One-row ``INSERT``s written out for the hottest writes (an order's events and log leaves).

Building an ``INSERT`` with the ORM (``Model.objects.create``) cost the web and the worker
several times running it; every order writes three or more events, each with its log leaf.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def row_insert(model: type[M], **values: Any) -> M:
    """Insert one row of ``model`` from ``values`` (by field name) and return it as saved.

    Each value is prepared for the database by its field, as the ORM does; the new primary key
    is read back with ``RETURNING``. Fields left out must have a database-independent value the
    caller does not need (nothing is filled in: no defaults, no ``auto_now``).
    """
    quote = connection.ops.quote_name
    columns, params = [], []
    for name, value in values.items():
        field = model._meta.get_field(name)  # a field's name or, for a relation, its attname
        assert isinstance(field, models.Field)
        if isinstance(value, models.Model):
            value = value.pk  # a related object is stored as its key
        columns.append(quote(field.column))
        params.append(field.get_db_prep_save(value, connection))
    marks = ", ".join(["%s"] * len(params))
    pk = model._meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) VALUES ({marks})"
            f" RETURNING {quote(pk.column)}",
            params,
        )
        row = cursor.fetchone()
    obj = model(**values)
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj
