"""The approval queue: a leader listens, reads, then approves or rejects with a comment.

The decision itself goes through the broadcast API (``POST /api/broadcasts/<id>/approve``
and ``/reject``), which records the approver and the time and re-checks the guardrails.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from web import auth
from controller.plans import BroadcastCard, worklists
from web.ui_base import ctl

bp = Blueprint("ui_approvals", __name__)

PENDING = "pending_approval"
RECENT = 20


def queue_items(status: str = PENDING, limit: int | None = None) -> list[BroadcastCard]:
    """Broadcasts in ``status`` reaching only the viewer's devices, with bulletin, names, length and occurrences;
    pending ones by air time (:func:`controller.plans.worklists.approval_queue`)."""
    return worklists.approval_queue(ctl(), auth.actor(), status, limit)


@bp.get("/approvals")
@auth.access("approve")
def queue():
    decided = sorted(queue_items("approved", RECENT) + queue_items("rejected", RECENT),
                     key=lambda b: b.decided_at or "", reverse=True)[:RECENT]
    return render_template("approvals.html", title="Phê duyệt", items=queue_items(), decided=decided)
