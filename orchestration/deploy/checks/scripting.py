"""Plain-text helpers for the privilege checker: top-level scanning of Snowflake SQL (quotes,
`$$` strings, parentheses and comments respected) and the SQL statements inside Snowflake
Scripting blocks (`EXECUTE IMMEDIATE $$ ... $$`, SQL procedure bodies).

Snowflake Scripting ("Snowflake Scripting developer guide", https://docs.snowflake.com/en/
developer-guide/snowflake-scripting/index): a block is `[DECLARE ...] BEGIN ... END;`; inside
it, statements end with `;`, and IF/ELSE/END IF, RETURN, RAISE, `x := expr` and LET are
control flow, not SQL that touches objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _scan(text: str) -> Iterator[tuple[int, str, int]]:
    """(index, character, parenthesis depth) of every character outside quotes, `$$` strings
    and comments; depth counts the parentheses open before the character."""
    i = 0
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "'":
            i += 1
            while i < n:
                if text[i] == "\\":
                    i += 2
                    continue
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        i += 2
                        continue
                    break
                i += 1
            i += 1
            continue
        if c == '"':
            end = text.find('"', i + 1)
            i = n if end < 0 else end + 1
            continue
        if text.startswith("$$", i):
            end = text.find("$$", i + 2)
            i = n if end < 0 else end + 2
            continue
        if text.startswith("--", i) or text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if c == "(":
            yield i, c, depth
            depth += 1
        elif c == ")":
            depth -= 1
            yield i, c, depth
        else:
            yield i, c, depth
        i += 1


def strip_comments(text: str) -> str:
    """The text without `--`, `//` and `/* */` comments (quoted and `$$` text untouched)."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        if text[i] == "'":
            j = i + 1
            while j < n:
                if text[j] == "\\":
                    j += 2
                    continue
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("$$", i):
            end = text.find("$$", i + 2)
            end = n if end < 0 else end + 2
            out.append(text[i:end])
            i = end
        elif text.startswith("--", i) or text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def split_top_level(text: str, separator: str = ";") -> list[str]:
    """Pieces of `text` between top-level separators (outside quotes, `$$` and parentheses)."""
    pieces: list[str] = []
    start = 0
    for i, c, depth in _scan(text):
        if c == separator and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]


def top_level_words(text: str) -> list[tuple[int, str]]:
    """(index, lower-case word) of the words outside quotes, `$$` and parentheses."""
    visible = {i for i, _c, depth in _scan(text) if depth == 0 and text[i] not in "()"}
    return [
        (match.start(), match.group().lower())
        for match in _WORD.finditer(text)
        if match.start() in visible and (match.start() == 0 or text[match.start() - 1] != ".")
    ]


def matching_paren(text: str, open_index: int) -> int:
    """Index of the parenthesis closing the one at `open_index`."""
    for i, c, depth in _scan(text[open_index:]):
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


@dataclass(frozen=True)
class BlockStatements:
    """What a Scripting block runs: SQL statements, and what cannot be read statically."""

    sql: tuple[str, ...]
    dynamic: tuple[str, ...]


_CONTROL_WORD = re.compile(r"^\s*(?:begin|else|exception|loop|repeat)\b", re.IGNORECASE)
_CONDITION = re.compile(r"^\s*(?:if|elseif|while)\s*(?=\()", re.IGNORECASE)
_FOR = re.compile(r"^\s*for\s+[A-Za-z_][A-Za-z0-9_]*\s+in\b", re.IGNORECASE)
_SKIPPED = re.compile(
    r"^\s*(?:end(?:\s+(?:if|loop|for|while|case|repeat))?|return\b.*|raise\b.*|break|continue"
    r"|(?:open|close|fetch)\s+[A-Za-z_].*|when\b.*\bthen\b.*)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ASSIGNMENT = re.compile(
    r"^\s*(?:let\s+)?[A-Za-z_][A-Za-z0-9_]*(?:\s+[A-Za-z_][A-Za-z0-9_]*)?\s*(?::=|\bdefault\b)"
    r"\s*(?P<expr>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_CURSOR = re.compile(
    r"^\s*(?:let\s+)?[A-Za-z_][A-Za-z0-9_]*\s+cursor\s+for\s+(?P<query>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_EXECUTE_IMMEDIATE = re.compile(
    r"^\s*execute\s+immediate\s+(?P<arg>.*?)(?:\s+using\s*\(.*\))?$", re.IGNORECASE | re.DOTALL
)
_QUERY_START = re.compile(r"^\(?\s*(?:select|with)\b", re.IGNORECASE)


