from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "doudesk.web"
    label = "web"

    def ready(self) -> None:
        from doudesk.web import checks  # noqa: F401 - registers the deploy checks
