from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "doudesk.orders"
    label = "orders"
