"""The ``doudesk`` console script: ``serve``, ``demo-account`` and the manage.py commands."""

from __future__ import annotations

import os
import re
import sys

# Contract names (DESIGN.md) → Django command modules, which cannot contain hyphens.
ALIASES = {"demo-account": "demo_account", "seed-demo": "seed_demo"}


def main(argv: list[str] | None = None) -> None:
    """Run a Django management command by its DouDesk name."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudesk.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import BaseCommand, ManagementUtility

    class Utility(ManagementUtility):
        """Django's command line, with the commands known by their DouDesk names."""

        def fetch_command(self, subcommand: str) -> BaseCommand:
            """Return the command ``subcommand`` names (``demo-account`` too)."""
            return super().fetch_command(ALIASES.get(subcommand, subcommand))

        def main_help_text(self, commands_only: bool = False) -> str:
            """List the commands under their DouDesk names."""
            text = super().main_help_text(commands_only)
            for name, module in ALIASES.items():
                text = re.sub(rf"^(\s*){module}$", rf"\g<1>{name}", text, flags=re.MULTILINE)
            return text

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        Utility(["doudesk", *args]).execute()
    except ImproperlyConfigured as exc:  # a setting from the environment: one line, no traceback
        sys.exit(f"doudesk: {exc}")


if __name__ == "__main__":
    main()
