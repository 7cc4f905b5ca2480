"""Response schemas of REST v1, as the OpenAPI document at ``/api/v1/docs`` shows them.

They describe the dicts that :mod:`doudesk.api.serializers`, the routers and the services build,
field for field and in the same order, so passing an answer through them changes nothing (not a
key, a type or the order of keys; tests/api/test_api_v1_schema.py checks every documented answer
against the published document). Amounts are CNY yuan as decimal strings, rates are yuan per
1,000 units, times ISO 8601 strings.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

Yuan = Annotated[
    str,
    Field(json_schema_extra={"description": "CNY yuan, a decimal string", "examples": ["16.00"]}),
]
Rate = Annotated[
    str,
    Field(json_schema_extra={"description": "CNY yuan per 1,000 units, a decimal string"}),
]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Percent = Annotated[
    str,
    Field(
        json_schema_extra={"description": "A percentage, a decimal string", "examples": ["12.5"]}
    ),
]
Hash = Annotated[
    str,
    Field(
        json_schema_extra={
            "description": "A SHA-256 hash of the log, 64 lowercase hex digits",
            "pattern": "^[0-9a-f]{64}$",
        }
    ),
]
Currency = Literal["CNY"]
#: Hours, shares and outcomes keep the JSON type they are computed in (72, or 72.0).
Number = int | float


class ServiceOut(Schema):
    """A service (catalogue module) with today's price."""

    id: int
    code: str
    name: str
    name_zh: str
    name_en: str
    description: str
    category: str
    kind: str
    target_kind: str = Field(description="Link the service takes: video, account, live or none")
    channel: str
    unit: str
    min: int
    max: int
    step: int
    rate: Rate = Field(description="Today's price per 1,000 units")
    list_rate: Rate = Field(description="The catalogue's list price per 1,000 units")
    rate_per: int
    currency: Currency
    avg_completion_hours: str
    refill_days: int
    cancel: bool
    refill: bool


class QuoteOut(Schema):
    """A price held for ten minutes."""

    id: str
    service_id: int
    quantity: int
    unit_rate: Rate
    total: Yuan
    currency: Currency
    expires_at: Timestamp


class OrderOut(Schema):
    """An order; ``charge`` is what the customer pays after any refund, ``held`` the hold.

    ``guarantee_paid``: paid back from the guarantee fund for delivered units found missing.
    """

    id: int
    service_id: int
    target: str
    quantity: int
    status: str
    charge: Yuan
    held: Yuan
    refunded: Yuan
    guarantee_paid: Yuan
    unit_rate: Rate
    currency: Currency
    start_count: int | None
    delivered: int
    remains: int
    quote_id: str | None
    group_id: int | None
    options: dict[str, Any] | None
    scheduled_for: Timestamp | None = Field(
        description="When a scheduled order (a growth plan's later day, a plan's live-room "
        "item) is due to start; null: at once"
    )
    created_at: Timestamp | None
    finished_at: Timestamp | None


class OrderListOut(Schema):
    """One page of the caller's orders, newest first."""

    count: int
    results: list[OrderOut]


class OrderEventOut(Schema):
    """One timeline entry; ``status`` is the status it moved the order to, else null."""

    kind: str
    status: str | None
    data: dict[str, Any]
    at: Timestamp


class RefillOut(Schema):
    """A refill asked for."""

    refill: int
    order: int
    status: str


class RefillStatusOut(RefillOut):
    """A refill of the order and how far its provider got.

    ``status``: requested, sent, in_progress, completed, rejected or error.
    """

    created_at: Timestamp


class DeliverableOut(Schema):
    """What an order delivered beyond a count: a file to download, or a link to open.

    A file has ``download`` (its address here) and ``sha256`` (also in the transparency log);
    a link has ``link``.
    """

    id: int
    name: str
    sha256: str | None
    download: str | None
    link: str | None
    created_at: Timestamp


class JournalLineOut(Schema):
    """One movement of the caller's balance."""

    entry: int
    kind: str
    memo: str
    amount: Yuan
    at: Timestamp


class WalletOut(Schema):
    """Available and held balance, and the latest journal lines."""

    balance: Yuan
    held: Yuan
    currency: Currency
    journal: list[JournalLineOut]


class TopUpOut(Schema):
    """A top-up to pay at ``pay_url``."""

    id: str
    amount: Yuan
    currency: Currency
    status: str
    pay_url: str


Day = Annotated[str, Field(json_schema_extra={"format": "date"})]


class PipelineOut(Schema):
    """How many of the caller's orders are in each status now, in the order they pass."""

    pending: int
    processing: int
    in_progress: int
    completed: int
    partial: int
    canceled: int


class OutcomesOut(Schema):
    """How many of the caller's orders ended each way within the dashboard's days."""

    completed: int
    partial: int
    canceled: int


class DashboardServiceOut(Schema):
    """Units of one service delivered within the dashboard's days."""

    service_id: int
    name: str
    unit: str
    units: int


class DashboardServiceDayOut(Schema):
    """Units of one service delivered on one day."""

    service_id: int
    units: int


