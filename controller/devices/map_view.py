"""What the map draws: the units' boundaries and the speaker clusters, with their status, as GeoJSON.

Units carry the geography imported for official warnings (``unit_geography``, see
docs/alerts.md); a cluster stands at its own coordinates, or, until it has some, at the
centre of the nearest unit above it that has a shape (``placed: "unit"``), so a commune
that only imported boundaries still sees every cluster.  Only what lies in the actor's
scope is drawn.  Each cluster carries its status, the colour the map gives it, the title of
the programme it plays now, and the link to its page.

GeoJSON axis order is ``[longitude, latitude]``, as everywhere on the wire.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shapely.geometry import shape

from controller.devices.map_settings import MapSettings
from controller.tree_records import Device, Unit
from controller.errors import InputError
from controller.people import access
from controller.people.actor import Actor

if TYPE_CHECKING:
    from controller.service import Controller

STATUS_COLOURS = {"playing": "#0b5cad", "online": "#1a7f37", "flapping": "#b7791f", "offline": "#c62828",
                  "never": "#6b7280"}
STATUS_VI = {"playing": "Đang phát", "online": "Trực tuyến", "flapping": "Kết nối chập chờn", "offline": "Mất kết nối",
             "never": "Chưa kết nối lần nào"}


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float

    @classmethod
    def parse(cls, lat: Any, lon: Any) -> "Location | None":
        """A WGS 84 position from people's input; both empty clears it."""
        if lat in (None, "") and lon in (None, ""):
            return None
        values = []
        for name, value, bound in (("lat", lat, 90), ("lon", lon, 180)):
            if isinstance(value, str):
                value = value.strip().replace(",", ".")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InputError(f"invalid_{name}", f"{'Vĩ độ' if name == 'lat' else 'Kinh độ'} '{value}' không phải số.",
                                 name) from None
            if isinstance(value, bool) or not -bound <= number <= bound:
                raise InputError(f"invalid_{name}", f"{'Vĩ độ' if name == 'lat' else 'Kinh độ'} phải từ -{bound} đến {bound}.",
                                 name)
            values.append(number)
        return cls(values[0], values[1])


@dataclass(frozen=True)
class DeviceLocated:
    """Where a cluster now stands (``lat``/``lon`` None: cleared, the map places it in its unit)."""

    device_id: str
    lat: float | None
    lon: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "lat": self.lat, "lon": self.lon}


def device_status(device: Device) -> str:
    if not device.last_seen and not device.online:
        return "never"
    if not device.online:
        return "offline"
    if device.flapping:
        return "flapping"
    return "playing" if device.state.get("playing") else "online"


def set_location(c: Controller, actor: Actor, device_id: str, lat: Any, lon: Any) -> DeviceLocated:
    """Where a cluster stands (administrators of its unit), audited; empty values clear it."""
    access.require_permission(actor, "manage")
    access.require_devices(actor, [device_id])
    c.registry.device(device_id)
    where = Location.parse(lat, lon)
    with c.db.tx() as db:
        db.execute("UPDATE devices SET lat = ?, lon = ? WHERE id = ?",
                   [where.lat if where else None, where.lon if where else None, device_id])
        c.audit.record(actor, "device_located", device_id, {"lat": where.lat if where else None,
                                                             "lon": where.lon if where else None})
    return DeviceLocated(device_id, where.lat if where else None, where.lon if where else None)


def map_data(c: Controller, actor: Actor, settings: MapSettings) -> dict[str, Any]:
    """The FeatureCollection of the map page and the emergency page, with the tile source to draw under it."""
    units = {u.id: u for u in c.registry.units()}
    with c.db.tx() as db:
        geography = {r[0]: json.loads(r[1]) for r in db.execute("SELECT unit_id, feature_json FROM unit_geography")}
    devices = [d for d in c.registry.devices() if actor.scope.has_device(d.id)]
    under: dict[str, list[str]] = {}
    for d in devices:
        unit = d.unit_id
        while unit is not None:
            under.setdefault(unit, []).append(device_status(d))
            unit = _parent(unit, units)
    features = []
    centres: dict[str, list[float]] = {}
    for unit_id, feature in sorted(geography.items(), key=lambda kv: _depth(kv[0], units)):
        if unit_id not in units or not actor.scope.has_unit(unit_id) or not feature.get("geometry"):
            continue
        geom = shape(feature["geometry"])
        centres[unit_id] = [geom.centroid.x, geom.centroid.y]
        statuses = under.get(unit_id, [])
        features.append({"type": "Feature", "geometry": feature["geometry"], "properties": {
            "layer": "unit", "unit_id": unit_id, "name": units[unit_id].name, "level": units[unit_id].level,
            "radius_km": feature.get("properties", {}).get("radius_km"), "devices": len(statuses),
            "offline": sum(s in ("offline", "never") for s in statuses)}})
    titles = _playing_titles(c, devices)
    for d in devices:
        placed, point = "device", None
        if d.lat is not None and d.lon is not None:
            point = [d.lon, d.lat]
        else:
            unit = d.unit_id
            while unit is not None and unit not in centres:
                unit = _parent(unit, units)
            if unit is not None:
                placed, point = "unit", centres[unit]
        status = device_status(d)
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": point} if point else None,
                         "properties": {"layer": "device", "device_id": d.id, "name": d.name,
                                        "unit_id": d.unit_id, "unit_name": units[d.unit_id].name if d.unit_id in units else "",
                                        "status": status, "status_vi": STATUS_VI[status],
                                        "colour": STATUS_COLOURS[status], "playing": titles.get(d.id, ""),
                                        "placed": placed, "link": f"/devices/{d.id}"}})
    return {"type": "FeatureCollection", "features": features,
            "tiles": {"url": settings.tile_url, "attribution": settings.tile_attribution, "max_zoom": settings.max_zoom},
            "legend": [{"status": s, "label": STATUS_VI[s], "colour": STATUS_COLOURS[s]} for s in STATUS_COLOURS]}


def _parent(unit_id: str, units: dict[str, Unit]) -> str | None:
    return units[unit_id].parent_id if unit_id in units else None


def _depth(unit_id: str, units: dict[str, Unit]) -> int:
    depth, unit = 0, _parent(unit_id, units)
    while unit is not None and depth < 64:
        depth, unit = depth + 1, _parent(unit, units)
    return depth


def _playing_titles(c: Controller, devices: list[Device]) -> dict[str, str]:
    """The programme each playing cluster plays now: its bulletin's title, never the item id."""
    out = {}
    with c.db.tx() as db:
        for d in devices:
            item = d.state.get("playing") if d.online else None
            if not item:
                continue
            row = db.execute(
                "SELECT b.title FROM playback_events p JOIN broadcasts bc ON bc.id = p.broadcast_id "
                "JOIN bulletins b ON b.id = bc.bulletin_id WHERE p.device_id = ? AND p.item_id = ? "
                "ORDER BY p.id DESC LIMIT 1", [d.id, item]).fetchone()
            out[d.id] = (row[0] if row and row[0] else "") or "một chương trình"
    return out
