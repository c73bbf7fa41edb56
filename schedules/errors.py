"""The one error type of the scheduling domain: a machine code plus a Vietnamese message.

Its shape matches the controller's ``InputError`` (code, message, field) so the web layer
can pass it to a commune official unchanged; nothing in this package stores anything, so
an error never loses data.
"""

from __future__ import annotations


class ScheduleInputError(ValueError):
    """Input that cannot describe a schedule, a tree or a guardrail, with the reason in Vietnamese."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
