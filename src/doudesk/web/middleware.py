"""Which language a request is answered in, and which answers no shared cache keeps."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class SiteLanguageMiddleware(LocaleMiddleware):
    """Pages speak Simplified Chinese until the visitor switches; APIs follow Accept-Language.

    The site is for Chinese SMEs and creators: a browser set to English (a hotel PC, a headless
    test) still gets Chinese pages, and the language switch (a cookie) changes that. API clients
    choose per request with ``Accept-Language``.
    """

    def process_request(self, request: HttpRequest) -> None:
        if request.path.startswith("/api/"):
            super().process_request(request)
            return
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _ in settings.LANGUAGES}
        translation.activate(chosen if chosen in supported else settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()


class PrivateAnswersMiddleware:
    """Keep what is someone's own out of shared caches: API answers and signed-in pages.

    A new API key shown once, an evidence bundle with the customer's salt, balances: without
    a ``Cache-Control`` a proxy or a shared browser may keep them. An answer that sets its own
    (static files, log tiles) keeps it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.has_header("Cache-Control") and (
            request.path.startswith("/api/") or request.user.is_authenticated
        ):
            response["Cache-Control"] = "private, no-store"
        return response
