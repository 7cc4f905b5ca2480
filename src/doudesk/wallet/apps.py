from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "doudesk.wallet"
    label = "wallet"
