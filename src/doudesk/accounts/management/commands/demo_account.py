import json
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from doudesk.accounts.demo import demo_account_create
from doudesk.wallet.money import yuan_to_fen

#: A demo wallet's largest opening balance (the journal's amounts are 64-bit fen).
MAX_BALANCE_YUAN = Decimal(100_000_000)


class Command(BaseCommand):
    help = "Create a verified, funded demo customer with an API key (sandbox mode only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--balance", default="1000", help="opening balance in yuan")

    def handle(self, *args, **options) -> None:
        if not settings.SANDBOX:
            raise CommandError("demo-account is available in sandbox mode only")
        try:
            amount = Decimal(options["balance"])
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            raise CommandError("--balance must be an amount in yuan")
        if not 0 <= amount <= MAX_BALANCE_YUAN:
            raise CommandError(f"--balance must be between 0 and {MAX_BALANCE_YUAN}")
        if amount != amount.quantize(Decimal("0.01")):
            raise CommandError("--balance must have at most two decimals (whole fen)")
        balance = yuan_to_fen(amount)
        # A fresh DOUDESK_DATA_DIR has no tables yet: set the database up, as serve does.
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(json.dumps(demo_account_create(balance_fen=balance), ensure_ascii=False))
