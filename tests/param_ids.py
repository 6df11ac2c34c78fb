"""Readable ids for parametrized tests (pytest_make_parametrize_id in tests/conftest.py).

pytest names a bytes value by its escaped bytes, a non-ASCII string by its escapes, and an
exception or a long string by argname + index (`error0`, `key16`). Here: text as it reads (control
characters escaped, a string that is not NFC says so, long ones cut with their length), bytes
by their format and size, exceptions by type and message, short lists by their items.
"""

from __future__ import annotations

import hashlib
import unicodedata

LONGEST = 48
_MAGIC = (
    (b"\x89PNG", "png"),
    (b"\xff\xd8", "jpeg"),
    (b"GIF8", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "bigtiff"),
    (b"8BPS", "psd"),
    (b"%PDF", "pdf"),
    (b"RIFF", "riff"),
    (b"BM", "bmp"),
    (b"PK\x03\x04", "zip"),
)


def readable_id(value: object) -> str | None:
    """An id for `value`, or None to leave it to pytest (numbers, None, other objects)."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bytes | bytearray):
        return _bytes(bytes(value))
    if isinstance(value, BaseException):
        message = str(value)
        return _text(f"{type(value).__name__}({message})" if message else type(value).__name__)
    if isinstance(value, list | tuple) and all(
        item is None or isinstance(item, str | int | float | bool) for item in value
    ):
        return _text(",".join(readable_id(item) or str(item) for item in value) or "empty")
    return None


def _text(text: str, longest: int = LONGEST) -> str:
    if not text:
        return "empty"
    shown = "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in (text if len(text) <= longest else text[: longest - 1])
    )
    if len(text) > longest:
        shown += f"…({len(text.encode('utf-8'))} bytes)"
    if unicodedata.normalize("NFC", text) != text:
        shown += " (not NFC)"
    return shown


def _bytes(data: bytes) -> str:
    if not data:
        return "empty-bytes"
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    if text and all(char.isprintable() or char in "\t\r\n" for char in text):
        return _text(text)
    kind = next((name for magic, name in _MAGIC if data.startswith(magic)), "")
    if kind:
        return f"{kind}-{len(data)}B"
    if len(data) <= 8:
        return "bytes-" + data.hex()
    return f"binary-{len(data)}B-{hashlib.sha256(data).hexdigest()[:6]}"
