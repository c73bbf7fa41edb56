"""The notifications page the bell opens: the person's notices, unread first in bold, and their e-mail address.

Marking read and the address go through the JSON API (:mod:`web.api_notifications`).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from web import auth
from web.ui_base import ctl

bp = Blueprint("ui_notifications", __name__)


@bp.get("/notifications")
@auth.access("read")
def page():
    actor = auth.actor()
    return render_template("notifications.html", title="Thông báo", items=ctl().notifications.for_person(actor, 200),
                           email=ctl().notifications.email_of(actor))