class DashboardDayOut(Schema):
    """One Beijing day: units delivered (in all and per service), money charged and refunded."""

    date: Day
    units: int
    charged: Yuan
    refunded: Yuan
    services: list[DashboardServiceDayOut]


class DashboardOut(Schema):
    """The caller's orders now and over the last 30 days (Beijing days, today last).

    ``pipeline``: orders per status now, as "my orders" lists them (a growth plan's days not
    begun yet are ``scheduled_days``); ``under_way`` the pending, processing and in-progress
    ones. ``finished``: orders that ended within the days. ``charged``: what orders took from
    the balance; ``refunded``: refunds of undelivered units and guarantee fund payouts;
    ``spent``: charged less refunded. ``units_delivered`` and each day's ``units`` come from
    the orders' progress, on the day it was recorded.
    """

    first_day: Day
    last_day: Day
    timezone: str
    under_way: int
    scheduled_days: int
    pipeline: PipelineOut
    finished: OutcomesOut
    charged: Yuan
    refunded: Yuan
    spent: Yuan
    currency: Currency
    units_delivered: int
    services: list[DashboardServiceOut]
    days: list[DashboardDayOut]


class NoteOut(Schema):
    """Something understood with a caveat (an override, an assumption).

    ``message`` is in the answer's language; both languages follow, as in error items.
    """

    code: str
    message: str
    message_zh: str
    message_en: str


class AudienceOut(Schema):
    """Audience slugs by dimension."""

    genders: list[str]
    ages: list[str]
    regions: list[str]
    interests: list[str]


class UnderstoodOut(Schema):
    """What the need was read as."""

    language: str
    intents: dict[str, Number] = Field(description="Goal weights, summing to 1")
    budget: Yuan
    currency: Currency
    budget_source: str
    daily_budget: Yuan | None
    period_days: int | None
    deadline_hours: Number | None
    quantities: dict[str, int]
    audience: AudienceOut
    target: str | None
    target_kind: str | None
    urgent: bool
    named_services: list[int] = Field(
        description="Services the need names: the only ones of their kind planned"
    )
    excluded_services: list[int] = Field(description="Services the need rules out")
    live_starts_at: Timestamp | None = Field(
        description="When the need's live stream starts (Beijing time); null: none given"
    )
    notes: list[NoteOut]


class PlanItemOut(Schema):
    """One service of a plan; send ``service_id`` and ``quantity`` back to order it."""

    service_id: int
    name: str
    quantity: int
    cost: Yuan
    target_kind: str


class PlanOut(Schema):
    """One plan: cheapest, fastest or balanced."""

    key: str
    name: str
    total: Yuan
    currency: Currency
    items: list[PlanItemOut]
    expected: dict[str, Number]
    eta_hours: Number
    explanation: str
    live_starts_at: Timestamp | None = Field(
        description="When the plan's live-room items (target_kind live) start: the live start; "
        "the other items start at once. Null: no item waits"
    )
    schedule_note: str | None = Field(description="When the live-room items run, in words")


class PlansOut(Schema):
    """The need as understood and up to three plans."""

    understood: UnderstoodOut
    plans: list[PlanOut]


class PackageItemOut(Schema):
    """A service of a package, in the quantity the package orders."""

    service_id: int
    name: str
    quantity: int


class PackageOut(Schema):
    """A fixed bundle of services for one link at a bundle price (e.g. 播放+点赞+评论)."""

    id: int
    code: str
    name: str
    name_zh: str
    name_en: str
    description: str
    target_kind: str = Field(description="Link the package takes: video, account, live or none")
    price: Yuan
    currency: Currency
    items: list[PackageItemOut]


class GrowthPlanOut(Schema):
    """A daily growth plan: ``daily_quantity`` units of one service a day for ``days`` days."""

    id: int
    code: str
    name: str
    name_zh: str
    name_en: str
    description: str
    service_id: int
    target_kind: str
    daily_quantity: int
    days: int
    price: Yuan | None = Field(description="Today's price of all its days; null: not for sale now")
    currency: Currency


class PlanOrderOut(Schema):
    """A plan, package or growth plan ordered as one group of orders."""

    group_id: int
    total: Yuan
    currency: Currency
    orders: list[OrderOut]


class ApiKeyOut(Schema):
    """An API key (never the key itself)."""

    id: int
    name: str
    prefix: str
    created_at: Timestamp
    last_used_at: Timestamp | None
    revoked: bool


class ApiKeyCreatedOut(ApiKeyOut):
    """A new API key: ``key`` is shown in this answer only."""

    key: str


class ApiKeyRevokedOut(Schema):
    """A revoked key."""

    revoked: bool


class PricePointOut(Schema):
    """One publication of the service's base rate; a rate it did not have is null."""

    at: Timestamp
    unit_rate: Rate | None = Field(description="The rate published")
    floor: Rate | None = Field(description="The lowest rate allowed then (cost plus margin)")
    ceiling: Rate | None = Field(description="The highest rate allowed then")
    reference: Rate | None = Field(description="The lowest market reference then")
    code: str = Field(
        description="Why: initial, thompson, step_limited, floor, ceiling, kill_switch or "
        "unavailable"
    )
    reason: str = Field(description="In the request's language (Accept-Language)")


