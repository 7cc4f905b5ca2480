"""Start-up checks of the transparency log (every ``doudesk`` command runs them)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from doudesk.ledger.services import ledger_key_problem


@register()
def ledger_key_names_the_origin(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Refuse a signing key that cannot be read or is named for another log than the origin.

    Checkpoints carry the origin, and verifiers (``doudesk verify --consistency`` among them)
    take the key's name for it: with the two apart, every check of the log would fail.
    """
    problem, hint = ledger_key_problem()
    return [Error(problem, hint=hint, id="doudesk.E001")] if problem else []
