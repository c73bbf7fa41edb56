"""JSON API of the map: the units' boundaries and the clusters with their status (GeoJSON), and where a cluster stands."""

from __future__ import annotations

from flask import Blueprint

from controller.devices import map_view
from web import auth
from web.api import body, ctl

bp = Blueprint("api_map", __name__, url_prefix="/api")


@bp.get("/map")
@auth.access("read")
def map_features():
    return map_view.map_data(ctl(), auth.actor(), ctl().config.map)


@bp.put("/devices/<device_id>/location")
@auth.access("manage")
def set_location(device_id: str):
    d = body()
    return map_view.set_location(ctl(), auth.actor(), device_id, d.get("lat"), d.get("lon")).to_dict()
