"""``GET /metrics``: the controller's Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    return Response(current_app.extensions["loaxa"].metrics.exposition(), mimetype=CONTENT_TYPE_LATEST)
