from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "doudesk.pricing"
    label = "pricing"
