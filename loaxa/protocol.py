"""Loa Xã wire protocol, version 1: topics, message types, signing.

This module is the only definition of what crosses MQTT between the controller and
the edge agents; both sides import it.  It does no I/O and does not know paho.

Messages from the controller (plans, commands, acks, key rollovers) travel in a
signed envelope (:mod:`loaxa.envelope`, which seals and opens every signed message)::

    {"v": 1, "type": "plan", "kid": "<key id>", "body": {...}, "sig": "<base64>"}

The Ed25519 signature covers the canonical JSON of everything but ``sig``.  The media
sha256 of every play item sits inside the signed body, so neither the broker nor the
HTTP media path can make a speaker say something the controller did not sign.

Messages from devices (state, playback events) are plain JSON; the broker's per-device
credentials and ACL vouch for who sent them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, ClassVar, Iterable, Mapping, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from loaxa import envelope, wire_time
from loaxa.envelope import MAX_PAYLOAD_BYTES, PROTOCOL_VERSION, ProtocolError, SignatureError, canonical_json
from loaxa.wire_time import WireTimeError, utcnow

TOPIC_ROOT = f"loaxa/v{PROTOCOL_VERSION}"
MAX_TEXT = 500

PRIORITIES = ("normal", "priority", "emergency")
PRIORITY_RANK = {p: i for i, p in enumerate(PRIORITIES)}
EVENT_KINDS = ("delivered", "started", "finished", "interrupted", "failed", "skipped", "security", "updated",
               "update_failed", "stream_started", "stream_gap", "stream_finished")
COMMAND_ACTIONS = ("play_now", "stop", "set_volume", "resync", "test_tone", "kill_switch", "lift_kill_switch", "update",
                   "restart_agent", "reboot", "diagnostics", "speaker_check", "warm_up", "register_key")
UPDATE_STATES = ("", "waiting", "downloading", "installing", "trial", "updated", "failed", "rolled_back")

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_EXT_RE = re.compile(r"^(ogg|mp3)$")


# --- topics -----------------------------------------------------------------------


def _check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise ProtocolError(f"{what} {value!r} is not a valid id (letters, digits, '_', '.', '-'; max 64)")
    return value


def plan_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/dev/{_check_id(device_id, 'device')}/plan"


def cmd_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/dev/{_check_id(device_id, 'device')}/cmd"


def group_cmd_topic(node_id: str) -> str:
    return f"{TOPIC_ROOT}/grp/{_check_id(node_id, 'node')}/cmd"


def state_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/dev/{_check_id(device_id, 'device')}/state"


def events_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/dev/{_check_id(device_id, 'device')}/events"


def ack_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/dev/{_check_id(device_id, 'device')}/ack"


def keys_topic() -> str:
    """Retained key rollover announcements, for every device."""
    return f"{TOPIC_ROOT}/keys"


def heads_topic() -> str:
    """The controller's latest signed chain heads, retained; every device keeps a copy."""
    return f"{TOPIC_ROOT}/heads"


def client_id(username: str, fallback: str) -> str:
    """The MQTT client id of a connection: its broker user name when it has one.

    The generated broker config binds client ids to user names (mosquitto's
    ``use_username_as_clientid``), so asking for the same id keeps logs and sessions
    consistent; ``fallback`` serves only an anonymous demo or test broker.
    """
    return username or fallback


STATE_WILDCARD = f"{TOPIC_ROOT}/dev/+/state"
EVENTS_WILDCARD = f"{TOPIC_ROOT}/dev/+/events"


@dataclass(frozen=True)
class Topic:
    scope: str  # "dev" or "grp"
    target: str
    kind: str


def parse_topic(topic: str) -> Topic:
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != TOPIC_ROOT or parts[2] not in ("dev", "grp"):
        raise ProtocolError(f"not a Loa Xã v{PROTOCOL_VERSION} topic: {topic!r}")
    _check_id(parts[3], "target")
    return Topic(parts[2], parts[3], parts[4])


# --- time ---------------------------------------------------------------------------


