from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from doudesk.providers.models import Provider


class ProviderForm(forms.ModelForm):
    """The provider form: its API key can be set or replaced, never read back."""

    api_url = forms.URLField(label=_("API 地址"), required=False, assume_scheme="https")

    new_api_key = forms.CharField(
        label=_("API 密钥"),
        required=False,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "服务商提供的 API 密钥；留空则保留现有密钥。出于安全考虑，已保存的密钥不会显示。"
        ),
    )

    class Meta:
        model = Provider
        exclude = ("api_key",)

    def clean_is_sandbox(self) -> bool:
        """Refuse a sandbox provider in production: its orders could never be dispatched."""
        is_sandbox = bool(self.cleaned_data.get("is_sandbox"))
        if is_sandbox and not settings.SANDBOX:
            raise forms.ValidationError(
                _("生产模式下不能使用沙盒服务商：沙盒服务商只在沙盒模式下运行，订单将无法提交。")
            )
        return is_sandbox

    def save(self, commit: bool = True) -> Provider:
        """Save the provider, replacing its API key only when a new one was typed."""
        provider = super().save(commit=False)
        if self.cleaned_data.get("new_api_key"):
            provider.set_api_key(self.cleaned_data["new_api_key"])
        if commit:
            provider.save()
        return provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = (
        "code", "name", "adapter", "is_sandbox", "active", "reports_units", "has_api_key",
    )  # fmt: skip

    @admin.display(boolean=True, description=_("已设密钥"))
    def has_api_key(self, provider: Provider) -> bool:
        """Whether a key is stored (the key itself is never shown)."""
        return bool(provider.api_key)
