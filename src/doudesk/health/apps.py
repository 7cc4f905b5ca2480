from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "doudesk.health"
    label = "health"
