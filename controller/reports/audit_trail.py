"""The audit trail as an auditor reads it: who approved, sent emergencies, changed people, volumes and devices.

Entries are filtered by period (local days), person, action or group of actions and unit.  A
unit keeps the entries of the people placed at or below it and those whose target is the unit,
a unit below it or one of its devices.  Labels are Vietnamese; the actions themselves stay the
closed vocabulary of :data:`controller.reports.audit.ACTIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from controller.reports.audit import ACTIONS, AuditEntry
from controller.reports.spreadsheet import Column, write_csv, write_xlsx
from loaxa.local_time import to_local
from loaxa.wire_time import parse_time

ACTION_VI: dict[str, str] = {
    "login": "Đăng nhập", "login_failed": "Đăng nhập sai", "login_throttled": "Đăng nhập bị chặn tạm",
    "logout": "Đăng xuất", "user_added": "Thêm tài khoản", "user_updated": "Sửa tài khoản",
    "user_disabled": "Khóa tài khoản", "user_enabled": "Mở khóa tài khoản", "password_changed": "Đổi mật khẩu",
    "token_created": "Tạo mã truy cập API", "tokens_revoked": "Thu hồi mã truy cập API",
    "unit_added": "Thêm đơn vị", "device_added": "Thêm cụm loa", "device_revoked": "Thu hồi cụm loa",
    "device_enrolled": "Cụm loa đăng ký", "enrollment_code_issued": "Cấp mã đăng ký",
    "enrollment_refused": "Từ chối đăng ký", "device_volume": "Đổi âm lượng", "device_test_tone": "Phát âm thử",
    "device_flapping": "Cụm loa chập chờn", "bulletin_added": "Thêm bản tin", "broadcast_scheduled": "Lập lịch phát",
    "broadcast_edited": "Sửa lịch phát", "broadcast_submitted": "Gửi duyệt", "broadcast_cancelled": "Hủy lịch phát",
    "broadcast_approved": "Duyệt phát", "broadcast_rejected": "Từ chối phát", "emergency": "Phát khẩn cấp",
    "guardrails_changed": "Đổi quy định giờ phát", "emergency_unreached": "Khẩn cấp chưa tới cụm loa",
    "alert_source_added": "Thêm nguồn cảnh báo", "alert_policy_set": "Đặt chính sách cảnh báo",
    "alert_uploaded": "Tải lên cảnh báo", "alert_decision": "Quyết định tự động về cảnh báo",
    "alert_approved": "Duyệt cảnh báo", "alert_rejected": "Từ chối cảnh báo", "alert_stopped": "Dừng cảnh báo",
    "unit_geography_imported": "Nhập ranh giới đơn vị", "relay_source_added": "Thêm nguồn tiếp sóng",
    "relay_source_edited": "Sửa nguồn tiếp sóng", "relay_source_removed": "Xóa nguồn tiếp sóng",
    "device_key_requested": "Yêu cầu khóa riêng của cụm loa", "device_key_registered": "Cụm loa gửi khóa riêng",
    "kill_switch": "Bật công tắc ngắt", "kill_switch_lifted": "Tắt công tắc ngắt", "key_rotated": "Đổi khóa ký",
    "settings_changed": "Đổi cài đặt", "fleet_rollout": "Cập nhật phần mềm cụm loa",
    "fleet_rollback": "Quay lại phiên bản cũ", "fleet_rollout_resume": "Tiếp tục cập nhật",
    "fleet_rollout_paused": "Tạm dừng cập nhật", "device_restart_agent": "Khởi động lại phần mềm cụm loa",
    "device_reboot": "Khởi động lại cụm loa", "device_diagnostics": "Chẩn đoán cụm loa",
    "device_speaker_check": "Kiểm tra loa", "dictionary_entry_set": "Sửa từ điển đọc",
    "dictionary_entry_removed": "Xóa khỏi từ điển đọc", "retention_pruned": "Xóa dữ liệu cũ theo hạn lưu",
    "report_exported": "Tải báo cáo",
}

GROUPS: dict[str, tuple[str, frozenset[str]]] = {
    "approval": ("Duyệt và lịch phát", frozenset({
        "bulletin_added", "broadcast_scheduled", "broadcast_edited", "broadcast_submitted", "broadcast_cancelled",
        "broadcast_approved", "broadcast_rejected", "guardrails_changed"})),
    "emergency": ("Khẩn cấp và cảnh báo", frozenset({
        "emergency", "emergency_unreached", "alert_source_added", "alert_policy_set", "alert_uploaded",
        "alert_decision", "alert_approved", "alert_rejected", "alert_stopped", "kill_switch", "kill_switch_lifted"})),
    "people": ("Tài khoản và đăng nhập", frozenset({
        "login", "login_failed", "login_throttled", "logout", "user_added", "user_updated", "user_disabled",
        "user_enabled", "password_changed", "token_created", "tokens_revoked"})),
    "devices": ("Cụm loa và âm lượng", frozenset({
        "unit_added", "device_added", "device_revoked", "device_enrolled", "enrollment_code_issued",
        "enrollment_refused", "device_volume", "device_test_tone", "device_flapping", "fleet_rollout",
        "fleet_rollback", "fleet_rollout_resume", "fleet_rollout_paused", "device_restart_agent", "device_reboot",
        "device_diagnostics", "device_speaker_check", "unit_geography_imported", "relay_source_added",
        "relay_source_edited", "relay_source_removed", "device_key_requested", "device_key_registered"})),
    "system": ("Hệ thống", frozenset({
        "key_rotated", "settings_changed", "retention_pruned", "dictionary_entry_set", "dictionary_entry_removed",
        "report_exported"})),
}
DETAIL_VI = {"comment": "ý kiến", "title": "tiêu đề", "volume": "âm lượng", "role": "vai trò", "unit_id": "đơn vị",
             "unit": "đơn vị", "units": "đơn vị", "parent_id": "đơn vị cấp trên", "reason": "lý do",
             "devices": "cụm loa", "changes": "thay đổi", "via": "qua", "targets": "nơi phát", "report": "báo cáo",
             "format": "định dạng", "filters": "bộ lọc", "before": "trước", "after": "sau", "command_seq": "số lệnh",
             "name": "tên", "username": "tài khoản", "values": "giá trị", "count": "số lượng",
             "expires_at": "hết hạn lúc", "engaged": "đang bật", "was_engaged": "trước đó đang bật",
             "tokens_revoked": "mã API bị thu hồi", "had_credentials": "đã có tài khoản kết nối",
             "transition": "diễn biến", "rollout": "đợt cập nhật", "old_reading": "cách đọc cũ",
             "old_kind": "loại cũ", "rule": "quy tắc", "priority": "mức ưu tiên", "starts_at": "giờ bắt đầu",
             "url": "địa chỉ", "kind": "loại", "fallback_source_id": "nguồn dự phòng",
             "fallback_media_sha256": "thông báo dự phòng", "notice_file": "tệp thông báo", "duration_s": "số giây"}
VALUE_VI = {True: "có", False: "không", None: "–"}
COLUMNS = (Column("Thời điểm", 20), Column("Người thực hiện", 18), Column("Hành động", 28), Column("Mã hành động", 22),
           Column("Đối tượng", 24), Column("Chi tiết", 60), Column("Địa chỉ IP", 16))


def action_label(action: str) -> str:
    return ACTION_VI.get(action, action)


def actions_of(choice: str | None) -> frozenset[str] | None:
    """The actions a filter value means: a group name, one action, or None (all)."""
    if not choice:
        return None
    if choice in GROUPS:
        return GROUPS[choice][1]
    if choice in ACTIONS:
        return frozenset({choice})
    return frozenset()


@dataclass(frozen=True)
class ActionChoice:
    id: str
    label: str


@dataclass(frozen=True)
class ActionGroup:
    """A group of the trail's action filter (its id filters by the whole group), with its actions."""

    id: str
    label: str
    actions: tuple[ActionChoice, ...]


