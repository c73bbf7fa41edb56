"""The fleet: signed agent releases, staged rollouts with automatic pause and one-action
rollback, and remote care of every pole (restart, reboot, diagnostics, speaker check).

The names below are the package's public API.  They load on first use, so importing one
module of the package (its settings) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from controller.fleet.care import RemoteCare
    from controller.fleet.releases import ReleaseStore
    from controller.fleet.rollouts import Rollouts
    from controller.fleet.service import Fleet
    from controller.fleet.settings import FleetSettings

_EXPORTS = {
    "Fleet": "service",
    "FleetSettings": "settings",
    "ReleaseStore": "releases",
    "RemoteCare": "care",
    "Rollouts": "rollouts",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
