from __future__ import annotations

import base64

import pytest

from orchestration.corpus import HOSTILE_SVG_KINDS
from pixelforge_core.records import DesignMetadata, MetadataFailure
from pixelforge_core.svg import MAX_CSS_TOKENS, SvgInfo, check_svg, decode_svg, normalize_css
from snowpark_procs.metadata import extract_metadata
from tests.fixtures.design_files import design_file, stream

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def svg(attributes: str = "", body: str = "") -> bytes:
    return f"<svg {NS} {attributes}>{body}</svg>".encode()


def test_simple_svg_metadata():
    meta = extract_metadata(stream(design_file("svg_simple")), "logo-café.svg")
    assert isinstance(meta, DesignMetadata), meta
    assert (meta.format, meta.width_px, meta.height_px) == ("svg", 1200, 800)
    assert meta.mode is None and meta.exif == {}


@pytest.mark.parametrize(
    ("attributes", "size"),
    [
        ('width="300" height="150"', (300, 150)),
        ('width="300px" height="1.5e2"', (300, 150)),
        ('width="1in" height="72pt"', (96, 96)),
        ('width="25.4mm" height="2.54cm"', (96, 96)),
        ('viewBox="0 0 640 480"', (640, 480)),
        ('width="320" viewBox="0,0,640,480"', (320, 240)),
        ('height="100%" viewBox="0 0 640 480"', (640, 480)),
        ("", (None, None)),
        ('width="-5" height="abc"', (None, None)),
    ],
)
def test_intrinsic_size_in_css_pixels(attributes, size):
    info = check_svg(svg(attributes))
    assert isinstance(info, SvgInfo), info
    assert (info.width_px, info.height_px) == size


def test_view_box_is_reported():
    info = check_svg(svg('viewBox="10 20 300 200"'))
    assert isinstance(info, SvgInfo)
    assert info.view_box == (10.0, 20.0, 300.0, 200.0)


@pytest.mark.parametrize("kind", HOSTILE_SVG_KINDS)
def test_hostile_corpus_svgs_are_refused(kind):
    result = check_svg(design_file("svg_hostile", kind=kind))
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "hostile_content"


@pytest.mark.parametrize(
    "body",
    [
        '<image href="https://example.invalid/x.png" width="1" height="1"/>',
        '<image xlink:href="/etc/passwd" width="1" height="1"/>',
        '<use href="other.svg#icon"/>',
        '<rect fill="url(\'file:///tmp/p.svg#g\')" width="1" height="1"/>',
        "<style>rect { fill: url(http://example.invalid/a.svg#b) }</style>",
        "<style>@IMPORT url(x.css);</style>",
        '<image href="data:image/svg+xml;base64,PHN2Zy8+" width="1" height="1"/>',
        "<g><SCRIPT>1</SCRIPT></g>",
    ],
)
def test_external_references_scripts_and_nested_svg_are_refused(body):
    result = check_svg(svg('width="10" height="10"', body))
    assert isinstance(result, MetadataFailure), body
    assert result.reason_code == "hostile_content"


def test_internal_references_and_inline_rasters_pass():
    png = base64.b64encode(design_file("png_with_alpha", width=4, height=4)).decode()
    body = (
        '<defs><linearGradient id="g"/><rect id="r" width="2" height="2"/></defs>'
        '<rect fill="url(#g)" width="5" height="5"/><use href="#r"/><use xlink:href="#r"/>'
        f'<image href="data:image/png;base64,{png}" width="4" height="4"/>'
        "<style>rect { fill: url( '#g' ) }</style>"
    )
    assert isinstance(check_svg(svg('width="10" height="10"', body)), SvgInfo)


def test_public_doctype_without_internal_subset_is_accepted():
    # What Illustrator's "SVG 1.1" export writes; expat never fetches the external DTD.
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n' + svg('width="5" height="5"')
    )
    assert isinstance(check_svg(data), SvgInfo)


def test_stylesheet_processing_instruction_is_refused():
    data = b'<?xml-stylesheet href="https://example.invalid/s.css"?>' + svg()
    result = check_svg(data)
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "hostile_content"


