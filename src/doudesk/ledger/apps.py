from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "doudesk.ledger"
    label = "ledger"
