"""Checks of the transparency log: at start-up (every ``doudesk`` command) and deploy ones."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from doudesk.ledger.services import DEFAULT_ORIGIN, ledger_key_problem, ledger_origin


@register()
def ledger_key_names_the_origin(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Refuse a signing key that cannot be read or is named for another log than the origin.

    Checkpoints carry the origin, and verifiers (``doudesk verify --consistency`` among them)
    take the key's name for it: with the two apart, every check of the log would fail.
    """
    problem, hint = ledger_key_problem()
    return [Error(problem, hint=hint, id="doudesk.E001")] if problem else []


@register(deploy=True)
def ledger_origin_named(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Warn when production's log keeps the placeholder origin (it cannot change once in use)."""
    if settings.SANDBOX or ledger_origin() != DEFAULT_ORIGIN:
        return []
    return [
        Warning(
            f"DOUDESK_LEDGER_ORIGIN is not set: the transparency log's checkpoints name it "
            f"{DEFAULT_ORIGIN!r}, a placeholder, and a log cannot be renamed once published "
            "(its key and every verifier go by the name).",
            hint="Set DOUDESK_LEDGER_ORIGIN to a name of the site's own, e.g. doudesk.cn/ledger, "
            "before the first order.",
            id="doudesk.W008",
        )
    ]


@register(deploy=True)
def ledger_key_given(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Warn when production's log signs with a key made in the data directory."""
    if settings.SANDBOX or (settings.LEDGER_SIGNER_KEY or "").strip():
        return []
    return [
        Warning(
            "DOUDESK_LEDGER_KEY is not set: the transparency log signs with a key it makes in "
            "DOUDESK_DATA_DIR, which each machine makes for itself and which, once lost, ends "
            "the log (no later checkpoint can be verified against the published ones).",
            hint="Set DOUDESK_LEDGER_KEY to the log's PRIVATE+KEY+... note key on every "
            "machine, and back it up.",
            id="doudesk.W009",
        )
    ]
