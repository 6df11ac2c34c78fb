"""Reason codes: one constant per rule_code of dbt_project/seeds/quality_rules.csv.

The seed is the vocabulary; tests/test_reason_codes.py keeps this module in step with it.
"""

from __future__ import annotations

# extract_metadata
EMPTY_FILE = "empty_file"
FILE_MISSING = "file_missing"
FILE_CHANGED = "file_changed"
FILE_TOO_LARGE = "file_too_large"
UNSUPPORTED_FORMAT = "unsupported_format"
UNREADABLE_FILE = "unreadable_file"
TRUNCATED_FILE = "truncated_file"
DECOMPRESSION_BOMB = "decompression_bomb"
HOSTILE_CONTENT = "hostile_content"
ENCRYPTED_FILE = "encrypted_file"

# validate
ABSURD_DIMENSIONS = "absurd_dimensions"
THUMBNAIL_MISSING = "thumbnail_missing"

# render_thumbnails
RENDER_FAILED = "render_failed"
RENDER_TIMEOUT = "render_timeout"

# any step
RETRIES_EXHAUSTED = "retries_exhausted"

ALL_REASON_CODES: frozenset[str] = frozenset(
    {
        EMPTY_FILE,
        FILE_MISSING,
        FILE_CHANGED,
        FILE_TOO_LARGE,
        UNSUPPORTED_FORMAT,
        UNREADABLE_FILE,
        TRUNCATED_FILE,
        DECOMPRESSION_BOMB,
        HOSTILE_CONTENT,
        ENCRYPTED_FILE,
        ABSURD_DIMENSIONS,
        THUMBNAIL_MISSING,
        RENDER_FAILED,
        RENDER_TIMEOUT,
        RETRIES_EXHAUSTED,
    }
)
