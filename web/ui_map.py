"""The map page: the units' boundaries and every cluster in the viewer's area, coloured by status.

The drawing is ``web/static/map.js`` (Leaflet, vendored under ``web/static/vendor/leaflet``)
from ``GET /api/map``; the same clusters are listed under the map for a screen reader or a
browser without JavaScript.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from controller.devices import map_view
from web import auth
from web.ui_base import ctl

bp = Blueprint("ui_map", __name__)


@bp.get("/map")
@auth.access("read")
def page():
    data = map_view.map_data(ctl(), auth.actor(), ctl().config.map)
    clusters = [f["properties"] for f in data["features"] if f["properties"]["layer"] == "device"]
    return render_template("map.html", title="Bản đồ", clusters=clusters, legend=data["legend"])
