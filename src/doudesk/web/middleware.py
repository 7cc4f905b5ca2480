"""Which language a request is answered in."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
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