def format_time(t: datetime) -> str:
    """:func:`loaxa.wire_time.format_time`, refusing a naive time as a protocol error."""
    try:
        return wire_time.format_time(t)
    except WireTimeError as e:
        raise ProtocolError(str(e)) from None


def parse_time(value: Any, what: str) -> datetime:
    """:func:`loaxa.wire_time.parse_time`, a bad time being a protocol error (the payload is refused)."""
    try:
        return wire_time.parse_time(value, what)
    except WireTimeError as e:
        raise ProtocolError(str(e)) from None


# --- field validation -----------------------------------------------------------------


def _get(d: Mapping[str, Any], key: str, types_: type | tuple[type, ...], *, required: bool = True, default: Any = None) -> Any:
    if key not in d or d[key] is None:
        if required:
            raise ProtocolError(f"missing field {key!r}")
        return default
    v = d[key]
    if isinstance(v, bool) and bool not in (types_ if isinstance(types_, tuple) else (types_,)):
        raise ProtocolError(f"field {key!r}: wrong type {type(v).__name__}")
    if not isinstance(v, types_):
        raise ProtocolError(f"field {key!r}: wrong type {type(v).__name__}")
    return v


def _text(d: Mapping[str, Any], key: str, *, required: bool = True, default: str = "", limit: int = MAX_TEXT) -> str:
    v = _get(d, key, str, required=required, default=default)
    if len(v) > limit:
        raise ProtocolError(f"field {key!r}: longer than {limit} characters")
    return v


def _int(d: Mapping[str, Any], key: str, lo: int, hi: int, *, required: bool = True, default: int | None = None) -> int | None:
    v = _get(d, key, int, required=required, default=default)
    if v is not None and not lo <= v <= hi:
        raise ProtocolError(f"field {key!r}: {v} is outside {lo}..{hi}")
    return v


def _num(d: Mapping[str, Any], key: str, *, required: bool = True, default: float | None = None) -> float | None:
    v = _get(d, key, (int, float), required=required, default=default)
    if v is not None and (v != v or abs(v) > 1e12):
        raise ProtocolError(f"field {key!r}: not a usable number")
    return None if v is None else float(v)


def _choice(d: Mapping[str, Any], key: str, choices: Iterable[str], *, required: bool = True, default: str | None = None) -> str:
    v = _get(d, key, str, required=required, default=default)
    if v is not None and v not in choices:
        raise ProtocolError(f"field {key!r}: {v!r} is not one of {', '.join(choices)}")
    return v


def _time_opt(d: Mapping[str, Any], key: str) -> datetime | None:
    return None if d.get(key) is None else parse_time(d[key], key)


def _str_list(d: Mapping[str, Any], key: str, *, limit: int = 64) -> tuple[str, ...]:
    v = _get(d, key, list, required=False, default=[])
    if len(v) > limit or not all(isinstance(x, str) and len(x) <= MAX_TEXT for x in v):
        raise ProtocolError(f"field {key!r}: expected at most {limit} short strings")
    return tuple(v)


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        return format_time(v)
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return v


class Message:
    """Base of every wire message: frozen, validated on the way in, plain JSON on the way out."""

    TYPE: ClassVar[str]
    SIGNED: ClassVar[bool]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(v, Message):
                v = v.to_dict()
            elif isinstance(v, tuple) and v and isinstance(v[0], Message):
                v = [x.to_dict() for x in v]
            out[f.name] = _jsonable(v)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]):  # pragma: no cover - overridden
        raise NotImplementedError


M = TypeVar("M", bound=Message)


# --- controller -> device ---------------------------------------------------------


_STREAM_URL_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?/[A-Za-z0-9._/-]{1,200}$")


