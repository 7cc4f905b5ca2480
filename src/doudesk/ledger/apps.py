from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "doudesk.ledger"
    label = "ledger"
    verbose_name = _("透明日志")

    def ready(self) -> None:
        from doudesk.ledger import checks  # noqa: F401 - registers the start-up checks
