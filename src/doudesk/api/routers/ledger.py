"""The transparency log over REST: checkpoint, public key, entries, proofs, order evidence.

The log is public (no authentication); an order's evidence bundle is for its customer only.
Proof answers use the field names the ledger issue set (``leaf_index``, ``tree_size``,
``audit_path`` as RFC 6962 names them; consistency as ``first``, ``second``, ``proof``),
hashes in lowercase hex.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from doudesk.api.auth import AUTH
from doudesk.api.schemas import (
    ConsistencyProofOut,
    EvidenceBundleOut,
    InclusionProofOut,
    LedgerCheckpointOut,
    LedgerEntriesOut,
    LedgerPublicKeyOut,
    answers,
)
from doudesk.api.types import Int, LogPosition
from doudesk.ledger import selectors
from doudesk.ledger.verify import dump_bundle
from doudesk.orders.selectors import order_get

router = Router(tags=["ledger"])
evidence_router = Router(tags=["ledger"], auth=AUTH)

_TEXT = "text/plain; charset=utf-8"
_JSON = "application/json"


def _wants_json(request: HttpRequest) -> bool:
    """Content negotiation between the text form (default) and JSON."""
    return request.get_preferred_type([_TEXT.split(";")[0], _JSON]) == _JSON


def _text_form(description: str) -> dict[str, Any]:
    """Document the text/plain form that a route answers by default, beside its JSON schema."""
    text = {"text/plain": {"schema": {"type": "string"}}}
    return {"responses": {200: {"description": description, "content": text}}}


@router.get(
    "/checkpoint",
    auth=None,
    response=answers(LedgerCheckpointOut, 404),
    openapi_extra=_text_form("The signed note (text/plain, default) or its JSON form"),
)
def ledger_checkpoint(request: HttpRequest) -> Any:
    """Return the latest signed checkpoint note; JSON with ``Accept: application/json``."""
    checkpoint = selectors.ledger_checkpoint_get()
    if _wants_json(request):
        return selectors.ledger_checkpoint_dict(checkpoint)
    return HttpResponse(checkpoint.note, content_type=_TEXT)


@router.get(
    "/public-key",
    auth=None,
    response=answers(LedgerPublicKeyOut),
    openapi_extra=_text_form("The key and a newline (text/plain, default) or its JSON form"),
)
def ledger_public_key(request: HttpRequest) -> Any:
    """Return the C2SP note verifier key that signs the checkpoints; JSON on request."""
    key = selectors.ledger_public_key()
    if _wants_json(request):
        return {"public_key": key}
    return HttpResponse(key + "\n", content_type=_TEXT)


@router.get("/entries", auth=None, response=answers(LedgerEntriesOut, 400))
def ledger_entries(
    request: HttpRequest, start: LogPosition, end: LogPosition | None = None
) -> dict[str, Any]:
    """Leaves ``start`` ≤ index < ``end`` of the published tree (at most 1,000 per answer)."""
    return {"entries": selectors.ledger_entries(start=start, end=end)}


@router.get("/proof/inclusion", auth=None, response=answers(InclusionProofOut, 400))
def ledger_proof_inclusion(
    request: HttpRequest, index: LogPosition, size: LogPosition | None = None
) -> dict[str, Any]:
    """Audit path of leaf ``index`` in the tree of ``size`` leaves (default: published size)."""
    return selectors.ledger_inclusion(index=index, size=size)


@router.get("/proof/consistency", auth=None, response=answers(ConsistencyProofOut, 400))
def ledger_proof_consistency(
    request: HttpRequest, first: LogPosition, second: LogPosition | None = None
) -> dict[str, Any]:
    """Consistency proof from tree size ``first`` to ``second`` (default: published size)."""
    return selectors.ledger_consistency(first=first, second=second)


# The bundle is written by dump_bundle (its exact text is what a customer keeps and verifies),
# so the view returns it as an HttpResponse, which ninja passes on as it is; the schema only
# documents it.
@evidence_router.get(
    "/orders/{order_id}/evidence",
    response=answers(EvidenceBundleOut, 401, 404, 409),
    openapi_extra={
        "responses": {
            200: {
                "headers": {
                    "Content-Disposition": {
                        "description": 'inline; filename="doudesk-order-<id>-evidence.json"',
                        "schema": {"type": "string"},
                    }
                }
            }
        }
    },
)
def orders_evidence(request: HttpRequest, order_id: Int) -> HttpResponse:
    """Return the order's evidence bundle: log entries, inclusion proofs, signed checkpoint.

    Verify it offline with ``doudesk verify BUNDLE.json --public-key KEY``.
    """
    order = order_get(customer=request.auth, order_id=order_id)
    bundle = selectors.ledger_evidence(order=order)
    response = HttpResponse(dump_bundle(bundle), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="doudesk-order-{order.pk}-evidence.json"'
    return response