@dataclass(frozen=True)
class StreamRef(Message):
    """Where a stream item is listened to, with this device's own stream account.

    It sits inside the signed item, so neither the broker nor the network can point a
    speaker at another stream; the agent verifies an ``https`` server against its CA.

    ``playout_delay_s`` is the common timeline's fixed delay: every agent hands the sample the
    controller stamped for instant ``t`` (its Ogg granule position) to the output at
    ``t + playout_delay_s`` on its corrected clock, so all of them play it at once.  0 (an older
    controller): the agent's own default.
    """

    TYPE: ClassVar[str] = "stream"
    SIGNED: ClassVar[bool] = True

    url: str
    username: str
    password: str
    playout_delay_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if not out.get("playout_delay_s"):
            out.pop("playout_delay_s", None)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "StreamRef":
        if not isinstance(d, Mapping):
            raise ProtocolError("stream must be an object")
        url = _text(d, "url")
        if not _STREAM_URL_RE.match(url):
            raise ProtocolError(f"field 'url': not a stream address: {url!r}")
        delay = _num(d, "playout_delay_s", required=False, default=0.0)
        if not 0.0 <= delay <= 10.0:
            raise ProtocolError("field 'playout_delay_s': must be within 0..10 seconds")
        return cls(url=url, username=_text(d, "username", limit=64), password=_text(d, "password", limit=128),
                   playout_delay_s=delay)


@dataclass(frozen=True)
class PlayItem(Message):
    """One play of one media file at one instant on one device.

    ``late_until`` (optional, for emergencies and official warnings) lets a device that was
    offline at ``start`` still play the item once, late, until that instant; an agent that
    does not know the field simply applies its usual late tolerance.  It is left out of the
    JSON when unset, so ordinary items serialise exactly as before.
    """

    TYPE: ClassVar[str] = "item"
    SIGNED: ClassVar[bool] = True

    item_id: str
    start: datetime
    sha256: str
    size: int
    ext: str = "ogg"
    duration_s: float = 0.0
    priority: str = "normal"
    volume: int | None = None
    expires_at: datetime | None = None
    broadcast_id: str = ""
    title: str = ""
    late_until: datetime | None = None
    stream: StreamRef | None = None  # a relay or live item: listened to until start + duration_s, no media file

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if out.get("late_until") is None:
            out.pop("late_until", None)
        if out.get("stream") is None:
            out.pop("stream", None)
        return out

    @property
    def ends_at(self) -> datetime:
        return self.start + timedelta(seconds=max(self.duration_s, 0.0))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PlayItem":
        if not isinstance(d, Mapping):
            raise ProtocolError("play item must be an object")
        stream = StreamRef.from_dict(d["stream"]) if d.get("stream") is not None else None
        sha = _text(d, "sha256", required=stream is None)
        if not (_SHA_RE.match(sha) or (stream is not None and sha == "")):
            raise ProtocolError(f"field 'sha256': not a lowercase hex sha256: {sha!r}")
        if stream is not None and not (0 < _num(d, "duration_s", required=True) <= 720 * 60):
            raise ProtocolError("a stream item needs a duration of up to 720 minutes")
        ext = _text(d, "ext", required=False, default="ogg")
        if not _EXT_RE.match(ext):
            raise ProtocolError(f"field 'ext': unsupported media type {ext!r}")
        return cls(
            item_id=_check_id(_text(d, "item_id"), "item"),
            start=parse_time(d.get("start"), "start"),
            sha256=sha,
            size=_int(d, "size", 0 if stream else 1, 2**31),
            ext=ext,
            duration_s=_num(d, "duration_s", required=False, default=0.0),
            priority=_choice(d, "priority", PRIORITIES, required=False, default="normal"),
            volume=_int(d, "volume", 0, 100, required=False),
            expires_at=_time_opt(d, "expires_at"),
            broadcast_id=_text(d, "broadcast_id", required=False),
            title=_text(d, "title", required=False),
            late_until=_time_opt(d, "late_until"),
            stream=stream,
        )


@dataclass(frozen=True)
class VolumeStep(Message):
    """From ``at`` (local wall-clock ``HH:MM``, every day) the device plays at ``volume`` (0–100)."""

    TYPE: ClassVar[str] = "volume_step"
    SIGNED: ClassVar[bool] = True

    at: str
    volume: int

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "VolumeStep":
        if not isinstance(d, Mapping):
            raise ProtocolError("volume step must be an object")
        at = _text(d, "at", limit=5)
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", at):
            raise ProtocolError(f"field 'at': {at!r} is not HH:MM")
        return cls(at=at, volume=_int(d, "volume", 0, 100))


