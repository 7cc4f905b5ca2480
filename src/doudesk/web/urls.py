"""Web pages."""

from django.urls import path

from doudesk.web.views import accounts, dashboard, orders, plans, pricing, shop, wallet

app_name = "web"

urlpatterns = [
    path("", shop.catalog, name="catalog"),
    path("signup/", accounts.signup, name="signup"),
    path("login/", accounts.login_view, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("verify/", accounts.verify, name="verify"),
    path("api-keys/", accounts.api_keys, name="api_keys"),
    path("services/<int:module_id>/order/", shop.order_form, name="order_form"),
    path("services/<int:module_id>/price/", shop.price_check, name="price_check"),
    path("services/<int:module_id>/pricing/", pricing.module_price, name="module_price"),
    path("bundles/<str:kind>/<int:bundle_id>/order/", shop.bundle_order, name="bundle_order"),
    path("plans/", plans.plans, name="plans"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/stream/", dashboard.dashboard_stream, name="dashboard_stream"),
    path("orders/", orders.orders, name="orders"),
    path("orders/stream/", orders.orders_stream, name="orders_stream"),
    path("orders/<int:order_id>/", orders.order_detail, name="order_detail"),
    path("orders/<int:order_id>/stream/", orders.order_stream, name="order_stream"),
    path("orders/<int:order_id>/cancel/", orders.order_cancel, name="order_cancel"),
    path("orders/<int:order_id>/refill/", orders.order_refill, name="order_refill"),
    path(
        "orders/<int:order_id>/cancel-scheduled/",
        orders.group_cancel_scheduled,
        name="group_cancel_scheduled",
    ),
    path("orders/<int:order_id>/evidence.json", orders.order_evidence, name="order_evidence"),
    path(
        "orders/<int:order_id>/deliverables/<int:deliverable_id>/",
        orders.order_deliverable,
        name="order_deliverable",
    ),
    path("wallet/", wallet.wallet, name="wallet"),
    path("wallet/stream/", wallet.wallet_stream, name="wallet_stream"),
    path("sandbox/pay/<str:out_trade_no>/", wallet.sandbox_pay, name="sandbox_pay"),
    path("payments/sandbox/notify", wallet.payment_notify, name="payment_notify"),
]
