"""Turn what went wrong with one file into a reason code and a clear message."""

from __future__ import annotations

import struct
import zlib
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from PIL import Image
from pypdf.errors import FileNotDecryptedError

from pixelforge_core.reason_codes import (
    DECOMPRESSION_BOMB,
    ENCRYPTED_FILE,
    HOSTILE_CONTENT,
    TRUNCATED_FILE,
    UNREADABLE_FILE,
)

MAX_MESSAGE_CHARS = 300

# Phrases decoders use when the data stops early (Pillow, zlib, psd-tools, pypdf).
_TRUNCATION_HINTS = (
    "truncated",
    "unexpected end",
    "premature end",
    "end of file",
    "eof",
    "unpack requires a buffer",
    "incomplete",
    "not enough data",
    "buffer is not large enough",
)


def describe(exc: BaseException) -> str:
    """A short, single-line description of an exception for a failure message."""
    if isinstance(exc, Image.UnidentifiedImageError):
        return "the image header could not be parsed"  # Pillow's text names the stream object
    text = " ".join(str(exc).split()) or "no detail"
    return f"{type(exc).__name__}: {text}"[:MAX_MESSAGE_CHARS]


def classify_exception(exc: BaseException) -> str:
    """The reason code for an exception raised while reading or decoding a file."""
    if isinstance(exc, Image.DecompressionBombError):
        return DECOMPRESSION_BOMB
    if isinstance(exc, DefusedXmlException):
        return HOSTILE_CONTENT
    if isinstance(exc, FileNotDecryptedError):
        return ENCRYPTED_FILE
    if isinstance(exc, EOFError):
        return TRUNCATED_FILE
    if isinstance(exc, (OSError, SyntaxError, ValueError, struct.error, zlib.error, ParseError)):
        text = str(exc).lower()
        if any(hint in text for hint in _TRUNCATION_HINTS):
            return TRUNCATED_FILE
    return UNREADABLE_FILE
