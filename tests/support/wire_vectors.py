"""One message of every type the protocol carries, built from fixed values and a fixed key.

Ed25519 signatures are deterministic, so the same message sealed with the same key gives
the same bytes: tests/data/wire/vectors.json holds what each message was on the wire when
it was recorded, and tests/test_wire_vectors.py checks the code still writes exactly that.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loaxa import protocol
from loaxa.protocol import (Ack, ChainHead, ChainHeads, Command, DeviceState, EventBatch, KeyRollover, Message, Plan,
                            PlaybackEvent, PlayItem, Signer, StreamRef, VolumeStep)
from loaxa.release import ReleaseFile, ReleaseKeyRollover, ReleaseManifest

T0 = datetime(2026, 11, 24, 6, 30, tzinfo=timezone.utc)
SHA = "ab" * 32


def fixed_signer(seed: int = 7) -> Signer:
    return Signer(Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def _item(n: int, **kw) -> PlayItem:
    fields = {"item_id": f"bc-{n}-202611241330", "start": T0 + timedelta(minutes=n), "sha256": SHA, "size": 1234 + n,
              "duration_s": 61.5, "expires_at": T0 + timedelta(hours=1), "broadcast_id": f"bc-{n}",
              "title": f"Bản tin số {n}: phòng chống bão"}
    return PlayItem(**(fields | kw))


def signed_messages() -> dict[str, Message]:
    nxt = fixed_signer(9)
    return {
        "plan": Plan(device_id="loa-dong-1", plan_version=42, issued_at=T0, expires_at=T0 + timedelta(days=2),
                     items=(_item(1), _item(2, volume=80, late_until=T0 + timedelta(minutes=30)),
                            _item(3, stream=StreamRef(url="https://ctl.example:8443/relay/vov1.opus", username="loa-dong-1",
                                                      password="pw-1"))),
                     groups=("xa-tan-lap", "huyen-a"),
                     volume_steps=(VolumeStep(at="05:00", volume=60), VolumeStep(at="21:30", volume=30))),
        "cmd": Command(target="grp/xa-tan-lap", seq=17, action="play_now", issued_at=T0, expires_at=T0 + timedelta(minutes=2),
                       item=_item(4, priority="emergency"), reason="Bão số 9", issued_by="chutich"),
        "cmd_volume": Command(target="dev/loa-dong-1", seq=18, action="set_volume", issued_at=T0,
                              expires_at=T0 + timedelta(minutes=2), volume=70),
        "ack": Ack(device_id="loa-dong-1", epoch="ep-1", up_to_seq=99, issued_at=T0),
        "keys": KeyRollover(seq=2, next_public_key=protocol.public_key_to_text(nxt.public_key),
                            retire_kid=fixed_signer().kid, issued_at=T0),
        "heads": ChainHeads(seq=5, issued_at=T0, controller_url="https://ctl.example",
                            heads=(ChainHead(chain="audit_log:all", length=120, head="cd" * 32),
                                   ChainHead(chain="playback_events:loa-dong-1", length=7, head="ef" * 32))),
        "events": EventBatch(device_id="loa-dong-1", epoch="ep-1", events=(
            PlaybackEvent(seq=1, kind="started", recorded_at=T0, item_id="bc-1-202611241330", broadcast_id="bc-1",
                          sha256=SHA, plan_version=42, planned_at=T0, actual_start=T0 + timedelta(milliseconds=12)),
            PlaybackEvent(seq=2, kind="finished", recorded_at=T0 + timedelta(seconds=62), item_id="bc-1-202611241330",
                          duration_s=61.5, level_dbfs=-18.25, flags=("late",)))),
        "release": ReleaseManifest(version="1.4.0", min_from_version="1.2.0", floor="1.3.0", python="cp311",
                                   created_at=T0, expires_at=T0 + timedelta(days=90),
                                   files=(ReleaseFile(name="loaxa_agent-1.4.0-py3-none-any.whl", sha256=SHA, size=987654),),
                                   notes="Sửa lỗi phát lại"),
        "release_keys": ReleaseKeyRollover(seq=1, next_public_key=protocol.public_key_to_text(nxt.public_key),
                                           retire_kid=fixed_signer().kid, issued_at=T0),
    }


def unsigned_messages() -> dict[str, Message]:
    return {
        "state": DeviceState(device_id="loa-dong-1", online=True, ts=T0, agent_version="1.4.0", plan_version=42,
                             media_ready=True, clock_offset_ms=3.5, volume=70, playing="bc-1-202611241330",
                             relay_on=True, cache_bytes=10_000, free_disk_bytes=5_000_000, faults=("amp_hot",)),
        "offline": protocol.offline_state("loa-dong-1"),
    }


def wire_bytes() -> dict[str, str]:
    """Every message as the code writes it now: signed ones sealed with the fixed key."""
    signer = fixed_signer()
    out = {name: signer.seal(msg).decode("utf-8") for name, msg in signed_messages().items()}
    out |= {name: protocol.encode(msg).decode("utf-8") for name, msg in unsigned_messages().items()}
    return out
