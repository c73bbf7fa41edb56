"""Administration for admins: people and their roles, administrative units and devices.

The forms post to the JSON API (``/api/users``, ``/api/users/<name>`` and its ``password``,
``disable`` and ``enable`` actions, ``/api/units``, ``/api/devices``), which validates, scopes and
audits every change in one place; the page only offers what the viewer's scope allows.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from controller.people.users import ROLES
from web import auth
from web.api_people import in_scope
from web.ui_base import ctl, scope_units, tree_rows

bp = Blueprint("ui_admin", __name__)


@bp.get("/admin")
@auth.access("manage")
def index():
    s = auth.scope()
    users = [u for u in ctl().users.list() if in_scope(u)]
    disabled = [u for u in ctl().users.list(disabled=True) if in_scope(u)]
    names = {u["id"]: u["name"] for u in ctl().registry.units()}
    units = [u for u in ctl().registry.units() if u["id"] in scope_units()]
    rules = f"Ít nhất {ctl().config.people.min_password_length} ký tự, không trùng tên đăng nhập."
    return render_template("admin.html", title="Quản trị", users=users, disabled_users=disabled, roles=ROLES,
                           tree=tree_rows(), units=units, names=names, whole_tree=s.whole_tree,
                           me_name=auth.require_permission("manage").username, password_rules=rules)
