"""The Python reason codes and the dbt seed must name exactly the same codes."""

from __future__ import annotations

import csv
from pathlib import Path

from pixelforge_core import reason_codes

SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "quality_rules.csv"


def _seed_codes() -> list[str]:
    with SEED.open(newline="", encoding="utf-8") as handle:
        return [row["rule_code"] for row in csv.DictReader(handle)]


def _module_constants() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(reason_codes).items()
        if name.isupper() and isinstance(value, str)
    }


def test_seed_has_no_duplicate_codes():
    codes = _seed_codes()
    assert len(codes) == len(set(codes))


def test_constants_match_seed_exactly():
    assert set(_module_constants().values()) == set(_seed_codes())


def test_constant_names_are_the_upper_cased_codes():
    for name, value in _module_constants().items():
        assert name == value.upper()


def test_all_reason_codes_is_the_full_set():
    assert frozenset(_seed_codes()) == reason_codes.ALL_REASON_CODES


def test_accepted_formats_seed_matches_the_formats_extraction_detects():
    from pixelforge_core.formats import SUPPORTED_FORMATS

    seed = SEED.parent / "accepted_formats.csv"
    with seed.open(newline="", encoding="utf-8") as handle:
        accepted = {row["format"] for row in csv.DictReader(handle)}
    assert accepted == set(SUPPORTED_FORMATS)
