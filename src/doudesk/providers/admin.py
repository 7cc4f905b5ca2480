from django.contrib import admin

from doudesk.providers.models import Provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "adapter", "is_sandbox", "active")
    exclude = ("api_key",)
