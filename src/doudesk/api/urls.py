"""REST v1: the typed API under ``/api/v1/`` (OpenAPI at ``/api/v1/docs``)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from doudesk.api.errors import HTTP_MESSAGES, domain_error_body, schema_errors
from doudesk.api.routers import bundles, dashboard, keys, ledger, orders, plans, services, wallet
from doudesk.errors import DomainError, FieldError

logger = logging.getLogger(__name__)

api_v1 = NinjaAPI(
    title="DouDesk API",
    version="1",
    description="抖音业务自助下单平台 REST API. Amounts are CNY yuan as decimal strings.",
    urls_namespace="api_v1",
)
api_v1.add_router("/", services.router)
api_v1.add_router("/", orders.router)
api_v1.add_router("/", wallet.router)
api_v1.add_router("/", dashboard.router)
api_v1.add_router("/", keys.router)
api_v1.add_router("/", plans.router)
api_v1.add_router("/", bundles.router)
api_v1.add_router("/ledger", ledger.router)
api_v1.add_router("/", ledger.evidence_router)


@api_v1.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api_v1.create_response(request, domain_error_body(exc), status=exc.status)


@api_v1.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    error = schema_errors(list(exc.errors))
    return api_v1.create_response(request, domain_error_body(error), status=422)


@api_v1.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    error = DomainError(
        FieldError(
            "Authorization",
            "unauthenticated",
            "缺少或无效的 API 密钥（Authorization: Bearer <key>）",
            "Missing or invalid API key (Authorization: Bearer <key>)",
        ),
        status=401,
    )
    return api_v1.create_response(request, domain_error_body(error), status=401)


@api_v1.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code, zh, en = HTTP_MESSAGES.get(
        str(exc), ("bad_request", "请求无效", str(exc) or "Bad request")
    )
    error = DomainError(FieldError("body", code, zh, en), status=exc.status_code)
    return api_v1.create_response(request, domain_error_body(error), status=exc.status_code)


@api_v1.exception_handler(Exception)
def _unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A bug, not a refusal: logged with its traceback; the client still gets the v1 shape.
    logger.exception("unhandled error in %s %s", request.method, request.path)
    error = DomainError(
        FieldError("body", "server_error", "服务器内部错误，请稍后重试", "Internal server error"),
        status=500,
    )
    return api_v1.create_response(request, domain_error_body(error), status=500)
