"""Provider API keys are encrypted at rest: the column widens, and keys stored plain are encrypted."""

from django.db import migrations, models

from doudesk.crypto import decrypt_text, encrypt_text


def encrypt_keys(apps, schema_editor):
    Provider = apps.get_model("providers", "Provider")
    for provider in Provider.objects.exclude(api_key=""):
        provider.api_key = encrypt_text(provider.api_key)
        provider.save(update_fields=["api_key"])


def decrypt_keys(apps, schema_editor):
    Provider = apps.get_model("providers", "Provider")
    for provider in Provider.objects.exclude(api_key=""):
        provider.api_key = decrypt_text(provider.api_key)
        provider.save(update_fields=["api_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0002_field_labels"),
    ]

    operations = [
        migrations.AlterField(
            model_name="provider",
            name="api_key",
            field=models.TextField(blank=True, verbose_name="服务商 API 密钥（加密）"),
        ),
        migrations.RunPython(encrypt_keys, decrypt_keys),
    ]
