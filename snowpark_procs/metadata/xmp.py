"""The XMP packet's lineage and authoring fields, read by a streaming, defused XML parser.

XMP (ISO 16684-1, Adobe XMP Specification Part 1) is RDF/XML: a property is an attribute of an
rdf:Description (`xmp:CreatorTool="..."`) or a child element (`<xmp:CreatorTool>...`), a
structure (xmpMM:DerivedFrom, of type ResourceRef) holds its fields the same two ways, and
dc:title / dc:creator are arrays (rdf:Alt / rdf:Seq of rdf:li). Where the packet sits in each
format is in Part 3 (PSD image resource 1060, PNG iTXt "XML:com.adobe.xmp", JPEG APP1, TIFF tag
700, WebP "XMP " chunk, the PDF catalog's /Metadata stream, SVG <metadata>).

Only the document's own properties count: those of an rdf:Description directly under rdf:RDF.
The same names nested deeper describe other resources (xmpMM:Pantry and xmpMM:Ingredients list
placed files with their own DocumentID and InstanceID; xmpMM:History its events).

Bounded: the packet is fed to the parser at most `max_bytes` (a longer one is read no further:
the fields read come first in every writer's packets, Photoshop's megabytes of
photoshop:DocumentAncestors after them), values are cut, and a DTD or entity declaration (the
billion laughs) is refused by defusedxml: the caller's facet fails as hostile content.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import DefusedXMLParser

from snowpark_procs.metadata.clean import clean_optional

_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_XMP = "{http://ns.adobe.com/xap/1.0/}"
_XMP_MM = "{http://ns.adobe.com/xap/1.0/mm/}"
_ST_REF = "{http://ns.adobe.com/xap/1.0/sType/ResourceRef#}"
_DC = "{http://purl.org/dc/elements/1.1/}"
# property (expanded name) -> field of XmpFields
_SIMPLE = {
    f"{_XMP}CreatorTool": "creator_tool",
    f"{_XMP_MM}DocumentID": "document_id",
    f"{_XMP_MM}InstanceID": "instance_id",
}
_ARRAYS = {f"{_DC}title": "title", f"{_DC}creator": "author"}
_DERIVED_FROM = f"{_XMP_MM}DerivedFrom"
_DESCRIPTION = f"{_RDF}Description"
_RDF_ROOT = f"{_RDF}RDF"
_LI = f"{_RDF}li"
_DERIVED_DOCUMENT_ID = f"{_ST_REF}documentID"
_FEED_BYTES = 64 * 1024
_MAX_ITEMS = 20  # array items kept (authors of dc:creator)


@dataclass
class XmpFields:
    creator_tool: str | None = None
    document_id: str | None = None
    instance_id: str | None = None
    derived_from: str | None = None
    title: str | None = None
    author: str | None = None


@dataclass
class _Collector:
    """An ElementTree parser target: keeps the fields, never the tree."""

    limit: int
    fields: XmpFields = field(default_factory=XmpFields)
    stack: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    items: dict[str, list[str]] = field(default_factory=dict)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _DESCRIPTION and self._at(_RDF_ROOT):
            for name, value in attrib.items():
                if name in _SIMPLE:
                    self._set(_SIMPLE[name], value)
        elif _DERIVED_DOCUMENT_ID in attrib and self._in_derived_from([tag, *reversed(self.stack)]):
            self._set("derived_from", attrib[_DERIVED_DOCUMENT_ID])
        self.stack.append(tag)
        self.text = []

    def data(self, text: str) -> None:
        if sum(len(part) for part in self.text) < self.limit:
            self.text.append(text)

    def end(self, tag: str) -> None:
        self.stack.pop()
        value = "".join(self.text)
        self.text = []
        if tag in _SIMPLE and self._at(_DESCRIPTION, _RDF_ROOT):
            self._set(_SIMPLE[tag], value)
        elif tag == _DERIVED_DOCUMENT_ID and self._in_derived_from(self.stack[::-1]):
            self._set("derived_from", value)
        elif tag == _LI:
            owner = next((_ARRAYS[t] for t in reversed(self.stack) if t in _ARRAYS), None)
            items = self.items.setdefault(owner, []) if owner else None
            if items is not None and value.strip() and len(items) < _MAX_ITEMS:
                items.append(value)
        elif tag in _ARRAYS and self._at(_DESCRIPTION, _RDF_ROOT):
            items = self.items.pop(_ARRAYS[tag], [])
            # dc:title is an rdf:Alt (the first item is the default language), dc:creator an
            # rdf:Seq (authors in order).
            joined = items[0] if tag == f"{_DC}title" and items else "; ".join(items)
            self._set(_ARRAYS[tag], joined or value)

    def _at(self, *parents: str) -> bool:
        """The current element's parent, grandparent... are these (innermost first)."""
        depth = len(parents)
        return len(self.stack) >= depth and tuple(reversed(self.stack[-depth:])) == parents

    @staticmethod
    def _in_derived_from(chain: list[str]) -> bool:
        """The element whose ancestors are `chain` (innermost first, from the element itself
        or its parent) is the document's own xmpMM:DerivedFrom, or the rdf:Description that
        holds its fields."""
        own = (_DERIVED_FROM, _DESCRIPTION, _RDF_ROOT)
        return tuple(chain[:3]) == own or tuple(chain[:4]) == (_DESCRIPTION, *own)

    def close(self) -> XmpFields:
        return self.fields

    def _set(self, name: str, value: str) -> None:
        if getattr(self.fields, name) is None:
            setattr(self.fields, name, clean_optional(value, self.limit))


def read_xmp(packet: bytes, max_bytes: int, max_chars: int) -> XmpFields:
    """The fields of an XMP packet, reading at most max_bytes of it. Raises what defusedxml
    raises for a DTD or entities (DefusedXmlException) and expat for broken XML (ParseError),
    unless the packet was cut at max_bytes (then what was read is kept)."""
    collector = _Collector(max_chars)
    parser = DefusedXMLParser(
        target=collector, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    data = packet[:max_bytes].rstrip(b"\x00")
    for start in range(0, len(data), _FEED_BYTES):
        parser.feed(data[start : start + _FEED_BYTES])
    if len(packet) <= max_bytes:
        parser.close()
    return collector.fields


def read_xmp_element(element: Element, max_chars: int) -> XmpFields:
    """The fields of XMP already parsed into a tree (an SVG's <metadata>, which the SVG
    check parsed defused), walked without recursion."""
    collector = _Collector(max_chars)
    for event, node in _events(element):
        if event == "start":
            collector.start(str(node.tag), dict(node.attrib))
            if node.text:
                collector.data(node.text)
        else:
            collector.end(str(node.tag))
            if node.tail:
                collector.data(node.tail)
    return collector.fields


def _events(root: Element) -> Iterable[tuple[str, Element]]:
    stack: list[tuple[Element, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            yield "end", node
            continue
        yield "start", node
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node))
