"""tlog-tiles read paths under ``/ledger/`` (see :mod:`doudesk.ledger.views`)."""

from django.urls import path, re_path

from doudesk.ledger import views

app_name = "ledger"

urlpatterns = [
    path("checkpoint", views.checkpoint, name="checkpoint"),
    # Any path under tile/: the view answers what is no tile with the tiles' own plain 404.
    re_path(r"^tile/(?P<path>.*)$", views.tile, name="tile"),
]
