"""THE write batch: how many file versions an extraction batch takes, and how the rows a step
sends to Snowflake are cut into binds, declared once.

The steps send every batch of rows as one JSON array bound to one `?` (the set-based extraction,
the render call, each MERGE: snowpark_procs/sql). A step's statements go one after the other,
each paying Snowflake's latency of a statement whatever its size (bench/prices.toml
statement_s), so the fewer the statements a file, the faster a large job: a batch's rows go in
as few binds as fit MAX_BIND_BYTES (`json_binds`), not in fixed counts of rows.

The bind's limit. A bound string reaches Snowflake as a VARCHAR (`cast(? as varchar)`,
`parse_json(?)`): a VARCHAR declared without a length holds up to 16,777,216 bytes ("String &
binary data types", https://docs.snowflake.com/en/sql-reference/data-types-text), and a VARIANT
"up to 128 MB of uncompressed data [...] in practice [...] smaller because of internal overhead"
("Considerations for semi-structured data stored in VARIANT",
https://docs.snowflake.com/en/user-guide/semistructured-considerations). MAX_BIND_BYTES is half
of the 16 MiB, for that overhead. Snowflake also recommends keeping a statement with its bound
values within 1 MB after compression: larger ones "process normally", but Snowflake does not
rerun or retry them itself and keeps their text truncated ("Limits on query text size",
https://docs.snowflake.com/en/user-guide/query-size-limits; the Python connector sends the
request gzip-compressed, snowflake/connector/network.py). We take that on purpose for the large
batches: a write that fails fails its step, and every write is idempotent (MERGEs, charges
given back), so the next run redoes it (snowpark_procs/steps/extract.py, render.py).

The worst case fits: every row the steps bind is bounded by pixelforge_core/limits.py (names,
text, layers, pages, fonts cut there; control characters removed, so a character takes at most
4 bytes of UTF-8) and by S3's 1,024-byte key; `json_dumps` writes UTF-8 (not \\u escapes), and
tests/pixelforge_core/test_write_batch.py builds the largest row of each kind and shows it fits
one bind, so `json_binds` never has to refuse a row.

The extraction batch. The rows an extraction batch charges, parses in one set-based statement
(split only where its binds would not fit) and merges: the bounded step checks its budget
between batches, and a process that dies while parsing leaves the whole batch's charges (each
file is then extracted alone: steps/extract.py). Scheduled runs keep EXTRACT_BATCH_ROWS; the
day-zero load (and any large backlog) raises the graph CONFIG's `extract_batch_rows` to
INITIAL_LOAD_EXTRACT_BATCH_ROWS with the renderer maximum (docs/runbook.md "Day zero"), so its
statements a file drop tenfold. Its set-based statement at the load's XLARGE (64 slots at the
model's 50%) takes about 5,000 x 0.104 s / 64 = 8 s of the 300 s between step budget and step
timeout; at the deployed XSMALL (4 slots) about 130 s, which is why steady runs keep 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

MIB = 1024 * 1024
# Bytes of one bound JSON value at most (see above).
MAX_BIND_BYTES = 8 * MIB
# File versions an extraction batch takes: scheduled runs, and the day-zero load's CONFIG.
EXTRACT_BATCH_ROWS = 500
INITIAL_LOAD_EXTRACT_BATCH_ROWS = 5_000


# In JSON text a Python string cannot hold a surrogate pair (an astral character is one code
# point), so every surrogate in it is a lone one, inside a string literal.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class BindTooLargeError(ValueError):
    """One row alone does not fit a bind (the worst-case test says it cannot happen)."""


def json_dumps(value: Any) -> str:
    """A value as the steps bind it: JSON in UTF-8 characters, dates as strings. A lone
    surrogate (UTF-8 cannot carry one; only an uncleaned message can hold one) is written as
    its \\u escape: the same value once parsed, 6 bytes like a control character."""
    return _LONE_SURROGATE.sub(
        lambda found: f"\\u{ord(found.group()):04x}",
        json.dumps(value, default=str, ensure_ascii=False),
    )


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def json_binds(
    rows: Iterable[dict[str, Any]], max_bytes: int = MAX_BIND_BYTES
) -> Iterator[tuple[str, int]]:
    """The rows as JSON arrays of at most `max_bytes` UTF-8 bytes each, in order, with how many
    rows each holds; as few arrays as fit (a row is never split)."""
    parts: list[str] = []
    size = 2  # "[" and "]"
    for row in rows:
        text = json_dumps(row)
        length = utf8_len(text)
        if length + 2 > max_bytes:
            raise BindTooLargeError(f"a row of {length:,} bytes exceeds a bind's {max_bytes:,}")
        added = length + (1 if parts else 0)  # the comma
        if parts and size + added > max_bytes:
            yield "[" + ",".join(parts) + "]", len(parts)
            parts, size, added = [], 2, length
        parts.append(text)
        size += added
    if parts:
        yield "[" + ",".join(parts) + "]", len(parts)
