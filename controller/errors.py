"""Errors the controller reports to people: a machine code plus a Vietnamese message."""

from __future__ import annotations

import json
import math


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
    """A request this person may not make (a rule of the product, not bad input); nothing was stored."""

    status = 403


# -- hostile request bodies and numbers --------------------------------------------------------
MAX_JSON_DEPTH = 32  # no request the product defines nests deeper than a handful of levels


def _refuse_constant(name: str) -> float:
    raise InputError("non_finite_number", f"Giá trị số '{name}' không hợp lệ; chỉ chấp nhận số hữu hạn.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError("non_finite_number", "Số quá lớn hoặc không hữu hạn.")
    return value


def _depth(value: object) -> int:
    """How deeply ``value`` nests lists and objects, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            stack.extend((child, level + 1) for child in item)
    return deepest


def loads_request_json(data: str | bytes) -> object:
    """Parse a request body: no NaN or Infinity, no nesting beyond :data:`MAX_JSON_DEPTH`.

    Every JSON body the web API reads comes through here, so deep nesting (which made the
    standard parser raise ``RecursionError``) and non-finite numbers (which slip through
    range checks, since every comparison with NaN is false) are refused as bad input
    instead of failing later.  Raises :class:`InputError`, a ``ValueError``.
    """
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise InputError("json_too_deep", f"Dữ liệu JSON lồng nhau quá {MAX_JSON_DEPTH} tầng.") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise InputError("json_too_deep", f"Dữ liệu JSON lồng nhau quá {MAX_JSON_DEPTH} tầng.")
    return value


def finite_number(raw: object, name: str, default: float, lo: float, hi: float) -> float:
    """A number from a query string, clamped to ``[lo, hi]``; text, NaN and infinities are refused."""
    if raw is None:
        return default
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError("invalid_number", f"Tham số {name} phải là số.", name) from None
    if not math.isfinite(value):
        raise InputError("invalid_number", f"Tham số {name} phải là một số hữu hạn.", name)
    return min(max(value, lo), hi)
