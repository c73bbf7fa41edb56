"""Administration for admins: people and their roles, administrative units and devices.

The forms post to the JSON API (``/api/users``, ``/api/users/<name>`` and its ``password``,
``disable`` and ``enable`` actions, ``/api/units``, ``/api/devices``), which validates, scopes and
audits every change in one place; the page only offers what the viewer's scope allows.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from controller.devices import use_cases as devices
from controller.people import use_cases as people
from controller.people.users import ROLES
from web import auth
from web.ui_base import ctl, tree_rows

bp = Blueprint("ui_admin", __name__)


@bp.get("/admin")
@auth.access("manage")
def index():
    c, me = ctl(), auth.actor()
    users = people.list_users(c, me)
    disabled = people.list_users(c, me, disabled=True)
    names = {u.id: u.name for u in c.registry.units()}
    units = devices.units_in_scope(c, me)
    rules = f"Ít nhất {c.config.people.min_password_length} ký tự, không trùng tên đăng nhập."
    return render_template("admin.html", title="Quản trị", users=users, disabled_users=disabled, roles=ROLES,
                           tree=tree_rows(), units=units, names=names, whole_tree=me.scope.whole_tree,
                           me_name=me.username, password_rules=rules)

