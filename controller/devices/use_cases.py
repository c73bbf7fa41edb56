"""The use cases of the administrative tree and its speaker poles, for one Actor.

Adding a unit or a device checks the actor's scope, stores it and writes the audit entry in
one transaction; the device's (empty) plan is published after.  Remote volume and the test
tone are signed commands to one device of the actor's subtree.  What a device's readiness
is (:func:`device_readiness`) is decided here once, for the device pages and the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from controller.devices.event_trust import EpochReview, epochs_to_review, mark_epoch_reviewed
from controller.devices.credentials import DeviceRevoked
from controller.devices.history import DeviceHistory, HistoryEntry, Period
from controller.devices.key_migration import KeyRequest, KeyStatus
from controller.devices.link import LinkStatus
from controller.devices.media_access import MediaFile, person_may_hear
from controller.devices.registry import register_device
from controller.devices.volume_schedule import VolumeSchedule, parse_steps
from controller.devices.remote import ToneSent, UnitVolumeSent, VolumeSent
from controller.errors import Conflict, InputError, NotFound
from controller.people import access
from controller.people.access import subtree, units_in_scope
from controller.people.actor import Actor
from controller.ids import new_id
from controller.tree_records import Device, FlaggedEpoch, Unit
from loaxa.protocol import PlayItem, VolumeStep, utcnow
from loaxa.wire_time import format_time

if TYPE_CHECKING:
    from controller.service import Controller


# -- the tree -----------------------------------------------------------------------------
def devices_in_scope(c: Controller, actor: Actor) -> list[Device]:
    """The actor's devices, each with its ``link`` as far as the controller can know it now."""
    link = c.broker_link.status()
    return [with_link(d, link) for d in access.devices_in_scope(c, actor)]


def devices_under(c: Controller, actor: Actor, unit_id: str | None) -> list[Device]:
    """The actor's devices at or below ``unit_id`` (all of them without one), each with its ``link``."""
    link = c.broker_link.status()
    return [with_link(d, link) for d in access.devices_under(c, actor, unit_id)]


def broker_link(c: Controller) -> LinkStatus:
    """Whether the controller hears its devices now (every page shows a banner when it does not)."""
    return c.broker_link.status()


def with_link(device: Device, link: LinkStatus) -> Device:
    """``link``: ``online``, ``offline``, ``never`` (never connected) or ``unknown`` (the controller lost
    its broker, so the last report is stale); ``online`` is true only when the device is known online."""
    if not device.last_seen:
        state = "never"
    elif not link.connected:
        state = "unknown"
    else:
        state = "online" if device.online else "offline"
    return replace(device, link=state, online=state == "online")


def device_in_scope(c: Controller, actor: Actor, device_id: str) -> Device:
    """A device of the actor's subtree; one outside it is refused (403)."""
    access.require_devices(actor, [device_id])
    return with_link(c.registry.device(device_id), c.broker_link.status())


def visible_device(c: Controller, actor: Actor, device_id: str) -> Device:
    """A device of the actor's subtree; others are reported as unknown (404), not forbidden."""
    for d in devices_in_scope(c, actor):
        if d.id == device_id:
            return d
    raise NotFound("unknown_device", f"Không có cụm loa '{device_id}'.")


def add_unit(c: Controller, actor: Actor, unit_id: Any, name: Any, parent_id: Any, level: Any = "") -> Unit:
    access.require_permission(actor, "manage")
    access.require_unit(actor, parent_id, allow_top=True)
    with c.db.tx():
        unit = c.registry.add_unit(unit_id, name, parent_id, level)
        c.audit.record(actor, "unit_added", unit.id, {"parent_id": unit.parent_id})
    return unit


def add_device(c: Controller, actor: Actor, device_id: Any, name: Any, unit_id: Any) -> Device:
    access.require_permission(actor, "manage")
    access.require_unit(actor, unit_id)
    device = register_device(c.registry, c.audit, actor, device_id, name, unit_id)
    c.dispatcher.publish_plan(device.id)
    return device


# -- readiness ----------------------------------------------------------------------------
def device_readiness(device: Device, issued_version: int) -> str:
    """``offline``, ``unknown``, ``never``, ``ready`` (the plan last issued is applied, its media cached
    and the volume audible) or ``not_ready``."""
    if device.link in ("unknown", "never"):
        return device.link
    if not device.online:
        return "offline"
    if device.plan_version_applied >= issued_version and device.media_ready and not device.low_volume:
        return "ready"
    return "not_ready"


@dataclass(frozen=True)
class DeviceRow(Device):
    """A device as the device pages and the dashboard list it: what the use cases below add to it.

    Each stays ``None`` until :func:`with_readiness` or :func:`with_now_playing` fills it;
    ``to_dict`` is the device's own JSON, and a view adds to it what it shows.
    """

    readiness: str | None = None
    unit_name: str | None = None
    plan_version_sent: int | None = None
    now_playing: NowPlaying | None = None


