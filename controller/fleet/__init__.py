"""The fleet: signed agent releases, staged rollouts with automatic pause and one-action
rollback, and remote care of every pole (restart, reboot, diagnostics, speaker check).

The names below are the package's public API.  They load on first use, so importing one
module of the package (its settings) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from controller.fleet.care import CareOrdered, Diagnostics, DiagnosticsStored, RemoteCare, SpeakerCheckEvent
    from controller.fleet.overview import FleetDevice, LastUpdate
    from controller.fleet.releases import Release, ReleaseStore
    from controller.fleet.rollouts import Rollout, RolloutDevice, Rollouts
    from controller.fleet.service import Fleet
    from controller.fleet.settings import FleetSettings

_EXPORTS = {
    "CareOrdered": "care",
    "Diagnostics": "care",
    "DiagnosticsStored": "care",
    "Fleet": "service",
    "FleetDevice": "overview",
    "FleetSettings": "settings",
    "LastUpdate": "overview",
    "Release": "releases",
    "ReleaseStore": "releases",
    "RemoteCare": "care",
    "Rollout": "rollouts",
    "RolloutDevice": "rollouts",
    "Rollouts": "rollouts",
    "SpeakerCheckEvent": "care",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
