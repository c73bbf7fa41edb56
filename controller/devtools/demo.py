"""``loaxa demo``: the whole system on one machine, secured as a real installation is.

A private mosquitto running the configuration ``loaxa broker config`` generates (no
anonymous access, one account per device, the ACL), the controller with its web UI on
http://127.0.0.1:8080, and three simulated edge agents of one demo commune with two
villages, each enrolled with a one-time code.  Each agent is a real ``loaxa agent``
process (the code a Pi runs) whose sound card is a file sink that records the exact
start instant of every play.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from controller.cli_http.client import ApiClient, ApiError
from controller.devtools.broker_runner import Broker, free_port, wait_for_port
from controller.devtools.supervise import Supervised, Supervisor
from controller.devtools.terminal import own_foreground
from controller.people.actor import Actor

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 20  # for all processes together; what is still running then is killed

UNITS = [
    ("tinh-demo", "Tỉnh Demo", None, "province"),
    ("xa-tan-lap", "Xã Tân Lập", "tinh-demo", "commune"),
    ("thon-dong", "Thôn Đông", "xa-tan-lap", "village"),
    ("thon-tay", "Thôn Tây", "xa-tan-lap", "village"),
]
DEVICES = [
    ("loa-dong-1", "Cụm loa chợ Thôn Đông", "thon-dong"),
    ("loa-dong-2", "Cụm loa nhà văn hóa Thôn Đông", "thon-dong"),
    ("loa-tay-1", "Cụm loa Thôn Tây", "thon-tay"),
]


def loaxa_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "loaxa", *args]


def controller_toml(data_dir: Path, mqtt_port: int, http_port: int, commune: str = "Tân Lập") -> str:
    return (
        f'data_dir = "{data_dir}"\n\n[mqtt]\nport = {mqtt_port}\n\n'
        "# The demo: plain HTTP, on this machine only (an installed controller serves HTTPS).\n"
        f'[http]\nport = {http_port}\ntls = false\n\n[unit]\ncommune_name = "{commune}"\n\n'
        '[audio]\nengine = "espeak"\n\n'
        "# The demo runs at any hour: no quiet hours (a real commune keeps 22:00-05:00 by default).\n"
        '[schedules]\nquiet_start = "00:00"\nquiet_end = "00:00"\n\n'
        "# As in a real commune: the editor drafts, another person (the approver) approves.\n"
        "[people]\ntwo_person_rule = true\n\n"
        "# A speaker silent for a minute is told to the approver and the administrators (the bell).\n"
        "[notifications]\noffline_minutes = 1\ncheck_s = 10\n"
    )


def agent_toml(device_id: str, data_dir: Path, controller_url: str, public_key: str, mqtt_port: int) -> str:
    return (
        f'device_id = "{device_id}"\ndata_dir = "{data_dir}"\ncontroller_url = "{controller_url}"\n'
        f'controller_public_key = "{public_key}"\nstate_interval_s = 10\n\n'
        f"[mqtt]\nport = {mqtt_port}\n\n"
        '[player]\nbackend = "file"\n\n'
        '[relay]\npin = "GPIO17"\npin_factory = "mock"\n'
    )


def agent_local_toml(data_dir: Path) -> str:
    """What an installer sets on the pole before enrolling: storage, sound card, relay."""
    return (f'data_dir = "{data_dir}"\nstate_interval_s = 10\n\n[player]\nbackend = "file"\n\n'
            '[relay]\npin = "GPIO17"\npin_factory = "mock"\n\n'
            "# The demo's agents share the controller's machine and clock: no public NTP server is asked.\n"
            '[clock]\nntp_server = ""\nuse_chrony = false\nsame_clock_as_controller = true\n')


def streaming_toml(icecast_port: int) -> str:
    """The demo's controller runs Icecast (from its generated files) for relays and live speech."""
    return f'\n[streaming]\nenabled = true\nport = {icecast_port}\n'


