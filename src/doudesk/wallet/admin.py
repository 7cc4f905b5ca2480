"""The journal is read-only in the admin: legs are never edited, only reversed."""

from django.contrib import admin

from doudesk.wallet.models import Account, JournalEntry, Leg, TopUp


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class LegInline(admin.TabularInline):
    model = Leg
    extra = 0
    can_delete = False
    readonly_fields = ("account", "amount_fen")


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "customer", "provider", "balance_fen")
    list_filter = ("kind",)
    search_fields = ("code",)


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("pk", "ref", "kind", "memo", "order", "created_at")
    list_filter = ("kind",)
    search_fields = ("ref",)
    inlines = [LegInline]


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyAdmin):
    list_display = ("out_trade_no", "customer", "amount_fen", "status", "created_at", "paid_at")
    list_filter = ("status",)
