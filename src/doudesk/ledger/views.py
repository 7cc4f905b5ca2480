"""C2SP tlog-tiles read paths, so standard tlog clients can follow the log.

``/ledger/checkpoint`` is the latest signed checkpoint; ``/ledger/tile/<L>/<N>[.p/<W>]`` are
hash tiles and ``/ledger/tile/entries/<N>[.p/<W>]`` entry bundles. A tile's bytes never change
once it exists (a partial tile is a different URL from the full one), so tiles are cached
forever; the checkpoint is not cached. Missing or malformed tiles answer 404.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from doudesk.errors import DomainError
from doudesk.ledger import selectors

_IMMUTABLE = "public, max-age=31536000, immutable"


def _not_found(exc: DomainError) -> HttpResponse:
    """Plain-text 404 (tlog clients read status codes, not bodies)."""
    return HttpResponse(
        exc.errors[0].message_en + "\n", status=404, content_type="text/plain; charset=utf-8"
    )


@csrf_exempt  # read-only: a POST is answered 405 by require_safe, not by a CSRF page
@require_safe
def checkpoint(request: HttpRequest) -> HttpResponse:
    """Serve the latest signed checkpoint note."""
    try:
        note = selectors.ledger_checkpoint_get().note
    except DomainError as exc:
        return _not_found(exc)
    response = HttpResponse(note, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@csrf_exempt
@require_safe
def tile(request: HttpRequest, path: str) -> HttpResponse:
    """Serve a hash tile or an entry bundle."""
    try:
        data = selectors.ledger_tile(path=f"tile/{path}")
    except DomainError as exc:
        return _not_found(exc)
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Cache-Control"] = _IMMUTABLE
    return response
