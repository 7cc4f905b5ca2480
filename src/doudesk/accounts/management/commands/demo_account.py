import json
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from doudesk.accounts.demo import demo_account_create
from doudesk.wallet.money import yuan_to_fen


class Command(BaseCommand):
    help = "Create a verified, funded demo customer with an API key (sandbox mode only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--balance", default="1000", help="opening balance in yuan")

    def handle(self, *args, **options) -> None:
        if not settings.SANDBOX:
            raise CommandError("demo-account is available in sandbox mode only")
        try:
            balance = yuan_to_fen(Decimal(options["balance"]))
        except (InvalidOperation, ValueError):
            raise CommandError("--balance must be an amount in yuan") from None
        if balance < 0:
            raise CommandError("--balance must not be negative")
        self.stdout.write(json.dumps(demo_account_create(balance_fen=balance), ensure_ascii=False))
