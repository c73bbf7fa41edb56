"""CAP 1.2 documents as frozen dataclasses, read only after the OASIS schema accepts them.

The schema (``schema/CAP-v1.2.xsd``, the OASIS text) decides what is a CAP 1.2 alert; this
module never repairs a document.  Coordinates stay in CAP's own order (latitude first) in the
model; :mod:`controller.alerts.geo` is the one place that turns them into x/y geometry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from lxml import etree

from controller.alerts.xmlsafe import MAX_DOCUMENT_BYTES, UnsafeXml, parse_untrusted
from controller.errors import InputError

log = logging.getLogger(__name__)

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
SCHEMA_PATH = Path(__file__).with_name("schema") / "CAP-v1.2.xsd"
_N = {"c": CAP_NS}


class InvalidCap(InputError):
    """Well-formed XML that is not a valid CAP 1.2 alert."""


@dataclass(frozen=True)
class Reference:
    """One ``sender,identifier,sent`` triple of ``<references>`` (CAP §3.2.1)."""

    sender: str
    identifier: str
    sent: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.sender, self.identifier)


@dataclass(frozen=True)
class NamedValue:
    """A ``geocode``, ``parameter`` or ``eventCode``: a scheme name and a value."""

    name: str
    value: str


@dataclass(frozen=True)
class Circle:
    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True)
class Polygon:
    """A closed ring of (lat, lon) points, as CAP writes them."""

    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Area:
    desc: str
    polygons: tuple[Polygon, ...] = ()
    circles: tuple[Circle, ...] = ()
    geocodes: tuple[NamedValue, ...] = ()
    altitude: float | None = None
    ceiling: float | None = None


@dataclass(frozen=True)
class Resource:
    desc: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    digest: str | None = None


@dataclass(frozen=True)
class Info:
    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    response_types: tuple[str, ...] = ()
    audience: str | None = None
    event_codes: tuple[NamedValue, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[NamedValue, ...] = ()
    resources: tuple[Resource, ...] = ()
    areas: tuple[Area, ...] = ()

    @property
    def is_vietnamese(self) -> bool:
        return self.language.lower() in ("vi", "vi-vn")

    def parameter(self, *names: str) -> str | None:
        wanted = {n.lower() for n in names}
        return next((p.value for p in self.parameters if p.name.lower() in wanted), None)


@dataclass(frozen=True)
class Alert:
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    codes: tuple[str, ...] = ()
    note: str | None = None
    references: tuple[Reference, ...] = ()
    incidents: str | None = None
    infos: tuple[Info, ...] = ()
    signed: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """What identifies an alert across messages: its sender and identifier."""
        return (self.sender, self.identifier)

    @property
    def expires(self) -> datetime | None:
        """The latest ``expires`` of its infos; None when an info has none (the caller caps the lifetime)."""
        values = [i.expires for i in self.infos]
        if not values or any(v is None for v in values):
            return None
        return max(v for v in values if v is not None)


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.fromstring(SCHEMA_PATH.read_bytes(), etree.XMLParser(resolve_entities=False, no_network=True)))


def validate(root: etree._Element) -> None:
    """Raise :class:`InvalidCap` unless ``root`` is a CAP 1.2 alert the OASIS schema accepts."""
    schema = _schema()
    if not schema.validate(root):
        first = schema.error_log.filter_from_errors()[0] if schema.error_log.filter_from_errors() else None
        detail = f"dòng {first.line}: {first.message}" if first else "không rõ"
        log.warning("cap refused by the schema: %s", detail)
        raise InvalidCap("cap_schema_invalid", f"Tài liệu không đúng lược đồ CAP 1.2 ({detail}).", "document")


def parse_alert(data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Alert:
    """Parse and validate untrusted bytes (no signature check: see :mod:`controller.alerts.signature`)."""
    root = parse_untrusted(data, what="bản tin CAP", max_bytes=max_bytes)
    validate(root)
    return alert_from_element(root)


def alert_from_element(root: etree._Element, *, signed: bool = False) -> Alert:
    """Build the model from a schema-valid element (call :func:`validate` first)."""
    if root.tag != f"{{{CAP_NS}}}alert":
        raise InvalidCap("cap_not_alert", "Tài liệu không phải bản tin CAP 1.2.", "document")
    return Alert(
        identifier=_text(root, "identifier"),
        sender=_text(root, "sender"),
        sent=_time(_text(root, "sent")),
        status=_text(root, "status"),
        msg_type=_text(root, "msgType"),
        scope=_text(root, "scope"),
        source=_opt(root, "source"),
        restriction=_opt(root, "restriction"),
        addresses=_opt(root, "addresses"),
        codes=tuple(_all(root, "code")),
        note=_opt(root, "note"),
        references=_references(_opt(root, "references")),
        incidents=_opt(root, "incidents"),
        infos=tuple(_info(el) for el in root.findall("c:info", _N)),
        signed=signed,
    )


def _info(el: etree._Element) -> Info:
    return Info(
        language=_opt(el, "language") or "en-US",
        categories=tuple(_all(el, "category")),
        event=_text(el, "event"),
        urgency=_text(el, "urgency"),
        severity=_text(el, "severity"),
        certainty=_text(el, "certainty"),
        response_types=tuple(_all(el, "responseType")),
        audience=_opt(el, "audience"),
        event_codes=_named(el, "eventCode"),
        effective=_opt_time(el, "effective"),
        onset=_opt_time(el, "onset"),
        expires=_opt_time(el, "expires"),
        sender_name=_opt(el, "senderName"),
        headline=_opt(el, "headline"),
        description=_opt(el, "description"),
        instruction=_opt(el, "instruction"),
        web=_opt(el, "web"),
        contact=_opt(el, "contact"),
        parameters=_named(el, "parameter"),
        resources=tuple(
            Resource(desc=_text(r, "resourceDesc"), mime_type=_text(r, "mimeType"),
                     size=int(s) if (s := _opt(r, "size")) else None, uri=_opt(r, "uri"), digest=_opt(r, "digest"))
            for r in el.findall("c:resource", _N)
        ),
        areas=tuple(_area(a) for a in el.findall("c:area", _N)),
    )


def _area(el: etree._Element) -> Area:
    return Area(
        desc=_text(el, "areaDesc"),
        polygons=tuple(_polygon(p) for p in _all(el, "polygon")),
        circles=tuple(_circle(c) for c in _all(el, "circle")),
        geocodes=_named(el, "geocode"),
        altitude=float(v) if (v := _opt(el, "altitude")) else None,
        ceiling=float(v) if (v := _opt(el, "ceiling")) else None,
    )


def _point(text: str, where: str) -> tuple[float, float]:
    try:
        lat_s, lon_s = text.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise InvalidCap("cap_bad_coordinates", f"Toạ độ '{text}' trong {where} không hợp lệ (cần 'vĩ độ,kinh độ').",
                         "area") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidCap("cap_bad_coordinates", f"Toạ độ '{text}' trong {where} nằm ngoài phạm vi WGS 84.", "area")
    return (lat, lon)


def _polygon(text: str) -> Polygon:
    points = tuple(_point(p, "polygon") for p in text.split())
    if len(points) < 4 or points[0] != points[-1]:
        raise InvalidCap("cap_bad_polygon", "Đa giác CAP cần ít nhất 4 điểm và điểm đầu trùng điểm cuối.", "area")
    return Polygon(points)


def _circle(text: str) -> Circle:
    try:
        centre, radius = text.split()
        lat, lon = _point(centre, "circle")
        r = float(radius)
    except ValueError:
        raise InvalidCap("cap_bad_circle", f"Vòng tròn CAP '{text}' không hợp lệ (cần 'vĩ độ,kinh độ bán_kính_km').",
                         "area") from None
    if r < 0:
        raise InvalidCap("cap_bad_circle", "Bán kính vòng tròn CAP không được âm.", "area")
    return Circle(lat, lon, r)


def _references(text: str | None) -> tuple[Reference, ...]:
    if not text:
        return ()
    out = []
    for triple in text.split():
        parts = triple.split(",")
        if len(parts) != 3:
            raise InvalidCap("cap_bad_references", f"Tham chiếu '{triple}' không đúng dạng 'sender,identifier,sent'.",
                             "references")
        out.append(Reference(*parts))
    return tuple(out)


def _named(el: etree._Element, tag: str) -> tuple[NamedValue, ...]:
    return tuple(NamedValue(_text(n, "valueName"), _text(n, "value")) for n in el.findall(f"c:{tag}", _N))


def _text(el: etree._Element, tag: str) -> str:
    value = _opt(el, tag)
    if value is None:
        raise InvalidCap("cap_missing_field", f"Thiếu trường '{tag}'.", tag)
    return value


def _opt(el: etree._Element, tag: str) -> str | None:
    child = el.find(f"c:{tag}", _N)
    return None if child is None or child.text is None else child.text.strip()


def _all(el: etree._Element, tag: str) -> list[str]:
    return [c.text.strip() for c in el.findall(f"c:{tag}", _N) if c.text]


def _time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidCap("cap_bad_time", f"Thời điểm '{text}' không hợp lệ.", "sent") from None
    if value.tzinfo is None:
        raise InvalidCap("cap_bad_time", f"Thời điểm '{text}' thiếu múi giờ.", "sent")
    return value


def _opt_time(el: etree._Element, tag: str) -> datetime | None:
    text = _opt(el, tag)
    return _time(text) if text else None


__all__ = ["Alert", "Area", "Circle", "Info", "InvalidCap", "NamedValue", "Polygon", "Reference", "Resource",
           "UnsafeXml", "alert_from_element", "parse_alert", "validate"]
