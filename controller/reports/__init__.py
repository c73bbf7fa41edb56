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
    from controller.reports.logbook import LogbookRow
    from controller.reports.results import ComplianceReport, ComplianceRow, LogbookPage

_EXPORTS = {
    "ACTIONS": "audit",
    "AUDIT_CHAIN": "audit",
    "AuditEntry": "audit",
    "UnknownAuditAction": "audit",
    "AuditTrail": "audit",
    "PLAYBACK_CHAIN": "audit",
    "log_query": "audit",
    "verify_all": "audit",
    "ComplianceReport": "results",
    "ComplianceRow": "results",
    "LogbookPage": "results",
    "LogbookRow": "logbook",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
