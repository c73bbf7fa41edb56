"""The guardrails page: each unit's quiet hours, caps and weekend rules, as a form an administrator edits.

The form sends text as typed; this module reads it (times as on a phone keypad, see
:mod:`schedules.form_entry`), so an empty field means "as the unit above" and ``không``
means "no cap".  Storing, auditing and rebuilding plans are :func:`put_guardrails`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from controller.errors import InputError
from controller.people.actor import Actor
from controller.plan_expansion import load_tree
from controller.plans.records import GuardrailRow, GuardrailUnit
from schedules.errors import ScheduleInputError
from schedules.form_entry import parse_clock

if TYPE_CHECKING:
    from controller.tree_records import Unit
    from controller.service import Controller

NO_CAP_WORDS = frozenset({"không", "khong", "-", "không giới hạn", "khong gioi han"})


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str  # time | int | minutes | bool


FIELDS = (
    Field("quiet_start", "Giờ yên tĩnh bắt đầu", "time"),
    Field("quiet_end", "Giờ yên tĩnh kết thúc", "time"),
    Field("max_programmes_per_day", "Số buổi phát tối đa mỗi ngày", "int"),
    Field("max_minutes_per_programme", "Số phút tối đa mỗi buổi", "minutes"),
    Field("weekend_normal_allowed", "Cuối tuần được phát tin thường", "bool"),
    Field("weekend_max_programmes_per_day", "Số buổi tối đa ngày cuối tuần", "int"),
    Field("weekend_max_minutes_per_programme", "Số phút tối đa mỗi buổi ngày cuối tuần", "minutes"),
)


def values_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """A unit's own values from the page's text fields; an empty field is inherited, so it is left out."""
    out: dict[str, Any] = {}
    for f in FIELDS:
        raw = form.get(f.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        text = str(raw).strip()
        if f.kind == "time":
            try:
                out[f.name] = f"{parse_clock(text):%H:%M}"
            except ScheduleInputError:
                raise InputError("invalid_guardrail", f"{f.label}: không đọc được giờ “{raw}” (ví dụ 22:00 hoặc 2200).",
                                 f.name) from None
        elif f.kind == "bool":
            if text not in ("true", "false"):
                raise InputError("invalid_guardrail", f"{f.label}: chọn có hoặc không.", f.name)
            out[f.name] = text == "true"
        elif text.lower() in NO_CAP_WORDS:
            out[f.name] = ""
        else:
            try:
                number = float(text.replace(",", "."))
                if not math.isfinite(number):
                    raise ValueError(text)
            except ValueError:
                raise InputError("invalid_guardrail", f"{f.label}: “{raw}” không phải là số (để trống: theo cấp trên; "
                                 "“không”: không giới hạn).", f.name) from None
            if f.kind == "int" and number != int(number):
                raise InputError("invalid_guardrail", f"{f.label}: “{raw}” phải là số nguyên.", f.name)
            out[f.name] = int(number) if f.kind == "int" else number
    return out


def overview(c: Controller, actor: Actor) -> list[GuardrailUnit]:
    """Every unit of the actor's scope with its own values, what is in force, and which unit sets each."""
    tree = load_tree(c.db)
    names = {u.id: u.name for u in c.registry.units()}
    out = []
    for unit in _tree_order(c.registry.units()):
        if not actor.scope.has_unit(unit.id):
            continue
        view = c.guardrails.view(tree, unit.id)
        rows = []
        for f in FIELDS:
            own = view.own.get(f.name)
            rows.append(GuardrailRow(f.name, f.label, f.kind, "" if own is None else ("không" if own == "" else own),
                                     _shown(view.effective.get(f.name), f.kind),
                                     names.get(view.set_by.get(f.name, ""), "mặc định của hệ thống")))
        out.append(GuardrailUnit(unit.id, unit.name, unit.level, tuple(rows)))
    return out


def _tree_order(units: list[Unit]) -> list[Unit]:
    """Units depth first, each under its parent (province, its communes, their villages), by name."""
    children: dict[Any, list[Unit]] = {}
    ids = {u.id for u in units}
    for u in sorted(units, key=lambda u: u.name):
        children.setdefault(u.parent_id if u.parent_id in ids else None, []).append(u)
    out: list[Unit] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        u = stack.pop()
        out.append(u)
        stack.extend(reversed(children.get(u.id, [])))
    return out


def _shown(value: Any, kind: str) -> str:
    if kind == "bool":
        return "có" if value else "không"
    if value is None:
        return "không giới hạn"
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)
