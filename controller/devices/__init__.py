"""Devices and enrollment: the administrative tree and its speaker poles, enrollment codes,
broker accounts, what devices report, and which media each may download.

The names below are the package's public API.  They load on first use, so importing one
module of the package (a settings class, a command's ``register``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from controller.devices.registry import Registry
    from controller.tree_records import Device, Unit
    from controller.devices.enrollment import Enrollment
    from controller.devices.credentials import Credentials, DeviceRevoked
    from controller.devices.history import HistoryEntry, Period
    from controller.devices.map_view import DeviceLocated
    from controller.devices.remote import ToneSent, UnitVolumeSent, VolumeSent
    from controller.devices.use_cases import DevicePage, DeviceRow, ScheduledUnit, UnitVolumeSchedule
    from controller.devices.volume_schedule import VolumeSchedule
    from controller.devices.ingest import Ingest, PlaybackLogEntry, playback_log
    from controller.devices.test_tone import ToneMedia
    from controller.tree_records import FlaggedEpoch
    from controller.devices.media_access import MediaAccess

_EXPORTS = {
    "Credentials": "credentials",
    "Device": "registry",
    "DevicePage": "use_cases",
    "DeviceLocated": "map_view",
    "DeviceRevoked": "credentials",
    "DeviceRow": "use_cases",
    "Enrollment": "enrollment",
    "FlaggedEpoch": "event_trust",
    "HistoryEntry": "history",
    "Ingest": "ingest",
    "MediaAccess": "media_access",
    "Period": "history",
    "PlaybackLogEntry": "ingest",
    "Registry": "registry",
    "ScheduledUnit": "use_cases",
    "ToneMedia": "test_tone",
    "ToneSent": "remote",
    "Unit": "registry",
    "UnitVolumeSchedule": "use_cases",
    "UnitVolumeSent": "remote",
    "VolumeSchedule": "volume_schedule",
    "VolumeSent": "remote",
    "playback_log": "ingest",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
