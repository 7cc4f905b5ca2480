from django.contrib import admin

from doudesk.pricing.models import Quote


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "module", "quantity", "unit_rate", "total_fen", "expires_at")
    readonly_fields = ("id", "customer", "module", "quantity", "unit_rate", "total_fen", "expires_at")
