"""Areas to units on the made-up province Sơn Hà: polygons, circles and geocodes, each match explained."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from support.cap_docs import GEOJSON, OASIS, TAN_LAP_83, son_ha_tree, vi_alert
from controller.alerts.cap import parse_alert
from controller.alerts.geo import load_geojson, match_area
from controller.errors import InputError

NOW = datetime(2026, 9, 6, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def tree():
    return son_ha_tree()


@pytest.fixture(scope="module")
def geos(tree):
    return load_geojson(GEOJSON.read_text(), tree)


def areas(**kw):
    return parse_alert(vi_alert("SH-GEO", sent=NOW, expires=None, **kw)).infos[0].areas


def test_polygon_covering_83_percent_of_tan_lap_is_explained(tree, geos):
    matches = match_area(areas(), geos, tree)
    assert [m.unit_id for m in matches] == ["xa-tan-lap"]
    assert matches[0].explanation == "xã Tân Lập: đa giác 1 phủ 83 %"
    assert matches[0].fraction == pytest.approx(0.83, abs=0.005)


def test_axis_order_matters_lon_lat_written_as_cap_is_refused():
    """Vietnam's longitudes (> 90) written first cannot be latitudes: refused, not silently misplaced."""
    swapped = " ".join(",".join(reversed(p.split(","))) for p in TAN_LAP_83.split())
    with pytest.raises(InputError) as err:
        areas(polygons=(swapped,))
    assert err.value.code == "cap_bad_coordinates" and "105.0,21.0" in err.value.message


def test_second_polygon_is_numbered_and_each_unit_keeps_its_best_match(tree, geos):
    dong_son_half = "21.0,105.1 21.0,105.15 21.1,105.15 21.1,105.1 21.0,105.1"
    matches = match_area(areas(polygons=(TAN_LAP_83, dong_son_half)), geos, tree)
    assert {m.unit_id: m.explanation for m in matches} == {
        "xa-tan-lap": "xã Tân Lập: đa giác 1 phủ 83 %",
        "xa-dong-son": "xã Đông Sơn: đa giác 2 phủ 50 %",
    }


def test_circle_in_km_reaches_the_point_unit_and_its_neighbour(tree, geos):
    # 3 km around Bắc Sơn's centre (21.15 N, 105.15 E): all of Bắc Sơn, none of Tân Lập.
    matches = match_area(areas(polygons=(), circles=("21.15,105.15 3",)), geos, tree)
    assert [(m.unit_id, m.explanation) for m in matches] == [("xa-bac-son", "xã Bắc Sơn: vòng tròn 1 phủ 100 %")]


def test_zero_radius_circle_selects_the_unit_containing_the_point(tree, geos):
    matches = match_area(areas(polygons=(), circles=("21.05,105.05 0",)), geos, tree)
    assert [(m.unit_id, m.explanation) for m in matches] == [("xa-tan-lap", "xã Tân Lập: vòng tròn 1 có tâm nằm trong địa bàn")]


def test_geocodes_match_only_same_scheme_and_exact_value(tree, geos):
    assert [m.explanation for m in match_area(areas(polygons=(), geocodes=(("VN-ADM", "99005"),)), geos, tree)] == [
        "xã Ven Biển: mã vùng VN-ADM 99005 trùng"]
    assert match_area(areas(polygons=(), geocodes=(("OTHER", "99005"),)), geos, tree) == []
    assert match_area(areas(polygons=(), geocodes=(("VN-ADM", "9900"),)), geos, tree) == []  # no prefix match


def test_one_scheme_never_matches_every_target(tree, geos):
    """OBPlayer's bug: any SAME geocode matched every unit. Here the A.2 example's SAME codes match nothing."""
    a2 = parse_alert(next(p for p in OASIS if p.name.startswith("a2")).read_bytes())
    assert match_area(a2.infos[0].areas, geos, tree) == []
    a4 = parse_alert(next(p for p in OASIS if p.name.startswith("a4")).read_bytes())
    assert [m.unit_id for m in match_area(a4.infos[0].areas, geos, tree)] == ["xa-ven-bien"]  # SAME 006037 only


def test_a_province_geocode_selects_the_province_when_no_commune_matches(tree, geos):
    matches = match_area(areas(polygons=(), geocodes=(("VN-ADM", "99"),)), geos, tree)
    assert [m.unit_id for m in matches] == ["tinh-son-ha"]


def test_province_polygon_is_replaced_by_the_communes_it_reaches(tree, geos):
    whole = "21.0,105.0 21.0,105.3 21.2,105.3 21.2,105.0 21.0,105.0"
    units = {m.unit_id for m in match_area(areas(polygons=(whole,)), geos, tree)}
    assert units == {"xa-tan-lap", "xa-dong-son", "xa-hoa-binh", "xa-bac-son"}


@pytest.mark.parametrize("doc, code", [
    ("{", "geo_bad_json"),
    ('{"type": "Feature"}', "geo_not_collection"),
    ('{"type": "FeatureCollection", "features": [{"properties": {}, "geometry": null}]}', "geo_no_unit"),
    ('{"type": "FeatureCollection", "features": [{"properties": {"unit_id": "xa-tan-lap"}, '
     '"geometry": {"type": "Point", "coordinates": [105, 21]}}]}', "geo_no_radius"),
    ('{"type": "FeatureCollection", "features": [{"properties": {"unit_id": "xa-tan-lap"}, '
     '"geometry": {"type": "Polygon", "coordinates": [[[21, 205], [21, 206], [22, 206], [21, 205]]]}}]}', "geo_bad_coordinates"),
    ('{"type": "FeatureCollection", "features": [{"properties": {"unit_id": "khong-co"}, '
     '"geometry": {"type": "Point", "coordinates": [105, 21]}, "radius_km": 1}]}', "geo_no_radius"),
])
def test_bad_geojson_is_refused_in_vietnamese(tree, doc, code):
    with pytest.raises(InputError) as err:
        load_geojson(doc, tree)
    assert err.value.code == code and err.value.message
