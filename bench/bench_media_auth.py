"""Which media a device may download, decided on a province-sized database.

10,000 devices in 100 communes of 10 villages; 10,000 bulletins, each an Opus file with
its MP3 fallback (20,000 media rows, 1.5 KB of text per bulletin); 15,000 broadcasts
aimed at a commune, a village or one pole (about 900,000 resolved device rows), plus ten
province-wide relays.  One :meth:`MediaAccess.decide` per download, after the credential
check (``media_auth_check_ms`` in ``bench_security``).  Figures: ``media_scope_check_ms``
(median over allowed and refused files, Opus and MP3) and ``media_scope_check_p99_ms``.
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from controller.db import Database
from controller.devices.media_access import Access, MediaAccess
from loaxa.wire_time import format_time, utcnow

COMMUNES, VILLAGES, POLES = 100, 10, 10
BULLETINS, BROADCASTS, RELAYS = 10_000, 15_000, 10
CHECKS = 400


def _sha(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def _device(c: int, v: int, p: int) -> str:
    return f"loa-{c}-{v}-{p}"


def _seed(db: Database, rng: random.Random) -> list[tuple[str, str, str, bool | None]]:
    """Fill the database; returns (device, sha256, ext, allowed) cases, None where a second broadcast may decide."""
    now = format_time(utcnow())
    text = "Thông báo của Ủy ban nhân dân xã về lịch tiêm phòng và thu hoạch lúa. " * 20
    cases: list[tuple[str, str, str, bool | None]] = []
    with db.tx() as conn:
        conn["units"].insert({"id": "tinh", "name": "Tỉnh", "parent_id": None, "level": "province"})
        conn["units"].insert_all({"id": f"xa-{c}", "name": f"Xã {c}", "parent_id": "tinh", "level": "commune"}
                                 for c in range(COMMUNES))
        conn["units"].insert_all({"id": f"thon-{c}-{v}", "name": "Thôn", "parent_id": f"xa-{c}", "level": "village"}
                                 for c in range(COMMUNES) for v in range(VILLAGES))
        conn["devices"].insert_all({"id": _device(c, v, p), "name": "Loa", "unit_id": f"thon-{c}-{v}", "created_at": now}
                                   for c in range(COMMUNES) for v in range(VILLAGES) for p in range(POLES))
        media, bulletins = [], []
        for b in range(BULLETINS):
            ogg, mp3 = _sha(f"ogg-{b}"), _sha(f"mp3-{b}")
            media += [{"sha256": ogg, "ext": "ogg", "size": 100_000, "duration_s": 60.0, "engine": "espeak",
                       "created_at": now, "fallback_sha256": mp3},
                      {"sha256": mp3, "ext": "mp3", "size": 300_000, "duration_s": 60.0, "engine": "espeak",
                       "created_at": now, "fallback_sha256": ""}]
            bulletins.append({"id": f"b-{b}", "title": f"Bản tin {b}", "text": text, "script": text,
                              "media_sha256": ogg, "created_at": now})
        media.append({"sha256": _sha("tone"), "ext": "ogg", "size": 5_000, "duration_s": 3.0, "engine": "test_tone",
                      "created_at": now, "fallback_sha256": ""})
        conn["media"].insert_all(media, batch_size=5000)
        conn["bulletins"].insert_all(bulletins, batch_size=2000)
        broadcasts, links = [], []
        relayed = {k % BULLETINS for k in range(BROADCASTS, BROADCASTS + RELAYS)}
        for k in range(BROADCASTS + RELAYS):
            b = k % BULLETINS
            c, v, p = b % COMMUNES, rng.randrange(VILLAGES), rng.randrange(POLES)
            roll = rng.random()
            if k >= BROADCASTS:
                targets = ["tinh"]
                devices = [_device(x, y, z) for x in range(COMMUNES) for y in range(VILLAGES) for z in range(POLES)]
            elif roll < 0.5:
                targets = [f"xa-{c}"]
                devices = [_device(c, y, z) for y in range(VILLAGES) for z in range(POLES)]
            elif roll < 0.95:
                targets = [f"thon-{c}-{v}"]
                devices = [_device(c, v, z) for z in range(POLES)]
            else:
                targets = [_device(c, v, p)]
                devices = targets
            status = rng.choice(("approved", "approved", "approved", "cancelled", "pending_approval", "draft"))
            bc = f"bc-{k}"
            broadcasts.append({"id": bc, "bulletin_id": f"b-{b}", "starts_at": now, "ends_at": now, "priority": "normal",
                               "targets_json": json.dumps(targets), "status": status, "kind": "scheduled",
                               "created_at": now})
            links += [(bc, d) for d in devices]
            if k < BROADCASTS and b not in relayed and len(cases) < CHECKS and rng.random() < 0.05:
                ext = rng.choice(("ogg", "mp3"))
                sha = _sha(f"{ext}-{b}")
                own = _device(c, v, p) if targets != [f"xa-{c}"] else _device(c, rng.randrange(VILLAGES), p)
                stranger = _device((c + 1 + rng.randrange(COMMUNES - 1)) % COMMUNES, v, p)
                cases += [(own, sha, ext, True if status != "draft" else None), (stranger, sha, ext, False)]
        conn["broadcasts"].insert_all(broadcasts, batch_size=2000)
        conn.conn.executemany("INSERT INTO broadcast_devices(broadcast_id, device_id) VALUES (?, ?)", links)
    return cases


def run() -> dict[str, float]:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "loaxa.db")
        cases = _seed(db, rng)
        access = MediaAccess(db)
        cases.append((_device(3, 3, 3), _sha("tone"), "ogg", True))
        times = []
        for device, sha, ext, allowed in cases:
            t = time.perf_counter()
            decision = access.decide(device, sha, ext)
            times.append(time.perf_counter() - t)
            if allowed is not None:
                assert (decision is Access.ALLOWED) == allowed, (device, sha, ext, decision)
        db.close()
    times.sort()
    return {"media_scope_check_ms": statistics.median(times) * 1000,
            "media_scope_check_p99_ms": times[int(len(times) * 0.99)] * 1000}
