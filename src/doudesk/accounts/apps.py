from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "doudesk.accounts"
    label = "accounts"
    verbose_name = _("客户与认证")

    def ready(self) -> None:
        from doudesk.accounts import checks  # noqa: F401 - registers the deploy checks
