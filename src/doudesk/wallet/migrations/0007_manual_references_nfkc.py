"""Write the bank references of earlier manual credits as they are now read (NFKC, upper case).

References typed in full width ("ＢＡＮＫ－００２") were stored as typed; the same transfer typed
in ASCII would not match them and could be credited again. A reference whose normal form a
live credit already holds is left as it is (that transfer was credited twice before, which an
operator reverses: 冲正), as is one that would outgrow its column; the migration never fails.
"""

import unicodedata

from django.db import migrations


def normalise_references(apps, schema_editor):
    TopUp = apps.get_model("wallet", "TopUp")
    live = TopUp.objects.filter(gateway="manual").exclude(status="reversed")
    taken = set(live.values_list("gateway_txn", flat=True))
    for topup in live.order_by("pk"):
        normal = unicodedata.normalize("NFKC", topup.gateway_txn).strip().upper()
        if normal == topup.gateway_txn or normal in taken or len(normal) > 64:
            continue  # a duplicate, or a reference NFKC makes too long ("½" is "1⁄2"): as it is
        taken.discard(topup.gateway_txn)
        taken.add(normal)
        TopUp.objects.filter(pk=topup.pk).update(gateway_txn=normal)


class Migration(migrations.Migration):
    dependencies = [("wallet", "0006_manual_credit_reversal")]

    operations = [migrations.RunPython(normalise_references, migrations.RunPython.noop)]
