"""Compose a bulletin: text or a document, PDF, scan or photo → cleaned script → spoken reading → preview → schedule.

The page drives these JSON endpoints step by step; every one validates its input and
stores nothing on refusal, so an official can fix a field and retry without losing work.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, render_template, request

from controller.plans import read_upload
from controller.errors import InputError
from loaxa.local_time import LOCAL_TZ
from loaxa.wire_time import utcnow
from controller.plans import use_cases as plans
from web import auth
from web.ui_base import ctl, json_body, parse_day, tree_rows

log = logging.getLogger(__name__)

bp = Blueprint("ui_compose", __name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
AUDIO_EXTS = {".mp3", ".wav", ".m4a", ".ogg", ".oga", ".opus"}
WEEKDAY_SETS = {"daily": list(range(7)), "weekdays": [0, 1, 2, 3, 4]}


# -- reading the source ----------------------------------------------------------------------
def source_text() -> Any:
    """The text an official pasted or uploaded; the bulletin cleaner checks it is neither empty nor too long.

    An uploaded file is read by its content, whatever its name (text, Word, PDF, scan or
    photo; see :func:`controller.plans.read_upload`)."""
    upload = request.files.get("file")
    if not (upload and upload.filename):
        return json_body().get("text", "") if request.is_json else request.form.get("text", "")
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError("too_large", "Tệp lớn quá 50 MB.", "file")
    return read_upload(data, upload.filename).text


def reading(script: str) -> str:
    return plans.reading(ctl(), script)


# -- scheduling input ------------------------------------------------------------------------
def _parse_date(value: Any, field: str) -> date:
    day = parse_day(value, field)
    if day is None:
        raise InputError("invalid_date", "Chưa chọn ngày phát.", field)
    return day


def _parse_times(values: Any) -> list[time]:
    items = values if isinstance(values, list) else str(values or "").replace(";", ",").split(",")
    out = set()
    for v in items:
        v = str(v).strip().replace("h", ":").replace("g", ":")
        if not v:
            continue
        if v.endswith(":"):
            v += "00"
        try:
            out.add(time.fromisoformat(v if len(v.split(":")[0]) == 2 else "0" + v).replace(microsecond=0))
        except ValueError:
            raise InputError("invalid_time", f"Giờ phát '{v}' không hợp lệ; ví dụ 06:00.", "slot_times") from None
    if not out:
        raise InputError("invalid_time", "Cần ít nhất một giờ phát.", "slot_times")
    return sorted(out)


def schedule_request(d: dict[str, Any]) -> dict[str, Any]:
    """Turn the schedule form into controller arguments: an exact start for a one-off, a rule otherwise.

    A one-off at one time keeps its seconds (``starts_at``); recurring schedules and several
    slots become a rule of whole minutes in the ``schedules`` wire form.
    """
    kind = d.get("recurrence", "once")
    if kind not in ("once", "daily", "weekdays"):
        raise InputError("invalid_recurrence", "Kiểu lịch phát phải là một lần, hằng ngày hoặc các ngày làm việc.", "recurrence")
    start = _parse_date(d.get("start_date"), "start_date")
    end = start if kind == "once" else _parse_date(d.get("end_date") or d.get("start_date"), "end_date")
    if end < start:
        raise InputError("invalid_date_range", "Ngày kết thúc phải sau hoặc bằng ngày bắt đầu.", "end_date")
    slots = _parse_times(d.get("slot_times"))
    try:
        repeats = int(d.get("repeats") or 1)
    except (TypeError, ValueError):
        raise InputError("invalid_repeats", "Số lần phát phải là số nguyên.", "repeats") from None
    if not 1 <= repeats <= 5:
        raise InputError("invalid_repeats", "Số lần phát trong một buổi phải từ 1 đến 5.", "repeats")
    weekdays = WEEKDAY_SETS.get(kind, list(range(7)))
    now = utcnow()
    firsts = [datetime.combine(start + timedelta(days=i), s, LOCAL_TZ)
              for i in range((end - start).days + 1) for s in slots
              if (start + timedelta(days=i)).weekday() in weekdays]
    if not firsts:
        raise InputError("no_occurrences", "Lịch này không có buổi phát nào trong khoảng ngày đã chọn.", "start_date")
    if max(firsts) < now:
        t = max(firsts)
        raise InputError("in_the_past", f"Thời gian phát {t:%H:%M ngày %d/%m/%Y} đã qua; hãy chọn thời điểm trong tương lai.",
                         "start_date")
    if kind == "once" and len(slots) == 1:
        return {"starts_at": firsts[0].isoformat(), "repeats": repeats}
    if any(s.second for s in slots):
        raise InputError("invalid_time", "Lịch lặp lại dùng giờ phát tính đến phút (ví dụ 06:00).", "slot_times")
    return {"rule": {"start_date": start.isoformat(), "end_date": end.isoformat(),
                     "slot_times": [s.strftime("%H:%M") for s in slots], "weekdays": weekdays,
                     "repeats": repeats, "repeat_gap_s": 0}}


# -- pages and endpoints ---------------------------------------------------------------------
@bp.get("/compose")
@auth.access("draft")
def compose():
    today = utcnow().astimezone(LOCAL_TZ).date().isoformat()
    return render_template("compose.html", title="Soạn bản tin", tree=tree_rows(), today=today)
