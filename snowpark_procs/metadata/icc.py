"""An embedded ICC profile's description and colour space, read from its header and tag table
(ICC.1:2022, https://www.color.org/specification/ICC.1-2022-05.pdf: §7.2 header, colour space
signature at byte 16; §7.3 tag table at byte 128; the 'desc' tag is a textDescriptionType in
version 2 profiles (ICC.1:2001-04 §6.5.17) and a multiLocalizedUnicodeType in version 4
(§10.15)). Pure Python over a bounded byte string: no colour engine parses untrusted data."""

from __future__ import annotations

_HEADER_BYTES = 132
_COLOUR_SPACES = {
    b"RGB ": "RGB",
    b"CMYK": "CMYK",
    b"GRAY": "GRAY",
    b"Lab ": "LAB",
    b"XYZ ": "XYZ",
    b"YCbr": "YCBCR",
    b"Luv ": "LUV",
    b"Yxy ": "YXY",
    b"HSV ": "HSV",
    b"HLS ": "HLS",
    b"CMY ": "CMY",
}
_MAX_TAGS = 1_000


def icc_facts(profile: bytes | None, max_bytes: int) -> tuple[str | None, str | None]:
    """(description, colour space) of a profile; (None, None) when absent, over max_bytes or
    not a profile. A description that cannot be read leaves only the colour space."""
    if not profile or len(profile) > max_bytes or len(profile) < _HEADER_BYTES:
        return None, None
    if profile[36:40] != b"acsp":  # the profile file signature
        return None, None
    space = _COLOUR_SPACES.get(profile[16:20], profile[16:20].decode("latin-1").strip() or None)
    return _description(profile), space


def _description(profile: bytes) -> str | None:
    count = min(int.from_bytes(profile[128:132], "big"), _MAX_TAGS)
    for index in range(count):
        entry = profile[132 + 12 * index : 144 + 12 * index]
        if len(entry) < 12:
            return None
        if entry[:4] == b"desc":
            offset, length = int.from_bytes(entry[4:8], "big"), int.from_bytes(entry[8:12], "big")
            return _text(profile[offset : offset + length])
    return None


def _text(tag: bytes) -> str | None:
    kind = tag[:4]
    if kind == b"desc" and len(tag) >= 12:
        length = int.from_bytes(tag[8:12], "big")
        return tag[12 : 12 + length].split(b"\x00", 1)[0].decode("latin-1") or None
    if kind == b"mluc" and len(tag) >= 16:
        records, record_size = int.from_bytes(tag[8:12], "big"), int.from_bytes(tag[12:16], "big")
        chosen = None
        for index in range(min(records, _MAX_TAGS)):
            record = tag[16 + record_size * index : 16 + record_size * index + 12]
            if len(record) < 12:
                break
            if chosen is None or record[:4] == b"enUS":
                chosen = record
        if chosen is not None:
            length, offset = int.from_bytes(chosen[4:8], "big"), int.from_bytes(chosen[8:12], "big")
            return tag[offset : offset + length].decode("utf-16-be", "replace") or None
    return None
