"""Deliverables: the report file or the video link an order delivers, for its customer to keep.

An operator adds them (:func:`order_deliverable_add`); the customer downloads them from the
order page (:func:`deliverable_get`). Each addition is an order event, so it is in the
transparency log: a file by its SHA-256 only (its name is the customer's business, not the
public log's), a link by the fact that one was given.

A provider may hand files over itself: a status answer that settles an order may name
deliverables (the sandbox provider does for its reports and video editing), and
:func:`order_provider_deliverables_fetch`, run as a task after that commit, fetches each through
the provider's adapter (its own host only, at most :data:`DELIVERABLE_MAX_BYTES`, within
:data:`FETCH_SECONDS`) and adds it as an operator's upload is added, once per order and file.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from pathlib import PurePath, PurePosixPath
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse
from django.utils import timezone

from doudesk.accounts.models import Customer
from doudesk.errors import DomainError
from doudesk.orders.error_codes import OrderErrorCode as Code
from doudesk.orders.lock_objects import order_qs_select_for_update
from doudesk.orders.models import Deliverable, Order, OrderStatus
from doudesk.orders.transitions import record_event
from doudesk.providers.adapters.base import ProviderError, ProviderRejected
from doudesk.providers.registry import adapter_for

logger = logging.getLogger(__name__)

#: The longest name and link a deliverable may have (its columns').
NAME_LENGTH = Deliverable._meta.get_field("name").max_length or 0
LINK_LENGTH = Deliverable._meta.get_field("url").max_length or 0
#: The largest file an operator can deliver; larger work (a video) is delivered as a link.
DELIVERABLE_MAX_BYTES = 50 * 1024 * 1024
#: File types a report or a piece of content comes in.
DELIVERABLE_EXTENSIONS = frozenset(
    {"pdf", "docx", "xlsx", "pptx", "csv", "txt", "zip", "png", "jpg", "jpeg", "mp4", "mov"}
)
#: How long fetching one file a provider handed over may take, all told.
FETCH_SECONDS = 60.0
_HTTPS = URLValidator(schemes=["https"])


def _not_found() -> DomainError:
    return DomainError.single(
        "deliverable", Code.DELIVERABLE_NOT_FOUND, "交付物不存在", "No such deliverable", status=404
    )


def order_deliverable_add(
    *,
    order_id: int,
    name: str,
    file: UploadedFile | None = None,
    url: str = "",
    source_url: str = "",
) -> Deliverable:
    """Add a deliverable to an order: a file or an https link, never both; returns it.

    Refused for an order cancelled with nothing delivered. The order's ``deliverable_added``
    event (in the same transaction) carries the file's SHA-256 into the transparency log.
    ``source_url`` names where a provider handed the file over: a file from there already on
    the order is returned as it is, and nothing is added.
    """
    name = (name or "").strip()
    url = (url or "").strip()
    if not name and file is not None:
        name = _shortened(PurePath(file.name or "").name, NAME_LENGTH)
    if not name or len(name) > NAME_LENGTH or not name.isprintable():
        raise DomainError.single(
            "name",
            Code.DELIVERABLE_INVALID,
            "请填写交付物名称（最多 120 个字符，不含控制字符）",
            "Name the deliverable (at most 120 characters, no control characters)",
        )
    if (file is None) == (not url):
        raise DomainError.single(
            "file",
            Code.DELIVERABLE_INVALID,
            "请上传一个文件或填写一个链接（二选一）",
            "Upload a file or give a link (one of them)",
        )
    digest = _checked_file(file) if file is not None else ""
    if url:
        _check_link(url)
    with transaction.atomic():
        order = order_qs_select_for_update().filter(pk=order_id).first()
        if order is None:
            raise DomainError.single(
                "order", Code.NOT_FOUND, "订单不存在", "Order not found", status=404
            )
        if order.status == OrderStatus.CANCELED:
            raise DomainError.single(
                "order",
                Code.ALREADY_FINISHED,
                "订单已取消，未交付任何内容",
                "The order was canceled with nothing delivered",
                status=409,
            )
        if source_url:
            kept = Deliverable.objects.filter(order=order, source_url=source_url).first()
            if kept is not None:
                return kept
        deliverable = Deliverable(
            order=order, name=name, url=url, sha256=digest, source_url=source_url
        )
        if file is not None:
            # Stored under a name of its own: the customer's may be long, odd or theirs only.
            extension = PurePath(file.name or "").suffix.lower()
            deliverable.file.save(f"{uuid.uuid4().hex}{extension}", file, save=False)
        deliverable.save()
        data = {"deliverable": name, **({"sha256": digest} if digest else {"link": True})}
        record_event(order, "deliverable_added", data=data)
    return deliverable


def order_provider_deliverables_fetch(*, order_id: int) -> int:
    """Keep the files the provider handed over with a finished order; return how many were added.

    Runs after the status answer that settled the order named deliverables; it takes the order's
    id only, so the provider is asked for the order's status again. A file already kept for the
    order is neither fetched nor added again, and a concurrent run adds it once (the order's
    lock); one named twice is fetched once. A file the adapter or :func:`order_deliverable_add`
    refuses (another host, too large, a type not taken) is logged and left out. A file not
    fetched for now (a transient failure) holds back no other: once the rest are tried, its
    :class:`~doudesk.providers.adapters.base.ProviderError` is raised for the task to retry.
    """
    order = Order.objects.select_related("provider").filter(pk=order_id).first()
    finished = (OrderStatus.COMPLETED, OrderStatus.PARTIAL)
    if order is None or order.status not in finished or not order.external_id:
        return 0
    try:
        adapter = adapter_for(order.provider)
        offered = adapter.status(order.external_id).deliverables
    except ProviderRejected as exc:  # the order unknown there, or the provider switched off
        logger.warning("order %s: no deliverables from the provider: %s", order.pk, exc)
        return 0
    kept = set(
        Deliverable.objects.filter(order=order)
        .exclude(source_url="")
        .values_list("source_url", flat=True)
    )
    added = 0
    failed: ProviderError | None = None
    for deliverable in offered:
        if deliverable.url in kept:
            continue
        kept.add(deliverable.url)  # named twice in one answer: fetched once
        try:
            if len(deliverable.url) > LINK_LENGTH:
                raise ProviderRejected("file address too long", code="file_refused")
            content = adapter.fetch_file(
                deliverable.url, max_bytes=DELIVERABLE_MAX_BYTES, seconds=FETCH_SECONDS
            )
            # The address's file name gives the type (its extension); the name is the provider's.
            filename = PurePosixPath(urlsplit(deliverable.url).path).name
            order_deliverable_add(
                order_id=order.pk,
                name=_readable_name(deliverable.name)[:NAME_LENGTH],
                file=SimpleUploadedFile(filename, content),
                source_url=deliverable.url,
            )
        except (ProviderRejected, DomainError) as exc:
            logger.warning(
                "order %s: deliverable %r from provider %s refused: %s",
                order.pk, deliverable.name, order.provider.code, exc,
            )  # fmt: skip
            continue
        except ProviderError as exc:
            logger.warning(
                "order %s: deliverable %r from provider %s not fetched for now: %s",
                order.pk, deliverable.name, order.provider.code, exc,
            )  # fmt: skip
            failed = exc
            continue
        added += 1
    if failed is not None:
        raise failed
    return added


def _readable_name(name: str) -> str:
    """Return a provider's name for a file as one line of printable text (empty if none is).

    Any whitespace (a line break, a tab, the ideographic space) reads as one space, and what
    does not print (control characters, a right-to-left override) is dropped. An operator's
    name with them is refused, to be typed again; a provider's file would be lost over them.
    """
    return " ".join("".join(c for c in name if c.isprintable() or c.isspace()).split())


def order_deliverable_withdraw(*, deliverable_id: int) -> Deliverable:
    """Withdraw a deliverable given by mistake: its customer no longer sees or downloads it.

    The file is kept (an operator may give it to the right order) and the order's
    ``deliverable_withdrawn`` event says so; what the log holds of the addition stays.
    """
    with transaction.atomic():
        order_id = (
            Deliverable.objects.filter(pk=deliverable_id).values_list("order_id", flat=True).first()
        )
        if order_id is None:
            raise _not_found()
        order = order_qs_select_for_update().get(pk=order_id)
        found = Deliverable.objects.select_for_update().get(pk=deliverable_id)
        if found.withdrawn_at is not None:
            raise DomainError.single(
                "deliverable",
                Code.DELIVERABLE_INVALID,
                "该交付物已撤回",
                "This deliverable was withdrawn already",
                status=409,
            )
        found.withdrawn_at = timezone.now()
        found.save(update_fields=["withdrawn_at"])
        data = {"deliverable": found.name, **({"sha256": found.sha256} if found.sha256 else {})}
        record_event(order, "deliverable_withdrawn", data=data)
    return found


def _shortened(filename: str, length: int) -> str:
    """Return a file's name cut to ``length`` characters, its extension kept."""
    if len(filename) <= length:
        return filename
    suffix = PurePath(filename).suffix[:16]
    return filename[: length - len(suffix)] + suffix


