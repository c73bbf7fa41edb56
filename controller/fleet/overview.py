"""What the fleet page and the device page show, read in one call each: every device's version
and update state, the published releases, the rollouts with their waves, and a pole's remote-care
history.  Frozen values, so a page renders what was read and cannot change it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controller.fleet.care import Diagnostics
    from controller.fleet.releases import Release
    from controller.fleet.rollouts import Rollout

ROLLBACKABLE = ("running", "paused", "done")


@dataclass(frozen=True)
class LastUpdate:
    """A device's newest ``updated`` or ``update_failed`` event."""

    device_id: str
    kind: str
    reason: str
    recorded_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FleetDevice:
    """A device's version and update state as it last reported them, and its last update event
    (the JSON of ``/api/fleet/devices``)."""

    id: str
    name: str
    unit_id: str
    online: bool
    last_seen: str | None
    agent_version: str
    update_state: str
    update_detail: str
    last_update: LastUpdate | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "unit_id": self.unit_id, "online": self.online,
                "last_seen": self.last_seen, "agent_version": self.agent_version, "update_state": self.update_state,
                "update_detail": self.update_detail,
                "last_update": self.last_update.to_dict() if self.last_update else None}


@dataclass(frozen=True)
class DeviceVersion:
    id: str
    name: str
    unit_id: str
    online: bool
    agent_version: str
    update_state: str
    update_detail: str
    last_event: str
    last_reason: str
    last_at: str


@dataclass(frozen=True)
class ReleaseView:
    version: str
    notes: str
    floor: str
    total_bytes: int
    files: int
    published_at: str
    published_by: str


@dataclass(frozen=True)
class WaveMember:
    device_id: str
    status: str
    reason: str
    from_version: str


@dataclass(frozen=True)
class WaveView:
    index: int
    members: tuple[WaveMember, ...]

    @property
    def label(self) -> str:
        return "Thử trước" if self.index == 0 else f"Đợt {self.index}"


@dataclass(frozen=True)
class RolloutView:
    id: int
    version: str
    kind: str
    status: str
    reason: str
    canary_share: float
    failure_threshold: float
    wave: int
    created_by: str
    created_at: str
    waves: tuple[WaveView, ...]


@dataclass(frozen=True)
class FleetOverview:
    devices: tuple[DeviceVersion, ...]
    releases: tuple[ReleaseView, ...]
    rollouts: tuple[RolloutView, ...]

    @property
    def rollback_target(self) -> RolloutView | None:
        """The rollout one click rolls back: the newest update rollout not yet rolled back."""
        for r in self.rollouts:
            if r.kind == "update" and r.status in ROLLBACKABLE:
                return r
        return None

    @property
    def active(self) -> RolloutView | None:
        return next((r for r in self.rollouts if r.status in ("running", "paused")), None)


@dataclass(frozen=True)
class SpeakerCheck:
    item_id: str
    kind: str
    level_dbfs: float | None
    reason: str
    recorded_at: str


@dataclass(frozen=True)
class DiagnosticsView:
    id: int
    received_at: str
    size: int
    agent_version: str
    log_lines: int


@dataclass(frozen=True)
class CareHistory:
    device_id: str
    speaker_checks: tuple[SpeakerCheck, ...]
    diagnostics: tuple[DiagnosticsView, ...]


def device_version(d: FleetDevice) -> DeviceVersion:
    last = d.last_update
    return DeviceVersion(id=d.id, name=d.name, unit_id=d.unit_id, online=d.online, agent_version=d.agent_version,
                         update_state=d.update_state, update_detail=d.update_detail,
                         last_event=last.kind if last else "", last_reason=(last.reason if last else "") or "",
                         last_at=(last.recorded_at if last else "") or "")


def release_view(r: Release) -> ReleaseView:
    return ReleaseView(version=r.version, notes=r.notes or "", floor=r.floor or "", total_bytes=int(r.total_bytes),
                       files=int(r.files), published_at=r.published_at, published_by=r.published_by or "")


def rollout_view(ro: Rollout) -> RolloutView:
    waves: dict[int, list[WaveMember]] = {}
    for d in ro.devices:
        waves.setdefault(d.wave, []).append(WaveMember(d.device_id, d.status, d.reason or "", d.from_version or ""))
    return RolloutView(id=ro.id, version=ro.version, kind=ro.kind, status=ro.status, reason=ro.reason or "",
                       canary_share=float(ro.canary_share), failure_threshold=float(ro.failure_threshold),
                       wave=int(ro.wave), created_by=ro.created_by or "", created_at=ro.created_at,
                       waves=tuple(WaveView(i, tuple(m)) for i, m in sorted(waves.items())))


def diagnostics_view(row: Diagnostics) -> DiagnosticsView:
    body = row.body if isinstance(row.body, dict) else {}
    state = body.get("state") if isinstance(body.get("state"), dict) else {}
    lines = body.get("log") if isinstance(body.get("log"), list) else []
    return DiagnosticsView(id=row.id, received_at=row.received_at, size=int(row.size),
                           agent_version=str(state.get("agent_version", body.get("agent_version", ""))),
                           log_lines=len(lines))
