"""What a file's author writes (layer names, text, XMP) and what its uploader names it reach an
operator's terminal (`pixelforge explain`) and browser (the Files page) as plain text: no
terminal escape sequence, no reordering bidi control, no Markdown link, image or style."""

from __future__ import annotations

import io

from markdown_it import MarkdownIt
from rich.console import Console

from dashboard.files_page import literal as markdown_literal
from orchestration.facet_tables import (
    facets_table,
    layers_table,
    literal,
    metadata_table,
    text_table,
)

# an OSC title change, a screen clear, a bell, a right-to-left override, a NUL
HOSTILE = "a\x1b]0;owned\x07b\x1b[2Jc\u202egnp.exe\x00d"


def printed(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(renderable)
    return out.getvalue()


def test_hostile_facet_values_reach_the_terminal_as_visible_escapes():
    assert literal(HOSTILE) == "a\\x1b]0;owned\\x07b\\x1b[2Jc\\u202egnp.exe\\x00d"
    layer = {
        "layer_index": 0, "depth": 0, "layer_name": HOSTILE, "layer_kind": "text",
        "is_visible": True, "opacity": 1.0, "blend_mode": HOSTILE, "bbox_left": 0,
        "bbox_top": 0, "bbox_right": 1, "bbox_bottom": 1,
    }  # fmt: skip
    run = {"text_source": "psd_text_layer", "text_ref": HOSTILE, "text": f"line\n{HOSTILE}"}
    design = dict.fromkeys(
        ("format", "width_px", "size_bytes", "uses_transparency", "animation_duration_ms",
         "document_id", "instance_id", "derived_from_document_id", "icc_profile", "color_space",
         "fonts", "dominant_color_hex", "phash", "thumbhash", "author")
    )  # fmt: skip
    design.update(creator_tool=HOSTILE, title=HOSTILE)
    # a failed facet's message may quote the file (a font name, an XML fragment)
    facet = {"facet": "text", "facet_version": 1, "facet_status": "failed", "reason": HOSTILE}
    for table in (
        layers_table([layer], 1),
        text_table([run], 1),
        metadata_table(design),
        facets_table([facet]),
    ):
        output = printed(table)
        assert not any(ch in output for ch in "\x1b\x07\x00\u202e"), repr(output)
        assert "owned" in output  # shown, as text


def test_hostile_names_shown_in_markdown_read_as_written():
    md = MarkdownIt("commonmark")
    for name in (
        "[click](http://evil.example/x)",
        "![pixel](http://evil.example/p.png)",
        "<img src=x onerror=alert(1)>",
        "team-a/**bold** _it_ `code` # heading.png",
        ":red[alarm] $x^2$ :smile:",
    ):
        html = md.render(markdown_literal(name))
        assert "<a " not in html and "<img" not in html and "<strong>" not in html, html
        assert "<em>" not in html and "<code>" not in html and "<h1>" not in html, html
        # the paragraph's text is the name itself
        text = md.parseInline(markdown_literal(name))[0].children
        assert "".join(t.content for t in text if t.type == "text") == name
