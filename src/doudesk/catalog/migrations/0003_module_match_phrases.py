from django.db import migrations, models

from doudesk.catalog.seed import MATCH_PHRASES


def name_seeded_modules(apps, schema_editor):
    """Give the demo catalogue's modules their phrases where an operator has set none."""
    ServiceModule = apps.get_model("catalog", "ServiceModule")
    for code, phrases in MATCH_PHRASES.items():
        ServiceModule.objects.filter(code=code, match_phrases="").update(match_phrases=phrases)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_field_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="servicemodule",
            name="match_phrases",
            field=models.TextField(
                blank=True,
                help_text="客户在智能匹配中点名此服务的说法，每行一个（中文或英文，逗号也可分隔）；中英文名称总是算作点名。",
                verbose_name="点名说法",
            ),
        ),
        migrations.RunPython(name_seeded_modules, migrations.RunPython.noop),
    ]
