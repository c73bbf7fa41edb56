"""Per-unit guardrail settings: stored as partial overrides, inherited down the admin tree.

Only what a unit changes is stored, so a commune that never touched its caps follows its
province when the province changes them.  Validation is the scheduling domain's, in one
place (:class:`schedules.guardrails.GuardrailPolicy`), so the API refuses exactly what the
planner could not use.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import time
from typing import Any

from controller.db import Database
from controller.errors import InputError, NotFound
from controller.plans.records import GuardrailView
from loaxa.wire_time import format_time, utcnow
from schedules.errors import ScheduleInputError
from schedules.guardrails import GuardrailPolicy, Guardrails
from schedules.settings import ScheduleSettings
from schedules.tree import AdminTree


def _guardrails_json(g: Guardrails) -> dict[str, Any]:
    """Effective guardrails as JSON: times as ``HH:MM``, weekend days as sorted numbers."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(g):
        v = getattr(g, f.name)
        if isinstance(v, time):
            v = f"{v:%H:%M}"
        elif isinstance(v, frozenset):
            v = sorted(v)
        out[f.name] = v
    return out


class GuardrailStore:
    def __init__(self, db: Database, settings: ScheduleSettings):
        self.db = db
        self.settings = settings

    def _overrides(self) -> dict[str, dict[str, Any]]:
        with self.db.tx() as db:
            rows = db.execute("SELECT unit_id, values_json FROM unit_guardrails").fetchall()
        return {unit_id: json.loads(values) for unit_id, values in rows}

    def policy(self) -> GuardrailPolicy:
        return GuardrailPolicy(self.settings.guardrails(), self._overrides())

    def view(self, tree: AdminTree, unit_id: str) -> GuardrailView:
        """What a unit sets itself, what is in force for it, and which unit each value comes from."""
        if unit_id not in tree or tree.is_device(unit_id):
            raise NotFound("unknown_unit", f"Không có đơn vị '{unit_id}'.")
        overrides = self._overrides()
        chain = (unit_id, *tree.ancestors(unit_id))
        source: dict[str, str] = {}
        for uid in reversed(chain):
            for key in overrides.get(uid, {}):
                source[key] = uid
        return GuardrailView(unit_id, overrides.get(unit_id, {}),
                             _guardrails_json(self.policy().for_unit(tree, unit_id)), source)

    def put(self, tree: AdminTree, unit_id: str, values: Any, updated_by: str = "") -> GuardrailView:
        """Replace a unit's own overrides; ``{}`` returns it to pure inheritance."""
        if unit_id not in tree or tree.is_device(unit_id):
            raise NotFound("unknown_unit", f"Không có đơn vị '{unit_id}'.")
        if not isinstance(values, dict):
            raise InputError("invalid_guardrail", "Giới hạn phải là một bảng khóa → giá trị.", "values")
        try:
            GuardrailPolicy(self.settings.guardrails(), {unit_id: values})
        except ScheduleInputError as exc:
            raise InputError(exc.code, exc.message, exc.field) from None
        with self.db.tx() as db:
            if values:
                db["unit_guardrails"].insert(
                    {"unit_id": unit_id, "values_json": json.dumps(values, ensure_ascii=False),
                     "updated_at": format_time(utcnow()), "updated_by": str(updated_by)[:200]},
                    replace=True,
                )
            else:
                db.execute("DELETE FROM unit_guardrails WHERE unit_id = ?", [unit_id])
        return self.view(tree, unit_id)
