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
