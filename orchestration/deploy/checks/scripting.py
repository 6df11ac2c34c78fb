"""What a Snowflake Scripting block evaluates, for the deploy checks (privileges, catalog):
`EXECUTE IMMEDIATE $$ ... $$`, task bodies and SQL procedure bodies, read as text (sql_text.py).

Snowflake Scripting ("Snowflake Scripting developer guide", https://docs.snowflake.com/en/
developer-guide/snowflake-scripting/index): a block is `[DECLARE ...] BEGIN ... END;`; inside
it, statements end with `;`, and IF/ELSEIF/CASE/WHEN/END IF, FOR/WHILE/REPEAT/LOOP, RETURN,
RAISE, `x := expr` and LET are control flow, not SQL that touches objects. `block_parts`
gives both the SQL statements and the expressions the control flow evaluates (the catalog
check reads both); `block_statements` gives only the SQL (the privilege check).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestration.deploy.checks.sql_text import (
    dollar_body,
    matching_paren,
    scan,
    split_top_level,
    strip_comments,
    top_level_words,
    unquote,
)


@dataclass(frozen=True)
class BlockStatements:
    """What a Scripting block runs: SQL statements, and what cannot be read statically."""

    sql: tuple[str, ...]
    dynamic: tuple[str, ...]


SQL = "sql"  # a statement the block runs (or a query whose result a variable takes)
EXPRESSION = "expression"  # a Scripting expression: a condition, a value assigned or returned
DYNAMIC = "dynamic"  # EXECUTE IMMEDIATE of a string that could name any object


@dataclass(frozen=True)
class BlockPart:
    """One piece of a Scripting block, in the order the block reads: its `kind` is SQL,
    EXPRESSION or DYNAMIC; `text` is the statement, the expression (without the keyword or
    parentheses around it) or the whole EXECUTE IMMEDIATE."""

    kind: str
    text: str


_NAME = r"[A-Za-z_][A-Za-z0-9_$]*"
_CONTROL_WORD = re.compile(
    r"^\s*(?:begin(?!\s+(?:transaction|work)\b)|else|exception|loop|repeat)\b", re.IGNORECASE
)
_CONDITION = re.compile(r"^\s*(?:if|elseif|while|until|case)\s*(?=\()", re.IGNORECASE)
_FOR = re.compile(rf"^\s*for\s+{_NAME}\s+in\b", re.IGNORECASE)
_WHEN = re.compile(r"^\s*(?:case\s+)?when\b", re.IGNORECASE)
_EXCEPTION_NAMES = re.compile(rf"^\s*{_NAME}(?:\s+or\s+{_NAME})*\s*$", re.IGNORECASE)
_SKIPPED = re.compile(
    r"^\s*(?:end(?:\s+(?:if|loop|for|while|case|repeat))?|raise\b.*|break|continue|null"
    r"|(?:open|close|fetch)\s+[A-Za-z_].*)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_RETURN = re.compile(r"^\s*return\b\s*(?P<expr>.*)$", re.IGNORECASE | re.DOTALL)
_ASSIGNMENT = re.compile(
    rf"^\s*(?:let\s+)?{_NAME}(?:\s+{_NAME}(?:\s*\([\d,\s]*\))?)?\s*(?::=|\bdefault\b)"
    r"\s*(?P<expr>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_CURSOR = re.compile(
    rf"^\s*(?:let\s+)?{_NAME}\s+cursor\s+for\s+(?P<query>.*)$", re.IGNORECASE | re.DOTALL
)
_EXECUTE_IMMEDIATE = re.compile(
    r"^\s*execute\s+immediate\s+(?P<arg>.*?)(?:\s+using\s*\(.*\))?$", re.IGNORECASE | re.DOTALL
)
_QUERY_START = re.compile(r"^(?:select|with)\b", re.IGNORECASE)
_STATEMENT_START = re.compile(r"^\s*(?:select|with|insert|update|delete|merge)\b", re.IGNORECASE)


def _strip_control(piece: str) -> tuple[list[BlockPart], str]:
    """`piece` without its leading control keywords (BEGIN, ELSE, EXCEPTION, LOOP, REPEAT,
    `IF|ELSEIF|WHILE|UNTIL|CASE (...) [THEN|DO]`, `[CASE] WHEN ... THEN`, `FOR x IN ... DO`),
    and the conditions those keywords evaluate, as expressions. An exception handler's
    `WHEN name [OR name ...] THEN` names exceptions, not an expression."""
    conditions: list[BlockPart] = []
    while True:
        word = _CONTROL_WORD.match(piece)
        if word:
            piece = piece[word.end() :].lstrip()
            continue
        condition = _CONDITION.match(piece)
        if condition:
            rest = piece[condition.end() :].lstrip()
            close = matching_paren(rest, 0)
            conditions.append(BlockPart(EXPRESSION, rest[1:close].strip()))
            after = rest[close + 1 :].lstrip()
            piece = re.sub(r"^(?:then|do)\b", "", after, flags=re.IGNORECASE).lstrip()
            continue
        when = _WHEN.match(piece)
        then = next((i for i, w in top_level_words(piece) if w == "then"), None) if when else None
        if when and then is not None:
            tested = piece[when.end() : then].strip()
            if not _EXCEPTION_NAMES.match(tested):
                conditions.append(BlockPart(EXPRESSION, tested))
            piece = piece[then + 4 :].lstrip()
            continue
        loop = _FOR.match(piece)
        if loop:
            do = next((i for i, w in top_level_words(piece) if w == "do"), None)
            if do is None:
                return conditions, piece.strip()
            piece = piece[do + 2 :].lstrip()
            continue
        return conditions, piece.strip()


def split_concatenation(expression: str) -> list[str]:
    """The operands of a top-level `a || b || c` expression."""
    marks = [i for i, c, depth in scan(expression) if c == "|" and depth == 0]
    cuts = [i for i in marks if i + 1 in marks]
    pieces: list[str] = []
    start = 0
    for cut in cuts:
        pieces.append(expression[start:cut].strip())
        start = cut + 2
    pieces.append(expression[start:].strip())
    return pieces


_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")


def static_text(expression: str) -> str | None:
    """The SQL an EXECUTE IMMEDIATE of `'...' || expr || '...'` runs, when every computed part
    lands inside a string literal of that SQL (a value, not a name or a keyword): the computed
    parts read as `x`. None when a computed part could change what the statement touches."""
    sentinel = "\x00"
    text = "".join(
        unquote(operand) if _STRING_LITERAL.fullmatch(operand) else sentinel
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


def block_parts(block: str) -> tuple[BlockPart, ...]:
    """Everything a Scripting block (`[DECLARE ...] BEGIN ... END`) evaluates, in order, or the
    single statement `block` is when it is not a block: cursor queries, the statements of the
    body, the queries and expressions assigned to variables or returned, the conditions of
    IF/ELSEIF/WHILE/UNTIL/CASE/WHEN, and for EXECUTE IMMEDIATE the statements of a `$$` block
    or of a string whose computed parts are only values (those parts are expressions). Any
    other EXECUTE IMMEDIATE is DYNAMIC."""
    text = strip_comments(block).strip()
    words = top_level_words(text)
    begin = next((i for i, w in words if w == "begin"), None)
    if begin is None:
        return _parts([text])
    declare = next((i for i, w in words if w == "declare" and i < begin), None)
    declarations = split_top_level(text[declare + 7 : begin]) if declare is not None else []
    body_end = max((i for i, w in words if w == "end"), default=len(text))
    declared = [part for declaration in declarations for part in _declared(declaration)]
    return (*declared, *_parts(split_top_level(text[begin:body_end])))


def block_statements(block: str) -> BlockStatements:
    """The SQL statements of a Scripting block and its dynamic EXECUTE IMMEDIATEs (see
    block_parts); the expressions it evaluates are left out."""
    parts = block_parts(block)
    return BlockStatements(
        tuple(p.text for p in parts if p.kind == SQL),
        tuple(p.text for p in parts if p.kind == DYNAMIC),
    )


def _value(expression: str) -> list[BlockPart]:
    """What evaluating an assigned or returned value runs: a query (bare or in parentheses),
    or an expression."""
    expression = expression.strip()
    if not expression:
        return []
    query = _unwrap(expression)
    if _QUERY_START.match(query):
        return [BlockPart(SQL, query)]
    return [BlockPart(EXPRESSION, expression)]


def _declared(declaration: str) -> list[BlockPart]:
    """What a DECLARE item evaluates (a cursor's query, a DEFAULT value); nothing for a bare
    variable or an exception."""
    cursor = _CURSOR.match(declaration)
    if cursor:
        return [BlockPart(SQL, cursor.group("query").strip())]
    assignment = _ASSIGNMENT.match(declaration)
    return _value(assignment.group("expr")) if assignment else []


def _unwrap(query: str) -> str:
    """The expression without parentheses around the whole of it."""
    while query.startswith("(") and matching_paren(query, 0) == len(query) - 1:
        query = query[1:-1].strip()
    return query


def _parts(pieces: list[str]) -> tuple[BlockPart, ...]:
    parts: list[BlockPart] = []
    for raw in pieces:
        conditions, piece = _strip_control(raw)
        parts += conditions
        parts += _piece(piece)
    return tuple(parts)


def _piece(piece: str) -> list[BlockPart]:
    if not piece or _SKIPPED.match(piece):
        return []
    cursor = _CURSOR.match(piece)
    if cursor:
        return [BlockPart(SQL, cursor.group("query").strip())]
    assignment = _ASSIGNMENT.match(piece)
    if assignment and not _STATEMENT_START.match(piece):
        return _value(assignment.group("expr"))
    returned = _RETURN.match(piece)
    if returned:
        value = returned.group("expr")
        return [] if re.match(r"^table\s*\(", value, re.IGNORECASE) else _value(value)
    immediate = _EXECUTE_IMMEDIATE.match(piece)
    if immediate:
        return _execute_immediate(piece, immediate.group("arg").strip())
    return [BlockPart(SQL, piece)]


def _execute_immediate(piece: str, argument: str) -> list[BlockPart]:
    if argument.startswith("$$"):
        inner = dollar_body(argument)
        if inner is not None:
            return list(block_parts(inner))
    computed = [
        BlockPart(EXPRESSION, operand)
        for operand in split_concatenation(argument)
        if not _STRING_LITERAL.fullmatch(operand)
    ]
    inner = static_text(argument)
    if inner is None:
        return [*computed, BlockPart(DYNAMIC, piece)]
    return [*computed, *block_parts(inner)]
