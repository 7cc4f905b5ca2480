"""The written-out SELECTs read what the ORM reads: the same values, types and cached relations."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from doudesk.catalog.models import ServiceModule
from doudesk.catalog.selectors import module_get
from doudesk.errors import DomainError
from doudesk.pricing.models import ModulePriceState, ModulePricingConfig, ReferencePrice
from doudesk.pricing.selectors import PRICING_RELATED
from doudesk.pricing.services import pricing_publish_all
from doudesk.rowselect import row_get, rows_select
from factories import module_id

pytestmark = pytest.mark.django_db

RELATED = ("category", "provider", *PRICING_RELATED)


def values(obj) -> list[tuple[object, type]]:
    """Each concrete field's value with its type (a Decimal must stay a Decimal, not a float)."""
    return [
        (getattr(obj, f.attname), type(getattr(obj, f.attname))) for f in obj._meta.concrete_fields
    ]


def test_a_row_and_its_relations_read_as_select_related_reads_them(seeded):
    pricing_publish_all()
    bare = ServiceModule.objects.get(code="comments")
    ModulePricingConfig.objects.filter(module=bare).delete()
    ModulePriceState.objects.filter(module=bare).delete()
    assert ModulePriceState.objects.exists()  # some modules have every relation, one has none
    for expected in ServiceModule.objects.select_related(*RELATED):
        with CaptureQueriesContext(connection) as queries:
            module = row_get(ServiceModule, expected.pk, related=RELATED)
            assert module is not None
            assert values(module) == values(expected)
            for name in RELATED:
                assert getattr(ServiceModule, name).is_cached(module)
                related = getattr(module, name, None)
                wanted = getattr(expected, name, None)
                assert (related is None) == (wanted is None), name
                if related is not None:
                    assert values(related) == values(wanted), name
            if getattr(module, "price_state", None) is not None:
                assert module.price_state.module is module  # the way back is set, not queried
                assert isinstance(module.price_state.state, dict)
        assert len(queries) == 1, expected.code
    module = row_get(ServiceModule, bare.pk, related=RELATED)
    with pytest.raises(ModulePricingConfig.DoesNotExist):
        module.pricing_config  # noqa: B018 - no row: the ORM's error, and no query for it
    assert isinstance(module.rate_per_1000, Decimal)


def test_conditions_and_unknown_keys_find_nothing(seeded):
    plays = module_id("plays")
    assert row_get(ServiceModule, plays, active=True).code == "plays"
    ServiceModule.objects.filter(pk=plays).update(active=False)
    assert row_get(ServiceModule, plays, active=True) is None
    assert row_get(ServiceModule, plays, active=False).code == "plays"
    assert row_get(ServiceModule, 10**9, related=RELATED) is None


@pytest.mark.parametrize("service_id", [2**63, -(2**63) - 1, 10**30])
def test_a_module_id_beyond_the_column_is_an_unknown_service(seeded, service_id):
    with pytest.raises(DomainError) as caught:
        module_get(module_id=service_id)
    assert caught.value.errors[0].field == "service_id"
    assert caught.value.status == 404


def test_rows_read_as_raw_reads_them_in_the_order_asked(seeded):
    now = timezone.now()
    plays = module_id("plays")
    for rate, hours in (("12.5", 1), ("9.75", 2), ("30", -1)):
        ReferencePrice.objects.create(
            module_id=plays,
            source="test",
            rate=Decimal(rate),
            observed_at=now - timedelta(hours=2),
            expires_at=now + timedelta(hours=hours),
        )
    tail = "WHERE t0.module_id = %s AND t0.expires_at > %s ORDER BY t0.rate, t0.id"
    params = [plays, connection.ops.adapt_datetimefield_value(now)]
    rows = rows_select(ReferencePrice, tail, params)
    expected = list(
        ReferencePrice.objects.filter(module_id=plays, expires_at__gt=now).order_by("rate", "id")
    )
    assert [values(r) for r in rows] == [values(r) for r in expected]
    assert [r.rate for r in rows if r.source == "test"] == [Decimal("9.75"), Decimal("12.5")]
    assert rows_select(ReferencePrice, tail, [10**9, params[1]]) == []


def test_extra_columns_come_with_their_parameters_before_the_conditions(seeded):
    (module,) = rows_select(
        ServiceModule,
        "WHERE t0.code = %s",
        [3, "plays"],
        extra={"tripled": "t0.min_quantity * %s", "label": "t0.code"},
    )
    assert (module.code, module.label) == ("plays", "plays")
    assert module.tripled == 3 * module.min_quantity
