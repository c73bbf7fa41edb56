"""The emergency page: approvers only, a confirmation step, then live delivery status per device.

The same page holds the kill switch (``/api/units/<id>/kill-switch``), the other
"stop everything" control a leader needs in a hurry.

The broadcast itself goes through ``POST /api/emergency`` (signed ``play_now`` on group
topics); this module adds the page and the per-device status the page polls.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from controller.plans import use_cases as plans
from web import auth
from web.ui_base import ctl, tree_rows

bp = Blueprint("ui_emergency", __name__)


@bp.get("/emergency")
@auth.access("emergency")
def page():
    engaged = {k.unit_id: k for k in ctl().security.kill_switches.engaged()}
    return render_template("emergency.html", title="Phát khẩn cấp", tree=tree_rows(), engaged=engaged,
                           links_down=plans.links_down(ctl(), auth.actor()))
