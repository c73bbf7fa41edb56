"""Errors the controller reports to people: a machine code plus a Vietnamese message."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from a user or a device; nothing was stored."""

    status = 400

    def __init__(self, code: str, message: str, field: str | None = None, details: object = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"error": self.message, "code": self.code}
        if self.field:
            out["field"] = self.field
        if self.details is not None:
            out["details"] = self.details
        return out


class NotFound(InputError):
    status = 404


class Conflict(InputError):
    status = 409


class Refused(InputError):
    """A request the actor may not make (scope, the two-person rule, a missing permission); nothing was stored."""

    status = 403
