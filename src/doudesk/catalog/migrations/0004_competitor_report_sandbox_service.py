from django.db import migrations


def send_competitor_reports_to_their_service(apps, schema_editor):
    """Move a demo catalogue's competitor report to the sandbox's own service for it (10).

    It was sent to the account diagnosis report's (9), whose sample file a competitor report's
    customer would have received under the wrong title. Only the seeded module on the sandbox
    provider is moved; an operator's own mapping is left as it is.
    """
    ServiceModule = apps.get_model("catalog", "ServiceModule")
    ServiceModule.objects.filter(
        code="competitor-report", provider__is_sandbox=True, provider_service_id="9"
    ).update(provider_service_id="10")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_module_match_phrases"),
        ("providers", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(send_competitor_reports_to_their_service, migrations.RunPython.noop),
    ]
