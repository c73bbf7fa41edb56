"""Areas to units: which units of the tree an alert's polygons, circles and geocodes reach.

Units get optional geography from GeoJSON (boundary polygon, or a centroid with a radius,
plus geocodes).  The axis orders differ and are the classic trap: GeoJSON writes
``[lon, lat]``, CAP writes ``"lat,lon"``.  Both become shapely geometry in one local metric
plane (kilometres, equirectangular around the unit), so a CAP circle's radius and the
covered share of a unit are measured in the same units.

Geocodes match only on the same scheme name and the exact value: one scheme can never match
every target.  Every match carries its explanation in Vietnamese for the official.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Iterable

import numpy
import shapely
from shapely.geometry import MultiPolygon, Point, shape
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry.base import BaseGeometry

from controller.alerts.cap import Area, Circle, NamedValue
from controller.alerts.cap import Polygon as CapPolygon
from controller.errors import InputError
from schedules.tree import AdminTree

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320


@dataclass(frozen=True)
class UnitGeo:
    """A unit's geography, in WGS 84 (x = longitude, y = latitude)."""

    unit_id: str
    boundary: BaseGeometry | None = None
    centroid: tuple[float, float] | None = None  # (lat, lon)
    radius_km: float | None = None
    geocodes: tuple[NamedValue, ...] = ()

    @property
    def origin(self) -> tuple[float, float] | None:
        """(lat, lon) the local plane is centred on; None for a unit known by geocodes only."""
        if self.boundary is not None:
            c = self.boundary.centroid
            return (c.y, c.x)
        return self.centroid

    def shape_km(self, origin: tuple[float, float]) -> BaseGeometry | None:
        if self.boundary is not None:
            return shapely.transform(self.boundary, _projector(origin))
        if self.centroid is not None and self.radius_km:
            x, y = _project(origin, self.centroid[0], self.centroid[1])
            return Point(x, y).buffer(self.radius_km, quad_segs=64)
        return None


@dataclass(frozen=True)
class Match:
    unit_id: str
    kind: str  # polygon | circle | geocode
    index: int  # 1-based number of the polygon/circle within the info, 0 for a geocode
    fraction: float  # share of the unit covered, 1.0 for a geocode
    explanation: str


def _project(origin: tuple[float, float], lat: float, lon: float) -> tuple[float, float]:
    lat0, lon0 = origin
    return ((lon - lon0) * KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0)), (lat - lat0) * KM_PER_DEG_LAT)


def _projector(origin: tuple[float, float]):
    """Vectorised (lon, lat) → km, for :func:`shapely.transform`."""
    lat0, lon0 = origin
    scale = numpy.array([KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0)), KM_PER_DEG_LAT])

    def project(coords: numpy.ndarray) -> numpy.ndarray:
        return (coords - numpy.array([lon0, lat0])) * scale
    return project


def load_geojson(text: str | bytes, tree: AdminTree | None = None) -> dict[str, UnitGeo]:
    """Read unit geography from a GeoJSON FeatureCollection.

    Each feature names its unit in ``properties.unit_id``; a Point needs
    ``properties.radius_km``; ``properties.geocodes`` is ``{"scheme": "value" | [values]}``.
    """
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InputError("geo_bad_json", f"Tệp GeoJSON không đọc được: {exc}.", "geojson") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise InputError("geo_not_collection", "Tệp GeoJSON phải là một FeatureCollection.", "geojson")
    out: dict[str, UnitGeo] = {}
    for n, feature in enumerate(doc["features"], 1):
        geo = _feature(feature, n)
        if tree is not None and geo.unit_id not in {u.id for u in tree.units}:
            raise InputError("geo_unknown_unit", f"Đối tượng {n}: không có đơn vị '{geo.unit_id}' trong cây.", "geojson")
        if geo.unit_id in out:
            raise InputError("geo_duplicate_unit", f"Đơn vị '{geo.unit_id}' có hai vùng địa lý.", "geojson")
        out[geo.unit_id] = geo
    return out


def _feature(feature: Any, n: int) -> UnitGeo:
    props = feature.get("properties") if isinstance(feature, dict) else None
    if not isinstance(props, dict) or not isinstance(props.get("unit_id"), str):
        raise InputError("geo_no_unit", f"Đối tượng {n} thiếu properties.unit_id.", "geojson")
    unit_id = props["unit_id"]
    codes = _geocodes(props.get("geocodes", {}), n)
    geometry = feature.get("geometry")
    if geometry is None:
        if not codes:
            raise InputError("geo_empty", f"Đơn vị '{unit_id}' không có vùng cũng không có mã vùng.", "geojson")
        return UnitGeo(unit_id, geocodes=codes)
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise InputError("geo_bad_geometry", f"Vùng của đơn vị '{unit_id}' không hợp lệ: {exc}.", "geojson") from None
    if isinstance(geom, Point):
        radius = props.get("radius_km")
        if not isinstance(radius, (int, float)) or radius <= 0:
            raise InputError("geo_no_radius", f"Đơn vị '{unit_id}' là một điểm, cần radius_km > 0.", "geojson")
        _check_lonlat(geom.y, geom.x, unit_id)
        return UnitGeo(unit_id, centroid=(geom.y, geom.x), radius_km=float(radius), geocodes=codes)
    if not isinstance(geom, (ShapelyPolygon, MultiPolygon)) or geom.is_empty or not geom.is_valid:
        raise InputError("geo_bad_geometry", f"Vùng của đơn vị '{unit_id}' phải là Polygon/MultiPolygon hợp lệ.",
                         "geojson")
    minx, miny, maxx, maxy = geom.bounds
    _check_lonlat(miny, minx, unit_id)
    _check_lonlat(maxy, maxx, unit_id)
    return UnitGeo(unit_id, boundary=geom, geocodes=codes)


