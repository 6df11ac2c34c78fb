"""Plain-text reading of Snowflake SQL for the deploy checks (privileges, catalog, scripting):
top-level scanning with quotes ('...' with '' and backslash escapes, "..." identifiers), `$$`
strings, parentheses and comments (`--`, `//`, `/* */`) respected; string literals and `$$`
bodies read back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
CODE = "code"  # one character of SQL text
QUOTED = "quoted"  # a '...' string, a "..." identifier or a $$...$$ string, delimiters included
COMMENT = "comment"  # a comment (a line comment without its newline)


def _quote_end(text: str, start: int) -> int:
    """The index after the '...' string opening at `start` ('' and backslash escapes)."""
    i = start + 1
    n = len(text)
    while i < n:
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "'":
            if i + 1 < n and text[i + 1] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _closing(text: str, start: int, closer: str, keep: bool = True) -> int:
    """The index after `closer` found from `start` (before it when not `keep`), or the end."""
    end = text.find(closer, start)
    if end < 0:
        return len(text)
    return end + len(closer) if keep else end


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, kind) of the pieces of `text` in order: a QUOTED string or identifier, a
    COMMENT, or one CODE character."""
    i = 0
    n = len(text)
    while i < n:
        if text[i] == "'":
            end, kind = _quote_end(text, i), QUOTED
        elif text[i] == '"':
            end, kind = _closing(text, i + 1, '"'), QUOTED
        elif text.startswith("$$", i):
            end, kind = _closing(text, i + 2, "$$"), QUOTED
        elif text.startswith(("--", "//"), i):
            end, kind = _closing(text, i, "\n", keep=False), COMMENT
        elif text.startswith("/*", i):
            end, kind = _closing(text, i + 2, "*/"), COMMENT
        else:
            end, kind = i + 1, CODE
        yield i, end, kind
        i = end


def scan(text: str) -> Iterator[tuple[int, str, int]]:
    """(index, character, parenthesis depth) of every character outside quotes, `$$` strings
    and comments; depth counts the parentheses open before the character."""
    depth = 0
    for i, _end, kind in spans(text):
        if kind != CODE:
            continue
        c = text[i]
        if c == ")":
            depth -= 1
        yield i, c, depth
        if c == "(":
            depth += 1


def strip_comments(text: str) -> str:
    """The text without `--`, `//` and `/* */` comments (quoted and `$$` text untouched)."""
    return "".join(text[start:end] for start, end, kind in spans(text) if kind != COMMENT)


def split_top_level(text: str, separator: str = ";") -> list[str]:
    """Pieces of `text` between top-level separators (outside quotes, `$$` and parentheses)."""
    pieces: list[str] = []
    start = 0
    for i, c, depth in scan(text):
        if c == separator and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]


def top_level_words(text: str) -> list[tuple[int, str]]:
    """(index, lower-case word) of the words outside quotes, `$$` and parentheses."""
    visible = {i for i, _c, depth in scan(text) if depth == 0 and text[i] not in "()"}
    return [
        (match.start(), match.group().lower())
        for match in _WORD.finditer(text)
        if match.start() in visible and (match.start() == 0 or text[match.start() - 1] != ".")
    ]


def top_level_word(text: str, word: str, after: int = -1) -> int | None:
    """Index of the first top-level `word` (lower case) after index `after`, if any."""
    return next((i for i, w in top_level_words(text) if w == word and i > after), None)


def matching_paren(text: str, open_index: int) -> int:
    """Index of the parenthesis closing the one at `open_index`."""
    for i, c, depth in scan(text[open_index:]):
        if c == ")" and depth == 0:
            return open_index + i
    raise ValueError(
        f"unbalanced parenthesis at {open_index}: {text[open_index : open_index + 60]}"
    )


def dollar_body(text: str) -> str | None:
    """The content of the last `$$ ... $$` string of `text`, if any."""
    match = re.search(r"\$\$(.*)\$\$\s*$", text, re.DOTALL)
    return match.group(1) if match else None


def unquote(literal: str) -> str:
    """A single-quoted SQL string literal's value."""
    inner = literal.strip()
    if not (inner.startswith("'") and inner.endswith("'")):
        raise ValueError(f"not a string literal: {literal[:60]}")
    return inner[1:-1].replace("''", "'")
