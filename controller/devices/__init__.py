"""Devices and enrollment: the administrative tree and its speaker poles, enrollment codes,
broker accounts, what devices report, and which media each may download.

The names below are the package's public API.  They load on first use, so importing one
module of the package (a settings class, a command's ``register``) stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controller.devices.registry import Registry
    from controller.devices.enrollment import Enrollment
    from controller.devices.credentials import Credentials
    from controller.devices.ingest import Ingest, playback_log
    from controller.devices.media_access import MediaAccess

_EXPORTS = {
    "Credentials": "credentials",
    "Enrollment": "enrollment",
    "Ingest": "ingest",
    "MediaAccess": "media_access",
    "Registry": "registry",
    "playback_log": "ingest",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
