"""Hostile documents: PDFs with thousands of pages, broken structures or references outside
themselves, SVGs that fetch, expand, nest or embed rasters, a PNG/PDF polyglot and a ZIP."""

from __future__ import annotations

import base64
import io
import zipfile

from orchestration.corpus.valid import pdf_multipage, png_with_alpha

_ZIP_DATE = (2026, 1, 15, 9, 30, 0)


def _pdf(objects: dict[int, bytes], broken_xref: bool = False) -> bytes:
    """A PDF from numbered object bodies (object 1 is the catalog) and its xref table; with
    broken_xref every entry points at byte 0, so readers must rebuild the table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = 0 if broken_xref else len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets.get(number, 0)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def _pdf_stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def pdf_many_pages(pages: int = 3000) -> bytes:
    """A valid PDF of `pages` A4 pages sharing one small content stream (fast to build)."""
    kids = b" ".join(b"%d 0 R" % (4 + index) for index in range(pages))
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 595 842] >>" % (kids, pages),
        3: _pdf_stream(b"0.1 0.3 0.8 rg 50 50 495 742 re f"),
    }
    for index in range(pages):
        objects[4 + index] = b"<< /Type /Page /Parent 2 0 R /Contents 3 0 R >>"
    return _pdf(objects)


PDF_MALFORMED_KINDS: tuple[str, ...] = ("page_tree_cycle", "count_lie", "broken_xref", "no_pages")


def pdf_malformed(kind: str) -> bytes:
    """A PDF with a broken structure; kind is one of PDF_MALFORMED_KINDS."""
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 3 0 R >>"
    content = _pdf_stream(b"1 0 0 rg 0 0 300 200 re f")
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    if kind == "page_tree_cycle":  # a Pages node whose kid is its own parent
        return _pdf(
            {
                1: catalog,
                2: b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
                3: content,
                4: b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
            }
        )
    if kind == "count_lie":  # one page, /Count claims two billion
        return _pdf(
            {
                1: catalog,
                2: b"<< /Type /Pages /Kids [4 0 R] /Count 2000000000 >>",
                3: content,
                4: page,
            }
        )
    if kind == "broken_xref":
        objects = {1: catalog, 2: b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", 3: content}
        return _pdf({**objects, 4: page}, broken_xref=True)
    if kind == "no_pages":
        return _pdf({1: catalog, 2: b"<< /Type /Pages /Kids [] /Count 0 >>"})
    raise ValueError(f"no malformed PDF of kind {kind!r}")


def pdf_external_references(url: str, path: str = "/etc/passwd") -> bytes:
    """A PDF that points outside itself every way a viewer might follow: an open action, a link,
    JavaScript and a remote go-to to `url`, a Launch of `path`, a content stream whose data
    lives in `path` and images whose data live in `path` and at `url` (/F file specs)."""
    values = {b"@URL@": url.encode(), b"@PATH@": path.encode()}

    def fill(text: bytes) -> bytes:
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        return text

    image = b"/Type /XObject /Subtype /Image /Width 10 /Height 10 /ColorSpace /DeviceRGB "
    image += b"/BitsPerComponent 8 "
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R /Names << /JavaScript << "
        b"/Names [(x) << /S /JavaScript /JS (app.launchURL('@URL@');) >>] >> >> >>",
        2: b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        3: _pdf_stream(b"0 0.6 0 rg 0 0 300 200 re f q 100 0 0 100 0 0 cm /A Do /B Do Q"),
        4: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents [3 0 R 7 0 R] "
        b"/Resources << /XObject << /A 8 0 R /B 9 0 R >> >> /Annots [6 0 R] "
        b"/AA << /O << /S /Launch /F (@PATH@) >> >> >>",
        5: b"<< /S /URI /URI (@URL@) /Next << /S /GoToR /F (@URL@) /D [0 /Fit] >> >>",
        6: b"<< /Type /Annot /Subtype /Link /Rect [0 0 300 200] /A << /S /URI /URI (@URL@) >> >>",
        7: _pdf_stream(b"", b"/F (@PATH@) "),
        8: _pdf_stream(b"", image + b"/F (@PATH@) "),
        9: _pdf_stream(b"", image + b"/F << /FS /URL /F (@URL@) >> "),
    }
    return _pdf({number: fill(body) for number, body in objects.items()})


SVG_FETCH_KINDS: tuple[str, ...] = (
    "image_xlink_href",
    "image_href",
    "use_href",
    "fe_image",
    "css_url_attribute",
    "css_url_style_element",
    "css_import",
    "font_face",
    "xml_stylesheet",
    "xinclude",
    "external_entity",
    "external_dtd",
    "parameter_entity",
)


def svg_fetching(kind: str, url: str) -> bytes:
    """An SVG that asks its renderer to read `url` (http://, file:// or a plain path)."""
    open_tag = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:xi="http://www.w3.org/2001/XInclude" width="100" height="100">'
    )
    rect = '<rect width="100" height="100" fill="#36c"/>'
    bodies = {
        "image_xlink_href": f'<image xlink:href="{url}" width="100" height="100"/>',
        "image_href": f'<image href="{url}" width="100" height="100"/>',
        "use_href": f'<use href="{url}#shape"/>',
        "fe_image": f'<filter id="f"><feImage href="{url}"/></filter>'
        f'<rect width="100" height="100" filter="url(#f)"/>',
        "css_url_attribute": f'<rect width="100" height="100" fill="url({url}#paint)"/>',
        "css_url_style_element": f"<style>rect {{ fill: url('{url}#paint') }}</style>{rect}",
        "css_import": f"<style>@import url('{url}');</style>{rect}",
        "font_face": f"<style>@font-face {{ font-family: x; src: url('{url}') }}</style>"
        '<text x="10" y="50" font-family="x">hi</text>',
        "xinclude": f'<xi:include href="{url}" parse="text"/>{rect}',
    }
    if kind in bodies:
        return f"{open_tag}{rect}{bodies[kind]}</svg>".encode()
    prolog = {
        "xml_stylesheet": f'<?xml-stylesheet type="text/css" href="{url}"?>\n',
        "external_entity": f'<!DOCTYPE svg [<!ENTITY ext SYSTEM "{url}">]>\n',
        "external_dtd": f'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "{url}">\n',
        "parameter_entity": f'<!DOCTYPE svg [<!ENTITY % ext SYSTEM "{url}"> %ext;]>\n',
    }
    if kind not in prolog:
        raise ValueError(f"no fetching SVG of kind {kind!r}")
    text = "&ext;" if kind == "external_entity" else ""
    body = f"{rect}<text x='10' y='50'>{text}</text>"
    return f'<?xml version="1.0"?>\n{prolog[kind]}{open_tag}{body}</svg>'.encode()


