from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "doudesk.providers"
    label = "providers"