def test_truncated_svg():
    data = design_file("svg_simple")
    result = check_svg(data[: len(data) // 2])
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "truncated_file"


def test_malformed_svg_is_unreadable():
    result = check_svg(b"<svg>\n<rect></circle>\n</svg>\n\n")
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "unreadable_file"


def test_other_root_element_is_unreadable():
    result = check_svg(b'<html xmlns="http://www.w3.org/1999/xhtml"/>')
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "unreadable_file"


def test_svg_over_the_byte_cap():
    result = check_svg(svg(body="<g/>" * 100), max_bytes=100)
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "file_too_large"


def test_hostile_svg_through_extraction_keeps_hash_and_format():
    data = design_file("svg_hostile", kind="entity_expansion")
    result = extract_metadata(stream(data), "bomb.svg")
    assert isinstance(result, MetadataFailure)
    assert (result.reason_code, result.format, result.size_bytes) == (
        "hostile_content",
        "svg",
        len(data),
    )


def test_entities_are_refused_by_the_parser_too():
    # Decoded, the UTF-16 DOCTYPE meets the internal-subset check; defusedxml would refuse it too.
    text = '<!DOCTYPE svg [<!ENTITY e "x">]><svg xmlns="http://www.w3.org/2000/svg">&e;</svg>'
    result = check_svg(text.encode("utf-16"))
    assert isinstance(result, MetadataFailure)
    assert result.reason_code == "hostile_content"


# --- checks read decoded, unescaped text (security) ----------------------------------------------

DECLARATION = '<?xml version="1.0" encoding="UTF-16"?>'
# Each payload is refused when the document is UTF-8; encoded otherwise it must be refused too.
UTF16_PAYLOADS = {
    "stylesheet_pi": '<?xml-stylesheet type="text/css" href="https://example.invalid/s.css"?>'
    + f"<svg {NS}/>",
    "external_entity": '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    + f"<svg {NS}><text>&x;</text></svg>",
    "attribute_default_in_subset": (
        '<!DOCTYPE svg [<!ATTLIST image href CDATA "https://example.invalid/a.png">]>'
        f'<svg {NS}><image width="1" height="1"/></svg>'
    ),
    "external_href": f'<svg {NS}><image href="https://example.invalid/x.png" width="1"/></svg>',
    "escaped_css_url": f"<svg {NS}><style>rect{{fill:\\75rl(https://example.invalid/a#b)}}</style></svg>",
}
UTF16_FORMS = {
    "le_bom": lambda text: b"\xff\xfe" + text.encode("utf-16-le"),
    "be_bom": lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
    "le_declared": lambda text: (DECLARATION + text).encode("utf-16-le"),
    "be_declared": lambda text: (DECLARATION + text).encode("utf-16-be"),
    "le_bom_declared": lambda text: b"\xff\xfe" + (DECLARATION + text).encode("utf-16-le"),
}


@pytest.mark.parametrize("form", sorted(UTF16_FORMS))
@pytest.mark.parametrize("payload", sorted(UTF16_PAYLOADS))
def test_security_utf16_svg_is_checked_on_its_decoded_text(payload, form):
    text = UTF16_PAYLOADS[payload]
    assert check_svg(text.encode()).reason_code == "hostile_content"  # as UTF-8, for reference

    result = check_svg(UTF16_FORMS[form](text))

    assert isinstance(result, MetadataFailure), result
    assert result.reason_code == "hostile_content", result.message


@pytest.mark.parametrize(
    "css",
    [
        pytest.param("rect { fill: \\75rl(https://example.invalid/a.svg#b) }", id="hex-escape-u"),
        pytest.param("rect { fill: \\000075rl(https://example.invalid/a#b) }", id="six-digit-hex"),
        pytest.param("rect { fill: \\55 RL(https://example.invalid/a#b) }", id="hex-space-upper"),
        pytest.param("rect { fill: u\\rl(https://example.invalid/a#b) }", id="char-escape-r"),
        pytest.param("rect { fill: u\\72l(https://example.invalid/a#b) }", id="hex-escape-r"),
        pytest.param("rect { fill: ur/**/l(https://example.invalid/a#b) }", id="comment-inside"),
        pytest.param("rect { fill: url(\\68ttps://example.invalid/a#b) }", id="escaped-target"),
        pytest.param("rect { fill: url( 'https://example.invalid/a#b' ) }", id="quoted-target"),
        pytest.param("rect { fill: url(https://example.invalid/a#b", id="unclosed-at-eof"),
        pytest.param("@\\69mport 'https://example.invalid/s.css';", id="escaped-import"),
        pytest.param("@imp\\ort 'x.css';", id="char-escaped-import"),
        pytest.param("@/**/import 'x.css';", id="comment-in-import"),
        pytest.param(
            'a { content: "/*" } rect { fill: url(https://example.invalid/a#b) }'
            ' b { content: "*/" }',
            id="comment-marks-inside-strings",
        ),
        pytest.param("\\41" * (MAX_CSS_TOKENS + 1), id="too-many-escapes"),
    ],
)
def test_security_css_is_checked_with_escapes_and_comments_resolved(css):
    for body in (f"<style>{css}</style>", f"<rect style={_quoted(css)} width='1' height='1'/>"):
        result = check_svg(svg('width="10" height="10"', body))

        assert isinstance(result, MetadataFailure), body
        assert result.reason_code == "hostile_content", result.message


def _quoted(css: str) -> str:
    return '"' + css.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;") + '"'


@pytest.mark.parametrize(
    ("css", "normalised"),
    [
        ("\\75rl(", "url("),
        ("\\75 rl(", "url("),  # one whitespace after hex digits belongs to the escape
        ("\\75\r\nrl(", "url("),
        ("\\75  rl(", "u rl("),  # only one
        ("u\\rl(", "url("),
        ("\\0 \\d800 \\110000 x", "\ufffd\ufffd\ufffdx"),  # invalid code points
        ("ur/**/l(", "url("),
        ("a/* never closed", "a"),
        ('"/*" x "*/"', '"/*" x "*/"'),
        ('"a\\"/*" b', '"a"/*" b'),  # an escaped quote does not end the string
        ("'a\\\nb'", "'ab'"),  # a line continuation inside a string
        ("plain { fill: red }", "plain { fill: red }"),
    ],
)
def test_security_normalize_css_follows_the_tokenizer(css, normalised):
    assert normalize_css(css) == normalised


def test_security_benign_css_still_passes():
    style = (
        "/* brand colours */ .a { fill: url(#g) } .b { font-family: 'Helvetica\\2c Arial' }"
        ' .c { content: "\\201C quoted \\201D /* not a comment */" } .d { fill: \\23 fff }'
    )
    body = (
        f'<defs><linearGradient id="g"/></defs><style>{style}</style>'
        '<rect class="a" style="fill: url( \'#g\' ); /* note */ stroke: #000"'
        ' width="5" height="5"/>'
    )

    assert isinstance(check_svg(svg('width="10" height="10"', body)), SvgInfo)


@pytest.mark.parametrize("form", sorted(UTF16_FORMS))
def test_security_benign_utf16_svg_with_text_is_accepted(form):
    text = (
        f'<svg {NS} width="30" height="20"><text>Café 日本 \U0001f600</text>'
        '<rect fill="url(#g)"/><linearGradient id="g"/></svg>'
    )

    result = check_svg(UTF16_FORMS[form](text))

    assert result == SvgInfo(30, 20, None)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            b'<?xml version="1.0" encoding="latin-1"?>' + svg()[:-6] + b"<text>\xe9</text></svg>",
            id="latin1-declared",
        ),
        pytest.param(b"\xef\xbb\xbf" + svg(), id="utf8-bom"),
        pytest.param(b'<?xml version="1.0" encoding="windows-1252"?>' + svg(), id="cp1252"),
    ],
)
def test_security_declared_ascii_supersets_are_read(data):
    assert isinstance(check_svg(data), SvgInfo)


