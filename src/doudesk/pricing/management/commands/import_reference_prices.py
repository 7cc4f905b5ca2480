"""``doudesk import_reference_prices FILE.csv``: add market reference prices (all rows or none)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doudesk.errors import DomainError
from doudesk.pricing.services import CSV_COLUMNS, reference_prices_import_csv


class Command(BaseCommand):
    help = (
        "Import market reference prices from a UTF-8 CSV with the header "
        + ",".join(CSV_COLUMNS)
        + " (module = code or id; dates YYYY-MM-DD; valid_days may replace expires_at)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv", help="path of the CSV file, or - for standard input")
        parser.add_argument(
            "--no-republish", action="store_true", help="do not republish the affected modules"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["csv"]
        try:
            if source == "-":
                text = sys.stdin.read()
            else:
                text = Path(source).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"{source} is not a UTF-8 text file (byte {exc.start}): export the CSV as UTF-8"
            ) from exc
        try:
            created = reference_prices_import_csv(text=text, republish=not options["no_republish"])
        except DomainError as exc:
            raise CommandError("; ".join(e.message_en for e in exc.errors)) from exc
        self.stdout.write(f"imported {len(created)} reference prices")
