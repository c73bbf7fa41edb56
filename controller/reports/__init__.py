"""Reports and the logbook: the append-only audit trail, the playback logbook's queries and
the hash chains that make both tamper-evident.

The names below are the package's public API.  They load on first use, so importing one
module of the package (a settings class, a command's ``register``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from controller.reports.audit import (ACTIONS, AUDIT_CHAIN, PLAYBACK_CHAIN, AuditEntry, AuditTrail,
                                          UnknownAuditAction, log_query, verify_all)
    from controller.reports.audit_trail import ActionChoice, ActionGroup, TrailRow
    from controller.reports.logbook import LogbookRow, OfflineCluster, OfflineGroup
    from controller.reports.outages import ClusterOutages, Outage
    from controller.reports.report_scope import ReportDevice
    from controller.reports.results import (AuditTrailReport, BulletinChoice, ComplianceReport, ComplianceRow,
                                            LogbookPage, OutageReport, PlaybackFilterChoices, PlaybackRow)
    from controller.reports.use_cases import ChainCheck, Export

_EXPORTS = {
    "ACTIONS": "audit",
    "AUDIT_CHAIN": "audit",
    "AuditEntry": "audit",
    "UnknownAuditAction": "audit",
    "AuditTrail": "audit",
    "PLAYBACK_CHAIN": "audit",
    "log_query": "audit",
    "verify_all": "audit",
    "ActionChoice": "audit_trail",
    "ActionGroup": "audit_trail",
    "AuditTrailReport": "results",
    "BulletinChoice": "results",
    "ChainCheck": "use_cases",
    "ClusterOutages": "outages",
    "ComplianceReport": "results",
    "ComplianceRow": "results",
    "Export": "use_cases",
    "LogbookPage": "results",
    "LogbookRow": "logbook",
    "OfflineCluster": "logbook",
    "OfflineGroup": "logbook",
    "Outage": "outages",
    "OutageReport": "results",
    "PlaybackFilterChoices": "results",
    "PlaybackRow": "results",
    "ReportDevice": "report_scope",
    "TrailRow": "audit_trail",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