MAX_VOLUME_STEPS = 24


@dataclass(frozen=True)
class Plan(Message):
    """The complete upcoming plan of one device (desired state, retained on the broker)."""

    TYPE: ClassVar[str] = "plan"
    SIGNED: ClassVar[bool] = True

    device_id: str
    plan_version: int
    issued_at: datetime
    expires_at: datetime
    items: tuple[PlayItem, ...] = ()
    groups: tuple[str, ...] = ()
    volume_steps: tuple[VolumeStep, ...] = ()  # the cluster's volume over the day; empty: no schedule

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if not out.get("volume_steps"):
            out.pop("volume_steps", None)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Plan":
        raw_items = _get(d, "items", list, required=False, default=[])
        if len(raw_items) > 2000:
            raise ProtocolError("plan has more than 2000 items")
        items = tuple(PlayItem.from_dict(x) for x in raw_items)
        ids = [i.item_id for i in items]
        if len(set(ids)) != len(ids):
            raise ProtocolError("plan repeats an item_id")
        return cls(
            device_id=_check_id(_text(d, "device_id"), "device"),
            plan_version=_int(d, "plan_version", 1, 2**62),
            issued_at=parse_time(d.get("issued_at"), "issued_at"),
            expires_at=parse_time(d.get("expires_at"), "expires_at"),
            items=tuple(sorted(items, key=lambda i: i.start)),
            groups=tuple(_check_id(g, "group") for g in _str_list(d, "groups")),
            volume_steps=_volume_steps(d),
        )


def _volume_steps(d: Mapping[str, Any]) -> tuple[VolumeStep, ...]:
    raw = _get(d, "volume_steps", list, required=False, default=[])
    if len(raw) > MAX_VOLUME_STEPS:
        raise ProtocolError(f"a volume schedule has at most {MAX_VOLUME_STEPS} steps")
    steps = tuple(sorted((VolumeStep.from_dict(x) for x in raw), key=lambda s: s.at))
    if len({s.at for s in steps}) != len(steps):
        raise ProtocolError("a volume schedule repeats a time")
    return steps


@dataclass(frozen=True)
class Command(Message):
    """An immediate order for a device or a whole group; short-lived and sequenced."""

    TYPE: ClassVar[str] = "cmd"
    SIGNED: ClassVar[bool] = True

    target: str  # "dev/<id>" or "grp/<node>"
    seq: int
    action: str
    issued_at: datetime
    expires_at: datetime
    item: PlayItem | None = None
    volume: int | None = None
    reason: str = ""
    issued_by: str = ""
    release: str = ""  # update: the release version to install

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Command":
        target = _text(d, "target")
        scope, _, ident = target.partition("/")
        if scope not in ("dev", "grp"):
            raise ProtocolError(f"field 'target': expected dev/<id> or grp/<id>, got {target!r}")
        _check_id(ident, "target")
        action = _choice(d, "action", COMMAND_ACTIONS)
        item = PlayItem.from_dict(d["item"]) if d.get("item") is not None else None
        if action in ("play_now", "speaker_check") and item is None:
            raise ProtocolError(f"{action} needs an item")
        volume = _int(d, "volume", 0, 100, required=action == "set_volume")
        release = _text(d, "release", required=action == "update", limit=32)
        if release and not re.match(r"^\d{1,6}(\.\d{1,6}){1,3}$", release):
            raise ProtocolError(f"field 'release': {release!r} is not a release version")
        return cls(
            target=target,
            seq=_int(d, "seq", 1, 2**62),
            action=action,
            issued_at=parse_time(d.get("issued_at"), "issued_at"),
            expires_at=parse_time(d.get("expires_at"), "expires_at"),
            item=item,
            volume=volume,
            reason=_text(d, "reason", required=False),
            issued_by=_text(d, "issued_by", required=False),
            release=release,
        )


