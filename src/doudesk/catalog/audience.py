"""Regions and interests a promotion can target: one vocabulary for orders and plans.

Pure module (no Django). The known values are slugs ("chengdu", "beauty"), each with Chinese
and English names, kept as data in ``audience.json``. Order options
(:mod:`doudesk.catalog.promotion`) and the need understanding (:mod:`doudesk.matching.lexicon`)
read the same file, so an order accepts exactly the regions and interests a plan does: the slug
or any of its names, stored as the slug.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from functools import cache
from pathlib import Path

AUDIENCE_PATH = Path(__file__).resolve().parent / "audience.json"
#: The free-text audience dimensions, as order options and ``audience`` fields name them.
DIMENSIONS = ("regions", "interests")


@cache
def audience_names() -> Mapping[str, Mapping[str, Mapping[str, list[str]]]]:
    """Return ``{dimension: {slug: {"zh": [names], "en": [names]}}}`` as the data file has it."""
    raw = json.loads(AUDIENCE_PATH.read_text(encoding="utf-8"))
    return {dim: raw[dim] for dim in DIMENSIONS}


@cache
def _lookup(dim: str) -> Mapping[str, str]:
    table: dict[str, str] = {}
    for slug, names in audience_names()[dim].items():
        for name in [slug, *names["zh"], *names["en"]]:
            table[name.lower()] = slug
    return table


def audience_slug(dim: str, name: str) -> str | None:
    """Return the slug that ``name`` (a slug, Chinese or English name) stands for, or None."""
    return _lookup(dim).get(unicodedata.normalize("NFKC", name).strip().lower())


def audience_examples(dim: str, language: str, count: int = 8) -> list[str]:
    """Return the first ``count`` values of ``dim`` to show in a message (``zh`` names or slugs)."""
    values = list(audience_names()[dim].items())[:count]
    return [names["zh"][0] if language == "zh" else slug for slug, names in values]
