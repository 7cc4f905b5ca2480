"""On PostgreSQL, a deferred constraint trigger refuses any journal entry whose legs do not sum
to zero at commit (as django-hordak does). SQLite relies on ``journal_post``'s own check."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION wallet_check_entry_balanced() RETURNS trigger AS $$
DECLARE total bigint;
BEGIN
    SELECT COALESCE(SUM(amount_fen), 0) INTO total FROM wallet_leg WHERE entry_id = NEW.entry_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'journal entry % does not balance (sum %)', NEW.entry_id, total;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS wallet_leg_balanced ON wallet_leg;
CREATE CONSTRAINT TRIGGER wallet_leg_balanced AFTER INSERT OR UPDATE ON wallet_leg
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION wallet_check_entry_balanced();
CREATE OR REPLACE FUNCTION wallet_refuse_leg_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'journal legs are never edited or deleted; post a reversing entry';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS wallet_leg_immutable ON wallet_leg;
CREATE TRIGGER wallet_leg_immutable BEFORE UPDATE OR DELETE ON wallet_leg
    FOR EACH ROW EXECUTE FUNCTION wallet_refuse_leg_change();
"""

DROP = """
DROP TRIGGER IF EXISTS wallet_leg_balanced ON wallet_leg;
DROP TRIGGER IF EXISTS wallet_leg_immutable ON wallet_leg;
DROP FUNCTION IF EXISTS wallet_check_entry_balanced();
DROP FUNCTION IF EXISTS wallet_refuse_leg_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("wallet", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
