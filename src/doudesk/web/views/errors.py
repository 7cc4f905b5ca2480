"""Error pages Django renders outside any view of ours: an expired form (CSRF)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Say in plain words that the page expired (a second tab logged in, an old form), not why.

    Django's own page tells a shop owner to set ``DEBUG=True``.
    """
    return render(request, "403_csrf.html", status=403)