@dataclass(frozen=True)
class Ack(Message):
    """'Stored up to seq N': the device may now delete those events from its outbox."""

    TYPE: ClassVar[str] = "ack"
    SIGNED: ClassVar[bool] = True

    device_id: str
    epoch: str
    up_to_seq: int
    issued_at: datetime

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Ack":
        return cls(
            device_id=_check_id(_text(d, "device_id"), "device"),
            epoch=_check_id(_text(d, "epoch"), "epoch"),
            up_to_seq=_int(d, "up_to_seq", 0, 2**62),
            issued_at=parse_time(d.get("issued_at"), "issued_at"),
        )


@dataclass(frozen=True)
class KeyRollover(Message):
    """Introduces the controller's next signing key, signed by the current one."""

    TYPE: ClassVar[str] = "keys"
    SIGNED: ClassVar[bool] = True

    seq: int
    next_public_key: str
    retire_kid: str
    issued_at: datetime

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "KeyRollover":
        pub = _text(d, "next_public_key")
        public_key_from_text(pub)
        return cls(
            seq=_int(d, "seq", 1, 2**62),
            next_public_key=pub,
            retire_kid=_text(d, "retire_kid"),
            issued_at=parse_time(d.get("issued_at"), "issued_at"),
        )


_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ChainHead(Message):
    """One hash chain's length and last hash (``audit_log:all``, ``playback_events:<device>``)."""

    TYPE: ClassVar[str] = "head"
    SIGNED: ClassVar[bool] = False

    chain: str
    length: int
    head: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ChainHead":
        if not isinstance(d, Mapping):
            raise ProtocolError("a chain head must be an object")
        head = _text(d, "head")
        if not _HEX64_RE.match(head):
            raise ProtocolError("field 'head': not a sha256")
        return cls(chain=_text(d, "chain", limit=200), length=_int(d, "length", 0, 2**62), head=head)


