"""JSON endpoints of the audit page (the page itself is :mod:`web.ui_audit`)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from controller.errors import InputError
from controller.reports import logbook
from web import auth

from web.ui_audit import compliance_data, logbook_data, playback_rows

bp = Blueprint("api_audit", __name__)


@bp.get("/api/audit/playback")
@auth.access("audit")
def log_api():
    rows, filters = playback_rows()
    return jsonify({"filters": filters, "rows": rows})


@bp.get("/api/audit/compliance")
@auth.access("audit")
def compliance_api():
    return compliance_data().to_dict()


@bp.get("/api/audit/logbook")
@auth.access("audit")
def logbook_export():
    """The weekly logbook as JSON, or ``?format=csv|xlsx`` for a spreadsheet download."""
    data = logbook_data()
    fmt = request.args.get("format", "json")
    name = f"so-nhat-ky-{data.unit or 'tat-ca'}-{data.week}"
    if fmt == "csv":
        return Response(logbook.logbook_csv(data.rows), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        return Response(logbook.logbook_xlsx(data.rows, data.heading),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    if fmt != "json":
        raise InputError("invalid_format", "Định dạng phải là csv, xlsx hoặc json.", "format")
    return data.to_dict()
