"""A commune with people in each role, guardrails pinned relative to now, and optional agents."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from support.harness import ControllerHandle, System, wait_for

from support.tree import seed_commune
from loaxa.local_time import LOCAL_TZ
from loaxa.wire_time import utcnow

PASSWORD = "mat-khau-" + secrets.token_hex(6)
USERS = {"canbo": ("editor", "xa", "Cán bộ Văn hóa"), "chutich": ("approver", "xa", "Chủ tịch Xã"),
         "kiemtra": ("auditor", "tinh", "Kiểm tra Tỉnh"), "canbo-b": ("editor", "xa-b", "Cán bộ Xã B")}


@dataclass
class Commune:
    ctl: ControllerHandle
    agents: list = field(default_factory=list)
    quiet_at: datetime = datetime.min

    def count(self, table: str) -> int:
        with self.ctl.db() as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def local_now() -> datetime:
    return utcnow().astimezone(LOCAL_TZ)


def setup_commune(system: System, agents: tuple[str, ...] = (), extra_toml: str = "",
                  audio_toml: str | None = None) -> Commune:
    """Commune A (xa: loa-1, loa-2) and commune B (xa-b: loa-3) in one province, users in each role.

    Quiet hours are set to a window starting three hours from now, so whatever the wall
    clock says, "now" is allowed and ``quiet_at`` (four hours ahead) is not.
    """
    start = local_now() + timedelta(hours=3)
    quiet = f'quiet_start = "{start:%H:%M}"\nquiet_end = "{start + timedelta(hours=2):%H:%M}"\n'
    audio = {} if audio_toml is None else {"audio_toml": audio_toml}
    ctl = system.controller(extra_toml=extra_toml, guardrails_toml=quiet + 'max_programmes_per_day = ""\nmax_minutes_per_programme = ""\n',
                            **audio)
    api = ctl.api
    seed_commune(api, {"loa-1": "thon-a", "loa-2": "thon-b"})
    api.post("/api/units", {"id": "xa-b", "name": "Xã Bên Cạnh", "parent_id": "tinh", "level": "commune"})
    api.post("/api/units", {"id": "thon-c", "name": "Thôn C", "parent_id": "xa-b", "level": "village"})
    api.post("/api/devices", {"id": "loa-3", "name": "Cụm loa 3", "unit_id": "thon-c"})
    for username, (role, unit, name) in USERS.items():
        api.post("/api/users", {"username": username, "password": PASSWORD, "role": role, "unit_id": unit,
                                "display_name": name})
    commune = Commune(ctl, quiet_at=local_now() + timedelta(hours=4))
    if agents:
        key = api.get("/api/pubkey")["public_key"]
        commune.agents = [system.agent(d, key, ctl.url) for d in agents]
        wait_for(lambda: all(d["online"] for d in api.get("/api/devices") if d["id"] in agents), timeout=30,
                 what="agents online")
    return commune


def sign_in(base_url: str, username: str, password: str = PASSWORD) -> "requests.Session":
    """A person's own HTTP session (cookie and CSRF header), signed in through ``POST /api/login``."""
    import requests

    s = requests.Session()
    s.headers["X-CSRF-Token"] = s.get(base_url + "/api/session", timeout=30).json()["csrf_token"]
    r = s.post(base_url + "/api/login", json={"username": username, "password": password}, timeout=30)
    assert r.status_code == 200, r.text
    s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return s
