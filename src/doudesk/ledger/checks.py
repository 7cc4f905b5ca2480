"""Start-up checks of the transparency log (every ``doudesk`` command runs them)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from doudesk.ledger.services import ledger_key_problem


@register()
def ledger_key_names_the_origin(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Refuse a signing key named for another log than ``DOUDESK_LEDGER_ORIGIN``.

    Checkpoints carry the origin, and verifiers (``doudesk verify --consistency`` among them)
    take the key's name for it: with the two apart, every check of the log would fail.
    """
    problem = ledger_key_problem()
    if not problem:
        return []
    return [
        Error(
            problem,
            hint="Set DOUDESK_LEDGER_ORIGIN to the key's name, or give a key made for this "
            "origin (a new key file starts a new log: verifiers then need its public key).",
            id="doudesk.E001",
        )
    ]
