"""CAP 1.2 parsing: the OASIS examples read into the model; hostile and schema-invalid documents refused."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

from support.cap_docs import BILLION_LAUGHS, EXTERNAL_DTD, EXTERNAL_ENTITY, OASIS, TAN_LAP_83, vi_alert
from controller.alerts.cap import InvalidCap, parse_alert
from controller.alerts.xmlsafe import UnsafeXml

NOW = datetime(2026, 9, 6, 8, 0, tzinfo=timezone(timedelta(hours=7)))


def test_all_four_oasis_examples_are_schema_valid_and_parse():
    assert [p.name[:2] for p in OASIS] == ["a1", "a2", "a3", "a4"]
    alerts = {p.name[:2]: parse_alert(p.read_bytes()) for p in OASIS}
    a2 = alerts["a2"]
    assert a2.identifier == "KSTO1055887203" and a2.msg_type == "Alert" and a2.status == "Actual"
    assert a2.infos[0].severity == "Severe" and a2.infos[0].event_codes[0].value == "SVR"
    assert a2.infos[0].areas[0].polygons[0].points[0] == (38.47, -120.14)  # latitude first, as CAP writes it
    assert [g.value for g in a2.infos[0].areas[0].geocodes] == ["006109", "006009", "006003"]
    assert a2.expires == datetime(2003, 6, 17, 16, 0, tzinfo=timezone(timedelta(hours=-7)))
    a3 = alerts["a3"]
    assert a3.msg_type == "Update"
    assert a3.references[0].key == ("trinet@caltech.edu", "TRI13970876.1")
    assert a3.infos[0].areas[0].circles[0].radius_km == 0
    assert alerts["a1"].expires is None  # no expires: the intake caps its lifetime
    assert alerts["a1"].infos[0].language == "en-US"  # the schema's default
    assert alerts["a4"].source == "SW" and alerts["a4"].infos[0].areas[0].geocodes[0].value == "006037"


def test_vietnamese_alert_parses_with_its_risk_level():
    alert = parse_alert(vi_alert("SH-1", sent=NOW, expires=NOW + timedelta(hours=6)))
    info = alert.infos[0]
    assert info.is_vietnamese and info.parameter("riskLevel") == "4"
    assert info.areas[0].polygons[0].points[1] == (21.0, 105.083)
    assert alert.expires == NOW + timedelta(hours=6)


@pytest.mark.parametrize("mutate, code", [
    (lambda d: d.replace(b"<status>Actual</status>", b"<status>Real</status>"), "cap_schema_invalid"),
    (lambda d: d.replace(b"+07:00</sent>", b"Z</sent>"), "cap_schema_invalid"),  # the XSD refuses 'Z'
    (lambda d: d.replace(b"<scope>Public</scope>", b"").replace(b"<msgType>Alert</msgType>",
                                                               b"<msgType>Alert</msgType><scope>Public</scope>")
     .replace(b"<identifier>", b"<note>x</note><identifier>"), "cap_schema_invalid"),  # order matters
    (lambda d: d.replace(b"urn:oasis:names:tc:emergency:cap:1.2", b"urn:oasis:names:tc:emergency:cap:1.1"),
     "cap_schema_invalid"),
])
def test_schema_invalid_documents_are_refused(mutate, code, caplog):
    doc = mutate(vi_alert("SH-2", sent=NOW, expires=NOW + timedelta(hours=1)))
    with caplog.at_level(logging.WARNING), pytest.raises(InvalidCap) as err:
        parse_alert(doc)
    assert err.value.code == code and "CAP 1.2" in err.value.message
    assert "refused by the schema" in caplog.text


def test_polygon_that_is_not_closed_is_refused():
    doc = vi_alert("SH-3", sent=NOW, expires=None, polygons=(TAN_LAP_83.rsplit(" ", 1)[0],))
    with pytest.raises(InvalidCap) as err:
        parse_alert(doc)
    assert err.value.code == "cap_bad_polygon"


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD], ids=["entity-bomb", "xxe", "dtd"])
def test_hostile_xml_is_refused_and_logged(doc, caplog):
    with caplog.at_level(logging.WARNING), pytest.raises(UnsafeXml) as err:
        parse_alert(doc)
    assert err.value.code == "xml_forbidden_construct"
    assert "DTD" in caplog.text


def test_a_50_mb_document_is_refused_before_parsing(caplog):
    head = vi_alert("SH-4", sent=NOW, expires=None)
    doc = head.replace(b"</description>", b" " * (50 * 1024 * 1024) + b"</description>")
    with caplog.at_level(logging.WARNING), pytest.raises(UnsafeXml) as err:
        parse_alert(doc)
    assert err.value.code == "xml_too_large" and "KB" in err.value.message
    assert "bytes (limit" in caplog.text


def test_garbage_is_refused_as_malformed():
    with pytest.raises(UnsafeXml) as err:
        parse_alert(b"<alert><unclosed></alert>")
    assert err.value.code == "xml_malformed"
