"""JSON API of the bell: a person's own notifications, marking them read, and the address they are e-mailed to."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from web import auth
from web.api import body, ctl

bp = Blueprint("api_notifications", __name__, url_prefix="/api/notifications")


@bp.get("")
@auth.access("read")
def mine():
    unread = request.args.get("unread", "") in ("1", "true")
    items = ctl().notifications.for_person(auth.actor(), unread_only=unread)
    return jsonify({"unread": ctl().notifications.unread_count(auth.actor()), "items": [n.to_dict() for n in items]})


@bp.post("/<int:notification_id>/read")
@auth.access("read")
def read(notification_id: int):
    return ctl().notifications.mark_read(auth.actor(), notification_id).to_dict()


@bp.post("/read-all")
@auth.access("read")
def read_all():
    return ctl().notifications.mark_all_read(auth.actor()).to_dict()


@bp.put("/email")
@auth.access("read")
def email():
    return ctl().notifications.set_email(auth.actor(), body().get("email", "")).to_dict()
