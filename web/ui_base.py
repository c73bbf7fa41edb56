"""What every page of the web UI shares: the signed-in viewer, role checks, scoping, filters.

The UI is server-rendered and talks to the :class:`~controller.service.Controller` in-process.
Who may open a page is declared on each view with ``web.auth.access``; the admin-tree scope
comes from ``web.auth.scope`` too, so roles and scope are decided in one place.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Mapping

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from controller.errors import InputError
from controller.labels import BROADCAST_STATUS_VI, PRIORITY_VI
from controller.service import Controller
from controller.reports import event_wording
from controller.devices import use_cases as devices
from controller.people.users import User
from controller.plans import BulletinMedia
from controller.tree_records import Device, Unit
from web import auth
from loaxa.local_time import to_local
from loaxa.wire_time import parse_time

MIN_YEAR, MAX_YEAR = 2000, 2100
ROLE_NAMES_VI = {"admin": "Quản trị", "auditor": "Kiểm tra", "editor": "Biên tập", "approver": "Phê duyệt"}
# The badge filter's words: a broadcast's status from the controller's table, then the other
# states the pages show (device readiness and connection, playback events).
STATUS_VI = {
    **BROADCAST_STATUS_VI, "pending": "Chờ duyệt", "scheduled": "Đã lên lịch", "done": "Đã phát",
    "delivered": "Đã nhận lịch", "started": "Bắt đầu phát", "finished": "Phát xong", "interrupted": "Bị ngắt",
    "failed": "Lỗi", "skipped": "Bỏ qua", "missed": "Không phát", "security": "Cảnh báo an ninh",
    "ready": "Sẵn sàng", "not_ready": "Chưa sẵn sàng", "offline": "Mất kết nối", "online": "Trực tuyến",
    "unknown": "Không rõ", "never": "Chưa từng kết nối",
    "low_volume": "Âm lượng quá nhỏ",
}


def ctl() -> Controller:
    return current_app.extensions["loaxa"]


def viewer() -> User | None:
    """The signed-in user of this request (decided once, by ``web.auth``)."""
    return auth.current_user()


def unread_notifications() -> int:
    """How many notices the bell shows as unread for the signed-in person."""
    return ctl().notifications.unread_count(auth.actor()) if auth.current_user() else 0


# -- scope: the part of the admin tree a viewer may see ------------------------------------
def subtree(unit_id: str) -> set[str]:
    """Ids of ``unit_id`` and every unit below it (the same query that decides people's scope)."""
    return set(devices.subtree(ctl(), unit_id))


def scope_units() -> set[str]:
    return {u.id for u in devices.units_in_scope(ctl(), auth.actor())}


def scope_devices() -> list[Device]:
    return devices.devices_in_scope(ctl(), auth.actor())


def tree_rows() -> list[dict[str, Any]]:
    """Units in depth-first order with their depth and devices, for checkbox trees and tables."""
    units = ctl().registry.units()
    allowed = scope_units()
    by_parent: dict[str | None, list[Unit]] = {}
    for u in units:
        by_parent.setdefault(u.parent_id, []).append(u)
    devices_by_unit: dict[str, list[Device]] = {}
    for d in ctl().registry.devices():
        devices_by_unit.setdefault(d.unit_id, []).append(d)
    roots = [u for u in units if u.id in allowed and u.parent_id not in allowed]
    out: list[dict[str, Any]] = []

    def walk(u: Unit, depth: int) -> int:
        row = {**u.to_dict(), "depth": depth, "devices": devices_by_unit.get(u.id, [])}
        out.append(row)
        total = len(row["devices"])
        for c in sorted(by_parent.get(u.id, []), key=lambda x: x.name):
            if c.id in allowed:
                total += walk(c, depth + 1)
        row["total_devices"] = total
        return total

    for r in sorted(roots, key=lambda x: x.name):
        walk(r, 0)
    return out


def parse_day(value: Any, field: str) -> date | None:
    """A calendar date from a form or query (``YYYY-MM-DD``), within years people plan for."""
    if value in (None, ""):
        return None
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        raise InputError("invalid_date", "Ngày không hợp lệ; hãy chọn ngày trên lịch.", field) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InputError("invalid_date", f"Ngày phải trong khoảng năm {MIN_YEAR}–{MAX_YEAR}.", field)
    return day


def json_body() -> dict[str, Any]:
    """The request's JSON object (an empty one for a form post); anything else is refused."""
    if not request.is_json:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InputError("invalid_json", "Yêu cầu phải là một đối tượng JSON hợp lệ.")
    return data


# -- template filters -----------------------------------------------------------------------
def local_time(value: Any, fmt: str = "%H:%M %d/%m/%Y") -> str:
    """An ISO UTC time as Vietnamese local time; empty for nothing."""
    if not value:
        return ""
    try:
        t = value if isinstance(value, datetime) else parse_time(value, "time")
        return to_local(t).strftime(fmt)
    except ValueError:  # not a time, or a naive one: shown as stored rather than guessed
        return str(value)


def media_url(media: BulletinMedia | None) -> str:
    """Where a signed-in person's browser fetches a bulletin's audio (``/media`` is for devices)."""
    return f"/ui/media/{media.sha256}.{media.ext}" if media else ""


def _kind_and_reason(event: Mapping[str, Any] | Any) -> tuple[str, str | None]:
    """A playback event's kind and reason, from a record (the playback log's rows) or a mapping."""
    if isinstance(event, Mapping):
        return event.get("kind", ""), event.get("reason")
    return event.kind, event.reason


def event_label(event: Mapping[str, Any] | Any) -> str:
    """An event's kind in Vietnamese; a routine refusal after a reconnection is not a security warning."""
    return event_wording.event_label(*_kind_and_reason(event))


def event_badge(event: Mapping[str, Any] | Any) -> str:
    kind, reason = _kind_and_reason(event)
    if event_wording.is_routine(kind, reason):
        return "info"
    return {"finished": "ok", "failed": "bad", "skipped": "warn", "interrupted": "warn", "security": "bad"}.get(kind, "info")


def vi_label(value: Any, table: Mapping[str, str] | None = None) -> str:
    return (table or STATUS_VI).get(str(value), str(value))


ERROR_PAGES = {
    403: ("Không có quyền", "Bạn không có quyền mở trang này. Nếu cần, hãy nhờ quản trị viên cấp quyền."),
    404: ("Không tìm thấy", "Trang hoặc mục bạn tìm không có, hoặc nằm ngoài đơn vị bạn phụ trách."),
}

API_ERRORS = {403: "Bạn không có quyền thực hiện việc này.", 404: "Không tìm thấy."}


def _error_page(exc: HTTPException):
    """Vietnamese error pages for people; the API keeps answering JSON."""
    if request.path.startswith("/api/"):
        return jsonify({"error": API_ERRORS[exc.code], "code": exc.name.lower().replace(" ", "_")}), exc.code
    heading, message = ERROR_PAGES[exc.code]
    return render_template("error.html", title=heading, heading=heading, message=message), exc.code


def _page_for_people(response: Response) -> Response:
    """A refusal answered as JSON (by the access check) becomes a Vietnamese page outside the API."""
    if (response.status_code in ERROR_PAGES and response.is_json and not request.path.startswith("/api/")
            and request.method == "GET"):
        heading, message = ERROR_PAGES[response.status_code]
        data = response.get_json(silent=True) or {}
        page = render_template("error.html", title=heading, heading=heading, message=data.get("error") or message)
        return Response(page, response.status_code, mimetype="text/html")
    return response


def init_app(app: Flask) -> None:
    """The template helpers and error pages every page shares (``create_app`` registers the pages)."""
    app.add_template_filter(local_time, "local")
    app.add_template_filter(vi_label, "vi")
    app.add_template_filter(event_label, "event_label")
    app.add_template_filter(event_badge, "event_badge")
    app.add_template_filter(event_wording.reason_text, "reason_vi")
    app.add_template_global(lambda: devices.broker_link(ctl()), "broker_link")
    app.add_template_filter(media_url, "media_url")
    app.add_template_global(viewer, "viewer")
    app.add_template_global(unread_notifications, "unread_notifications")
    app.jinja_env.globals.update(PRIORITY_VI=PRIORITY_VI, ROLE_NAMES_VI=ROLE_NAMES_VI)
    for code in ERROR_PAGES:
        app.register_error_handler(code, _error_page)
    app.after_request(_page_for_people)
