"""The models and the committed migrations agree."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_provider_keys_stored_plain_are_encrypted_by_their_migration():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from doudesk.providers.models import Provider

    before, after = (
        [("providers", "0002_field_labels")],
        [("providers", "0003_provider_api_key_encrypted")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("providers", "Provider")
    old.objects.create(code="mcn-old", name="Old", adapter="smm_v2", api_key="plain-key-1")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # the rest, as it was
    provider = Provider.objects.get(code="mcn-old")
    assert provider.api_key != "plain-key-1"
    assert provider.plain_api_key() == "plain-key-1"


@pytest.mark.django_db
def test_manual_references_stored_as_typed_are_written_as_they_are_now_read():
    # "ＢＡＮＫ－００２" typed in full width was stored as typed: the same transfer typed in ASCII
    # could be credited again after the upgrade.
    from importlib import import_module

    from django.apps import apps

    from doudesk.errors import DomainError
    from doudesk.wallet.models import TopUp
    from doudesk.wallet.services import topup_credit_manual
    from factories import CustomerFactory

    customer = CustomerFactory()

    def stored(reference: str, status: str = "paid") -> TopUp:
        return TopUp.objects.create(
            customer=customer, amount_fen=100, out_trade_no=f"M{TopUp.objects.count()}",
            gateway="manual", gateway_txn=reference, status=status,
        )  # fmt: skip

    wide, twice, plain = stored("ＢＡＮＫ－００２"), stored("ｂａｎｋ－００３"), stored("BANK-004")
    longer = stored("A" * 62 + "½")  # NFKC writes "1⁄2": past the column's 64 characters
    stored("BANK-003")  # the transfer credited twice already: left for an operator to reverse
    migration = import_module("doudesk.wallet.migrations.0007_manual_references_nfkc")
    migration.normalise_references(apps, None)
    for topup in (wide, twice, plain, longer):
        topup.refresh_from_db()
    assert longer.gateway_txn == "A" * 62 + "½"
    assert (wide.gateway_txn, twice.gateway_txn, plain.gateway_txn) == (
        "BANK-002",
        "ｂａｎｋ－００３",
        "BANK-004",
    )
    with pytest.raises(DomainError):
        topup_credit_manual(customer=customer, amount_fen=100, reference="bank-002")


@pytest.mark.django_db
def test_a_demo_competitor_report_is_moved_to_the_sandbox_service_for_it(seeded):
    # It was sent to the diagnosis report's sandbox service (9) and got that report's sample.
    from importlib import import_module

    from django.apps import apps

    from doudesk.catalog.models import ServiceModule

    migration = import_module("doudesk.catalog.migrations.0004_competitor_report_sandbox_service")
    competitor = ServiceModule.objects.filter(code="competitor-report")
    competitor.update(provider_service_id="9")  # as an older demo catalogue was seeded
    migration.send_competitor_reports_to_their_service(apps, None)
    assert competitor.get().provider_service_id == "10"
    assert ServiceModule.objects.get(code="account-report").provider_service_id == "9"
    competitor.update(provider_service_id="custom-7")  # an operator's own mapping stays
    migration.send_competitor_reports_to_their_service(apps, None)
    assert competitor.get().provider_service_id == "custom-7"
