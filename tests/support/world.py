"""An in-process controller and Flask app with a small tree and one user per role.

Tree: ``tinh`` → ``xa-a`` (``thon-a``: device ``loa-a``) and ``xa-b`` (``thon-b``: ``loa-b``).
Scoped users hold their role in ``xa-a``; ``root`` is an administrator of the whole tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from controller.config import ControllerConfig
from controller.service import Controller
from loaxa.config import load_config
from loaxa.local_time import to_local
from loaxa.wire_time import utcnow
from support.tree import seed_registry
from web.app import create_app

PASSWORD = "mat-khau-thu-nghiem"
ROLES = ("admin", "approver", "editor", "auditor")


def make_controller(data_dir: Path, **env: str) -> Controller:
    """Tests run at any hour of the day: no quiet hours unless a test sets its own (in ``env`` or per unit)."""
    base = {"LOAXA_DATA_DIR": str(data_dir), "LOAXA_AUDIO_ENGINE": "espeak", "LOAXA_MQTT_PORT": "9",
            "LOAXA_HTTP_TLS": "false",  # plain HTTP on loopback, as the demo
            "LOAXA_SCHEDULES_QUIET_START": "00:00", "LOAXA_SCHEDULES_QUIET_END": "00:00"}
    base.update({f"LOAXA_{k.upper()}": v for k, v in env.items()})
    return Controller(load_config(ControllerConfig, env=base))


def seed_tree(c: Controller) -> None:
    seed_registry(c.registry)


def tomorrow_10h() -> str:
    """A local time far from quiet hours, whenever the test runs."""
    return (to_local(utcnow()) + timedelta(days=1)).strftime("%Y-%m-%d 10:00")


@dataclass
class World:
    controller: Controller
    app: Flask
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def call(self, who: str | None, method: str, path: str, json: Any = None, **kw: Any):
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client().open(path, method=method, json=json, headers=headers, **kw)


def make_world(data_dir: Path, **env: str) -> World:
    c = make_controller(data_dir, **env)
    app = create_app(c, {"TESTING": True})
    seed_tree(c)
    w = World(c, app)
    c.users.add("root", PASSWORD, "admin", None, "Quản trị tỉnh")
    w.tokens["root"] = c.users.create_token("root")
    for role in ROLES:
        c.users.add(f"{role}-a", PASSWORD, role, "xa-a")
        w.tokens[role] = c.users.create_token(f"{role}-a")
    return w