def broker_toml(mqtt_port: int, pid_file: Path) -> str:
    """The demo opts into plaintext explicitly: every part runs on loopback, so no TLS listener."""
    return (f'\n[broker]\nbind_address = "127.0.0.1"\nplain_bind_address = "127.0.0.1"\nport = {mqtt_port}\n'
            f'tls_port = 0\npid_file = "{pid_file}"\n')


def _box(unit_id: str, lon: float, lat: float, width: float, height: float) -> dict:
    ring = [[lon, lat], [lon + width, lat], [lon + width, lat + height], [lon, lat + height], [lon, lat]]
    return {"type": "Feature", "properties": {"unit_id": unit_id}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


# Made-up boundaries and poles for the map (a real commune imports its own GeoJSON, see docs/alerts.md).
DEMO_GEOJSON = {"type": "FeatureCollection", "features": [
    _box("tinh-demo", 105.70, 20.90, 0.30, 0.25), _box("xa-tan-lap", 105.80, 21.00, 0.10, 0.06),
    _box("thon-dong", 105.85, 21.00, 0.05, 0.06), _box("thon-tay", 105.80, 21.00, 0.05, 0.06)]}
DEMO_LOCATIONS = {"loa-dong-1": (21.02, 105.87), "loa-dong-2": (21.045, 105.885), "loa-tay-1": (21.03, 105.825)}


def seed(api: ApiClient) -> None:
    existing = {u["id"] for u in api.get("/api/units")}
    for uid, name, parent, level in UNITS:
        if uid not in existing:
            api.post("/api/units", {"id": uid, "name": name, "parent_id": parent, "level": level})
    api.post("/api/alerts/geography", DEMO_GEOJSON)


def place_devices(api: ApiClient) -> None:
    for device_id, (lat, lon) in DEMO_LOCATIONS.items():
        api.request("PUT", f"/api/devices/{device_id}/location", {"lat": lat, "lon": lon})


def secure_broker(config_path: Path, workdir: Path, port: int) -> Broker:
    """Generate the broker configuration from the controller's database and run mosquitto with it."""
    from controller.security import broker_config
    from controller.config import ControllerConfig
    from controller.db import Database
    from loaxa.config import load_config

    config = load_config(ControllerConfig, config_path)
    db = Database(config.db_path)
    try:
        files = broker_config.generate(config, db)
    finally:
        db.close()
    extra = broker_config.render_auth(files) + f"pid_file {config.broker.pid_file}\n"
    return Broker(workdir, port=port, extra_config=extra).start()


def enrollment_codes(config_path: Path) -> dict[str, str]:
    """A fresh one-time code per demo device, adding the devices on the first run."""
    from controller.config import ControllerConfig
    from controller.security.operator_session import operator_session
    from loaxa.config import load_config

    codes: dict[str, str] = {}
    with operator_session(load_config(ControllerConfig, config_path)) as security:
        for device_id, name, unit in DEVICES:
            if security.registry.is_device(device_id):
                codes[device_id] = security.new_code(device_id, Actor.system("demo"))[0]
            else:
                codes[device_id] = security.add_device(unit, name, device_id, Actor.system("demo"))[1]
    return codes


OUTAGE_DEVICE = "loa-tay-1"  # the speaker the demo switches off for a while, to show a dead one


def listen_for_ctrl_c() -> None:
    """Ctrl-C stops the demo even when it was started with SIGINT ignored or blocked (a background
    job of a script, a service manager's child): the demo is meant to be stopped by it."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def run_demo(workdir: Path, http_port: int = 8080, outage_after_s: float = 90.0, outage_for_s: float = 150.0,
             restart_delay_s: float = 3.0) -> int:
    """Run the demo until Ctrl-C or SIGTERM (exit 0); a process that dies is restarted, never the end of it."""
    listen_for_ctrl_c()
    with own_foreground():
        try:
            return _run(workdir, http_port, outage_after_s, outage_for_s, restart_delay_s)
        except KeyboardInterrupt:  # Ctrl-C during the set-up, before the supervised part began
            print("\nThe demo was stopped while starting.", file=sys.stderr, flush=True)
            return 0


def _run(workdir: Path, http_port: int, outage_after_s: float, outage_for_s: float, restart_delay_s: float) -> int:
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(restart_delay_s, say=lambda text: print(text, file=sys.stderr, flush=True))
    mqtt_port = free_port()
    url = f"http://127.0.0.1:{http_port}"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    ctl_toml = workdir / "controller.toml"
    ctl_toml.write_text(controller_toml(workdir / "controller", mqtt_port, http_port)
                        + broker_toml(mqtt_port, workdir / "broker" / "mosquitto.pid")
                        + streaming_toml(free_port()))
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
    broker = secure_broker(ctl_toml, workdir / "broker", mqtt_port)
    try:
        admin = demo_admin(ctl_toml)
        controller = supervisor.add(Supervised("controller", loaxa_command("controller", "-c", str(ctl_toml)),
                                               workdir / "controller.log", env))
        wait_for_port("127.0.0.1", http_port, timeout=30, proc=controller.popen)
        api = ApiClient(url, token=admin.token)
        seed(api)
        people = demo_people(ctl_toml)
        for device_id, code in enrollment_codes(ctl_toml).items():
            cfg = workdir / f"agent-{device_id}.toml"
            if not cfg.exists():
                cfg.write_text(agent_local_toml(workdir / "agents" / device_id))
            enrolled = subprocess.run(loaxa_command("agent", "enroll", url, code, "-c", str(cfg)),
                                      capture_output=True, text=True, env=env, timeout=60)
            if enrolled.returncode != 0:
                print(f"demo set-up failed: enrolling {device_id}: {enrolled.stderr.strip()}", file=sys.stderr)
                return 1
            supervisor.add(Supervised(device_id, loaxa_command("agent", "-c", str(cfg)),
                                      workdir / f"agent-{device_id}.log", env))
        place_devices(api)
        if outage_after_s > 0 and outage_for_s > 0:
            supervisor.outage(OUTAGE_DEVICE, outage_after_s, outage_for_s)
        print(instructions(workdir, url, admin, people, outage_after_s, outage_for_s), flush=True)
        while not stopping:
            supervisor.poll()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except ApiError as exc:
        print(f"demo set-up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("\nStopping the demo…", flush=True)
        try:
            supervisor.stop_all(STOP_TIMEOUT_S)
        except KeyboardInterrupt:  # a second Ctrl-C: stop at once
            for p in supervisor.procs:
                if p.running:
                    p.popen.kill()
        broker.stop()
    return 0


@dataclass(frozen=True)
class DemoAdmin:
    username: str
    password: str
    token: str
    role: str = "admin"
    display_name: str = "Quản trị demo"
    unit_id: str | None = None


# The demo's people, one account per role, so a newcomer sees the real approval flow:
# the editor drafts and submits, the approver (another person) approves, the auditor reads.
DEMO_PEOPLE = (
    ("canbo", "editor", "xa-tan-lap", "Cán bộ Văn hóa xã Tân Lập"),
    ("chutich", "approver", "xa-tan-lap", "Chủ tịch UBND xã Tân Lập"),
    ("kiemtra", "auditor", "tinh-demo", "Kiểm tra viên tỉnh"),
)


def _demo_account(config_path: Path, username: str, role: str, unit_id: str | None, display_name: str) -> DemoAdmin:
    """An account with a fresh random password and API token each run (never a fixed one)."""
    import secrets

    from controller.config import ControllerConfig
    from controller.db import Database
    from controller.people.users import Users
    from loaxa.config import load_config

    config = load_config(ControllerConfig, config_path)
    db = Database(config.db_path)
    try:
        users = Users(db, config.people)
        password = secrets.token_urlsafe(12)
        if users.find(username) is None:
            users.add(username, password, role, unit_id, display_name)
        else:
            users.set_password(username, password)
            users.revoke_tokens(username, "demo")
        return DemoAdmin(username, password, users.create_token(username, "demo"), role, display_name, unit_id)
    finally:
        db.close()


def demo_admin(config_path: Path, username: str = "demo-admin") -> DemoAdmin:
    """The demo's administrator of the whole tree."""
    return _demo_account(config_path, username, "admin", None, "Quản trị demo")


def demo_people(config_path: Path) -> list[DemoAdmin]:
    """The editor, the approver and the auditor (their units must exist: after :func:`seed`)."""
    return [_demo_account(config_path, *person) for person in DEMO_PEOPLE]


ROLE_LABELS = {"admin": "admin   ", "editor": "editor  ", "approver": "approver", "auditor": "auditor "}


def instructions(workdir: Path, url: str, admin: DemoAdmin, people: list[DemoAdmin] | None = None,
                 outage_after_s: float = 0, outage_for_s: float = 0) -> str:
    sample = Path(__file__).resolve().parents[2] / "docs" / "samples" / "thong-bao-mau.txt"
    people = people or []
    accounts = "\n".join(f"  {ROLE_LABELS[p.role]}  {p.username:<10} password {p.password}   ({p.display_name})"
                          for p in (*people, admin))
    editor = next((p for p in people if p.role == "editor"), admin)
    approver = next((p for p in people if p.role == "approver"), admin)
    outage = ""
    if outage_after_s > 0 and outage_for_s > 0:
        outage = (f"\nTo show how a dead speaker looks, {OUTAGE_DEVICE} (Thôn Tây) is switched off on purpose "
                  f"{outage_after_s:.0f} s from now, for {outage_for_s:.0f} s:\n"
                  f"  it turns red on {url}/map and {url}/devices, and after a minute the approver's bell rings.\n"
                  "A speaker or the controller that dies is restarted by the demo, as systemd does on a real pole.\n")
    return f"""
Loa Xã demo is running.
  Web UI and API:   {url}   (JSON API under {url}/api)
  Devices:          {', '.join(d[0] for d in DEVICES)}  (Xã Tân Lập: Thôn Đông, Thôn Tây)
  Logs and data:    {workdir}

Sign in (new passwords each run). The two-person rule is on: the editor drafts and submits,
the approver (another person) approves, the administrator manages, the auditor reads:
{accounts}
{outage}
The command line and curl use an API token (the editor's, and the approver's):
  export LOAXA_TOKEN={editor.token}
  export LOAXA_APPROVER_TOKEN={approver.token}

Schedule a bulletin on the whole commune one minute from now, then approve it as the approver:
  .venv/bin/loaxa bulletin add {sample} --at +1m --targets xa-tan-lap
  LOAXA_TOKEN=$LOAXA_APPROVER_TOKEN .venv/bin/loaxa broadcast approve <broadcast id>

or with the API:
  curl -s -X POST {url}/api/bulletins -H "Authorization: Bearer $LOAXA_TOKEN" -H 'Content-Type: application/json' \\
       -d '{{"title": "Thông báo", "text": "Xin thông báo lịch tiêm chủng vào sáng thứ bảy."}}'
  curl -s -X POST {url}/api/broadcasts -H "Authorization: Bearer $LOAXA_TOKEN" -H 'Content-Type: application/json' \\
       -d '{{"bulletin_id": "<id from above>", "starts_at": "<YYYY-MM-DD HH:MM>", "targets": ["xa-tan-lap"]}}'
  curl -s -X POST {url}/api/broadcasts/<broadcast id>/approve -H "Authorization: Bearer $LOAXA_APPROVER_TOKEN" \\
       -H 'Content-Type: application/json' -d '{{"comment": "Đồng ý"}}'

Then see what played where and when:
  .venv/bin/loaxa logs
Each simulated speaker writes its plays to {workdir}/agents/<device>/sink/plays.jsonl.
Press Ctrl-C to stop everything.
"""
