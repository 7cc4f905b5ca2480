"""Provider registry: builds the adapter for a provider row from settings."""

from __future__ import annotations

from django.conf import settings

from doudesk.providers.adapters.base import ProviderAdapter, ProviderRejected
from doudesk.providers.adapters.manual import ManualAdapter
from doudesk.providers.adapters.smm_v2 import SmmV2Adapter
from doudesk.providers.models import AdapterKind, Provider


def sandbox_provider_url() -> str:
    """Where the sandbox upstream provider listens (loopback)."""
    return f"http://{settings.SANDBOX_PROVIDER_HOST}:{settings.SANDBOX_PROVIDER_PORT}/api/v2"


def adapter_for(provider: Provider) -> ProviderAdapter:
    """Build the adapter that speaks to ``provider``."""
    if provider.adapter == AdapterKind.MANUAL:
        return ManualAdapter(provider_code=provider.code)
    if provider.is_sandbox:
        if not settings.SANDBOX:
            # A permanent refusal: the order is cancelled and refunded, not retried forever.
            raise ProviderRejected(
                "the sandbox provider is disabled in production mode", code="provider_disabled"
            )
        return SmmV2Adapter(
            sandbox_provider_url(),
            settings.SANDBOX_PROVIDER_KEY,
            request_units=provider.reports_units,
        )
    return SmmV2Adapter(
        provider.api_url, provider.plain_api_key(), request_units=provider.reports_units
    )


#: Adapters whose providers an operator, not a status sync, answers for.
OPERATOR_DRIVEN_ADAPTERS = (AdapterKind.MANUAL,)


def is_operator_driven(provider: Provider) -> bool:
    """Whether an operator, not a status sync, reports this provider's deliveries."""
    return provider.adapter in OPERATOR_DRIVEN_ADAPTERS
