"""The approval queue: a leader listens, reads, then approves or rejects with a comment.

The decision itself goes through the broadcast API (``POST /api/broadcasts/<id>/approve``
and ``/reject``), which records the approver and the time and re-checks the guardrails.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from web import auth
from web.ui_base import ctl, scope_devices

bp = Blueprint("ui_approvals", __name__)

PENDING = "pending_approval"
RECENT = 20


def _names() -> dict[str, str]:
    names = {u["id"]: u["name"] for u in ctl().registry.units()}
    names.update({d["id"]: d["name"] for d in ctl().registry.devices()})
    return names


def queue_items(status: str = PENDING, limit: int | None = None) -> list[dict[str, Any]]:
    """Broadcasts in ``status`` reaching only the viewer's devices, with their bulletin and target names."""
    mine = {d["id"] for d in scope_devices()}
    names = _names()
    out = []
    for bc in ctl().broadcasts.list(status):
        if not bc["devices"] or not set(bc["devices"]) <= mine:
            continue
        bulletin = ctl().bulletins.get(bc["bulletin_id"])
        out.append({**bc, "bulletin": bulletin, "target_names": [names.get(t, t) for t in bc["targets"]]})
        if limit and len(out) >= limit:
            break
    return out


@bp.get("/approvals")
@auth.access("approve")
def queue():
    decided = sorted(queue_items("approved", RECENT) + queue_items("rejected", RECENT),
                     key=lambda b: b.get("decided_at") or "", reverse=True)[:RECENT]
    return render_template("approvals.html", title="Phê duyệt", items=queue_items(), decided=decided)
