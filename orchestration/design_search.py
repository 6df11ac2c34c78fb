"""Searching the current design files locally: the query text split into terms and ranked over
the search mart (marts.mart_design_search) by orchestration/sql/search_designs.sql.

The one search code: `pixelforge search` and the dashboard's Files page both call
`search_designs`. Production serves the same mart through its search service; this ranking is
lexical only (terms contained in the mart's fields, weighted by field), with no stemming,
synonyms or semantic match.
"""

from __future__ import annotations

import json
import re
from typing import Any

from orchestration.ops_queries import Row, query

# Terms of a query: runs of letters and digits, lower case, each once, at most MAX_TERMS (a
# longer query adds nothing a person means and multiplies the join).
MAX_TERMS = 8
TERM = re.compile(r"[^\W_]+")


class EmptySearchError(ValueError):
    """The query holds no letter or digit to search for."""


def search_terms(text: str) -> list[str]:
    terms = list(dict.fromkeys(TERM.findall(text.lower())))
    return terms[:MAX_TERMS]


def search_designs(session: Any, text: str, limit: int) -> list[Row]:
    """The best `limit` current files for `text`: file_version_id, relative_path, etag,
    format, creator_tool, matched_terms, score (see search_designs.sql)."""
    terms = search_terms(text)
    if not terms:
        raise EmptySearchError(f"nothing to search for in {text!r}: type a word")
    return query(session, "search_designs", [json.dumps(terms), limit])
