"""A fleet update: a release published → 20 agents on the new version, and what each downloads.

Real parts, with the update tests' harness (tests/support: ``Releases``, ``install_agent``,
``Supervised``, ``TcpProxy``): a real controller and mosquitto; 20 agents installed under
temporary roots by ``loaxa install agent``, each run by the supervisor stand-in of its systemd
unit (guard, start, restart); each agent reaches the controller through its own loopback proxy
that counts the bytes it receives.

The agents start on 0.1.0 as the installer lays out a development checkout (``current`` → the
environment running the bench), which skips 20 venv builds of setup; the update itself is the
agent's real path: the signed manifest, every wheel downloaded and checked, a new venv built
with ``pip --no-index``, ``current`` switched, the restart under the supervisor, the health
proof (connected, plan applied, test tone decoded) and the report.

- ``update_s``: from ``loaxa fleet publish`` of 0.2.0 (built from this checkout) to the moment
  the controller lists all 20 devices on 0.2.0 with ``update_state = updated``; the rollout
  sends to all 20 at once (canary share 1, one wave), so the figure is the fleet's parallel
  update on this machine's 2 cores, pip builds included;
- ``update_kbytes``: the median over devices of the bytes its proxy carried from the
  controller during the update (manifest, key chain, wheels); ``update_release_kbytes`` is
  the release's size (its wheels) beside it.
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger("bench.update")

ROOT = Path(__file__).resolve().parent.parent
AGENTS = 20
OLD, NEW = "0.1.0", "0.2.0"


def _harness():
    """The update tests' harness lives in tests/support (one harness for tests and benches)."""
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    from support import harness, release_rig, tcp_proxy, tree

    return harness, release_rig, tcp_proxy, tree


def run() -> dict[str, float]:
    import subprocess

    from controller.devtools.broker_runner import Broker
    from loaxa.protocol import public_key_to_text
    from loaxa.release_build import keygen

    harness, rig, proxies, tree = _harness()
    with tempfile.TemporaryDirectory(prefix="bench-update-") as tmp:
        root = Path(tmp)
        key = root / "release.pem"
        releases = rig.Releases(root / "built", key, keygen(key))
        releases.build(NEW)
        release_bytes = sum(p.stat().st_size for p in (releases.dir / NEW).glob("*.whl"))
        log.info("release %s: %.0f kB of wheels", NEW, release_bytes / 1024)
        release_key = public_key_to_text(releases.signer.public_key)
        system = harness.System(root / "system", Broker(root / "broker").start())
        (root / "system").mkdir()
        agents, links = [], []
        try:
            ctl = system.controller(extra_toml=f'\n[fleet]\nrelease_public_key = "{release_key}"\ntick_s = 0.5\n'
                                               "resend_s = 600\n")
            devices = {f"loa-{i:02d}": f"thon-{i % 4}" for i in range(AGENTS)}
            tree.seed_commune(ctl.api, devices)
            pubkey = ctl.api.get("/api/pubkey")["public_key"]
            host, port = ctl.url.removeprefix("http://").split(":")
            for device in devices:
                droot = root / "agents" / device
                out = subprocess.run(harness.loaxa("install", "agent", "--root", str(droot)), capture_output=True,
                                     text=True, timeout=120)
                if out.returncode != 0:
                    raise RuntimeError(f"loaxa install agent failed: {out.stderr}")
                link = proxies.TcpProxy(host, int(port))
                links.append(link)
                cfg = rig.agent_config(root / f"{device}.toml", device, droot / "var" / "lib" / "loaxa-agent",
                                       droot / "opt" / "loaxa-agent", pubkey, release_key,
                                       f"http://127.0.0.1:{link.port}", system.broker.port)
                agents.append(rig.Supervised(droot / "opt" / "loaxa-agent", cfg, root / f"{device}.log"))

            def on(version: str, state: str) -> bool:
                rows = ctl.api.get("/api/fleet/devices")
                return len(rows) == AGENTS and all(r["online"] and r["agent_version"] == version
                                                   and r["update_state"] == state for r in rows)

            harness.wait_for(lambda: on(OLD, ""), timeout=300, interval=1, what=f"{AGENTS} agents online on {OLD}")
            before = [link.bytes_down for link in links]
            t0 = time.monotonic()
            ctl.loaxa_cli("fleet", "publish", str(releases.dir / NEW))
            ctl.api.post("/api/rollouts", {"release": NEW, "targets": ["xa"], "canary_share": 1.0, "waves": 1})
            harness.wait_for(lambda: on(NEW, "updated"), timeout=1800, interval=0.5,
                             what=f"{AGENTS} agents on {NEW}")
            update_s = time.monotonic() - t0
            downloaded = [link.bytes_down - b for link, b in zip(links, before)]
            log.info("update: %.1f s; per device %.0f–%.0f kB", update_s, min(downloaded) / 1024, max(downloaded) / 1024)
        finally:
            for a in agents:
                a.stop()
            for link in links:
                link.close()
            system.close()
    return {"update_s": round(update_s, 1), "update_kbytes": round(statistics.median(downloaded) / 1024, 1),
            "update_release_kbytes": round(release_bytes / 1024, 1)}


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    print(run())
