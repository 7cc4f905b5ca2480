from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "doudesk.accounts"
    label = "accounts"