def _row(device: Device, **view: Any) -> DeviceRow:
    if isinstance(device, DeviceRow):
        return replace(device, **view)
    return DeviceRow(**{f.name: getattr(device, f.name) for f in fields(Device)}, **view)


def with_readiness(c: Controller, devices: list[Device]) -> list[DeviceRow]:
    """Devices with their readiness, unit name and the plan version last sent to them."""
    versions = c.dispatcher.current_versions()
    units = {u.id: u.name for u in c.registry.units()}
    return [_row(d, readiness=device_readiness(d, versions.get(d.id, 0)),
                 unit_name=units.get(d.unit_id, d.unit_id), plan_version_sent=versions.get(d.id, 0))
            for d in devices]


# -- commands to one device ---------------------------------------------------------------
def set_volume(c: Controller, actor: Actor, device_id: str, volume: Any) -> VolumeSent:
    """Set a device's volume now (0–100), by a signed command; editors keep to the volume floor, and it is audited."""
    access.require_permission(actor, "draft")
    visible_device(c, actor, device_id)
    if isinstance(volume, str) and volume.strip().isdigit():
        volume = int(volume)
    return c.remote.set_volume(device_id, volume, actor)


def set_unit_volume(c: Controller, actor: Actor, unit_id: Any, volume: Any) -> UnitVolumeSent:
    """One volume for every device at or below a unit of the actor's scope (same floor, one audit entry)."""
    access.require_permission(actor, "draft")
    if not isinstance(unit_id, str) or not unit_id:
        raise InputError("invalid_unit", "Chọn một đơn vị.", "unit_id")
    targets = [d.id for d in devices_under(c, actor, unit_id)]
    if not targets:
        raise InputError("no_devices", "Đơn vị này chưa có cụm loa nào.", "unit_id")
    return c.remote.set_unit_volume(unit_id, targets, volume, actor)


@dataclass(frozen=True)
class UnitVolumeSchedule:
    """A unit's own volume schedule (None without one), and the one its poles follow: its own, or the
    nearest above it (None when no unit up the tree has one)."""

    unit_id: str
    own: VolumeSchedule | None
    follows: VolumeSchedule | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``/api/units/<id>/volume-schedule``."""
        return {"unit_id": self.unit_id, "own": self.own.to_dict() if self.own else None,
                "follows": self.follows.to_dict() if self.follows else None}


@dataclass(frozen=True)
class ScheduledUnit:
    """A unit that has its own volume schedule, as the devices page lists it."""

    unit_id: str
    unit_name: str
    steps: tuple[VolumeStep, ...]
    set_by: str
    set_at: str


def volume_schedule(c: Controller, actor: Actor, unit_id: str) -> UnitVolumeSchedule:
    """A unit's own volume schedule, and the one its poles follow (its own, or the nearest above)."""
    access.require_unit(actor, unit_id)
    c.registry.unit(unit_id)  # an unknown unit is a 404, not a schedule of nothing
    own = c.volume_schedules.all().get(unit_id)
    follows = c.volume_schedules.for_units(c.registry.ancestors(unit_id))
    return UnitVolumeSchedule(unit_id, own, follows)


def volume_schedules_in_scope(c: Controller, actor: Actor) -> list[ScheduledUnit]:
    """Every unit of the actor's scope that has its own volume schedule, for the devices page."""
    names = {u.id: u.name for u in units_in_scope(c, actor)}
    return [ScheduledUnit(v.unit_id, names[v.unit_id], v.steps, v.set_by, v.set_at)
            for v in c.volume_schedules.all().values() if v.unit_id in names]


def set_volume_schedule(c: Controller, actor: Actor, unit_id: Any, steps: Any) -> UnitVolumeSchedule:
    """Set (or clear, with no steps) a unit's daily volume schedule; it travels in its poles' signed plans.

    Every step keeps to the editor's volume floor, as a volume set by hand does; audited.
    """
    access.require_permission(actor, "draft")
    if not isinstance(unit_id, str) or not unit_id:
        raise InputError("invalid_unit", "Chọn một đơn vị.", "unit_id")
    access.require_unit(actor, unit_id)
    c.registry.unit(unit_id)
    parsed = parse_steps(steps)
    for step in parsed:
        c.remote.check_floor(step.volume, actor)
    before = volume_schedule(c, actor, unit_id).own
    with c.db.tx():
        c.volume_schedules.put(unit_id, parsed, actor.username)
        c.audit.record(actor, "volume_schedule_changed", unit_id,
                       {"before": [s.to_dict() for s in before.steps] if before else [],
                        "after": [s.to_dict() for s in parsed]})
    c.jobs.rebuild(sorted(d.id for d in devices_under(c, actor, unit_id)))
    return volume_schedule(c, actor, unit_id)