def action_choices() -> tuple[ActionGroup, ...]:
    """The filter's choices: the groups, each with its actions, in Vietnamese."""
    return tuple(ActionGroup(g, label, tuple(sorted((ActionChoice(a, action_label(a)) for a in members if a in ACTIONS),
                                                    key=lambda x: x.label)))
                 for g, (label, members) in GROUPS.items())


def details_text(details: Mapping[str, Any]) -> str:
    """The entry's details in one line ("ý kiến: Đồng ý; âm lượng: 60")."""
    parts = []
    for key, value in sorted(details.items()):
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, bool) or value is None:
            value = VALUE_VI[value]
        parts.append(f"{DETAIL_VI.get(key, key)}: {value}")
    return "; ".join(parts)[:1000]


@dataclass(frozen=True)
class TrailRow:
    id: int
    at: str
    at_local: datetime
    actor: str
    actor_name: str
    action: str
    action_label: str
    target: str
    details: str
    ip: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "actor": self.actor, "actor_name": self.actor_name,
                "action": self.action, "action_label": self.action_label, "target": self.target,
                "details": self.details, "ip": self.ip}


def trail_rows(entries: Sequence[AuditEntry], *, actions: frozenset[str] | None,
               in_unit: Callable[[AuditEntry], bool] | None, full_name: Callable[[str], str]) -> list[TrailRow]:
    """The entries kept by the action and unit filters, as rows for the page and the exports."""
    rows = []
    for e in entries:
        if actions is not None and e.action not in actions:
            continue
        if in_unit is not None and not in_unit(e):
            continue
        rows.append(TrailRow(e.id, e.at, to_local(parse_time(e.at, "at")).replace(tzinfo=None), e.actor,
                             full_name(e.actor), e.action, action_label(e.action), e.target, details_text(e.details),
                             e.ip))
    return rows


def _cells(r: TrailRow) -> list[Any]:
    who = f"{r.actor_name} ({r.actor})" if r.actor_name and r.actor_name != r.actor else r.actor
    return [r.at_local, who, r.action_label, r.action, r.target, r.details, r.ip]


def trail_csv(rows: Sequence[TrailRow]) -> bytes:
    return write_csv([c.label for c in COLUMNS], [_cells(r) for r in rows])


def trail_xlsx(rows: Sequence[TrailRow], heading: str) -> bytes:
    return write_xlsx("Nhật ký thao tác", heading, COLUMNS, [_cells(r) for r in rows])
