from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "doudesk.catalog"
    label = "catalog"
