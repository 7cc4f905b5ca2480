"""Deployment checks of the site's settings (``doudesk check --deploy``).

Each names the ``DOUDESK_*`` variable to set. Production only, but for the first: a site
deployed in sandbox mode is the one thing to say about it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

#: Host names that only this machine reaches.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_NAME_THE_HOSTS = "List the site's own names, e.g. DOUDESK_ALLOWED_HOSTS=doudesk.cn,www.doudesk.cn."


@register(Tags.security, deploy=True)
def production_mode(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Warn when the site to deploy runs in sandbox mode."""
    if not settings.SANDBOX:
        return []
    return [
        Warning(
            "DOUDESK_MODE is sandbox: the sandbox gateway credits top-ups nobody paid, valid "
            "identity numbers are approved without review, the demo catalogue and its sandbox "
            "provider take orders, and the secret key may be the public sandbox one.",
            hint="Set DOUDESK_MODE=production (with DOUDESK_SECRET_KEY) for a public site.",
            id="doudesk.W002",
        )
    ]


@register(Tags.security, deploy=True)
def https_on(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Warn when production serves plain HTTP (cookies and passwords in the clear)."""
    if settings.SANDBOX or settings.HTTPS:
        return []
    return [
        Warning(
            "DOUDESK_HTTPS is not set: session and CSRF cookies go over plain HTTP, log-ins "
            "and identity numbers can be read on the way, and browsers are told no HSTS.",
            hint="Serve the site through a TLS-terminating proxy that sets X-Forwarded-Proto, "
            "and set DOUDESK_HTTPS=1.",
            id="doudesk.W003",
        )
    ]


@register(deploy=True)
def icp_filing_given(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Warn when production shows no ICP filing number, or the sandbox's sample one."""
    if settings.SANDBOX or settings.ICP_FILING not in ("", settings.ICP_FILING_SAMPLE):
        return []
    shown = "shows no ICP filing number" if not settings.ICP_FILING else "shows a sample one"
    return [
        Warning(
            f"DOUDESK_ICP_FILING: the footer {shown}; a site served in mainland China must "
            "show its operator's filing number (ICP 备案号).",
            hint="Set DOUDESK_ICP_FILING to the filing number, e.g. 沪ICP备12345678号-1.",
            id="doudesk.W004",
        )
    ]


@register(deploy=True)
def support_email_given(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Warn when production has no support address for the pages that say to contact it."""
    if settings.SANDBOX or settings.SUPPORT_EMAIL:
        return []
    return [
        Warning(
            "DOUDESK_SUPPORT_EMAIL is not set: the pages that ask customers to contact support "
            "(bank-transfer top-ups, a failed refill) name no address.",
            hint="Set DOUDESK_SUPPORT_EMAIL to the support team's address.",
            id="doudesk.W005",
        )
    ]


@register(Tags.security, deploy=True)
def allowed_hosts_named(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Warn when production answers any host name, or only this machine's."""
    hosts = set(settings.ALLOWED_HOSTS)
    if settings.SANDBOX or not hosts:  # none at all: Django's own check (security.W020)
        return []
    if "*" in hosts:
        return [
            Warning(
                "DOUDESK_ALLOWED_HOSTS holds '*': the site answers any Host header, and the links "
                "it builds from a request (an API top-up's pay_url) name whatever host it gave.",
                hint=_NAME_THE_HOSTS,
                id="doudesk.W006",
            )
        ]
    if hosts <= LOOPBACK_HOSTS:
        return [
            Warning(
                "DOUDESK_ALLOWED_HOSTS names only this machine (the production default): a "
                "request for the site's public name is refused with 400.",
                hint=_NAME_THE_HOSTS,
                id="doudesk.W007",
            )
        ]
    return []