def play_test_tone(c: Controller, actor: Actor, device_id: str, confirm: Any = False) -> ToneSent:
    """Play a short tone now, so someone at the pole can check the horns and the amplifier (audited).

    A tone cuts whatever the device plays (the programme resumes after it), so while the
    device reports a play the tone is refused with ``confirm_cut`` (409) until confirmed;
    the audit entry then names what was cut.
    """
    access.require_permission(actor, "draft")
    device = visible_device(c, actor, device_id)
    playing = str(device.state.get("playing") or "") if device.online else ""
    title = _programme_title(c, playing) if playing else ""
    if playing and confirm is not True:
        raise Conflict("confirm_cut", f"Cụm loa đang phát «{title}». Âm thử sẽ ngắt chương trình này "
                                      "(chương trình phát tiếp sau âm thử nếu còn trong giờ). Vẫn phát âm thử?",
                       "_form", {"playing": title})
    return c.remote.test_tone(device_id, actor, cut=title)


def _programme_title(c: Controller, item_id: str) -> str:
    """The bulletin title of a plan item (ids are ``<broadcast>-<slot>-<repeat>``), else a plain description."""
    for bc in c.broadcasts.list():
        if item_id.startswith(bc.id + "-") or item_id == bc.id:
            try:
                return c.bulletins.get(bc.bulletin_id).title or "một chương trình"
            except NotFound:
                break
    return "một chương trình"


# -- media for people ---------------------------------------------------------------------
def media_for_person(c: Controller, actor: Actor, name: str) -> MediaFile | None:
    """A bulletin's audio for a signed-in person's preview player (devices use ``/media``)."""
    if not actor.can("read"):
        return None
    found = c.media_access.stored(name, c.config.media_dir)
    if found is None or not person_may_hear(c.db, found.sha256, lambda author: access.may_see_person(actor, c.users, author),
                                            actor.scope.has_device):
        return None
    return found


# -- the technician's view of one device --------------------------------------------------
@dataclass(frozen=True)
class Pending:
    """A value asked of the device that it has not reported yet."""

    what: str
    wanted: Any
    reported: Any
    set_by: str
    set_at: str


@dataclass(frozen=True)
class NowPlaying:
    title: str
    kind: str  # scheduled, emergency, alert, test_tone, speaker_check, other
    starts_at: str | None
    broadcast_id: str


def pending_changes(c: Controller, device: Device) -> list[Pending]:
    """What the device was asked and has not confirmed ("đang chờ thiết bị" on its page)."""
    out = []
    state = device.state
    want = c.desired.of(device.id).get("volume")
    expected = c.desired.expected_volume(device.id)
    if expected is not None and state.get("volume") != expected:
        manual = want is not None and want.value == expected
        out.append(Pending("volume", expected, state.get("volume"), want.set_by if manual else "lịch âm lượng",
                           want.set_at if manual else ""))
    kill = c.security.kill_switches.desired(device.id)
    if bool(state.get("kill_switch")) != kill:
        out.append(Pending("kill_switch", kill, bool(state.get("kill_switch")), "", ""))
    return out


def now_playing(c: Controller, item_id: str) -> NowPlaying | None:
    """The bulletin title and programme behind a plan item id a device reports playing."""
    if not item_id:
        return None
    from controller.devices.test_tone import SPEAKER_CHECK_PREFIX

    if item_id.startswith("tone-"):
        return NowPlaying("Âm thử", "test_tone", None, "")
    if item_id.startswith(SPEAKER_CHECK_PREFIX):
        return NowPlaying("Kiểm tra loa", "speaker_check", None, "")
    with c.db.tx() as db:
        row = db.execute(
            "SELECT b.id, b.kind, b.starts_at, bl.title FROM broadcasts b JOIN bulletins bl ON bl.id = b.bulletin_id "
            "WHERE b.id = ? OR ? LIKE b.id || '-%' ORDER BY length(b.id) DESC LIMIT 1", [item_id, item_id]).fetchone()
    if row is None:
        return NowPlaying("Nội dung khác", "other", None, "")
    return NowPlaying(row[3] or "Bản tin không tên", row[1], row[2], row[0])


def with_now_playing(c: Controller, devices: list[Device]) -> list[DeviceRow]:
    return [_row(d, now_playing=now_playing(c, d.state.get("playing", "")) if d.online else None) for d in devices]


@dataclass(frozen=True)
class DevicePage:
    device: DeviceRow
    pending: list[Pending]
    periods: list[Period]
    history: list[HistoryEntry]
    epochs_to_review: list[FlaggedEpoch] = field(default_factory=list)


