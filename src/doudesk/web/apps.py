from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "doudesk.web"
    label = "web"
