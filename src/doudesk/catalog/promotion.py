"""Options of the official promotion channel (DOU+-style), validated and normalised.

Pure module (no Django). Every key is optional; what is given must be one of the values the
channel offers. Durations are 2, 6, 12 or 24 hours, or a multiple of 12 up to 720 hours.
Regions and interests are those of :mod:`.audience` (the ones plans target too), given as a
slug or a Chinese or English name and stored as the slug; a gender likewise (男 / male).
"""

from __future__ import annotations

from typing import Any

from doudesk.catalog.audience import audience_examples, audience_slug
from doudesk.errors import DomainError, FieldError, listed

OBJECTIVES = {"plays", "engagement", "followers", "live_traffic", "store_visits"}
AUDIENCE_MODES = {"auto", "custom"}
GENDERS = {"any", "male", "female"}
#: Names a customer may give a gender by (as plans read them), lower-cased: the stored value.
GENDER_NAMES = {
    **{name: name for name in GENDERS},
    **dict.fromkeys(("不限", "任意", "全部", "all", "both"), "any"),
    **dict.fromkeys(("男", "男性", "男生", "man", "men"), "male"),
    **dict.fromkeys(("女", "女性", "女生", "woman", "women"), "female"),
}
AGE_BANDS = ("18-23", "24-30", "31-40", "41-49")
MAX_DURATION_HOURS = 720
MAX_LIST_ITEMS = 20
KNOWN_KEYS = {"objective", "audience", "gender", "ages", "regions", "interests", "duration_hours"}


SHORT_DURATIONS = (2, 6, 12, 24)


def valid_duration(hours: int) -> bool:
    """Whether ``hours`` is a duration the promotion channel sells."""
    return hours in SHORT_DURATIONS or (hours % 12 == 0 and 24 < hours <= MAX_DURATION_HOURS)


def duration_within(hours: float) -> int:
    """Return the longest duration the channel sells that ends within ``hours``.

    The shortest it sells (2 h) when ``hours`` is shorter still.
    """
    if hours >= SHORT_DURATIONS[-1]:
        return min(MAX_DURATION_HOURS, int(hours // 12) * 12)
    return max((d for d in SHORT_DURATIONS if d <= hours), default=SHORT_DURATIONS[0])


def _err(key: str, zh: str, en: str) -> FieldError:
    return FieldError(f"options.{key}", "invalid_option", zh, en)


def _is_one_of(value: Any, allowed: set[str]) -> bool:
    # A list or object is unhashable: compare text values only.
    return isinstance(value, str) and value in allowed


def _str_list(value: Any, key: str, errors: list[FieldError]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        errors.append(_err(key, "须为非空文本列表", "Must be a list of non-empty strings"))
        return []
    if len(value) > MAX_LIST_ITEMS:
        errors.append(
            _err(key, f"最多 {MAX_LIST_ITEMS} 项", f"At most {MAX_LIST_ITEMS} items allowed")
        )
        return []
    return sorted({v.strip() for v in value})


#: How an unknown value is named in a message: (中文, English) for each free-text dimension.
_DIMENSION_NAMES = {"regions": ("地域", "region"), "interests": ("兴趣", "interest")}


def _audience_slugs(values: list[str], key: str, errors: list[FieldError]) -> list[str]:
    """Return the slugs of known regions or interests; one error names all unknown ones."""
    slugs = {v: audience_slug(key, v) for v in values}
    unknown = [v if len(v) <= 30 else v[:30] + "…" for v, slug in slugs.items() if slug is None]
    if unknown:
        unknown = listed(unknown)
        zh, en = _DIMENSION_NAMES[key]
        examples_zh = "、".join(audience_examples(key, "zh"))
        examples_en = ", ".join(audience_examples(key, "en"))
        errors.append(
            _err(
                key,
                f"不支持的{zh}：{'、'.join(unknown)}（可选如：{examples_zh}…）",
                f"Unknown {en}(s): {', '.join(unknown)} (e.g. {examples_en}…)",
            )
        )
        return []
    return sorted({slug for slug in slugs.values() if slug is not None})


def validate_promotion_options(options: Any, *, official: bool) -> dict[str, Any]:
    """Return the normalised options, or raise :class:`DomainError` naming each bad key.

    Modules outside the official promotion channel take no options.
    """
    if options in (None, {}):
        return {"audience": "auto", "duration_hours": 24} if official else {}
    if not isinstance(options, dict):
        raise DomainError(
            FieldError("options", "invalid_option", "选项须为对象", "Options must be an object")
        )
    if not official:
        raise DomainError(
            FieldError(
                "options",
                "options_not_supported",
                "该服务不支持投放选项",
                "This service takes no promotion options",
            )
        )
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    for key in sorted(set(options) - KNOWN_KEYS):
        errors.append(_err(key, "未知选项", "Unknown option"))
    if "objective" in options:
        if not _is_one_of(options["objective"], OBJECTIVES):
            errors.append(
                _err(
                    "objective",
                    "投放目标须为 " + "/".join(sorted(OBJECTIVES)),
                    "Objective must be one of " + ", ".join(sorted(OBJECTIVES)),
                )
            )
        else:
            out["objective"] = options["objective"]
    mode = options.get("audience", "auto")
    if not _is_one_of(mode, AUDIENCE_MODES):
        errors.append(
            _err("audience", "人群须为 auto 或 custom", "Audience must be auto or custom")
        )
    out["audience"] = mode
    targeting = {"gender", "ages", "regions", "interests"} & set(options)
    if targeting and mode != "custom":
        errors.append(
            _err(
                "audience",
                "定向人群须选择 custom 模式",
                "Targeting options need the custom audience mode",
            )
        )
    if "gender" in options:
        gender = options["gender"]
        canonical = GENDER_NAMES.get(gender.strip().lower()) if isinstance(gender, str) else None
        if canonical is None:
            errors.append(
                _err(
                    "gender",
                    "性别须为 不限/男/女（any/male/female）",
                    "Gender must be any, male or female",
                )
            )
        else:
            out["gender"] = canonical
    if "ages" in options:
        ages = _str_list(options["ages"], "ages", errors)
        bad = [a for a in ages if a not in AGE_BANDS]
        if bad:
            errors.append(
                _err(
                    "ages",
                    "年龄段须为 " + "、".join(AGE_BANDS),
                    "Age bands must be among " + ", ".join(AGE_BANDS),
                )
            )
        elif ages:
            out["ages"] = ages
    for key in ("regions", "interests"):
        if key in options:
            values = _audience_slugs(_str_list(options[key], key, errors), key, errors)
            if values:
                out[key] = values
    hours = options.get("duration_hours", 24)
    if isinstance(hours, bool) or not isinstance(hours, int) or not valid_duration(hours):
        errors.append(
            _err(
                "duration_hours",
                "投放时长须为 2/6/12/24 小时或 12 的倍数（最长 720 小时）",
                "Duration must be 2, 6, 12 or 24 hours, or a multiple of 12 up to 720",
            )
        )
    else:
        out["duration_hours"] = hours
    if errors:
        raise DomainError(*errors)
    return out
