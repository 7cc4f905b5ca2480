from axes.apps import AppConfig as AxesConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default = True  # this module holds django-axes' config too
    name = "doudesk.accounts"
    label = "accounts"
    verbose_name = _("客户与认证")

    def ready(self) -> None:
        from doudesk.accounts import checks  # noqa: F401 - registers the deploy checks


class LoginGuardConfig(AxesConfig):
    """django-axes, which locks out repeated wrong passwords, named in the operators' language."""

    verbose_name = _("登录防护")