def _checked_file(file: UploadedFile) -> str:
    """Return the SHA-256 of an acceptable file (type and size); a field error otherwise."""
    extension = PurePath(file.name or "").suffix.lower().removeprefix(".")
    if extension not in DELIVERABLE_EXTENSIONS:
        kinds, kinds_en = (
            "、".join(sorted(DELIVERABLE_EXTENSIONS)),
            ", ".join(sorted(DELIVERABLE_EXTENSIONS)),
        )
        raise DomainError.single(
            "file",
            Code.DELIVERABLE_INVALID,
            f"不支持此文件类型，可上传：{kinds}",
            f"This file type is not taken; upload one of: {kinds_en}",
        )
    if not file.size or file.size > DELIVERABLE_MAX_BYTES:
        raise DomainError.single(
            "file",
            Code.DELIVERABLE_INVALID,
            "文件为空或超过 50 MB；更大的成品请以链接交付",
            "The file is empty or over 50 MB; deliver larger work as a link",
        )
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _check_link(url: str) -> None:
    try:
        _HTTPS(url)
    except ValidationError:
        valid = False
    else:
        valid = len(url) <= LINK_LENGTH
    if not valid:
        raise DomainError.single(
            "url",
            Code.DELIVERABLE_INVALID,
            "请填写以 https:// 开头的有效链接（最多 500 个字符）",
            "Give a valid https:// link (at most 500 characters)",
        )


def order_deliverables(*, order: Order) -> QuerySet[Deliverable]:
    """Return the deliverables an order's customer sees, first added first (none withdrawn)."""
    return Deliverable.objects.filter(order=order, withdrawn_at__isnull=True).order_by("pk")


def deliverable_get(*, customer: Customer, order_id: int, deliverable_id: int) -> Deliverable:
    """Return one of the customer's deliverables, or a 404 (also for another customer's)."""
    found = (
        Deliverable.objects.filter(
            pk=deliverable_id,
            order_id=order_id,
            order__customer=customer,
            withdrawn_at__isnull=True,
        )
        .exclude(file="")
        .first()
    )
    if found is None:
        raise _not_found()
    return found


def deliverable_response(deliverable: Deliverable) -> FileResponse:
    """Return a deliverable's file as a download named after it (with the file's extension)."""
    extension = PurePath(deliverable.file.name).suffix
    name = deliverable.name
    filename = name if name.lower().endswith(extension.lower()) else name + extension
    return FileResponse(deliverable.file.open("rb"), as_attachment=True, filename=filename)
