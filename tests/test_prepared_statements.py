"""On PostgreSQL, statements a connection runs again and again are prepared once, not replanned."""

from __future__ import annotations

import pytest
from django.db import connection

from doudesk.catalog.selectors import module_get
from doudesk.pricing.selectors import PRICING_RELATED
from factories import module_id

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"),
]


def prepared_count(fragment: str) -> int:
    """How many statements containing ``fragment`` this session has prepared."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{fragment}%"],
        )
        return cursor.fetchone()[0]


def test_a_statement_run_five_times_is_prepared_and_keeps_answering(seeded):
    plays, likes = module_id("plays"), module_id("likes")
    table = '"catalog_servicemodule" t0'
    assert prepared_count(table) == 0
    for _ in range(4):
        assert module_get(module_id=plays, related=PRICING_RELATED).code == "plays"
    assert prepared_count(table) == 0
    for service in (plays, likes, plays):  # the fifth run prepares; the parameters still vary
        module = module_get(module_id=service, related=PRICING_RELATED)
    assert module.code == "plays"
    assert module_get(module_id=likes, related=PRICING_RELATED).code == "likes"
    assert prepared_count(table) == 1
