"""Device security costs that grow with a deployment.

- ``media_auth_check_ms``: one media download's credential check (PBKDF2-SHA512 at the
  default iterations, constant-time compare), paid per request.
- ``broker_files_10k_devices_s``: rewriting the password file and ACL for 10,000 enrolled
  devices in a four-level tree, which happens on every enrollment and revocation.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from controller.config import ControllerConfig
from controller.devices.credentials import Credentials, hash_password
from controller.db import Database
from controller.devices.registry import Registry
from loaxa.config import load_config
from loaxa.wire_time import format_time, utcnow

DEVICES = 10_000


def _seed(db: Database, iterations: int) -> None:
    """10,000 devices under 100 villages of 10 communes, each with a broker account."""
    reg = Registry(db)
    reg.add_unit("tinh", "Tỉnh")
    now = format_time(utcnow())
    the_hash = hash_password("x", iterations)  # hashing 10,000 times is not what is measured
    with db.tx() as conn:
        for c in range(10):
            conn["units"].insert({"id": f"xa-{c}", "name": f"Xã {c}", "parent_id": "tinh", "level": "commune"})
            for v in range(10):
                conn["units"].insert({"id": f"thon-{c}-{v}", "name": "Thôn", "parent_id": f"xa-{c}", "level": "village"})
        conn["devices"].insert_all({"id": f"loa-{i}", "name": "Loa", "unit_id": f"thon-{i % 10}-{i // 10 % 10}",
                                    "created_at": now} for i in range(DEVICES))
        conn["broker_accounts"].insert_all({"username": f"dev-loa-{i}", "role": "device", "device_id": f"loa-{i}",
                                            "password_hash": the_hash, "created_at": now} for i in range(DEVICES))


def run() -> dict[str, float]:
    from controller.security import broker_config

    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(ControllerConfig, env={"LOAXA_DATA_DIR": tmp})
        db = Database(Path(tmp) / "loaxa.db")
        creds = Credentials(db, config.broker.hash_iterations)
        user, password = "dev-loa-0", "p"
        _seed(db, config.broker.hash_iterations)
        with db.tx() as conn:
            conn.execute("UPDATE broker_accounts SET password_hash = ? WHERE username = ?",
                         [hash_password(password, config.broker.hash_iterations), user])
        checks = []
        for _ in range(50):
            t = time.perf_counter()
            assert creds.check_device(user, password) == "loa-0"
            checks.append(time.perf_counter() - t)
        t = time.perf_counter()
        broker_config.write_access_files(config, db)
        files_s = time.perf_counter() - t
        db.close()
    return {"media_auth_check_ms": statistics.median(checks) * 1000, "broker_files_10k_devices_s": files_s}
