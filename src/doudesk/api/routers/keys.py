"""API keys: created (shown once), listed, revoked."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from doudesk.accounts.models import ApiKey
from doudesk.accounts.services import api_key_create, api_key_revoke
from doudesk.api.auth import AUTH
from doudesk.api.schemas import ApiKeyCreatedOut, ApiKeyOut, ApiKeyRevokedOut, answers
from doudesk.api.types import Int
from doudesk.errors import DomainError

router = Router(tags=["api-keys"], auth=AUTH)


class KeyIn(Schema):
    name: str = "default"


def _key_dict(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.pk,
        "name": key.name,
        "prefix": key.prefix,
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked": key.revoked_at is not None,
    }


@router.get("/api-keys", response=answers(list[ApiKeyOut], 401))
def keys_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Return the caller's keys (never the keys themselves)."""
    return [_key_dict(k) for k in ApiKey.objects.filter(customer=request.auth).order_by("-pk")]


@router.post("/api-keys", response=answers({201: ApiKeyCreatedOut}, 400, 401))
def keys_create(request: HttpRequest, payload: KeyIn) -> Status[dict[str, Any]]:
    """Create a key; the plain key is in this answer only."""
    key, plain = api_key_create(customer=request.auth, name=payload.name)
    return Status(201, {**_key_dict(key), "key": plain})


@router.delete("/api-keys/{key_id}", response=answers(ApiKeyRevokedOut, 401, 404))
def keys_revoke(request: HttpRequest, key_id: Int) -> dict[str, Any]:
    """Revoke a key."""
    if not api_key_revoke(customer=request.auth, key_id=key_id):
        raise DomainError.single("key", "not_found", "密钥不存在", "Key not found", status=404)
    return {"revoked": True}
