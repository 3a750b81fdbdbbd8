"""Names and spreadsheet cells: the shared validator and formula neutraliser."""

from __future__ import annotations

import polars as pl
import pytest

from energyhedge.safe_text import (
    NAME_MAX_CHARS,
    name_problem,
    neutralise_formula,
    neutralise_frame,
    shown,
)


@pytest.mark.parametrize(
    "name",
    ["HB_NORTH", "WESTERN HUB", "AEP-DAYTON HUB", "LZ_HOUSTON_EW", "BUS 12 (T1) #2", "N" * 64],
)
def test_iso_names_are_accepted(name):
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty name"),
        (None, "empty name"),
        ("N" * (NAME_MAX_CHARS + 1), "longer than 64 characters"),
        ("=cmd|' /C calc'!A0", "not allowed"),
        ("+SUM(A1)", "not allowed"),
        ("-1", "not allowed"),
        ("@A1", "not allowed"),
        ("HB\x00NORTH", "not allowed"),
        ("../etc", "not allowed"),
        ("HB..NORTH", "not allowed"),
        ("HB/NORTH", "not allowed"),
        ("HB\\NORTH", "not allowed"),
        ("HB\tNORTH", "not allowed"),
        ("HB_NÖRTH", "not allowed"),
        ("HB ", "not allowed"),
    ],
)
def test_unsafe_names_are_refused_saying_what_is_allowed(name, reason):
    problem = name_problem(name)
    assert problem is not None and reason in problem
    if reason != "empty name":
        assert "allowed: 1 to 64 characters: ASCII letters, digits" in problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("HB_NORTH", "HB_NORTH"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_formula_prefixes_get_a_single_quote(text, expected):
    assert neutralise_formula(text) == expected


def test_frame_string_columns_are_neutralised_and_others_kept():
    frame = pl.DataFrame(
        {"node": ["=HB", "HB", None], "mw": [-1.0, 2.0, 3.0], "note": ["@x", "-y", "z"]}
    )
    out = neutralise_frame(frame)
    assert out["node"].to_list() == ["'=HB", "HB", None]
    assert out["note"].to_list() == ["'@x", "'-y", "z"]
    assert out["mw"].to_list() == [-1.0, 2.0, 3.0]
    assert out.schema == frame.schema


def test_shown_is_one_bounded_line():
    text = shown("a\nb" + "x" * 500)
    assert "\n" not in text and len(text) == 60 and text.endswith("...")
