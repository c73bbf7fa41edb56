"""Hostile-XML guard: every CAP or feed document passes here before anything reads it.

Alerts come from the network, so a document may be an entity bomb, reference an external
entity (file or URL), or simply be huge.  Two independent layers refuse them: defusedxml
rejects any DTD, entity declaration or external reference outright, and lxml parses with
entity resolution, DTD loading, network access and huge trees all off.  A size bound comes
first, so a 50 MB document is refused before any parser sees it.
"""

from __future__ import annotations

import logging

import defusedxml.ElementTree as defused
from defusedxml import DefusedXmlException
from lxml import etree

from controller.errors import InputError

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 1_000_000


class UnsafeXml(InputError):
    """The document was refused before being read: too big, a DTD, an entity, or not XML."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def parse_untrusted(data: bytes, *, what: str = "tài liệu", max_bytes: int = MAX_DOCUMENT_BYTES) -> etree._Element:
    """Parse untrusted bytes into an lxml element, or raise :class:`UnsafeXml` (and log why)."""
    if not isinstance(data, (bytes, bytearray)):
        raise UnsafeXml("xml_not_bytes", f"{what.capitalize()} phải là dữ liệu XML.", "document")
    if len(data) > max_bytes:
        log.warning("xml refused: %s is %d bytes (limit %d)", what, len(data), max_bytes)
        raise UnsafeXml("xml_too_large", f"{what.capitalize()} quá lớn ({len(data) // 1024} KB, tối đa {max_bytes // 1024} KB).",
                        "document")
    try:
        defused.fromstring(bytes(data), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        log.warning("xml refused: %s declares a DTD or entities (%s)", what, type(exc).__name__)
        raise UnsafeXml("xml_forbidden_construct", f"{what.capitalize()} chứa khai báo DTD hoặc thực thể XML, bị từ chối.",
                        "document") from None
    except defused.ParseError as exc:
        log.warning("xml refused: %s is not well-formed (%s)", what, exc)
        raise UnsafeXml("xml_malformed", f"{what.capitalize()} không phải XML hợp lệ: {exc}.", "document") from None
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as exc:
        log.warning("xml refused: %s rejected by the parser (%s)", what, exc)
        raise UnsafeXml("xml_malformed", f"{what.capitalize()} không phải XML hợp lệ: {exc}.", "document") from None
    if root is None:
        raise UnsafeXml("xml_malformed", f"{what.capitalize()} rỗng.", "document")
    return root
