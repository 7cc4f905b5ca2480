"""The ``doudesk`` console script: ``serve``, ``demo-account`` and the manage.py commands."""

from __future__ import annotations

import os
import sys

# Contract names (DESIGN.md) → Django command modules, which cannot contain hyphens.
ALIASES = {"demo-account": "demo_account", "seed-demo": "seed_demo"}


def main(argv: list[str] | None = None) -> None:
    """Run a Django management command by its DouDesk name."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudesk.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    if args:
        args[0] = ALIASES.get(args[0], args[0])
    try:
        execute_from_command_line(["doudesk", *args])
    except ImproperlyConfigured as exc:  # a setting from the environment: one line, no traceback
        sys.exit(f"doudesk: {exc}")


if __name__ == "__main__":
    main()
