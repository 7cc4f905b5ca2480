"""PostgreSQL: keep node chunks uncompressed out of line, so a 32-byte SUBSTR reads one TOAST chunk.

Hashes do not compress; with EXTERNAL storage PostgreSQL skips the attempt and can fetch a slice
of a chunk row without reading the whole 8 KB value. Other databases need nothing.
"""

from django.db import migrations


def storage_external(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE ledger_lognodechunk ALTER COLUMN hashes SET STORAGE EXTERNAL"
        )


def storage_extended(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE ledger_lognodechunk ALTER COLUMN hashes SET STORAGE EXTENDED"
        )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_tree_checkpoints_units")]

    operations = [migrations.RunPython(storage_external, storage_extended)]
