"""Hostile raster files, built byte by byte where no well-behaved encoder would write them:
huge declared sizes, 200 MB-class files streamed to a writer, flat colours that decode to
hundreds of MB, floods of pages and frames, odd colour modes and depths, a full EXIF segment."""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

import numpy as np
from PIL import Image

from orchestration.corpus.content import EXIF_IFD, MIB, PNG_SIGNATURE, artwork, encode, png_chunk


def _png(width: int, height: int, depth: int, colour_type: int, rows: bytes) -> bytes:
    """A PNG from row bytes that already carry their filter byte."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(rows, 6))
        + png_chunk(b"IEND", b"")
    )


def write_png_noise(out: BinaryIO, width: int, height: int, seed: int = 0) -> int:
    """Stream an RGB noise PNG whose deflate blocks are stored, not compressed (about
    3 x width x height bytes), a block of rows at a time; returns the bytes written."""
    row_bytes = 1 + 3 * width
    rows_per_block = max(1, 4 * MIB // row_bytes)
    # One noise block repeated down the image: stored blocks cost the same for any content.
    block = np.random.default_rng(seed).integers(0, 256, (rows_per_block, row_bytes), np.uint8)
    block[:, 0] = 0  # filter type None
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    written = out.write(PNG_SIGNATURE + png_chunk(b"IHDR", header))
    compressor = zlib.compressobj(0)
    for start in range(0, height, rows_per_block):
        rows = block[: min(rows_per_block, height - start)].tobytes()
        written += out.write(png_chunk(b"IDAT", compressor.compress(rows)))
    written += out.write(png_chunk(b"IDAT", compressor.flush()) + png_chunk(b"IEND", b""))
    return written


# kind -> (colour type, bit depth, top-half pixel, bottom-half pixel, chunks before IDAT)
_FLAT_PNGS: dict[str, tuple[int, int, bytes, bytes, bytes]] = {
    "grey16": (0, 16, struct.pack(">H", 40_000), struct.pack(">H", 40_000), b""),
    "rgba": (6, 8, bytes([200, 40, 40, 255]), bytes([40, 40, 200, 128]), b""),
    "la": (4, 8, bytes([200, 255]), bytes([60, 128]), b""),
    "palette_transparent": (
        3,
        8,
        b"\x00",  # transparent
        b"\x01",  # opaque red
        png_chunk(b"PLTE", bytes([0, 0, 0, 255, 0, 0])) + png_chunk(b"tRNS", b"\x00\xff"),
    ),
}
FLAT_PNG_KINDS: tuple[str, ...] = tuple(_FLAT_PNGS)


def write_png_flat(out: BinaryIO, width: int, height: int, kind: str = "grey16") -> int:
    """Stream a PNG of two flat halves (kind: one of FLAT_PNG_KINDS): a few hundred KB that
    decode to hundreds of MB, as large-format flat-colour designs do."""
    colour_type, depth, top, bottom, chunks = _FLAT_PNGS[kind]
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    written = out.write(PNG_SIGNATURE + png_chunk(b"IHDR", header) + chunks)
    # Raw deflate, each block of rows compressed once after a full flush (so it refers to
    # nothing before it) and its bytes repeated: hundreds of MB of rows in a fraction of a second.
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    checksum = zlib.adler32(b"")
    written += out.write(png_chunk(b"IDAT", b"\x78\x9c"))  # the zlib header
    for pixel, rows in ((top, height // 2), (bottom, height - height // 2)):
        row = b"\x00" + pixel * width
        step = max(1, 4 * MIB // len(row))
        blocks, rest = divmod(rows, step)
        for block, count in ((row * step, blocks), (row * rest, 1 if rest else 0)):
            data = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
            for _ in range(count):
                checksum = zlib.adler32(block, checksum)
                written += out.write(png_chunk(b"IDAT", data))
    tail = compressor.flush() + struct.pack(">I", checksum)
    return written + out.write(png_chunk(b"IDAT", tail) + png_chunk(b"IEND", b""))


def psd_deep_flat(side: int = 12_000, depth: int = 16) -> bytes:
    """A square 16-bit RGB PSD of one colour, RLE-compressed: about 14 MB at 12000 px (144 MP,
    under the pixel limit) that decode to 864 MB of samples."""
    row_bytes = side * depth // 8
    row = b"".join(bytes([257 - n, 0x80]) for n in _runs(row_bytes, 128))  # PackBits repeats
    header = struct.pack(">4sH6xHIIHH", b"8BPS", 1, 3, side, side, depth, 3)
    counts = struct.pack(">H", len(row)) * (3 * side)
    return header + bytes(12) + b"\x00\x01" + counts + row * (3 * side)


def _runs(total: int, longest: int) -> list[int]:
    return [longest] * (total // longest) + ([total % longest] if total % longest else [])


def huge_declared_size(fmt: str) -> bytes:
    """A small file whose header declares at least 30000 x 30000 pixels, for fmt one of
    HUGE_DECLARED_FORMATS; decoding it would need gigabytes."""
    if fmt == "png":
        header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
        idat = zlib.compress(b"\x00" * 300_001)  # the first row only
        return (
            PNG_SIGNATURE
            + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b"")
        )
    if fmt == "jpeg":
        data = bytearray(encode(Image.new("RGB", (16, 16), "white"), "JPEG"))
        sof = data.index(b"\xff\xc0")
        data[sof + 5 : sof + 9] = struct.pack(">HH", 65_000, 65_000)
        return bytes(data)
    if fmt == "gif":
        data = bytearray(encode(Image.new("P", (16, 16)), "GIF"))
        data[6:10] = struct.pack("<HH", 65_535, 65_535)  # logical screen size
        return bytes(data)
    if fmt == "tiff":
        data = bytearray(encode(Image.new("L", (16, 16)), "TIFF"))
        (ifd,) = struct.unpack_from("<I", data, 4)
        (count,) = struct.unpack_from("<H", data, ifd)
        for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
            tag, kind = struct.unpack_from("<HH", data, entry)
            if tag in (256, 257):
                struct.pack_into("<H" if kind == 3 else "<I", data, entry + 8, 65_000)
        return bytes(data)
    if fmt == "bmp":
        # RLE8 has no fixed size: two bytes (end of bitmap) stand for 900 million pixels.
        pixels, palette = b"\x00\x01", bytes(4 * 256)
        offset = 14 + 40 + len(palette)
        dib = struct.pack("<IiiHHIIiiII", 40, 30_000, 30_000, 1, 8, 1, 2, 2835, 2835, 256, 0)
        return b"BM" + struct.pack("<IHHI", offset + 2, 0, 0, offset) + dib + palette + pixels
    if fmt == "webp":
        bits = (16_383) | (16_383 << 14)  # lossless, 16384 x 16384, the format's maximum
        payload = b"\x2f" + struct.pack("<I", bits) + bytes(11)
        chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload
        return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk
    if fmt == "psd":
        header = struct.pack(">4sH6xHIIHH", b"8BPS", 1, 3, 30_000, 30_000, 8, 3)
        return header + bytes(12) + b"\x00\x00"  # empty sections, raw image data (absent)
    raise ValueError(f"no huge-size builder for {fmt!r}")


HUGE_DECLARED_FORMATS: tuple[str, ...] = ("png", "jpeg", "gif", "tiff", "bmp", "webp", "psd")


def gif_many_frames(frames: int = 5000, side: int = 16) -> bytes:
    """A GIF with thousands of tiny frames, each differing by one pixel (none are merged)."""
    # black, red, green, blue, yellow, cyan, magenta, white
    palette = [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0, 0, 255, 255, 255, 0, 255]
    palette += [255, 255, 255]
    images = []
    for index in range(frames):
        image = Image.new("P", (side, side), index % 7)
        image.putpalette(palette)
        image.putpixel((index % side, (index // side) % side), (index + 1) % 8)
        images.append(image)
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=20)


def tiff_page_flood(pages: int = 100_000, loop: bool = False) -> bytes:
    """A TIFF of `pages` 1 x 1 pages (about 100 bytes each) sharing one strip; with loop, the
    last directory points back at the first."""
    entries = [(256, 1), (257, 1), (258, 8), (259, 1), (262, 1), (273, 8), (278, 1), (279, 1)]
    directory_bytes = 2 + 12 * len(entries) + 4
    first = 10
    out = bytearray(b"II*\x00" + struct.pack("<I", first) + b"\x80\x00")  # header, one pixel
    for page in range(pages):
        following = len(out) + directory_bytes if page < pages - 1 else (first if loop else 0)
        out += struct.pack("<H", len(entries))
        for tag, value in entries:
            if tag in (273, 279):  # offsets and byte counts are LONGs
                out += struct.pack("<HHII", tag, 4, 1, value)
            else:
                out += struct.pack("<HHIHH", tag, 3, 1, value, 0)
        out += struct.pack("<I", following)
    return bytes(out)


def gif_frame_flood(frames: int = 50_000) -> bytes:
    """A GIF of `frames` 1 x 1 frames (about 20 bytes each): tens of thousands of frames fit in
    a few hundred KB."""
    single = encode(Image.new("P", (1, 1)), "GIF")
    start = single.index(b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00")  # the image descriptor
    return single[:start] + single[start:-1] * frames + b";"


def tiff_cmyk(width: int = 600, height: int = 400, seed: int = 0) -> bytes:
    """A print master: 8-bit CMYK TIFF, deflate, no ICC profile."""
    image = artwork(width, height, seed, noise=2).convert("CMYK")
    return encode(image, "TIFF", compression="tiff_adobe_deflate", dpi=(300, 300))


def png_rgb16(width: int = 600, height: int = 400) -> bytes:
    """48-bit RGB PNG: a red ramp across the full 16-bit range, green and blue zero."""
    ramp = np.linspace(0, 65_535, width).astype(">u2")
    pixels = np.zeros((height, width, 3), ">u2")
    pixels[:, :, 0] = ramp
    rows = np.concatenate(
        [np.zeros((height, 1), np.uint8), pixels.view(np.uint8).reshape(height, -1)], axis=1
    )
    return _png(width, height, 16, 2, rows.tobytes())


def png_palette_transparent(width: int = 400, height: int = 300, seed: int = 0) -> bytes:
    """A 16-colour palette PNG whose index 0 is fully transparent (tRNS chunk), top half."""
    image = artwork(width, height, seed, noise=0).quantize(16)
    image.paste(0, (0, 0, width, height // 2))
    return encode(image, "PNG", transparency=0)


def png_animated(width: int = 320, height: int = 240, frames: int = 4, seed: int = 0) -> bytes:
    """An APNG: a PNG whose first frame is the default image, then more frames."""
    images = [artwork(width, height, seed + i, noise=0) for i in range(frames)]
    return encode(images[0], "PNG", save_all=True, append_images=images[1:], duration=100)


def jpeg_huge_exif(seed: int = 0) -> bytes:
    """A JPEG whose EXIF segment is full (64 KiB): thousands of IFD0 entries, a 4000-character
    Model, a Make that claims 2 GiB of text, orientation 9999 and an Exif IFD pointing back at
    IFD0 (a loop)."""
    model = b"M" * 4000 + b"\x00"
    entries = (65_533 - 6 - 8 - 2 - 4 - len(model)) // 12
    model_at = 8 + 2 + 12 * entries + 4
    ifd = [
        struct.pack("<HHII", 0x0110, 2, len(model), model_at),
        struct.pack("<HHII", 0x010F, 2, 0x7FFF_FFFF, 8),
        struct.pack("<HHIHH", 0x0112, 3, 1, 9999, 0),
        struct.pack("<HHII", EXIF_IFD, 4, 1, 8),
    ]
    ifd += [struct.pack("<HHIHH", 0xC000 + i, 3, 1, i, 0) for i in range(entries - len(ifd))]
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", entries) + b"".join(ifd)
    exif = b"Exif\x00\x00" + tiff + struct.pack("<I", 0) + model
    return encode(artwork(640, 480, seed, noise=4), "JPEG", quality=85, exif=exif)


# Photoshop colour mode numbers, and how each odd mode is filled (see psd_odd_mode).
PSD_ODD_MODES: tuple[str, ...] = (
    "bitmap",
    "grayscale16",
    "indexed",
    "cmyk",
    "cmyk16",
    "lab",
    "lab16",
    "rgb16",
    "multichannel",
    "duotone",
)


def psd_odd_mode(mode: str, width: int = 64, height: int = 48) -> bytes:
    """A PSD in a colour mode other than 8-bit RGB, raw image data, no layers. The colour is
    known: bitmap is black left / white right, grayscale16 is 40000/65535, indexed, cmyk*, lab*
    and rgb16 are pure red or cyan (see the test expectations), duotone and multichannel grey."""
    pixels = width * height
    colour_data = b""

    def planes(depth: int, *values: int) -> list[bytes]:
        code = ">H" if depth == 16 else ">B"
        return [struct.pack(code, value) * pixels for value in values]

    if mode == "bitmap":
        row = np.zeros(width, np.uint8)
        row[: width // 2] = 1  # 1 is black in Photoshop's bitmap mode
        packed = np.packbits(row).tobytes()
        code, depth, channels = 0, 1, [packed * height]
    elif mode == "grayscale16":
        code, depth, channels = 1, 16, planes(16, 40_000)
    elif mode == "indexed":
        colour_data = bytes([0, 255] + [0] * 254) + bytes(256) + bytes(256)  # index 1 is red
        code, depth, channels = 2, 8, planes(8, 1)
    elif mode in ("cmyk", "cmyk16"):
        depth = 16 if mode == "cmyk16" else 8
        full = 65_535 if depth == 16 else 255
        # Photoshop stores CMYK inverted (0 = full ink): full cyan, no magenta, yellow or black.
        code, channels = 4, planes(depth, 0, full, full, full)
    elif mode in ("lab", "lab16"):
        depth = 16 if mode == "lab16" else 8
        scale = 257 if depth == 16 else 1
        # sRGB red is L* 53, a* 80, b* 67; stored as L * 255/100 and a, b + 128.
        code, channels = 9, planes(depth, 135 * scale, 208 * scale, 195 * scale)
    elif mode == "rgb16":
        code, depth, channels = 3, 16, planes(16, 65_535, 0, 0)
    elif mode == "multichannel":
        code, depth, channels = 7, 8, planes(8, 100, 100, 100)
    elif mode == "duotone":
        # The duotone specification is opaque to readers; the pixels are one grey channel.
        colour_data = b"\x00\x01" + bytes(100)
        code, depth, channels = 8, 8, planes(8, 100)
    else:
        raise ValueError(f"no PSD builder for mode {mode!r}")
    header = struct.pack(">4sH6xHIIHH", b"8BPS", 1, len(channels), height, width, depth, code)
    sections = struct.pack(">I", len(colour_data)) + colour_data + bytes(8)
    return header + sections + b"\x00\x00" + b"".join(channels)
