"""Plans and broadcasts: bulletins, their schedules and approval, the device plans built from
them, emergencies, readiness, guardrail settings, render progress and the background jobs.

The names below are the package's public API.  They load on first use, so importing one
module of the package (a settings class, a command's ``register``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from controller.plans.broadcasts import Broadcasts
    from controller.plans.bulletins import Bulletins
    from controller.plans.dispatch import Dispatcher
    from controller.plans.emergency import Emergencies
    from controller.plans.guardrail_store import GuardrailStore
    from controller.plans.jobs import JobRunner, MediaKeeper
    from controller.plan_expansion import load_tree
    from controller.plans.readiness import readiness
    from controller.plans.render_progress import RenderProgressRegistry
    from controller.plans.uploads import ReadUpload, read_upload

_EXPORTS = {
    "Broadcasts": "broadcasts",
    "Bulletins": "bulletins",
    "Dispatcher": "dispatch",
    "Emergencies": "emergency",
    "GuardrailStore": "guardrail_store",
    "JobRunner": "jobs",
    "MediaKeeper": "jobs",
    "ReadUpload": "uploads",
    "RenderProgressRegistry": "render_progress",
    "load_tree": "planner",
    "read_upload": "uploads",
    "readiness": "readiness",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