def _strip_control(piece: str) -> str:
    """`piece` without leading BEGIN / ELSE / LOOP, `IF (...) THEN`, `WHILE (...) DO` and
    `FOR x IN ... DO` keywords."""
    while True:
        word = _CONTROL_WORD.match(piece)
        if word:
            piece = piece[word.end() :].lstrip()
            continue
        condition = _CONDITION.match(piece)
        if condition:
            rest = piece[condition.end() :].lstrip()
            after = rest[matching_paren(rest, 0) + 1 :].lstrip()
            piece = re.sub(r"^(?:then|do)\b", "", after, flags=re.IGNORECASE).lstrip()
            continue
        loop = _FOR.match(piece)
        if loop:
            do = next((i for i, w in top_level_words(piece) if w == "do"), None)
            if do is None:
                return piece.strip()
            piece = piece[do + 2 :].lstrip()
            continue
        return piece.strip()


def split_concatenation(expression: str) -> list[str]:
    """The operands of a top-level `a || b || c` expression."""
    marks = [i for i, c, depth in _scan(expression) if c == "|" and depth == 0]
    cuts = [i for i in marks if i + 1 in marks]
    pieces: list[str] = []
    start = 0
    for cut in cuts:
        pieces.append(expression[start:cut].strip())
        start = cut + 2
    pieces.append(expression[start:].strip())
    return pieces


def static_text(expression: str) -> str | None:
    """The SQL an EXECUTE IMMEDIATE of `'...' || expr || '...'` runs, when every computed part
    lands inside a string literal of that SQL (a value, not a name or a keyword): the computed
    parts read as `x`. None when a computed part could change what the statement touches."""
    literal = re.compile(r"'(?:[^']|'')*'")
    sentinel = "\x00"
    text = "".join(
        unquote(operand) if literal.fullmatch(operand) else sentinel
        for operand in split_concatenation(expression)
    )
    inside = False
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "'":
            if inside and text.startswith("''", i):
                out.append("''")
                i += 2
                continue
            inside = not inside
        elif c == sentinel:
            if not inside:
                return None
            out.append("x")
            i += 1
            continue
        out.append(c)
        i += 1
    return None if inside else "".join(out)


def block_statements(block: str) -> BlockStatements:
    """The SQL statements of a Scripting block (`[DECLARE ...] BEGIN ... END`), or of a single
    statement when `block` is not one: cursor queries, the statements of the body, queries
    assigned to variables, and EXECUTE IMMEDIATE of a string whose computed parts are only
    values. Any other EXECUTE IMMEDIATE is dynamic and reported as such."""
    text = strip_comments(block).strip()
    words = top_level_words(text)
    begin = next((i for i, w in words if w == "begin"), None)
    if begin is None:
        return _statements([text])
    declare = next((i for i, w in words if w == "declare" and i < begin), None)
    declarations = split_top_level(text[declare + 7 : begin]) if declare is not None else []
    body_end = max((i for i, w in words if w == "end"), default=len(text))
    declared = [
        query for declaration in declarations if (query := _declared_query(declaration)) is not None
    ]
    body = _statements(split_top_level(text[begin:body_end]))
    return BlockStatements((*declared, *body.sql), body.dynamic)


def _declared_query(declaration: str) -> str | None:
    """The query a DECLARE item runs (a cursor, a RESULTSET or variable DEFAULT (query))."""
    cursor = _CURSOR.match(declaration)
    if cursor:
        return cursor.group("query").strip()
    assignment = _ASSIGNMENT.match(declaration)
    if assignment and _QUERY_START.match(assignment.group("expr").strip()):
        return _unwrap(assignment.group("expr").strip())
    return None


def _unwrap(query: str) -> str:
    while query.startswith("(") and query.endswith(")"):
        query = query[1:-1].strip()
    return query


def _statements(pieces: list[str]) -> BlockStatements:
    sql: list[str] = []
    dynamic: list[str] = []
    for raw in pieces:
        piece = _strip_control(raw)
        cursor = _CURSOR.match(piece)
        if cursor:
            sql.append(cursor.group("query").strip())
            continue
        assignment = _ASSIGNMENT.match(piece)
        if assignment and not re.match(
            r"^\s*(?:select|with|insert|update|delete|merge)\b", piece, re.I
        ):
            expression = assignment.group("expr").strip()
            if _QUERY_START.match(expression):
                sql.append(_unwrap(expression))
            continue
        if not piece or _SKIPPED.match(piece):
            continue
        immediate = _EXECUTE_IMMEDIATE.match(piece)
        if immediate:
            argument = immediate.group("arg").strip()
            inner = dollar_body(argument) if argument.startswith("$$") else None
            if inner is None:
                inner = static_text(argument)
            if inner is None:
                dynamic.append(piece)
                continue
            nested = block_statements(inner)
            sql += nested.sql
            dynamic += nested.dynamic
            continue
        sql.append(piece)
    return BlockStatements(tuple(sql), tuple(dynamic))