@dataclass(frozen=True)
class ChainHeads(Message):
    """The heads of every hash chain at one instant, signed by the controller, so a copy kept
    off the box (on every pole, at the province) catches a consistent rewrite of history."""

    TYPE: ClassVar[str] = "heads"
    SIGNED: ClassVar[bool] = True

    seq: int
    issued_at: datetime
    controller_url: str = ""
    heads: tuple[ChainHead, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ChainHeads":
        heads = d.get("heads", [])
        if not isinstance(heads, list) or len(heads) > 20000:
            raise ProtocolError("field 'heads': a list of at most 20000 chains")
        return cls(seq=_int(d, "seq", 1, 2**62), issued_at=parse_time(d.get("issued_at"), "issued_at"),
                   controller_url=_text(d, "controller_url", required=False),
                   heads=tuple(ChainHead.from_dict(h) for h in heads))


# --- device -> controller ---------------------------------------------------------


@dataclass(frozen=True)
class DeviceState(Message):
    """Health of one device; retained, with a last will that says ``online: false``."""

    TYPE: ClassVar[str] = "state"
    SIGNED: ClassVar[bool] = False

    device_id: str
    online: bool
    ts: datetime | None = None
    agent_version: str = ""
    plan_version: int = 0
    media_ready: bool = False
    missing_media: tuple[str, ...] = ()
    clock_offset_ms: float | None = None
    volume: int | None = None
    playing: str = ""
    relay_on: bool = False
    cache_bytes: int = 0
    free_disk_bytes: int = 0
    kill_switch: bool = False
    faults: tuple[str, ...] = ()
    security_rejections: int = 0
    update_state: str = ""
    update_detail: str = ""
    started_at: datetime | None = None
    boot_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Without the start and boot instants when unknown: older controllers saw the same bytes."""
        out = super().to_dict()
        for name in ("started_at", "boot_at"):
            if out.get(name) is None:
                out.pop(name, None)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DeviceState":
        return cls(
            device_id=_check_id(_text(d, "device_id"), "device"),
            online=_get(d, "online", bool),
            ts=_time_opt(d, "ts"),
            agent_version=_text(d, "agent_version", required=False, limit=64),
            plan_version=_int(d, "plan_version", 0, 2**62, required=False, default=0),
            media_ready=_get(d, "media_ready", bool, required=False, default=False),
            missing_media=_str_list(d, "missing_media", limit=2000),
            clock_offset_ms=_num(d, "clock_offset_ms", required=False),
            volume=_int(d, "volume", 0, 100, required=False),
            playing=_text(d, "playing", required=False),
            relay_on=_get(d, "relay_on", bool, required=False, default=False),
            cache_bytes=_int(d, "cache_bytes", 0, 2**62, required=False, default=0),
            free_disk_bytes=_int(d, "free_disk_bytes", 0, 2**62, required=False, default=0),
            kill_switch=_get(d, "kill_switch", bool, required=False, default=False),
            faults=_str_list(d, "faults"),
            security_rejections=_int(d, "security_rejections", 0, 2**62, required=False, default=0),
            update_state=_choice(d, "update_state", UPDATE_STATES, required=False, default=""),
            update_detail=_text(d, "update_detail", required=False),
            started_at=_time_opt(d, "started_at"),
            boot_at=_time_opt(d, "boot_at"),
        )


@dataclass(frozen=True)
class PlaybackEvent(Message):
    """One thing that happened to one play item, numbered per device outbox."""

    TYPE: ClassVar[str] = "event"
    SIGNED: ClassVar[bool] = False

    seq: int
    kind: str
    recorded_at: datetime
    item_id: str = ""
    broadcast_id: str = ""
    sha256: str = ""
    plan_version: int = 0
    planned_at: datetime | None = None
    actual_start: datetime | None = None
    duration_s: float | None = None
    reason: str = ""
    flags: tuple[str, ...] = ()
    level_dbfs: float | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PlaybackEvent":
        if not isinstance(d, Mapping):
            raise ProtocolError("event must be an object")
        sha = _text(d, "sha256", required=False)
        if sha and not _SHA_RE.match(sha):
            raise ProtocolError("field 'sha256': not a lowercase hex sha256")
        return cls(
            seq=_int(d, "seq", 1, 2**62),
            kind=_choice(d, "kind", EVENT_KINDS),
            recorded_at=parse_time(d.get("recorded_at"), "recorded_at"),
            item_id=_text(d, "item_id", required=False),
            broadcast_id=_text(d, "broadcast_id", required=False),
            sha256=sha,
            plan_version=_int(d, "plan_version", 0, 2**62, required=False, default=0),
            planned_at=_time_opt(d, "planned_at"),
            actual_start=_time_opt(d, "actual_start"),
            duration_s=_num(d, "duration_s", required=False),
            reason=_text(d, "reason", required=False),
            flags=_str_list(d, "flags", limit=16),
            level_dbfs=_num(d, "level_dbfs", required=False),
        )


@dataclass(frozen=True)
class EventBatch(Message):
    """Events from one device's outbox, in sequence order, sealed with the device's own key.

    The pole generates its Ed25519 key at enrollment and keeps the private half; the
    controller stores the public half and refuses a batch it does not verify, so broker
    credentials alone cannot write the logbook.
    """

    TYPE: ClassVar[str] = "events"
    SIGNED: ClassVar[bool] = True

    device_id: str
    epoch: str
    events: tuple[PlaybackEvent, ...] = field(default=())

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "EventBatch":
        raw = _get(d, "events", list)
        if not 1 <= len(raw) <= 1000:
            raise ProtocolError("an event batch carries 1 to 1000 events")
        events = tuple(PlaybackEvent.from_dict(e) for e in raw)
        seqs = [e.seq for e in events]
        if seqs != sorted(set(seqs)):
            raise ProtocolError("events must be in strictly increasing seq order")
        return cls(
            device_id=_check_id(_text(d, "device_id"), "device"),
            epoch=_check_id(_text(d, "epoch"), "epoch"),
            events=events,
        )


MESSAGE_TYPES: dict[str, type[Message]] = {
    c.TYPE: c for c in (Plan, Command, Ack, KeyRollover, DeviceState, EventBatch)
}


# --- serialisation and signatures ---------------------------------------------------


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_to_text(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise ProtocolError("not a base64 Ed25519 public key") from None


class Signer:
    """Signs controller messages with an Ed25519 private key."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self._key = private_key
        self.public_key = private_key.public_key()
        self.kid = key_id(self.public_key)

    @classmethod
    def generate(cls) -> "Signer":
        return cls(Ed25519PrivateKey.generate())

    def private_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @classmethod
    def from_pem(cls, pem: bytes) -> "Signer":
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("signing key is not Ed25519")
        return cls(key)

    def sign_detached(self, data: bytes) -> str:
        """A base64 signature of ``data`` (records the controller vouches for, not wire messages)."""
        return base64.b64encode(self._key.sign(data)).decode("ascii")

    def seal(self, msg: Message) -> bytes:
        return self.seal_body(type(msg), msg.to_dict())

    def seal_body(self, kind: type[Message], body: Mapping[str, Any]) -> bytes:
        """The envelope :meth:`seal` gives a ``kind`` message whose ``to_dict()`` is ``body``, byte for byte.

        For a sender that serialises shared parts once: the dispatcher's device plans share their
        item documents, and a :class:`Plan` per device would serialise its items again each time
        (for 5,000 devices of 12 items, 1.6 s instead of 0.12 s).  Whether ``kind`` is signed at
        all is checked here, for both ways in.
        """
        if not kind.SIGNED:
            raise ProtocolError(f"{kind.TYPE} messages are not signed")
        if not isinstance(body, Mapping):
            raise ProtocolError(f"a {kind.TYPE} body must be an object")
        return envelope.seal(self._key.sign, self.kid, kind.TYPE, body)


def device_key_proof(device_id: str) -> bytes:
    """What a pole signs with its key when it registers it after a ``register_key`` command: its own id,
    so nobody can pass off a key they do not hold."""
    return f"loaxa-device-key:{device_id}".encode("utf-8")


def verify_detached(public_key: Ed25519PublicKey, data: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64, from :meth:`Signer.sign_detached`) signs ``data`` with ``public_key``."""
    try:
        public_key.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


class Verifier:
    """Checks signed envelopes against the controller keys a device has pinned."""

    def __init__(self, public_keys: Iterable[Ed25519PublicKey]):
        self._keys = {key_id(k): k for k in public_keys}

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def add(self, public_key: Ed25519PublicKey) -> None:
        self._keys[key_id(public_key)] = public_key

    def retire(self, kid: str) -> None:
        self._keys.pop(kid, None)

    def open(self, payload: bytes | str, cls: type[M]) -> M:
        return _parse_body(cls, envelope.open_signed(payload, cls.TYPE, self._keys))


def _parse_body(cls: type[M], body: Any) -> M:
    if not isinstance(body, dict):
        raise ProtocolError("body must be an object")
    try:
        return cls.from_dict(body)
    except ProtocolError:
        raise
    except (TypeError, KeyError, AttributeError, ValueError, OverflowError, RecursionError) as exc:
        # Every parse failure is a ProtocolError, so each side counts it as a rejected message.
        raise ProtocolError(f"malformed {cls.TYPE} message: {str(exc)[:200]}") from None


def encode(msg: Message) -> bytes:
    """Serialise an unsigned (device-side) message."""
    if msg.SIGNED:
        raise ProtocolError(f"{msg.TYPE} messages must be sealed by a Signer")
    return envelope.plain(msg.TYPE, msg.to_dict())


def decode(payload: bytes | str, cls: type[M]) -> M:
    """Parse and validate an unsigned (device-side) message."""
    return _parse_body(cls, envelope.open_plain(payload, cls.TYPE))


def offline_state(device_id: str) -> DeviceState:
    """The last-will payload the broker publishes when a device drops off."""
    return DeviceState(device_id=device_id, online=False)


def expiry(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
