"""The Vietnamese words an alert is read with, and the all-clear when it is cancelled.

A ``vi``/``vi-VN`` info block is read as the sender wrote it.  Otherwise a template per event
type says the event, the area (from our own unit names, which are Vietnamese), the risk
level, a standard instruction and the time of issue; such a script is only a draft, because
the sender's own words were in another language.  Every script restates the time of issue,
since repeats must (QĐ 03/2020 practice, kept by QĐ 18/2021).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controller.alerts.cap import Alert, Info
from controller.alerts.policy import describe_risk, risk_level
from loaxa.local_time import to_local

MAX_SCRIPT_CHARS = 2000

# Event names as NCHMF's SmartAlert Vietnamese translation has them, plus QĐ 18/2021 hazard families.
EVENT_NAMES: dict[str, str] = {
    "tropical depression": "áp thấp nhiệt đới",
    "tropical storm": "bão",
    "severe tropical storm": "bão mạnh",
    "typhoon": "bão rất mạnh",
    "super typhoon": "siêu bão",
    "tropical cyclone": "bão",
    "storm": "bão",
    "wind": "gió mạnh",
    "strong wind": "gió mạnh",
    "rain": "mưa lớn",
    "heavy rain": "mưa lớn",
    "flood": "lũ",
    "flash flood": "lũ quét",
    "landslide": "sạt lở đất",
    "heat": "nắng nóng",
    "drought": "hạn hán",
    "cold": "rét đậm, rét hại",
    "fog": "sương mù",
    "storm surge": "nước dâng do bão",
    "thunderstorm": "dông, lốc, sét",
    "severe thunderstorm": "dông, lốc, sét",
    "hail": "mưa đá",
    "forest fire": "cháy rừng",
    "fire": "cháy",
    "earthquake": "động đất",
    "tsunami": "sóng thần",
}
STORM_INSTRUCTION = "Người dân chằng chống nhà cửa, không ra khơi, không ở trong lều lán ven biển, sẵn sàng sơ tán khi có lệnh."
FLOOD_INSTRUCTION = "Người dân không đi qua ngầm tràn, suối, vùng trũng; di chuyển người và tài sản lên nơi cao, sẵn sàng sơ tán."
INSTRUCTIONS: dict[str, str] = {
    "áp thấp nhiệt đới": STORM_INSTRUCTION, "bão": STORM_INSTRUCTION, "bão mạnh": STORM_INSTRUCTION,
    "bão rất mạnh": STORM_INSTRUCTION, "siêu bão": STORM_INSTRUCTION, "nước dâng do bão": STORM_INSTRUCTION,
    "mưa lớn": FLOOD_INSTRUCTION, "lũ": FLOOD_INSTRUCTION, "lũ quét": FLOOD_INSTRUCTION,
    "sạt lở đất": "Người dân ở sườn đồi, ven sông suối theo dõi dấu hiệu sạt lở và di dời khỏi nơi nguy hiểm.",
    "dông, lốc, sét": "Người dân tránh trú dưới gốc cây, cột điện; không đứng ở nơi trống trải.",
    "động đất": "Người dân tránh xa nhà yếu, tường cao; ra nơi thoáng đãng.",
    "sóng thần": "Người dân vùng ven biển lập tức di chuyển lên vùng cao, tránh xa bờ biển.",
}
DEFAULT_INSTRUCTION = "Người dân theo dõi thông tin và làm theo hướng dẫn của chính quyền địa phương."


@dataclass(frozen=True)
class Script:
    title: str
    text: str
    language: str
    draft: bool  # True when the text is ours, not the sender's Vietnamese: an official must approve it


def choose_info(alert: Alert) -> Info | None:
    """The ``vi``/``vi-VN`` block if there is one, else the first."""
    return next((i for i in alert.infos if i.is_vietnamese), alert.infos[0] if alert.infos else None)


def event_name(info: Info) -> str:
    key = info.event.strip().lower()
    if key in EVENT_NAMES:
        return EVENT_NAMES[key]
    for english, vi in sorted(EVENT_NAMES.items(), key=lambda kv: -len(kv[0])):
        if english in key:
            return vi
    return "thiên tai" if "Met" in info.categories or "Geo" in info.categories else "sự cố khẩn cấp"


def issue_time_vi(moment: datetime) -> str:
    local = to_local(moment)
    return f"{local.hour} giờ {local.minute:02d} phút ngày {local.day} tháng {local.month} năm {local.year}"


def _sentence(text: str | None) -> str:
    text = " ".join((text or "").split())
    return "" if not text else text if text[-1] in ".!?…" else text + "."


def alert_script(alert: Alert, info: Info, area_names: list[str]) -> Script:
    """The spoken text for ``info`` of ``alert``, for listeners in ``area_names``."""
    level = risk_level(info)
    issued = f"Bản tin phát hành lúc {issue_time_vi(alert.sent)}."
    area = ", ".join(area_names) if area_names else "địa bàn"
    if info.is_vietnamese:
        name = info.event.strip()
        title = info.headline or f"Cảnh báo {name}"
        parts = [f"Cảnh báo {name}.", _sentence(info.headline), f"Khu vực ảnh hưởng: {area}.",
                 _sentence(describe_risk(level).capitalize()) if level else "", _sentence(info.description),
                 _sentence(info.instruction), issued]
        draft = False
    else:
        name = event_name(info)
        title = f"Cảnh báo {name} ({info.event})"
        parts = [f"Cảnh báo {name}.", f"Khu vực ảnh hưởng: {area}.", _sentence(describe_risk(level).capitalize()),
                 INSTRUCTIONS.get(name, DEFAULT_INSTRUCTION), issued]
        draft = True
    text = " ".join(p for p in parts if p)
    if len(text) > MAX_SCRIPT_CHARS:
        text = text[: MAX_SCRIPT_CHARS - len(issued) - 2].rsplit(" ", 1)[0] + "… " + issued
    return Script(title=title[:200], text=text, language="vi" if not draft else info.language, draft=draft)


def all_clear_script(alert: Alert, info: Info, area_names: list[str]) -> Script:
    """A short all-clear, read once when a cancel arrives (if the policy asks for it)."""
    name = info.event.strip() if info.is_vietnamese else event_name(info)
    area = ", ".join(area_names) if area_names else "địa bàn"
    text = (f"Thông báo kết thúc cảnh báo {name} cho {area}. "
            f"Cảnh báo phát hành lúc {issue_time_vi(alert.sent)} đã được cơ quan ban hành hủy bỏ.")
    return Script(title=f"Kết thúc cảnh báo {name}", text=text, language="vi", draft=not info.is_vietnamese)
