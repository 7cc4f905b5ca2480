"""URL map: web pages, admin, REST v1, the /api/v2 reseller endpoint, health."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from doudesk.api.urls import api_v1
from doudesk.api.v2 import api_v2
from doudesk.web.views.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers and bots that ask for /favicon.ico get the pages' icon.
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}web/favicon.svg")),
    path("admin/", admin.site.urls),
    path("api/v1/", api_v1.urls),
    path("api/v2", api_v2, name="api_v2"),
    path("api/v2/", api_v2),  # reseller panels are configured with either spelling
    path("i18n/", include("django.conf.urls.i18n")),
    path("ledger/", include("doudesk.ledger.urls")),
    path("", include("doudesk.web.urls")),
]
