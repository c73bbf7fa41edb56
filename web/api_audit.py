"""JSON endpoints of the audit page (the page itself is :mod:`web.ui_audit`)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from controller.errors import InputError
from controller.reports import logbook
from controller.reports import use_cases as reports
from web import auth
from web.ui_base import ctl

from web.ui_audit import compliance_data, logbook_data, outage_data, playback_rows, trail_data

bp = Blueprint("api_audit", __name__)


def _format() -> str:
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv", "xlsx"):
        raise InputError("invalid_format", "Định dạng phải là csv, xlsx hoặc json.", "format")
    return fmt


def _download(export: reports.Export) -> Response:
    return Response(export.chunks(), mimetype=export.mimetype,  # streamed: a spreadsheet leaves as it is written
                    headers={"Content-Disposition": f'attachment; filename="{export.filename}"'})


@bp.get("/api/audit/playback")
@auth.access("audit")
def log_api():
    """The playback log as JSON, or ``?format=csv|xlsx`` for a spreadsheet download."""
    fmt = _format()
    rows, filters = playback_rows()
    if fmt != "json":
        return _download(reports.export_playback(ctl(), auth.actor(), rows, filters, fmt))
    return jsonify({"filters": filters, "rows": [r.to_dict() for r in rows]})


@bp.get("/api/audit/trail")
@auth.access("audit")
def trail_api():
    """The audit trail filtered by period, person, action and unit; ``?format=csv|xlsx`` downloads it."""
    fmt = _format()
    data = trail_data()
    if fmt != "json":
        return _download(reports.export_audit_trail(ctl(), auth.actor(), data, fmt))
    return data.to_dict()


@bp.get("/api/audit/outages")
@auth.access("audit")
def outages_api():
    """Each cluster's offline periods over the period (from its online/offline history)."""
    return outage_data().to_dict()


@bp.get("/api/audit/compliance")
@auth.access("audit")
def compliance_api():
    return compliance_data().to_dict()


@bp.get("/api/audit/logbook")
@auth.access("audit")
def logbook_export():
    """The weekly logbook as JSON, or ``?format=csv|xlsx`` for a spreadsheet download."""
    fmt = _format()
    data = logbook_data()
    if fmt != "json":
        return _download(reports.export_logbook(ctl(), auth.actor(), data, fmt))
    return data.to_dict()
