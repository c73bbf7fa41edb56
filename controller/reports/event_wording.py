"""What a device's machine words mean in Vietnamese, for every page and export that shows them.

Agents report event reasons as short codes (``missed_start``), counts (``3 items``) and,
for messages they refused, the English text of the protocol check.  People read none of
that: :func:`reason_text` turns each into a sentence, and :func:`event_label` names the
event, telling a routine refusal (a command or plan that arrived late or twice, which a
reconnection causes) apart from a real security warning.
"""

from __future__ import annotations

import re

EVENT_LABELS = {
    "delivered": "Đã nhận lịch", "started": "Bắt đầu phát", "finished": "Phát xong", "interrupted": "Bị ngắt",
    "failed": "Lỗi", "skipped": "Bỏ qua", "missed": "Không phát", "security": "Cảnh báo an ninh",
    "routine": "Bỏ qua tin cũ", "stream_started": "Bắt đầu tiếp sóng", "stream_finished": "Tiếp sóng xong",
    "stream_gap": "Tiếp sóng bị ngắt quãng", "updated": "Đã cập nhật phần mềm", "update_failed": "Cập nhật lỗi",
    "key_rollover": "Đổi khóa ký",
}

REASONS = {
    "missed_start": "Không bắt đầu kịp giờ (thiết bị bận hoặc mất điện)",
    "media_late": "Tệp âm thanh tải về chậm, quá giờ phát",
    "media_missing": "Thiếu tệp âm thanh",
    "slot_over": "Đã hết khung giờ phát",
    "decode_error": "Tệp âm thanh hỏng, không đọc được",
    "disk_full": "Thẻ nhớ đầy",
    "no_stream_output": "Không nhận được tín hiệu tiếp sóng",
    "output_error": "Không mở được card âm thanh",
    "agent_restart": "Phần mềm trên cụm loa khởi động lại",
    "preempted": "Nhường cho bản tin khẩn cấp",
    "stopped": "Bị dừng theo lệnh",
    "shutdown": "Cụm loa tắt máy",
    "kill_switch": "Đang khóa phát",
    "alert_stopped": "Cảnh báo đã kết thúc",
    "emergency_resend": "Gửi lại lệnh khẩn cấp",
    "expired": "Lệnh đã hết hạn khi tới nơi",
    "kill switch state": "Đồng bộ trạng thái khóa phát",
    "low_volume": "Âm lượng quá nhỏ",
    "quiet_hours": "Trong giờ yên tĩnh", "weekend": "Không phát cuối tuần",
    "cap_minutes_per_programme": "Quá thời lượng một chương trình",
    "cap_programmes_per_day": "Quá số chương trình một ngày",
}

_ITEMS = re.compile(r"^(\d+) items?$")
_REJECTED = re.compile(r"^rejected on (\w+): (.*)$", re.S)
_ROUTINE = (re.compile(r"^replayed command #(\d+)"), re.compile(r"^command #(\d+) expired"),
            re.compile(r"^plan v(\d+) expired"), re.compile(r"stale plan|older plan|plan v\d+ is not newer"))
_ROLLOVER = re.compile(r"^(?:release )?key rollover #(\d+)")
_CHANNELS = {"cmd": "lệnh", "plan": "lịch phát", "ack": "xác nhận", "keys": "khóa ký", "release": "bản cập nhật"}
_WHY = (
    (re.compile(r"^replayed command #(\d+) \(have #(\d+)\)"), "lệnh số {0} đã nhận rồi (đang có số {1})"),
    (re.compile(r"^command #(\d+) expired"), "lệnh số {0} đã hết hạn khi tới nơi"),
    (re.compile(r"^plan v(\d+) expired"), "lịch phát phiên bản {0} đã hết hạn"),
    (re.compile(r"bad signature"), "chữ ký không đúng"),
    (re.compile(r"signed with an unknown key"), "ký bằng khóa lạ"),
    (re.compile(r"not signed"), "không có chữ ký"),
    (re.compile(r"^(?:plan|command|ack) (?:is )?for (?:device )?"), "gửi nhầm thiết bị"),
    (re.compile(r"payload"), "nội dung không hợp lệ"),
    (re.compile(r"^field|missing field|not a valid id"), "nội dung sai định dạng"),
)


def is_routine(kind: str, reason: str | None) -> bool:
    """A refused message that only arrived late or twice: what a reconnection does, not an attack."""
    if kind != "security" or not reason:
        return False
    m = _REJECTED.match(reason)
    why = m.group(2) if m else reason
    return any(p.search(why) for p in _ROUTINE)


def event_label(kind: str, reason: str | None = "") -> str:
    if is_routine(kind, reason):
        return EVENT_LABELS["routine"]
    if kind == "security" and reason and _ROLLOVER.match(reason):
        return EVENT_LABELS["key_rollover"]
    return EVENT_LABELS.get(kind, kind)


def reason_text(reason: str | None) -> str:
    """A device's reason in Vietnamese; text that is already a person's words is kept as written."""
    if not reason:
        return ""
    if reason in REASONS:
        return REASONS[reason]
    if m := _ITEMS.match(reason):
        return f"{m.group(1)} mục"
    if m := _ROLLOVER.match(reason):
        return f"Đã chuyển sang khóa ký mới (lần đổi số {m.group(1)})"
    if m := _REJECTED.match(reason):
        channel = _CHANNELS.get(m.group(1), m.group(1))
        return f"Từ chối tin {channel}: {_why(m.group(2))}"
    if reason.startswith("rolled_back: "):
        return "Đã quay về bản cũ: " + reason_text(reason.removeprefix("rolled_back: "))
    if reason.isascii() and re.fullmatch(r"[a-z0-9_]+", reason):
        return "Lý do khác (mã: " + reason.replace("_", " ") + ")"
    return reason


def _why(text: str) -> str:
    for pattern, words in _WHY:
        if m := pattern.search(text):
            return words.format(*m.groups())
    return "tin không hợp lệ"
