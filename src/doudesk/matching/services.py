"""Intelligent matching on the platform: plan a need, then order a plan in one transaction.

Design overview
---------------
* **Plan** (:func:`plan_need`). The need is read by the pure core
  (:func:`doudesk.matching.understand.understand`; structured fields override the text), the
  active modules come from the cached catalogue (:func:`.selectors.matching_catalogue`) and the
  optimiser (:func:`doudesk.matching.optimizer.optimise`) prices every candidate quantity with
  the pricing engine (:func:`.selectors.plan_price_function`), so each plan's total is what
  ordering it will charge. A target link narrows the modules to those whose target kind accepts
  that very link (the same parser orders use), so a plan can be ordered with the link it was
  planned for. A need that names a module ("竞品分析报告", "口播") is planned with that one
  rather than the cheapest of its kind, and one it rules out is not used. A quantity asked
  that no plan reaches is said so in a note, with what the plans reach and roughly what the
  whole goal would cost (:func:`doudesk.matching.optimizer.goal_cost`). Nothing is written.
* **Order** (:func:`plan_order`). Stateless: the client sends the plan's items back
  (``service_id`` + ``quantity``), the target and, optionally, the ``total`` it was shown. Every
  line is validated first (module, quantity, link, audience options); when ``total`` is given and
  today's prices no longer add up to it, a 409 says so with the fresh total and nothing is
  written. Then :func:`doudesk.orders.services.order_group_place` places all orders in one
  transaction with one hold of the plan's total.
* **Live streams.** A need that says when its live stream starts ("周六晚上8点开播", or the
  ``live_starts_at`` field) has its live-room items (modules taking a ``live`` link) ordered as
  scheduled orders due at that very moment: a live-room promotion can only run while the room
  is on air, and a due order is sent within a sync interval (seconds). The other items start at
  once; the whole plan is held at once, and a scheduled item can be cancelled (refunded in full)
  until it is due. A live item's ETA counts from the live start: with a deadline, it must be
  done by then (its promotion ends within what is left after the start), unless the stream
  starts after the deadline, which then binds the other items only (a note says so).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from doudesk.accounts.models import Customer
from doudesk.accounts.services import customer_require_verified
from doudesk.catalog import targets as catalog_targets
from doudesk.catalog.models import Channel
from doudesk.catalog.promotion import duration_within
from doudesk.catalog.services import order_request_validate
from doudesk.errors import DomainError, FieldError
from doudesk.matching.lexicon import get_lexicon
from doudesk.matching.offers import Audience, Catalogue, Offer, PriceFn
from doudesk.matching.optimizer import asked_quantities, goal_cost, optimise
from doudesk.matching.selectors import (
    UNAVAILABLE_FEN,
    MatchingCatalogue,
    matching_catalogue,
    plan_price_function,
)
from doudesk.matching.understand import (
    MAX_BUDGET,
    Note,
    Understood,
    goal_weights_not_an_object,
    live_start_label,
    parse_audience_field,
    parse_deadline_field,
    parse_live_start_field,
    understand,
)
from doudesk.orders.models import OrderGroup
from doudesk.orders.services import AnswerRecord, OrderLine, order_group_place, place_idempotent
from doudesk.wallet.money import yuan_label

MAX_PLAN_ITEMS = 20
#: A shown total beyond 10^12 yuan is no amount (and arithmetic on 1e999999 overflows).
MAX_AMOUNT_DIGITS = 12
#: The target kinds that take a link, as ``plan_order``'s ``targets`` names them (in the order
#: a plan card asks for them).
LINK_KINDS: tuple[str, ...] = (
    catalog_targets.TargetKind.VIDEO.value,
    catalog_targets.TargetKind.ACCOUNT.value,
    catalog_targets.TargetKind.LIVE.value,
)
GROUP_KIND = "matched_plan"


def _error(field: str, code: str, zh: str, en: str, status: int = 400) -> DomainError:
    return DomainError(FieldError(field, code, zh, en), status=status)


def _accepting(catalogue: Catalogue, target_kinds: dict[int, str], target: str) -> Catalogue:
    """Keep the offers whose module takes ``target`` as its link (or takes no link at all)."""
    ok: dict[str, bool] = {}
    for kind in set(target_kinds.values()):
        if kind == catalog_targets.TargetKind.NONE:
            ok[kind] = True
            continue
        try:
            catalog_targets.parse_target(target, kind)
            ok[kind] = True
        except DomainError:
            ok[kind] = False
    kept = [
        o
        for o in catalogue.offers
        if ok.get(target_kinds.get(int(o.service_id), ""), False)
        and target_kinds.get(int(o.service_id)) != catalog_targets.TargetKind.NONE
    ]
    if not kept:
        raise _error(
            "target",
            "wrong_kind",
            "没有服务接受这个目标链接，请粘贴抖音视频、主页或直播间链接。",
            "No service accepts this target link; paste a Douyin video, profile or live-room link.",
        )
    none_kind = [
        o
        for o in catalogue.offers
        if target_kinds.get(int(o.service_id)) == catalog_targets.TargetKind.NONE
    ]
    return Catalogue(kept + none_kind)


def _as_named(
    current: MatchingCatalogue, catalogue: Catalogue, understood: Understood
) -> tuple[Catalogue, Understood]:
    """Keep, of each kind the need names modules of, only those; drop the ones it rules out.

    A named module that is not on sale is not replaced by another of its kind: its kind is
    left out and a note says so (the need's other goals are still planned). A module alone in
    its kind is not counted as named: its name is its goal's ("视频播放量达到10w"),
    which the need asks for anyway, and naming it chooses nothing.
    """
    excluded = {str(s) for s in understood.excluded_services}
    # Modules on sale or not: one whose sibling is off sale still chooses between the two.
    kind_of = {str(o.service_id): o.kind for o in catalogue.offers}
    kind_of |= {str(sid): o.kind for sid, o in current.off_sale.items()}
    modules_of_kind = Counter(kind_of.values())
    named = {
        str(s)
        for s in understood.named_services
        if int(s) in current.off_sale or modules_of_kind[kind_of.get(str(s), "")] > 1
    }
    if not named and not excluded:
        return catalogue, dataclasses.replace(understood, named_services=())
    unsold = {s for s in named if int(s) in current.off_sale}
    named -= unsold
    kinds = {o.kind for o in catalogue.offers if str(o.service_id) in named}
    unsold_kinds = {current.off_sale[int(s)].kind for s in unsold} - kinds
    kept = [
        o
        for o in catalogue.offers
        if str(o.service_id) not in excluded
        and (o.kind not in kinds or str(o.service_id) in named)
        and o.kind not in unsold_kinds
    ]
    notes = list(understood.notes)
    if unsold:
        gone = [current.off_sale[int(s)] for s in sorted(unsold, key=int)]
        names_zh = "、".join(o.name_zh for o in gone)
        names_en = ", ".join(o.name_en for o in gone)
        notes.append(
            Note(
                "named_off_sale",
                f"您点名的服务暂不可下单：{names_zh}。",
                f"The service you named cannot be ordered now: {names_en}.",
            )
        )
    understood = dataclasses.replace(
        understood,
        named_services=tuple(s for s in understood.named_services if str(s) in named),
        notes=tuple(notes),
    )
    return Catalogue(kept), understood


def _named_notes(
    understood: Understood,
    current: MatchingCatalogue,
    catalogue: Catalogue,
    plans: list[dict[str, Any]],
    price: PriceFn,
) -> list[Note]:
    """Say, after planning, whether each module the need named is in the plans, and if not why.

    The optimiser plans every named module that fits the need; one it could not (too dear, too
    slow, beside named modules that take the budget, or not for the link given) is named with
    the reason, rather than the plans claiming to use it. Modules of one kind, each able to
    serve the need, named beyond what a plan takes of a kind are said to be alternatives.
    """
    offers = {str(o.service_id): o for o in catalogue.offers}
    on_sale = {str(o.service_id): o for o in current.catalogue.offers}
    planned = {str(i["service_id"]) for plan in plans for i in plan["items"]}
    named_ids = [str(s) for s in understood.named_services]
    named = [offers[sid] for sid in named_ids if sid in offers]
    by_kind: dict[str, list[Offer]] = {}
    for offer in named:
        if _fits_alone(understood, offer, price):
            by_kind.setdefault(offer.kind, []).append(offer)
    alternatives = [group for group in by_kind.values() if len(group) > understood.max_per_kind]
    one_of = {str(o.service_id) for group in alternatives for o in group}
    notes: list[Note] = []
    used = [o for o in named if str(o.service_id) in planned and str(o.service_id) not in one_of]
    if used:
        notes.append(
            Note(
                "named_services",
                f"按您点名的服务规划：{'、'.join(o.name_zh for o in used)}。",
                f"Planned with the service you named: {', '.join(o.name_en for o in used)}.",
            )
        )
    for group in alternatives:
        notes.append(
            Note(
                "named_same_kind",
                f"您点名的{'、'.join(o.name_zh for o in group)}属于同一类，"
                f"一个方案最多用其中{understood.max_per_kind}项。",
                f"The {', '.join(o.name_en for o in group)} you named are of one kind; a plan "
                f"uses at most {understood.max_per_kind} of them.",
            )
        )
    for offer in named:
        if str(offer.service_id) not in planned and str(offer.service_id) not in one_of:
            zh, en = _left_out_reason(understood, offer, named, price)
            notes.append(
                Note(
                    "named_not_planned",
                    f"您点名的{offer.name_zh}不在方案中：{zh}。",
                    f"The {offer.name_en} you named is not in the plans: {en}.",
                )
            )
    excluded = {str(s) for s in understood.excluded_services}
    for sid in named_ids:
        # On sale, named and not ruled out, yet not a candidate: the link given left it out.
        if understood.target and sid not in offers and sid in on_sale and sid not in excluded:
            offer = on_sale[sid]
            zh, en = _LINK_NAMES.get(current.target_kinds[int(sid)], ("", ""))
            notes.append(
                Note(
                    "named_not_planned",
                    f"您点名的{offer.name_zh}不在方案中：它需要{zh}链接，不接受这个链接。",
                    f"The {offer.name_en} you named is not in the plans: it takes a {en} "
                    "link, not this one.",
                )
            )
    return notes


#: How a note names the link a module takes (its target kind), in Chinese and English.
_LINK_NAMES = {
    catalog_targets.TargetKind.VIDEO.value: ("视频", "video"),
    catalog_targets.TargetKind.ACCOUNT.value: ("账号主页", "profile"),
    catalog_targets.TargetKind.LIVE.value: ("直播间", "live-room"),
}


def _fits_alone(understood: Understood, offer: Offer, price: PriceFn) -> bool:
    """Whether a module's smallest order fits the need's budget and deadline on its own."""
    deadline = understood.deadline_hours
    return price(offer, offer.min_qty) <= understood.budget_fen and (
        deadline is None or offer.eta_hours(offer.min_qty) <= deadline
    )


def _left_out_reason(
    understood: Understood, offer: Offer, named: list[Offer], price: PriceFn
) -> tuple[str, str]:
    """Return (zh, en) saying why a named module could not be planned."""
    lowest = price(offer, offer.min_qty)
    deadline = understood.deadline_hours
    if lowest > understood.budget_fen:
        return (
            f"最低 {yuan_label(lowest)}，超出预算",
            f"it costs at least {yuan_label(lowest)}, over the budget",
        )
    if deadline is not None and offer.eta_hours(offer.min_qty) > deadline:
        return (
            f"无法在您要求的{deadline:g}小时内完成",
            f"it cannot be done within your {deadline:g} h deadline",
        )
    if sum(price(o, o.min_qty) for o in named) > understood.budget_fen:
        return (
            "与您点名的其他服务合计超出预算",
            "with the other services you named it costs more than the budget",
        )
    return (
        "不符合本次需求的预算、时限或受众条件",
        "it does not fit this need's budget, deadline or audience",
    )


def _costed(understood: Understood, catalogue: Catalogue, price: PriceFn) -> Understood:
    """Give a need without a budget limit the budget its quantities cost, and say so.

    "涨粉1万 预算不限" is planned at what 10,000 followers cost on the cheapest module that
    brings them (:func:`.optimizer.goal_cost`); a goal nothing here can bring still needs a
    ceiling.
    """
    asked = asked_quantities(understood)
    costs = [goal_cost(understood, catalogue, j, q, price=price) for j, q in asked.items()]
    if not costs or None in costs or sum(c or 0 for c in costs) >= UNAVAILABLE_FEN:
        raise _error(
            "budget",
            "missing",
            "没有服务能按所需数量报价，请告诉我们预算上限，例如“预算5000元”。",
            "No service can price the quantity you asked for; tell us the most you would "
            "spend, e.g. “budget ¥5000”.",
        )
    # The estimate is a grid quantity at its exact price. One step more of each goal is room
    # for 最省钱, which rounds its quantities up; a wider margin would be spent on more than
    # was asked (10,200 followers for 10,000).
    fen = sum(
        goal_cost(understood, catalogue, j, q, price=price, extra_steps=1) or 0
        for j, q in asked.items()
    )
    budget = min(Decimal(fen) / 100, MAX_BUDGET).quantize(Decimal("0.01"))
    note = Note(
        "budget_unlimited",
        f"预算不限：按约{yuan_label(int(budget * 100))}规划，即一个方案达到您要求的数量"
        "（或能订购的最多）所需。",
        f"No budget limit: planned at about {yuan_label(int(budget * 100))}, what one plan "
        "needs to reach the quantities you asked for (or as much of them as it can order).",
    )
    return dataclasses.replace(understood, budget=budget, notes=(*understood.notes, note))


def _goal_notes(
    understood: Understood, catalogue: Catalogue, plans: list[dict[str, Any]], price: PriceFn
) -> list[Note]:
    """Say which quantities asked for no plan reaches, what they reach, and what all would cost.

    The plans keep within the budget (and deadline); a goal beyond them used to be planned
    short without a word ("预算50，涨粉1万": 240 followers). The cost is an estimate
    (:func:`.optimizer.goal_cost`) of every quantity asked, each on its cheapest module.
    """
    asked = asked_quantities(understood)
    if not asked or not plans:
        return []
    lex = get_lexicon()
    units = {lex.kind_intent[k]: u for k, u in lex.kind_units.items()}
    short: list[tuple[str, float, int]] = []
    for intent, quantity in asked.items():
        reached = max(float(p["expected"].get(intent, 0)) for p in plans)
        if reached < quantity:
            short.append((intent, reached, quantity))
    if not short:
        return []
    zh_parts, en_parts = [], []
    for intent, reached, quantity in short:
        unit_zh, unit_en = units.get(intent, ("", lex.intent_labels[intent][1]))
        zh_parts.append(
            f"{lex.intent_labels[intent][0]}约{reached:,.0f}{unit_zh}（您要求{quantity:,}{unit_zh}）"
        )
        en_parts.append(f"about {reached:,.0f} {unit_en} (you asked for {quantity:,})")
    costs = [goal_cost(understood, catalogue, j, q, price=price) for j, q in asked.items()]
    full = None if None in costs else sum(c for c in costs if c is not None)
    budget = f"¥{understood.budget:,.2f}"
    zh = f"预算{budget}内的方案预计只能达到：{'、'.join(zh_parts)}"
    en = f"Within the {budget} budget the plans are expected to reach only {'; '.join(en_parts)}"
    if full is not None and full < UNAVAILABLE_FEN and full > understood.budget_fen:
        # The estimate leaves the deadline out: more money may not make it faster.
        timed = understood.deadline_hours is not None
        zh += f"；全部达到约需{yuan_label(full)}{'（未计时限）' if timed else ''}。"
        en += f"; all of it would cost about {yuan_label(full)}"
        en += " (deadline aside)." if timed else "."
    elif understood.deadline_hours is not None:
        zh += f"；在{understood.deadline_hours:g}小时内无法全部完成。"
        en += f"; not all of it can be delivered within {understood.deadline_hours:g} h."
    else:
        zh += "。"
        en += "."
    return [Note("goal_not_reached", zh, en)]


def plan_need(
    *,
    need: str | None,
    budget: Any = None,
    deadline_hours: Any = None,
    target: str | None = None,
    audience: Any = None,
    goal_weights: Any = None,
    language: str | None = None,
    live_starts_at: Any = None,
) -> dict[str, Any]:
    """Return ``{"understood", "plans"}`` for a need; raises :class:`DomainError` on bad input.

    Amounts are yuan strings with ``"currency": "CNY"``; each plan lists ``service_id``,
    ``name``, ``quantity``, ``cost`` and ``target_kind`` per item, and, when the need says when
    its live stream starts (``live_starts_at``, ISO 8601, overrides the text), the plans with
    live-room items say so (``live_starts_at``, ``schedule_note``). Writes nothing.
    """
    if need is not None and not isinstance(need, str):
        raise _error("need", "invalid", "需求须为文本", "The need must be text")
    if audience is not None and not isinstance(audience, dict):
        raise _error("audience", "invalid", "受众格式不正确。", "The audience must be an object.")
    if goal_weights is not None and not isinstance(goal_weights, dict):
        raise goal_weights_not_an_object()
    target = (target or "").strip() or None
    current = matching_catalogue()
    now = timezone.localtime()
    understood = understand(
        need,
        budget=budget,
        deadline_hours=deadline_hours,
        target=target,
        audience=audience,
        goal_weights=goal_weights,
        language=language,
        naming=current.naming,
        live_starts_at=live_starts_at,
        now=now,
    )
    catalogue, understood = _as_named(current, current.catalogue, understood)
    catalogue, understood = _live_within_deadline(current, catalogue, understood, now)
    if target is not None:
        catalogue = _accepting(catalogue, current.target_kinds, target)
        # The link was matched against each module's own target kind above.
        understood = dataclasses.replace(understood, target_kind=None)
    price = plan_price_function(current.modules)
    if understood.budget_source == "unlimited":
        understood = _costed(understood, catalogue, price)
    try:
        plans = optimise(understood, catalogue, price=price)
    except DomainError as exc:
        off_sale = next((n for n in understood.notes if n.code == "named_off_sale"), None)
        if off_sale is not None and exc.errors[0].code == "no_matching_service":
            # Only the service named was asked for, and it is not on sale.
            raise _error("need", "off_sale", off_sale.message_zh, off_sale.message_en) from exc
        if target is not None and exc.errors[0].code == "no_matching_service":
            # Something serves the need, just not on this link.
            raise _error(
                "target",
                "wrong_kind",
                "这个链接类型的服务无法满足该需求，请换用对应的视频、主页或直播间链接。",
                "No service for this need takes this kind of link; use the matching video, "
                "profile or live-room link.",
            ) from exc
        raise
    shown = [p.as_dict() for p in plans if p.total_fen < UNAVAILABLE_FEN]
    notes = _named_notes(understood, current, catalogue, shown, price)
    notes += _goal_notes(understood, catalogue, shown, price)
    if notes:
        understood = dataclasses.replace(understood, notes=(*understood.notes, *notes))
    for plan in shown:
        for item in plan["items"]:
            # Which link the item takes (video, account, live or none): what to send back in
            # ``targets`` when the plan is ordered.
            item["target_kind"] = current.target_kinds[int(item["service_id"])]
        plan.update(_live_schedule(plan, understood, now))
    return {"understood": understood.as_dict(), "plans": shown}


def _is_live(current: MatchingCatalogue, offer: Offer) -> bool:
    return current.target_kinds.get(int(offer.service_id)) == catalog_targets.TargetKind.LIVE


def _hours_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _live_within_deadline(
    current: MatchingCatalogue, catalogue: Catalogue, understood: Understood, now: datetime
) -> tuple[Catalogue, Understood]:
    """Hold live-room items to the deadline counted from the live start (when both are given).

    The optimiser counts every ETA from now; a live item starts at the live start, so what it
    can deliver by the deadline is what fits in the hours left after the start: it is capped to
    that (or left out when nothing fits, with a note). A stream that starts after the deadline
    cannot be held to it: its items are planned as they are and a note says so.
    """
    live_at, deadline = understood.live_starts_at, understood.deadline_hours
    if live_at is None or deadline is None:
        return catalogue, understood
    goals = get_lexicon().kind_intent
    if not any(
        _is_live(current, o) and goals[o.kind] in understood.intents for o in catalogue.offers
    ):
        return catalogue, understood  # no live-room item serves this need
    left = deadline - _hours_between(now, live_at)
    zh, en = live_start_label(live_at, "zh", now=now), live_start_label(live_at, "en", now=now)
    if left <= 0:
        note = Note(
            "live_after_deadline",
            f"开播时间（{zh}）在您的时限之后：直播间人气在开播时投放，时限只适用于其他服务。",
            f"The stream starts ({en}) after your deadline: live-room traffic runs when it "
            "starts, and the deadline holds for the other services.",
        )
        return catalogue, dataclasses.replace(understood, notes=(*understood.notes, note))
    kept: list[Offer] = []
    changed = False
    for offer in catalogue.offers:
        if not _is_live(current, offer) or offer.eta_hours(offer.top_qty) <= left:
            kept.append(offer)
        elif offer.eta_hours(offer.min_qty) <= left:
            reach = int((left - offer.start_hours) / offer.hours_per_1000 * 1000)
            top = offer.min_qty + (reach - offer.min_qty) // offer.step * offer.step
            kept.append(dataclasses.replace(offer, max_qty=top))
            changed = True
        else:
            changed = True  # left out: not even its smallest order is done in time
    if not changed:
        return catalogue, understood
    notes = understood.notes
    if len(kept) < len(catalogue.offers):
        notes = (
            *notes,
            Note(
                "live_too_close_to_deadline",
                f"开播（{zh}）后到您的时限只剩约{left:.1f}小时，来不及完成直播间人气投放。",
                f"Only about {left:.1f} h remain between the stream's start ({en}) and your "
                "deadline: too little for live-room traffic.",
            ),
        )
    return Catalogue(kept), dataclasses.replace(understood, notes=notes)


def _live_schedule(plan: dict[str, Any], understood: Understood, now: datetime) -> dict[str, Any]:
    """Say when a plan's live-room items run: at the live start, the rest at once."""
    live_at = understood.live_starts_at
    names = [
        i["name"] for i in plan["items"] if i["target_kind"] == catalog_targets.TargetKind.LIVE
    ]
    if live_at is None or not names:
        return {"live_starts_at": None, "schedule_note": None}
    label = live_start_label(live_at, understood.language, now=now)
    if understood.language == "en":
        note = f"{', '.join(names)} will run from {label}, when the stream starts."
    else:
        note = f"{'、'.join(names)}将在 {label} 开播时投放。"
    return {"live_starts_at": live_at.isoformat(), "schedule_note": note}


def _targets(raw: Any) -> dict[str, str]:
    """Read ``targets`` (one link per target kind); blank links count as not given."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict) or not set(raw) <= set(LINK_KINDS):
        raise _error(
            "targets",
            "invalid",
            "链接须按类型给出：video、account、live。",
            "Give links by kind: video, account, live.",
        )
    if not all(isinstance(v, str) for v in raw.values()):
        raise _error("targets", "invalid", "链接须为文本。", "Links must be text.")
    return {kind: link.strip() for kind, link in raw.items() if link.strip()}


def _options(
    module_channel: str, audience: Audience, deadline_hours: float | None
) -> dict[str, Any] | None:
    """Promotion options carrying the plan's audience and deadline to an official-promotion order.

    Its targeting, and a promotion that ends within the deadline (else the channel's default of
    24 hours).
    """
    if module_channel != Channel.OFFICIAL_PROMOTION:
        return None
    if deadline_hours is None and audience.is_empty():
        return None
    options: dict[str, Any] = {}
    if deadline_hours is not None:
        options["duration_hours"] = duration_within(deadline_hours)
    if audience.is_empty():
        return options
    options["audience"] = "custom"
    if len(audience.genders) == 1:
        options["gender"] = next(iter(audience.genders))
    if audience.ages:
        options["ages"] = sorted(audience.ages)
    if audience.regions:
        options["regions"] = sorted(audience.regions)
    if audience.interests:
        options["interests"] = sorted(audience.interests)
    return options


def _items(raw: Any) -> list[tuple[int, int]]:
    """Validate the plan's items: a non-empty list of ``{"service_id", "quantity"}``."""
    if not isinstance(raw, list) or not raw:
        raise _error("items", "empty", "方案没有可下单的项目", "The plan has no items to order")
    if len(raw) > MAX_PLAN_ITEMS:
        raise _error(
            "items",
            "too_many",
            f"一个方案最多 {MAX_PLAN_ITEMS} 项",
            f"A plan has at most {MAX_PLAN_ITEMS} items",
        )
    errors: list[FieldError] = []
    out: list[tuple[int, int]] = []
    for n, item in enumerate(raw):
        sid = item.get("service_id") if isinstance(item, dict) else None
        qty = item.get("quantity") if isinstance(item, dict) else None
        if isinstance(sid, bool) or not isinstance(sid, int):
            errors.append(
                FieldError(
                    f"items.{n}.service_id", "invalid", "须为服务编号", "Must be a service id"
                )
            )
        if isinstance(qty, bool) or not isinstance(qty, int):
            errors.append(
                FieldError(f"items.{n}.quantity", "invalid", "数量须为整数", "Must be an integer")
            )
        if not errors:
            out.append((sid, qty))  # type: ignore[arg-type]
    if errors:
        raise DomainError(*errors)
    if len({sid for sid, _ in out}) != len(out):
        raise _error(
            "items", "duplicate", "同一服务在方案中出现多次", "A service appears twice in the plan"
        )
    return out


def plan_order(
    *,
    customer: Customer,
    items: Any,
    target: Any = "",
    targets: Any = None,
    audience: Any = None,
    total: Any = None,
    deadline_hours: Any = None,
    live_starts_at: Any = None,
    record: AnswerRecord | None = None,
) -> OrderGroup:
    """Place a plan as a group of orders in one transaction with one hold of its total.

    ``items`` are the plan's ``{"service_id", "quantity"}``; ``target`` the link for the modules
    that take one, or ``targets`` one link per target kind (``{"video": ..., "account": ...,
    "live": ...}``) for a plan whose items take different kinds of link (a kind missing there
    falls back to ``target``); ``audience`` (optional) is passed to official-promotion modules
    as targeting options; ``total`` (optional, yuan) is the total the customer saw: if today's
    prices differ, a 409 on ``total`` carries the fresh total and nothing is written.
    ``deadline_hours`` (optional, the plan's ``understood.deadline_hours``) makes its
    official-promotion orders run a promotion that ends within it. ``live_starts_at`` (optional,
    ISO 8601: the plan's ``live_starts_at``) schedules the items that take a live-room link for
    that moment; the deadline then counts for them from it. ``record`` keeps an
    ``Idempotency-Key`` request's answer with the placement (:func:`plan_order_idempotent`).
    """
    customer_require_verified(customer)
    pairs = _items(items)
    per_kind = _targets(targets)
    parsed_audience = parse_audience_field(audience) if audience else Audience()
    deadline = parse_deadline_field(deadline_hours) if deadline_hours not in (None, "") else None
    now = timezone.localtime()
    live_at = (
        parse_live_start_field(live_starts_at, now) if live_starts_at not in (None, "") else None
    )
    live_deadline = deadline
    if live_at is not None and deadline is not None:
        left = deadline - _hours_between(now, live_at)
        # A stream that starts after the deadline is not held to it (see plan_need's note).
        live_deadline = left if left > 0 else None
    current = matching_catalogue()
    errors: list[FieldError] = []
    lines: list[OrderLine] = []
    link = "" if target is None else str(target)
    for n, (sid, qty) in enumerate(pairs):
        module = current.modules.get(sid)
        if module is None:
            errors.append(
                FieldError(
                    f"items.{n}.service_id", "not_found", "服务不存在或已下架", "Unknown service"
                )
            )
            continue
        takes_link = module.target_kind != catalog_targets.TargetKind.NONE
        own_link = per_kind.get(module.target_kind)
        scheduled = live_at if module.target_kind == catalog_targets.TargetKind.LIVE else None
        try:
            parsed, options = order_request_validate(
                module=module,
                target=(link if own_link is None else own_link) if takes_link else "",
                quantity=qty,
                options=_options(
                    module.channel,
                    parsed_audience,
                    deadline if scheduled is None else live_deadline,
                ),
            )
        except DomainError as exc:
            for e in exc.errors:
                link_field = "target" if own_link is None else f"targets.{module.target_kind}"
                field = link_field if e.field == "target" else f"items.{n}.{e.field}"
                item = FieldError(field, e.code, e.message_zh, e.message_en)
                if item not in errors:
                    errors.append(item)
            continue
        lines.append(
            OrderLine(
                module=module,
                target=parsed,
                quantity=qty,
                options=options,
                scheduled_for=scheduled,
            )
        )
    if errors:
        raise DomainError(*errors)
    price = plan_price_function({line.module.pk: line.module for line in lines})
    offers = {int(o.service_id): o for o in current.catalogue.offers}
    fresh = sum(price(offers[line.module.pk], line.quantity) for line in lines)
    if fresh >= UNAVAILABLE_FEN:
        raise _error(
            "items",
            "unavailable",
            "方案中有服务暂时无法按此数量下单，请重新生成方案",
            "A service in this plan cannot be ordered at this quantity now; plan again",
            status=409,
        )
    if total not in (None, ""):
        try:
            shown = Decimal(str(total))
        except InvalidOperation:
            shown = Decimal("NaN")
        # An exponent like 1e999999 is a number, but no amount: refuse it before arithmetic
        # on it overflows.
        if not shown.is_finite() or shown.adjusted() > MAX_AMOUNT_DIGITS:
            raise _error("total", "invalid", "金额格式不正确", "Not an amount")
        if shown * 100 != fresh:
            raise _error(
                "total",
                "price_changed",
                f"价格已变化，方案现价 {yuan_label(fresh)}，请确认后重新下单",
                f"Prices have changed; the plan now costs {yuan_label(fresh)}. "
                "Please confirm again",
                status=409,
            )
    return order_group_place(
        customer=customer,
        kind=GROUP_KIND,
        label="智能方案：" + "+".join(line.module.name_zh for line in lines),
        label_en="Smart plan: " + " + ".join(line.module.name_en for line in lines),
        lines=lines,
        record=record,
    )


def plan_order_idempotent(
    *,
    customer: Customer,
    idempotency_key: str,
    params: dict[str, Any],
    render: Callable[[OrderGroup], dict[str, Any]],
) -> tuple[int, dict[str, Any]]:
    """Order a plan once per ``Idempotency-Key``: a retry gets the first answer unchanged.

    ``params`` are :func:`plan_order`'s keyword arguments. A key first used to place a single
    order is refused here (422), as one used with other parameters is.
    """

    def place(record: AnswerRecord) -> None:
        plan_order(customer=customer, record=record, **params)

    return place_idempotent(
        customer=customer,
        idempotency_key=idempotency_key,
        params={"endpoint": "plans/order", **params, "total": _same_amount(params.get("total"))},
        render=render,
        place=place,
    )


def _same_amount(total: Any) -> Any:
    """Return ``total`` written one way for every way of writing its amount (305.6, "305.60").

    So that a retry sending the amount as text where the first request sent a number is the
    same request. Anything that is not an amount is left as it is (the order refuses it).
    """
    try:
        amount = Decimal(str(total).strip())
    except InvalidOperation:
        return total
    return str(amount.normalize()) if amount.is_finite() else total
