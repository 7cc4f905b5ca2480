"""factory_boy factories and small test helpers shared by the suites."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import factory

from doudesk.accounts.idcheck import credit_code_check_char, resident_id_check_char
from doudesk.accounts.models import Customer, CustomerKind, User
from doudesk.providers.adapters.base import (
    PlacedOrder,
    ProviderError,
    ProviderOrderStatus,
    ProviderRefillStatus,
    ProviderRejected,
    ProviderStatus,
    RefillResult,
)
from doudesk.wallet.models import AccountKind

VIDEO_URL = "https://www.douyin.com/video/7301234567890123456"
ACCOUNT_URL = "https://www.douyin.com/user/MS4wLjABAAAAv7iSuuXDJGDvJkmH_vz1qkDZYo1apxgzaxdBlovjuGk"
LIVE_URL = "https://live.douyin.com/646454278948"
_serial = itertools.count(100)


def module_id(code: str) -> int:
    """Return the id of a seeded module (ids differ between databases, codes do not)."""
    from doudesk.catalog.models import ServiceModule

    return ServiceModule.objects.get(code=code).pk


def valid_resident_id(serial: int | None = None) -> str:
    """Return a valid 18-digit resident ID (Beijing Chaoyang, born 1990-01-01)."""
    body = f"11010519900101{(serial if serial is not None else next(_serial)) % 1000:03d}"
    return body + resident_id_check_char(body)


def image_bytes(fmt: str = "PNG") -> bytes:
    """Return a small real image in Pillow's ``fmt`` (a licence upload)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def valid_credit_code() -> str:
    """Return a valid unified social credit code."""
    body = "91350100M000100Y4"
    return body + credit_code_check_char(body)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.LazyAttribute(lambda u: u.username)

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs) -> None:
        self.set_password(extracted or "correct-horse-9")
        if create:
            self.save(update_fields=["password"])


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    user = factory.SubFactory(UserFactory)
    kind = CustomerKind.INDIVIDUAL
    display_name = factory.Sequence(lambda n: f"客户{n}")


def make_verified_customer(**kwargs) -> Customer:
    """Return a customer whose identity verification is approved (sandbox mode)."""
    from doudesk.accounts.services import verification_submit

    customer = CustomerFactory(**kwargs)
    verification_submit(customer=customer, legal_name="张三", number=valid_resident_id())
    return customer


def fund_customer(customer: Customer, fen: int) -> None:
    """Credit ``fen`` to the customer through a balanced journal entry."""
    from django.db import transaction

    from doudesk.wallet.services import customer_account, journal_post, platform_account

    with transaction.atomic():
        journal_post(
            ref=f"test-credit:{customer.pk}:{next(_serial)}",
            kind="topup",
            legs=[
                (platform_account(AccountKind.PAYMENT_CLEARING), -fen),
                (customer_account(customer), fen),
            ],
        )


