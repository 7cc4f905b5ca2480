"""List pages and list endpoints read a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from doudesk.orders import services
from factories import ACCOUNT_URL, VIDEO_URL

pytestmark = pytest.mark.django_db


def query_count(action: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


@pytest.fixture
def place(customer, sid) -> Callable[[int], None]:
    """Place ``n`` more open orders (each also writes journal legs and timeline events)."""

    def more(n: int) -> None:
        for _ in range(n):
            services.order_place(
                customer=customer, service_id=sid("likes"), target=VIDEO_URL, quantity=50
            )

    return more


def first_render(client, url: str) -> str:
    stream = iter(client.get(url).streaming_content)
    next(stream)  # retry
    return next(stream).decode()


@pytest.mark.parametrize(
    ("label", "read"),
    [
        ("my orders", lambda web, api: web.get("/orders/")),
        ("my orders, live", lambda web, api: first_render(web, "/orders/stream/?page=1")),
        ("wallet", lambda web, api: web.get("/wallet/")),
        ("wallet, live", lambda web, api: first_render(web, "/wallet/stream/")),
        ("v1 orders", lambda web, api: api.get("/api/v1/orders")),
        ("v1 services", lambda web, api: api.get("/api/v1/services")),
        ("catalogue", lambda web, api: web.get("/")),
        ("dashboard", lambda web, api: web.get("/dashboard/")),
        ("dashboard, live", lambda web, api: first_render(web, "/dashboard/stream/")),
        ("v1 dashboard", lambda web, api: api.get("/api/v1/dashboard")),
    ],
)
def test_a_list_reads_as_many_queries_for_twelve_rows_as_for_two(label, read, web, api, place):
    place(2)
    read(web, api)  # first use: an API key notes when it was last used, a session is loaded
    few = query_count(lambda: read(web, api))
    place(10)
    many = query_count(lambda: read(web, api))
    assert many == few, f"{label}: {few} queries for 2 orders, {many} for 12"


def test_a_multi_status_reads_as_many_queries_for_twelve_orders_as_for_two(
    customer, api_key_for, place, client
):
    from doudesk.orders.models import Order

    key = api_key_for(customer)

    def status_of_all() -> None:
        ids = ",".join(str(pk) for pk in Order.objects.values_list("pk", flat=True))
        answer = client.post("/api/v2", {"key": key, "action": "status", "orders": ids}).json()
        assert all("status" in one for one in answer.values())

    place(2)
    status_of_all()  # first use of the key
    few = query_count(status_of_all)
    place(10)
    assert query_count(status_of_all) == few


def test_the_dashboard_reads_as_many_queries_for_twelve_delivered_orders_as_for_two(
    customer, web, api, fake_adapter, sid
):
    """Delivery, money and statuses are summed in the database, not read order by order."""
    from doudesk.providers.adapters.base import ProviderStatus

    def more(n: int) -> None:
        for step in range(n):
            code = ("plays", "likes", "followers")[step % 3]
            quantity = {"plays": 1_000, "likes": 100, "followers": 100}[code]
            target = ACCOUNT_URL if code == "followers" else VIDEO_URL
            order = services.order_place(
                customer=customer, service_id=sid(code), target=target, quantity=quantity
            )
            services.order_dispatch(order_id=order.pk)
            order.refresh_from_db()
            # Progress, then (for two in three) the end: completed, or partial with a refund.
            fake_adapter.report(
                order.external_id, ProviderStatus.IN_PROGRESS, remains=quantity // 2
            )
            services.orders_sync()
            if step % 3:
                final = ProviderStatus.COMPLETED if step % 3 == 1 else ProviderStatus.PARTIAL
                fake_adapter.report(order.external_id, final, remains=0 if step % 3 == 1 else 10)
                services.orders_sync()

    def read() -> None:
        assert web.get("/dashboard/").status_code == 200
        assert api.get("/api/v1/dashboard").status_code == 200

    more(3)
    read()  # first use of the API key
    few = query_count(read)
    more(9)
    assert query_count(read) == few


def add_bundles(n: int) -> None:
    """Put ``n`` more packages and growth plans on sale, each of other services."""
    from doudesk.catalog.models import GrowthPlan, Package, PackageItem, ServiceModule

    modules = list(ServiceModule.objects.filter(active=True).order_by("pk"))
    start = Package.objects.count()
    for i in range(start, start + n):
        module = modules[i % len(modules)]
        package = Package.objects.create(
            code=f"extra-{i}", name_zh=f"套餐{i}", name_en=f"Package {i}", price_fen=10_000,
            target_kind=module.target_kind,
        )  # fmt: skip
        PackageItem.objects.create(package=package, module=module, quantity=module.min_quantity)
        GrowthPlan.objects.create(
            code=f"extra-{i}", name_zh=f"计划{i}", name_en=f"Plan {i}", module=module,
            daily_quantity=module.min_quantity, days=3,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("label", "url"),
    [
        ("v1 packages", "/api/v1/packages"),
        ("v1 growth plans", "/api/v1/growth-plans"),
        ("catalogue", "/"),
    ],
)
def test_packages_and_growth_plans_list_in_as_many_queries_for_twelve_as_for_two(
    seeded, client, label, url
):
    add_bundles(1)
    client.get(url)
    few = query_count(lambda: client.get(url))
    add_bundles(10)
    many = query_count(lambda: client.get(url))
    assert many == few, f"{label}: {few} queries for a few packages and plans, {many} for more"
