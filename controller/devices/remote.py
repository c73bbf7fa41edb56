"""Commands people send to poles from the devices pages: volume (of one pole or a whole unit) and the test tone.

Turning a pole down is as good as silencing it, emergencies included, so it is a decision
with a rule and a record: an editor may not go below ``[plans] editor_min_volume``, only
approvers and administrators may, and every command is audited with the volume the pole
last reported before it and the one asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from controller.devices.desired import VOLUME, DesiredState
from controller.devices.registry import Registry
from controller.devices.test_tone import ToneMedia
from controller.errors import InputError, Refused
from controller.people.actor import Actor
from controller.ids import new_id
from controller.reports.audit import AuditTrail
from loaxa.protocol import PlayItem, utcnow


@dataclass(frozen=True)
class VolumeSent:
    """A signed ``set_volume`` command on its way to a pole."""

    device_id: str
    volume: int
    command_seq: int

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "volume": self.volume, "command_seq": self.command_seq}


@dataclass(frozen=True)
class ToneSent:
    """A signed ``play_now`` of the test tone on its way to a pole."""

    device_id: str
    command_seq: int
    item_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "command_seq": self.command_seq, "item_id": self.item_id}


@dataclass(frozen=True)
class UnitVolumeSent:
    """One ``set_volume`` to every pole at or below a unit, on its way (one audit entry for all)."""

    unit_id: str
    volume: int
    devices: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "volume": self.volume, "devices": list(self.devices)}


def valid_volume(volume: Any) -> int:
    if isinstance(volume, str) and volume.strip().isdigit():
        volume = int(volume)
    if not isinstance(volume, int) or isinstance(volume, bool) or not 0 <= volume <= 100:
        raise InputError("invalid_volume", "Âm lượng phải từ 0 đến 100.", "volume")
    return volume


class RemoteCommands:
    def __init__(self, registry: Registry, audit: AuditTrail, send_command: Callable[..., Any],
                 tone_media: Callable[[], ToneMedia], editor_min_volume: int, desired: DesiredState):
        self.registry = registry
        self.desired = desired
        self.audit = audit
        self.send_command = send_command
        self.tone_media = tone_media
        self.editor_min_volume = editor_min_volume

    def _reported_volume(self, device_id: str) -> int | None:
        return self.registry.device(device_id).state.get("volume")

    def check_floor(self, volume: Any, actor: Actor) -> int:
        volume = valid_volume(volume)
        if volume < self.editor_min_volume and not actor.can("approve"):
            raise Refused("volume_floor", f"Biên tập viên chỉ đặt được âm lượng từ {self.editor_min_volume}% trở lên; "
                                          "hạ thấp hơn cần người phê duyệt.", "volume")
        return volume

    def _send_volume(self, device_id: str, volume: int, actor: Actor) -> int:
        """Record the volume as desired (re-sent until the device reports it) and send it now."""
        self.desired.want(device_id, VOLUME, volume, actor.username)
        return self.send_command(f"dev/{device_id}", "set_volume", volume=volume, reason="điều chỉnh âm lượng",
                                 issued_by=actor.username).seq

    def set_volume(self, device_id: str, volume: Any, actor: Actor) -> VolumeSent:
        volume = self.check_floor(volume, actor)
        before = self._reported_volume(device_id)
        with self.registry.db.tx():
            seq = self._send_volume(device_id, volume, actor)
            self.audit.record(actor, "device_volume", device_id, {"before": before, "after": volume, "command_seq": seq})
        return VolumeSent(device_id, volume, seq)

    def set_unit_volume(self, unit_id: str, device_ids: list[str], volume: Any, actor: Actor) -> UnitVolumeSent:
        """One volume for every device of a village (or any unit), under the same floor, in one audit entry."""
        volume = self.check_floor(volume, actor)
        before = {d: self._reported_volume(d) for d in device_ids}
        with self.registry.db.tx():
            seqs = {d: self._send_volume(d, volume, actor) for d in device_ids}
            self.audit.record(actor, "unit_volume", unit_id,
                              {"after": volume, "devices": device_ids, "before": before, "command_seqs": seqs})
        return UnitVolumeSent(unit_id, volume, tuple(device_ids))

    def test_tone(self, device_id: str, actor: Actor, cut: str = "") -> ToneSent:
        """Play a short tone now, so someone at the pole can check the horns and the amplifier."""
        media = self.tone_media()
        now = utcnow()
        item = PlayItem(item_id=new_id("tone"), start=now + timedelta(seconds=2), sha256=media.sha256,
                        size=media.size, ext=media.ext, duration_s=media.duration_s, priority="priority",
                        expires_at=now + timedelta(minutes=2), title="Âm thử")
        volume = self._reported_volume(device_id)
        cmd = self.send_command(f"dev/{device_id}", "play_now", item=item, reason="phát âm thử",
                                issued_by=actor.username)
        self.audit.record(actor, "device_test_tone", device_id,
                          {"before": volume, "after": volume, "item_id": item.item_id, "command_seq": cmd.seq,
                           **({"cut": cut} if cut else {})})
        return ToneSent(device_id, cmd.seq, item.item_id)
