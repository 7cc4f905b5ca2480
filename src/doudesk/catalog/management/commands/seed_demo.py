from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from doudesk.catalog.seed import seed_demo
from doudesk.pricing.services import pricing_publish_all


class Command(BaseCommand):
    help = "Seed the sandbox demo catalogue (once; sandbox mode only)."

    def handle(self, *args, **options) -> None:
        if not settings.SANDBOX:
            raise CommandError("the demo is only seeded in sandbox mode")
        wrote = seed_demo()
        if wrote:
            pricing_publish_all()  # so the seeded modules have dynamic prices at once
        self.stdout.write("seeded" if wrote else "already seeded")
