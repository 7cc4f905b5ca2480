"""Typed integers and unstorable text (``doudesk.textinput``, no database)."""

from __future__ import annotations

import pytest

from doudesk.textinput import ascii_int, json_depth, too_long_number, unstorable_text


def test_unstorable_text_names_the_first_bad_value_or_key_by_its_path():
    assert unstorable_text({"a": ["ok", "x\x00"]}) == ("a.1", "nul")
    assert unstorable_text({"a": {"b\ud800": 1}}) == ("a.b", "surrogate")
    assert unstorable_text("\udfff", "options") == ("options", "surrogate")
    assert unstorable_text("\x00") == ("body", "nul")
    assert unstorable_text({"emoji": "\U0001f600", "n": 1, "none": None}) is None


@pytest.mark.parametrize(
    ("value", "depth"), [(1, 0), ("s", 0), ([], 1), ({"a": [1]}, 2), ([[[{}]]], 4)]
)
def test_json_depth_counts_levels_of_lists_and_objects(value, depth):
    assert json_depth(value) == depth


def test_a_number_too_long_for_int_is_told_apart_from_text():
    huge = "9" * 5_000
    assert too_long_number(huge)
    assert too_long_number(" -" + huge)
    assert ascii_int(huge) is None  # int() would raise ValueError
    assert not too_long_number("9" * 4_300)
    assert ascii_int("9" * 4_300) == int("9" * 4_300)
    assert not too_long_number("x" * 5_000)