def svg_billion_laughs(levels: int = 10, encoding: str = "utf-8") -> bytes:
    """The classic entity expansion: 10 levels of 10 references, 10^levels 'lol's."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)
    ]
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<!DOCTYPE svg [\n'
        + "\n".join(entities)
        + f'\n]>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        f"<text>&lol{levels - 1};</text></svg>"
    )
    return text.encode(encoding)


def svg_embedding(image: bytes, mime: str = "image/png", copies: int = 1) -> bytes:
    """An SVG drawing `copies` <image> elements, each an inline data: URI of `image`: a small
    SVG can carry a raster bomb past any pixel check made on the SVG's own size."""
    uri = f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"
    images = "".join(
        f'<image x="{i}" width="100" height="100" href="{uri}"/>' for i in range(copies)
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        f'<rect width="100" height="100" fill="#36c"/>{images}</svg>'
    ).encode()


def svg_deep(depth: int = 300, use_chain: bool = False) -> bytes:
    """An SVG nesting `depth` groups, or chaining `depth` <use>s each drawing the previous one:
    renderers recurse once per level."""
    if use_chain:
        uses = "".join(f'<use id="u{i}" href="#u{i - 1}"/>' for i in range(1, depth))
        body = f'<defs><rect id="u0" width="50" height="50"/>{uses}</defs>'
        body += f'<use href="#u{depth - 1}" fill="#36c"/>'
    else:
        body = "<g>" * depth + '<rect width="50" height="50" fill="#36c"/>' + "</g>" * depth
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">{body}</svg>'.encode()


def png_pdf_polyglot(seed: int = 0) -> bytes:
    """A valid PNG with a complete PDF appended after IEND: both readers accept it."""
    return png_with_alpha(320, 240, seed) + pdf_multipage(1, seed, 300, 400)


def zip_archive(seed: int = 0) -> bytes:
    """A ZIP (as .sketch, .fig, .afdesign or a renamed .psd would be), holding a PNG."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("document.json", _ZIP_DATE), b'{"layers": []}')
        archive.writestr(zipfile.ZipInfo("preview.png", _ZIP_DATE), png_with_alpha(64, 48, seed))
    return buffer.getvalue()
