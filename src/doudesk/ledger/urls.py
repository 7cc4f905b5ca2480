"""tlog-tiles read paths under ``/ledger/`` (see :mod:`doudesk.ledger.views`)."""

from django.urls import path, re_path

from doudesk.ledger import views

app_name = "ledger"

urlpatterns = [
    path("checkpoint", views.checkpoint, name="checkpoint"),
    re_path(r"^tile/(?P<path>[0-9a-z./x]+)$", views.tile, name="tile"),
]
