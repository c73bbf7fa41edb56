"""The evidence floor: how young the rows a retention run may prune can be, at the least.

The audit trail and the playback logbook are evidence of what was said to whom, so no
setting keeps them for less than this many days, and the chain check
(:func:`controller.reports.audit.verify_all`) refuses an anchor that covered younger rows.
The number belongs to the evidence, not to the retention run: ``[retention] minimum_days``
starts from it (:class:`controller.operations.retention_settings.RetentionSettings`).
"""

from __future__ import annotations

MINIMUM_DAYS = 365