@pytest.mark.parametrize(
    ("data", "code", "words"),
    [
        pytest.param(
            b'<?xml version="1.0" encoding="UTF-7"?><svg xmlns="http://www.w3.org/2000/svg">'
            b"+ADw-script+AD4-1+ADw-/script+AD4-</svg>",
            "unreadable_file",
            "UTF-7",
            id="utf7",
        ),
        pytest.param(
            b'<?xml version="1.0" encoding="x-no-such"?>' + svg(),
            "unreadable_file",
            "x-no-such",
            id="unknown-encoding",
        ),
        pytest.param(f"<svg {NS}/>".encode("utf-32"), "unreadable_file", "UTF-32", id="utf32-bom"),
        pytest.param(
            f"<svg {NS}/>".encode("utf-32-le"), "unreadable_file", "UTF-32", id="utf32-no-bom"
        ),
        pytest.param(
            b"\xff\xfe" + '<?xml version="1.0" encoding="UTF-8"?><svg/>'.encode("utf-16-le"),
            "unreadable_file",
            "declaration",
            id="utf16-bom-says-utf8",
        ),
        pytest.param(
            b'<?xml version="1.0" encoding="UTF-16"?>' + svg(),
            "unreadable_file",
            "not UTF-16",
            id="says-utf16-is-ascii",
        ),
        pytest.param(
            b"\xef\xbb\xbf" + b'<?xml version="1.0" encoding="iso-8859-1"?>' + svg(),
            "unreadable_file",
            "declaration",
            id="utf8-bom-says-latin1",
        ),
        pytest.param(
            svg()[:-6] + b"<text>\xff\xfe</text></svg>", "unreadable_file", "utf-8", id="bad-utf8"
        ),
        pytest.param(
            svg(body="<text>é</text>")[:-8] + "é".encode()[:1],
            "truncated_file",
            "utf-8",
            id="cut-mid-char",
        ),
    ],
)
def test_security_svg_that_cannot_be_decoded_is_refused_with_its_reason(data, code, words):
    result = decode_svg(data)

    assert isinstance(result, MetadataFailure), result
    assert result.reason_code == code
    assert words in result.message
    assert check_svg(data) == result
