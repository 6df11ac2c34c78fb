"""The local search (orchestration/design_search.py, search_designs.sql) on stand-ins for the
search mart (tests/ops/design_marts.py)."""

from __future__ import annotations

import pytest

from orchestration.design_search import (
    MAX_TERMS,
    EmptySearchError,
    search_designs,
    search_terms,
)
from tests.ops.design_marts import HERO, LOGO, PHOTO


def test_search_terms_are_words_lower_case_each_once_and_bounded():
    assert search_terms("  Hero_BANNER, hero! #FF6600  ") == ["hero", "banner", "ff6600"]
    assert search_terms("--- !!") == []
    assert len(search_terms(" ".join(f"w{i}" for i in range(20)))) == MAX_TERMS


def test_search_ranks_by_terms_held_then_by_the_field_they_are_in(marts):
    rows = search_designs(marts.session, "Logo sale", 10)
    assert [(r["relative_path"], r["matched_terms"]) for r in rows] == [
        (HERO, 2),  # both terms (a layer name, its text)
        (LOGO, 1),  # in its name (weight 4)
        (PHOTO, 1),  # in its text (weight 2)
    ]
    assert rows[1]["score"] > rows[2]["score"]
    assert [r["relative_path"] for r in search_designs(marts.session, "logo sale", 1)] == [HERO]
    assert search_designs(marts.session, "nothing-like-it", 10) == []
    with pytest.raises(EmptySearchError):
        search_designs(marts.session, " ?! ", 10)
