"""Plans and broadcasts: bulletins, their schedules and approval, the device plans built from
them, emergencies, readiness, guardrail settings, render progress and the background jobs.

The names below are the package's public API; what its stores and use cases answer are the
frozen records of :mod:`controller.plans.records`, each with the ``to_dict`` of its JSON.  They
load on first use, so importing one module of the package (a settings class, a command's
``register``) stays light.
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
    from controller.plans.records import (
        Broadcast,
        BroadcastCard,
        BroadcastChange,
        BroadcastFacts,
        Bulletin,
        BulletinMedia,
        CutOff,
        Delivery,
        DeviceStage,
        Duplicate,
        Emergency,
        EmergencyDevice,
        EmergencyStatus,
        GuardrailRow,
        GuardrailUnit,
        GuardrailView,
        IssuedPlan,
        LinkDown,
        MyWork,
        NotReady,
        OccurrenceDates,
        PreparedScript,
        ReadinessSlot,
        ReadingLength,
        RelayProgramme,
        RemovedLine,
        RenderStep,
        ScheduleFacts,
        ScheduledJob,
        ScheduledRelay,
        Skipped,
        Upcoming,
        WorkGroup,
    )
    from controller.plans.render_progress import RenderProgressRegistry
    from controller.plans.uploads import ReadUpload, read_upload

_EXPORTS = {
    "Broadcast": "records",
    "BroadcastCard": "records",
    "BroadcastChange": "records",
    "BroadcastFacts": "records",
    "Broadcasts": "broadcasts",
    "Bulletin": "records",
    "BulletinMedia": "records",
    "Bulletins": "bulletins",
    "CutOff": "records",
    "Delivery": "records",
    "DeviceStage": "records",
    "Dispatcher": "dispatch",
    "Duplicate": "records",
    "Emergencies": "emergency",
    "Emergency": "records",
    "EmergencyDevice": "records",
    "EmergencyStatus": "records",
    "GuardrailRow": "records",
    "GuardrailStore": "guardrail_store",
    "GuardrailUnit": "records",
    "GuardrailView": "records",
    "IssuedPlan": "records",
    "JobRunner": "jobs",
    "LinkDown": "records",
    "MediaKeeper": "jobs",
    "MyWork": "records",
    "NotReady": "records",
    "OccurrenceDates": "records",
    "PreparedScript": "records",
    "ReadUpload": "uploads",
    "ReadinessSlot": "records",
    "ReadingLength": "records",
    "RelayProgramme": "records",
    "RemovedLine": "records",
    "RenderStep": "records",
    "RenderProgressRegistry": "render_progress",
    "ScheduleFacts": "records",
    "ScheduledJob": "records",
    "ScheduledRelay": "records",
    "Skipped": "records",
    "Upcoming": "records",
    "WorkGroup": "records",
    "load_tree": "planner",
    "read_upload": "uploads",
    "readiness": "readiness",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
