"""Strings taken from a file into a facet payload: what a table, a terminal or a web page may
show. Control characters (C0, C1), lone surrogates (which JSON cannot carry) and the Unicode
bidirectional embedding/override/isolate controls (which reorder what follows them on screen,
CVE-2021-42574 "Trojan Source") are removed; right-to-left letters are kept as they are.
Every string is cut to a limit the caller passes (pixelforge_core/limits.py)."""

from __future__ import annotations

_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_REMOVED = (
    [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0xD800, 0xE000)]
    + [ord(c) for c in _BIDI_CONTROLS]
    + [0xFEFF]  # a byte order mark inside a string
)
_NAME_TABLE = dict.fromkeys(_REMOVED, " ")
_TEXT_TABLE = {**_NAME_TABLE, ord("\t"): "\t", ord("\n"): "\n"}


def clean_name(value: object, limit: int) -> str:
    """A one-line name: removed characters become spaces, runs of spaces one, cut to limit."""
    text = str(value)[: 4 * limit].translate(_NAME_TABLE)
    return " ".join(text.split())[:limit]


def clean_text(value: str, limit: int) -> str:
    """Text with its line breaks (Photoshop's '\\r' too) as '\\n', tabs kept, cut to limit."""
    text = value[: 2 * limit + 2].replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(_TEXT_TABLE).strip()[:limit]


def clean_optional(value: object, limit: int) -> str | None:
    """clean_name, or None for a missing or empty value."""
    if value is None:
        return None
    return clean_name(value, limit) or None