class PriceTodayOut(Schema):
    """Today's price at the service's base quantity next to the lowest market reference."""

    quantity: int
    unit_rate: Rate | None = Field(description="Null while the service cannot be priced")
    reference_rate: Rate | None = Field(description="Null without a market reference")
    reference_source: str = Field(description="Where the reference comes from (empty if none)")
    saving_percent: Percent | None = Field(
        description="Percent below the reference (negative above it); null without both rates"
    )
    available: bool
    dynamic: bool = Field(description="Whether the price is learned (else the list price)")


class PriceTierOut(Schema):
    """Today's rate of one volume tier, at its first orderable quantity."""

    min_quantity: int
    quantity: int
    discount_percent: Percent
    unit_rate: Rate | None
    reference_rate: Rate | None
    saving_percent: Percent | None
    available: bool
    reason: str = Field(description="Why the tier is unavailable (empty when it is available)")


class PriceHistoryOut(Schema):
    """A service's publications of the last 30 days, oldest first; today's price; its tiers."""

    service_id: int
    currency: Currency
    points: list[PricePointOut]
    today: PriceTodayOut
    tiers: list[PriceTierOut]


class LedgerCheckpointOut(Schema):
    """The latest signed checkpoint: the published tree's size and root, and the signed note."""

    tree_size: int
    root_hash: Hash
    note: str = Field(description="The C2SP signed note, the text/plain form of this answer")


class LedgerPublicKeyOut(Schema):
    """The log's C2SP note verifier key (``<name>+<key id>+<base64 key>``)."""

    public_key: str


class LedgerEntryOut(Schema):
    """One leaf: the exact canonical JSON text hashed into the log, and its RFC 6962 hash."""

    index: int
    leaf: str
    leaf_hash: Hash


class LedgerEntriesOut(Schema):
    """Leaves of the published tree in index order (at most 1,000: ask again from the next)."""

    entries: list[LedgerEntryOut]


class InclusionProofOut(Schema):
    """RFC 9162 inclusion proof of a leaf in the tree of ``tree_size`` leaves."""

    leaf_index: int
    tree_size: int
    leaf_hash: Hash
    audit_path: list[Hash]


class ConsistencyProofOut(Schema):
    """RFC 9162 consistency proof between tree sizes ``first`` and ``second`` (may be empty)."""

    first: int
    second: int
    proof: list[Hash]


class EvidenceEntryOut(Schema):
    """One of the order's leaves with its inclusion proof against the bundle's checkpoint."""

    index: int
    leaf: str = Field(description="The exact canonical JSON text hashed into the log")
    leaf_hash: Hash
    audit_path: list[Hash]


class EvidenceDisclosureOut(Schema):
    """What the placed leaf names by salted hashes, opened for its customer to check."""

    customer: int = Field(description="The customer's id; the leaf's customer is SHA-256(salt:id)")
    salt: str = Field(description="The customer's log salt; keep it private")
    target: str = Field(description="The order's link; the leaf's target is SHA-256(salt:link)")


class EvidenceBundleOut(Schema):
    """An order's evidence bundle (version 1); ``doudesk verify`` checks it offline."""

    version: Literal[1]
    origin: str = Field(description="The log's origin, the checkpoint's first line")
    checkpoint: str = Field(description="The signed checkpoint note, verbatim")
    tree_size: int
    root_hash: Hash
    entries: list[EvidenceEntryOut]
    disclosure: EvidenceDisclosureOut


class ErrorItemOut(Schema):
    """One refused input: ``field`` names it (``body`` for the request as a whole)."""

    field: str
    code: str
    message: str = Field(description="In the request's language (Accept-Language)")
    message_zh: str
    message_en: str


class ErrorOut(Schema):
    """A refusal: every problem found, each naming its field, in Chinese and English.

    ``detail`` is the first error's message. Some refusals add context, e.g. the balance an
    order could not be paid from.
    """

    model_config = ConfigDict(extra="allow")

    detail: str
    errors: list[ErrorItemOut]


def answers(ok: Any, *refusals: int) -> dict[int, Any]:
    """Return a route's documented answers: ``ok`` and the error shape for each refusal.

    ``ok`` is a response schema (status 200) or a ``{status: schema}`` dict. The refusals are
    HTTP statuses: 400 bad input (or a body that is not JSON), 401 no valid key, 402
    insufficient balance, 403 not verified or not allowed, 404 not found (or not the
    caller's), 409 a conflict with the current state. Every route also answers 422 to a
    request that does not fit its parameters (a missing field, a wrong type) and 500 to an
    unexpected fault, in the same shape.
    """
    documented = dict(ok) if isinstance(ok, dict) else {200: ok}
    for status in sorted({*refusals, 422, 500}):
        documented[status] = ErrorOut
    return documented