def device_page(c: Controller, actor: Actor, device_id: str) -> DevicePage:
    """Everything the device page shows: readiness, what plays, what waits for the device, its history."""
    device = with_now_playing(c, with_readiness(c, [visible_device(c, actor, device_id)]))[0]
    history: DeviceHistory = c.device_history
    return DevicePage(device, pending_changes(c, device), history.periods(device_id), history.entries(device_id),
                      epochs_to_review(c.db, device_id))


MAX_REVIEW_NOTE = 500


def request_device_key(c: Controller, actor: Actor, device_id: str) -> KeyRequest:
    """Ask a pole enrolled before device keys for its key's public half (administrators; audited).

    A signed ``register_key`` command goes to the pole; the controller then accepts one key
    from it over its authenticated media channel until the command expires
    (:mod:`controller.devices.key_migration`), so its events count again without a visit.
    """
    access.require_permission(actor, "manage")
    visible_device(c, actor, device_id)
    req = c.key_migration.open_window(device_id, actor, c.config.plans.command_ttl_s)
    c.dispatcher.send_command(f"dev/{device_id}", "register_key", issued_by=actor.username)
    return req


def device_key_status(c: Controller, actor: Actor, device_id: str) -> KeyStatus:
    """Whether a pole of the actor's subtree signs its events with its own key, or may be asked for it."""
    access.require_permission(actor, "manage")
    visible_device(c, actor, device_id)
    return c.key_migration.status(device_id)


def review_epoch(c: Controller, actor: Actor, device_id: str, epoch: Any, note: Any = "") -> EpochReview:
    """Mark a device's flagged new epoch as reviewed (approvers and administrators of its subtree; audited).

    A new epoch means the pole's event numbering restarted: a reinstall, a replaced SD card,
    or someone replaying records under a fresh epoch.  Someone must look (its events, the
    pole itself) and say so; the audit entry keeps who, when and what they found.
    """
    access.require_permission(actor, "approve")
    visible_device(c, actor, device_id)
    if not isinstance(epoch, str) or not epoch.strip():
        raise InputError("invalid_epoch", "Chọn phiên cần đánh dấu đã xem xét.", "epoch")
    if not isinstance(note, str) or len(note) > MAX_REVIEW_NOTE:
        raise InputError("invalid_note", f"Ghi chú là văn bản, tối đa {MAX_REVIEW_NOTE} ký tự.", "note")
    at = utcnow()
    with c.db.tx() as conn:
        first_seen = mark_epoch_reviewed(conn, device_id, epoch.strip(), actor.username, at)
        c.audit.record(actor, "device_epoch_reviewed", device_id,
                       {"epoch": epoch.strip(), "first_seen": first_seen, "note": note.strip()})
    return EpochReview(device_id, epoch.strip(), first_seen, actor.username, format_time(at), note.strip())


# -- enrollment from the technician's pages -----------------------------------------------
@dataclass(frozen=True)
class EnrollmentTicket:
    """A one-time code to type (or scan) on a new pole; shown once, only its digest is kept."""

    device_id: str
    code: str
    expires_at: str
    qr_svg: str  # "" when no QR library is installed: the code is shown as text anyway


def add_device_with_code(c: Controller, actor: Actor, device_id: Any, name: Any, unit_id: Any) -> EnrollmentTicket:
    """Add a pole from the UI and give the technician its enrollment code at once (audited)."""
    from controller.devices.enrollment_qr import qr_svg
    from loaxa.wire_time import format_time

    access.require_permission(actor, "manage")
    access.require_unit(actor, unit_id)
    if not device_id:
        device_id = None
    device, code, expires = c.security.add_device(unit_id, name, device_id, actor)
    c.dispatcher.publish_plan(device.id)
    return EnrollmentTicket(device.id, code, format_time(expires), qr_svg(code))


def issue_code(c: Controller, actor: Actor, device_id: str) -> EnrollmentTicket:
    """A new one-time code for a pole (a replaced SD card, a lost code); the old unused one stops working."""
    from controller.devices.enrollment_qr import qr_svg
    from loaxa.wire_time import format_time

    access.require_permission(actor, "manage")
    access.require_devices(actor, [device_id])
    code, expires = c.security.new_code(device_id, actor)
    return EnrollmentTicket(device_id, code, format_time(expires), qr_svg(code))


def revoke_device(c: Controller, actor: Actor, device_id: str) -> DeviceRevoked:
    """Take a pole's credentials away (a stolen or replaced Pi); audited."""
    access.require_permission(actor, "manage")
    access.require_devices(actor, [device_id])
    return c.security.revoke(device_id, actor)
