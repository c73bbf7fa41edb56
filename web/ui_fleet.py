"""The fleet page (Đội loa): every pole's agent version and update state, the releases, staged
rollouts with their waves and pause state, fleet rollback in one click, and a pole's remote care
with its result history.  Reads come from ``controller.fleet`` in one call; the buttons post to
the fleet JSON API, except starting a rollout, whose form speaks in percent."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from controller.errors import InputError
from web import auth
from web.ui_base import ctl, json_body, scope_devices, tree_rows
from web.ui_devices import scoped_device

bp = Blueprint("ui_fleet", __name__)

FLEET_VI = {
    "": "Chưa rõ", "updated": "Đã cập nhật", "update_failed": "Cập nhật lỗi, đã quay về", "updating": "Đang cập nhật",
    "pending": "Chờ lượt", "sent": "Đã gửi lệnh", "failed": "Lỗi", "running": "Đang chạy", "paused": "Tạm dừng",
    "done": "Hoàn tất", "rolled_back": "Đã quay lui", "update": "Cập nhật", "rollback": "Quay lui",
    "finished": "Phát xong", "skipped": "Bỏ qua",
}


def _visible() -> set[str] | None:
    return None if auth.scope().whole_tree else {d.id for d in scope_devices()}


@bp.get("/fleet")
@auth.access("read")
def page():
    return render_template("fleet.html", title="Đội loa", fleet=ctl().fleet.overview(_visible()), units=tree_rows(),
                           FLEET_VI=FLEET_VI)


@bp.get("/fleet/devices/<device_id>")
@auth.access("read")
def care_page(device_id: str):
    device = scoped_device(device_id)
    return render_template("fleet_device.html", title=f"Chăm sóc {device.name}", d=device,
                           care=ctl().fleet.care_history(device_id), FLEET_VI=FLEET_VI)


@bp.post("/fleet/rollouts")
@auth.access("manage")
def start_rollout():
    """Start a staged rollout from the page's form: release, units or poles, canary share in percent."""
    data = json_body()
    targets = data.get("targets")
    if not isinstance(targets, list) or not targets:
        raise InputError("invalid_targets", "Chọn ít nhất một đơn vị hoặc cụm loa để cập nhật.", "targets")
    percent = _percent(data.get("canary_percent"))
    auth.require_devices(ctl().registry.resolve_targets(targets))
    ro = ctl().fleet.rollouts.start(data.get("release") or None, targets, auth.actor(),
                                    canary_share=percent / 100, waves=data.get("waves"))
    return {"id": ro.id, "status": ro.status}, 201


def _percent(value: Any) -> float:
    text = str(value if value is not None else "").strip().replace(",", ".").rstrip("%").strip()
    try:
        number = float(text)
    except ValueError:
        raise InputError("invalid_canary_share", "Tỉ lệ thử trước phải là số phần trăm, ví dụ 5.",
                         "canary_percent") from None
    if not 0 < number <= 100:
        raise InputError("invalid_canary_share", "Tỉ lệ thử trước phải lớn hơn 0 và không quá 100 %.",
                         "canary_percent")
    return number