def _check_lonlat(lat: float, lon: float, unit_id: str) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError("geo_bad_coordinates", f"Toạ độ của đơn vị '{unit_id}' ngoài phạm vi (GeoJSON ghi kinh độ trước).",
                         "geojson")


def _geocodes(value: Any, n: int) -> tuple[NamedValue, ...]:
    if not isinstance(value, dict):
        raise InputError("geo_bad_geocodes", f"Đối tượng {n}: geocodes phải là {{\"tên\": \"mã\"}}.", "geojson")
    out = []
    for name, codes in value.items():
        for code in codes if isinstance(codes, list) else [codes]:
            if not isinstance(code, str) or not code:
                raise InputError("geo_bad_geocodes", f"Đối tượng {n}: mã vùng '{name}' không hợp lệ.", "geojson")
            out.append(NamedValue(str(name), code))
    return tuple(out)


def _cap_polygon_km(poly: CapPolygon, origin: tuple[float, float]) -> BaseGeometry:
    ring = ShapelyPolygon([_project(origin, lat, lon) for lat, lon in poly.points])
    return ring if ring.is_valid else ring.buffer(0)


def _cap_circle_km(circle: Circle, origin: tuple[float, float]) -> BaseGeometry:
    x, y = _project(origin, circle.lat, circle.lon)
    return Point(x, y) if circle.radius_km == 0 else Point(x, y).buffer(circle.radius_km, quad_segs=64)


def _percent(fraction: float) -> str:
    if fraction < 0.01:
        return "dưới 1 %"
    return f"{min(100, round(fraction * 100))} %"


def match_area(areas: Iterable[Area], geos: dict[str, UnitGeo], tree: AdminTree,
               min_fraction: float = 0.0) -> list[Match]:
    """Every unit an info's areas reach, most specific units only, each with its explanation."""
    areas = list(areas)
    polygons = [p for a in areas for p in a.polygons]
    circles = [c for a in areas for c in a.circles]
    geocodes = {(g.name.lower(), g.value) for a in areas for g in a.geocodes}
    best: dict[str, Match] = {}
    for unit_id, geo in geos.items():
        name = tree.name(unit_id) if unit_id in tree else unit_id
        found: list[Match] = []
        for code in geo.geocodes:
            if (code.name.lower(), code.value) in geocodes:
                found.append(Match(unit_id, "geocode", 0, 1.0, f"{name}: mã vùng {code.name} {code.value} trùng"))
        origin = geo.origin
        unit_shape = geo.shape_km(origin) if origin is not None else None
        if unit_shape is not None and unit_shape.area > 0:
            for kind, items, build in (("polygon", polygons, _cap_polygon_km), ("circle", circles, _cap_circle_km)):
                for i, item in enumerate(items, 1):
                    alert_shape = build(item, origin)
                    label = "đa giác" if kind == "polygon" else "vòng tròn"
                    if alert_shape.area == 0:
                        if unit_shape.intersects(alert_shape):
                            found.append(Match(unit_id, kind, i, 0.0, f"{name}: {label} {i} có tâm nằm trong địa bàn"))
                        continue
                    fraction = unit_shape.intersection(alert_shape).area / unit_shape.area
                    if fraction > min_fraction:
                        found.append(Match(unit_id, kind, i, fraction, f"{name}: {label} {i} phủ {_percent(fraction)}"))
        if found:
            best[unit_id] = max(found, key=lambda m: m.fraction)
    return sorted((best[u] for u in best if _most_specific(u, best, geos, tree)), key=lambda m: (-m.fraction, m.unit_id))


def _most_specific(unit_id: str, best: dict[str, Match], geos: dict[str, UnitGeo], tree: AdminTree) -> bool:
    """A unit stands for its whole subtree, so it is kept only if nothing below it decided already.

    A matched sub-unit always wins.  A shape matching the parent yields to sub-units that have
    shapes of their own (their shapes decide); a geocode naming the parent keeps it.
    """
    below = tree.subtree(unit_id) - {unit_id} if unit_id in tree else frozenset()
    if any(d in best for d in below):
        return False
    if best[unit_id].kind == "geocode":
        return True
    return not any(d in geos and geos[d].origin is not None for d in below)