def staff_client(*codenames: str):
    """Return a client logged in as a staff member holding only the given permissions."""
    from django.contrib.auth.models import Permission
    from django.test import Client

    user = User.objects.create_user("staff", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def html_text(fragment: str) -> str:
    """Return an HTML fragment as it reads: tags dropped, white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def in_english(client):
    """Switch ``client`` to English the way the site's language switch does (the cookie)."""
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def beijing_noon(days_ago: int):
    """Return noon (site time, Beijing) ``days_ago`` days before today."""
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    day = timezone.localdate() - timedelta(days=days_ago)
    return timezone.make_aware(datetime.combine(day, time(12)))


@contextmanager
def happened(*, days_ago: int) -> Iterator[None]:
    """Date what the block writes (orders, their events, journal entries) ``days_ago`` at noon.

    ``with happened(days_ago=3): services.order_place(...)`` leaves an order placed three days
    ago: its ``created_at``, its events and its hold all say so. Orders the block updated or
    finished have their ``updated_at`` and ``finished_at`` moved too.
    """
    from django.db.models import Max
    from django.utils import timezone

    from doudesk.orders.models import Order, OrderEvent
    from doudesk.wallet.models import JournalEntry

    started = timezone.now()
    last_event = OrderEvent.objects.aggregate(pk=Max("pk"))["pk"] or 0
    last_entry = JournalEntry.objects.aggregate(pk=Max("pk"))["pk"] or 0
    yield
    when = beijing_noon(days_ago)
    OrderEvent.objects.filter(pk__gt=last_event).update(created_at=when)
    JournalEntry.objects.filter(pk__gt=last_entry).update(created_at=when)
    Order.objects.filter(created_at__gte=started).update(created_at=when)
    Order.objects.filter(updated_at__gte=started).update(updated_at=when)
    Order.objects.filter(finished_at__gte=started).update(finished_at=when)


def order_history(customer: Customer, adapter: FakeAdapter) -> dict[str, Any]:
    """Give ``customer`` a month of orders in every state (the dashboard's story).

    Days are counted back from today (Beijing): an order finished 40 days ago (¥16.00, out of
    the last 30 days); 10,000 plays placed 5 days ago (¥160.00), 6,000 delivered 4 days ago and
    the rest 2 days ago; 1,000 plays placed 3 days ago (¥16.00), ending yesterday with 600 (¥6.40
    refunded); 1,000 followers placed yesterday (¥180.00), 350 delivered yesterday and 30 more
    today (no progress step: the count moved within its tenth); 100 likes placed and cancelled
    today (¥5.00, refunded); 500 plays placed today and not sent yet (¥8.00).
    """
    from doudesk.orders import services

    def place(code: str, quantity: int, target: str = VIDEO_URL) -> Any:
        return services.order_place(
            customer=customer, service_id=module_id(code), target=target, quantity=quantity
        )

    def send(order: Any) -> str:
        services.order_dispatch(order_id=order.pk)
        order.refresh_from_db()
        return order.external_id

    def report(external_id: str, status: ProviderStatus, remains: int) -> None:
        adapter.report(external_id, status, remains=remains)
        services.orders_sync()

    with happened(days_ago=40):
        old = place("plays", 1_000)
        report(send(old), ProviderStatus.COMPLETED, remains=0)
    with happened(days_ago=5):
        done = place("plays", 10_000)
        done_id = send(done)
    with happened(days_ago=4):
        report(done_id, ProviderStatus.IN_PROGRESS, remains=4_000)
    with happened(days_ago=3):
        partial = place("plays", 1_000)
        partial_id = send(partial)
    with happened(days_ago=2):
        report(done_id, ProviderStatus.COMPLETED, remains=0)
    with happened(days_ago=1):
        report(partial_id, ProviderStatus.PARTIAL, remains=400)
        growing = place("followers", 1_000, ACCOUNT_URL)
        growing_id = send(growing)
        report(growing_id, ProviderStatus.IN_PROGRESS, remains=650)
    report(growing_id, ProviderStatus.IN_PROGRESS, remains=620)
    canceled = place("likes", 100)
    services.order_cancel(customer=customer, order_id=canceled.pk)
    waiting = place("plays", 500)
    return {
        "old": old,
        "done": done,
        "partial": partial,
        "growing": growing,
        "canceled": canceled,
        "waiting": waiting,
    }


class FakeAdapter:
    """A scripted provider: records placements and answers statuses set by the test."""

    def __init__(self) -> None:
        self.placed: list[dict] = []
        self.statuses: dict[str, ProviderOrderStatus] = {}
        self.place_error: Exception | None = None
        self.canceled: list[str] = []
        self.refills: list[str] = []
        #: What the provider answers for each refill id; ``refill_asked`` logs the questions.
        self.refill_statuses: dict[str, ProviderRefillStatus] = {}
        self.refill_asked: list[str] = []

    def place(self, *, service: str, link: str, quantity: int, options=None) -> PlacedOrder:
        if self.place_error is not None:
            raise self.place_error
        external_id = str(5000 + len(self.placed))
        self.placed.append(
            {"service": service, "link": link, "quantity": quantity, "id": external_id}
        )
        self.statuses[external_id] = ProviderOrderStatus(external_id, ProviderStatus.PENDING)
        return PlacedOrder(external_id)

    def report(
        self,
        external_id: str,
        status: ProviderStatus,
        *,
        remains: int,
        charge: str = "0",
        currency: str = "CNY",
    ) -> None:
        """Set what the provider will answer next for ``external_id``."""
        self.statuses[external_id] = ProviderOrderStatus(
            external_id,
            status,
            start_count=1000,
            remains=remains,
            charge=Decimal(charge),
            currency=currency,
        )

    def deliver_in_full(self, *orders) -> None:
        """Dispatch ``orders`` here, report each ``Completed`` and run the status sync."""
        from doudesk.orders import services

        for order in orders:
            services.order_dispatch(order_id=order.pk)
            order.refresh_from_db()
            self.report(order.external_id, ProviderStatus.COMPLETED, remains=0)
        services.orders_sync()

    def status_many(self, ids):
        return {
            i: self.statuses.get(i) or ProviderRejected("Incorrect order ID", code="unknown_order")
            for i in ids
        }

    def status(self, external_id: str) -> ProviderOrderStatus:
        return self.statuses[external_id]

    def cancel(self, ids):
        self.canceled.extend(ids)
        return {i: True for i in ids}

    def refill(self, external_id: str) -> RefillResult:
        self.refills.append(external_id)
        return RefillResult(f"R{external_id}")

    def refill_status(self, refill_id: str) -> ProviderRefillStatus:
        self.refill_asked.append(refill_id)
        if refill_id not in self.refill_statuses:
            raise ProviderRejected("Incorrect refill ID", code="unknown_refill")
        return self.refill_statuses[refill_id]

    def services(self):
        return []

    def balance(self) -> Decimal:
        return Decimal(0)


__all__ = [
    "ACCOUNT_URL",
    "VIDEO_URL",
    "CustomerFactory",
    "FakeAdapter",
    "ProviderError",
    "beijing_noon",
    "fund_customer",
    "happened",
    "in_english",
    "make_verified_customer",
    "order_history",
    "module_id",
    "valid_credit_code",
    "valid_resident_id",
]
