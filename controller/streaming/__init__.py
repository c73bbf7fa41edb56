"""Live audio: the Icecast server, relay sources, per-device stream accounts and the restreamer.

The names below are the package's public API.  They load on first use, so importing one
module of the package (a settings class) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from controller.streaming.accounts import StreamAccounts
    from controller.streaming.icecast_config import IcecastLayout, IcecastServer, write_config, write_listeners
    from controller.streaming.restreamer import Restreamer, Switch
    from controller.streaming.settings import StreamingSettings
    from controller.streaming.sources import (NoticeChoice, ProbeResult, RelaySource, RelayUse, SourceSwitch, Sources,
                                              probe)
    from controller.streaming.use_cases import SourcePage, SourceRemoved

_EXPORTS = {
    "IcecastLayout": "icecast_config",
    "IcecastServer": "icecast_config",
    "NoticeChoice": "sources",
    "ProbeResult": "sources",
    "RelaySource": "sources",
    "RelayUse": "sources",
    "Restreamer": "restreamer",
    "SourcePage": "use_cases",
    "SourceRemoved": "use_cases",
    "SourceSwitch": "sources",
    "Sources": "sources",
    "StreamAccounts": "accounts",
    "StreamingSettings": "settings",
    "Switch": "restreamer",
    "probe": "sources",
    "write_config": "icecast_config",
    "write_listeners": "icecast_config",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
