"""The matching vocabulary, loaded once from ``lexicon.json`` (data, not code).

Everything the understanding step recognises (intent phrases, negators, audience names) and
everything the optimiser values (outcomes per unit by kind, market value of one unit of each
outcome) lives in the JSON file next to this module, so adding a synonym is a data change;
the regions and interests come from the catalogue's ``audience.json``, which order options
also check against. This module only loads them and builds the lookup tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from doudesk.catalog.audience import audience_names

_HERE = Path(__file__).resolve().parent
LEXICON_PATH = _HERE / "lexicon.json"
USERDICT_PATH = _HERE / "userdict.txt"


@dataclass(frozen=True)
class Lexicon:
    """Lookup tables built from ``lexicon.json``.

    ``phrases`` maps a lower-case phrase (Chinese or English) to intent shares;
    ``audience`` maps a dimension (``genders``, ``regions``, ``interests``) to a phrase -> slug
    table; ``slugs`` holds the canonical values of every audience dimension (``ages`` included).
    """

    intents: tuple[str, ...]
    intent_labels: Mapping[str, tuple[str, str]]
    phrases: Mapping[str, Mapping[str, float]]
    max_phrase_tokens: int
    negators: frozenset[str]
    gender_any: frozenset[str]
    urgent: frozenset[str]
    multi_provider: frozenset[str]
    kinds: tuple[str, ...]
    kind_labels: Mapping[str, tuple[str, str]]
    kind_units: Mapping[str, tuple[str, str]]
    kind_intent: Mapping[str, str]
    kind_outcomes: Mapping[str, Mapping[str, float]]
    kind_targets: Mapping[str, frozenset[str]]
    outcome_value_yuan: Mapping[str, float]
    default_intents: Mapping[str, float]
    age_bands: tuple[tuple[int, int, str], ...]
    age_words: Mapping[str, tuple[str, ...]]
    audience: Mapping[str, Mapping[str, str]]
    slugs: Mapping[str, tuple[str, ...]]
    slug_labels: Mapping[str, Mapping[str, tuple[str, str]]]
    domain_words: tuple[str, ...]


def _lower_all(words: list[str]) -> list[str]:
    return [w.lower() for w in words]


@cache
def get_lexicon() -> Lexicon:
    """Load and index ``lexicon.json`` (cached for the life of the process)."""
    raw = json.loads(LEXICON_PATH.read_text(encoding="utf-8"))
    # Regions and interests are the catalogue's: an order's options accept the same ones.
    raw.update(audience_names())
    phrases: dict[str, dict[str, float]] = {}
    labels: dict[str, tuple[str, str]] = {}
    for intent, spec in raw["intents"].items():
        labels[intent] = (spec["zh"], spec["en"])
        for p in _lower_all(spec["phrases"]):
            phrases.setdefault(p, {})[intent] = 1.0
    for p, shares in raw["compound"].items():
        phrases[p.lower()] = dict(shares)
    audience: dict[str, dict[str, str]] = {}
    slug_labels: dict[str, dict[str, tuple[str, str]]] = {}
    for dim in ("genders", "regions", "interests"):
        table: dict[str, str] = {}
        dim_labels: dict[str, tuple[str, str]] = {}
        for slug, names in raw[dim].items():
            dim_labels[slug] = (names["zh"][0], names["en"][0])
            for name in [slug, *names["zh"], *names["en"]]:
                table[name.lower()] = slug
        audience[dim] = table
        slug_labels[dim] = dim_labels
    bands = tuple((int(lo), int(hi), str(slug)) for lo, hi, slug in raw["age_bands"])
    slug_labels["ages"] = {b[2]: (f"{b[2]}岁", f"aged {b[2]}") for b in bands}
    slugs = {dim: tuple(raw[dim]) for dim in ("genders", "regions", "interests")}
    slugs["ages"] = tuple(b[2] for b in bands)
    kinds = raw["kinds"]
    words = set(phrases) | set(raw["age_words"]) | set(raw["negators"]) | set(raw["urgent"])
    words |= set(raw["gender_any"]) | set(raw["multi_provider"])
    for table in audience.values():
        words |= set(table)
    domain_words = tuple(sorted(w for w in words if any("\u4e00" <= ch <= "\u9fff" for ch in w)))
    return Lexicon(
        intents=tuple(raw["intents"]),
        intent_labels=labels,
        phrases=phrases,
        max_phrase_tokens=3,
        negators=frozenset(_lower_all(raw["negators"])),
        gender_any=frozenset(_lower_all(raw["gender_any"])),
        urgent=frozenset(_lower_all(raw["urgent"])),
        multi_provider=frozenset(_lower_all(raw["multi_provider"])),
        kinds=tuple(kinds),
        kind_labels={k: (v["zh"], v["en"]) for k, v in kinds.items()},
        kind_units={k: (v["unit_zh"], v["unit_en"]) for k, v in kinds.items()},
        kind_intent={k: v["intent"] for k, v in kinds.items()},
        kind_outcomes={k: dict(v["outcomes"]) for k, v in kinds.items()},
        kind_targets={k: frozenset(v) for k, v in raw["kind_targets"].items()},
        outcome_value_yuan=dict(raw["outcome_value_yuan"]),
        default_intents=dict(raw["default_intents"]),
        age_bands=bands,
        age_words={k.lower(): tuple(v) for k, v in raw["age_words"].items()},
        audience=audience,
        slugs=slugs,
        slug_labels=slug_labels,
        domain_words=domain_words,
    )
