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


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen


def controller_toml(data_dir: Path, mqtt_port: int, http_port: int, commune: str = "Tân Lập") -> str:
    return (
        f'data_dir = "{data_dir}"\n\n[mqtt]\nport = {mqtt_port}\n\n'
        f'[http]\nport = {http_port}\n\n[unit]\ncommune_name = "{commune}"\n\n'
        '[audio]\nengine = "espeak"\n\n'
        "# The demo runs at any hour and has one official: no quiet hours, and the drafter may approve.\n"
        "# A real commune keeps quiet hours (22:00-05:00 by default) and the two-person rule.\n"
        '[schedules]\nquiet_start = "00:00"\nquiet_end = "00:00"\n\n'
        "[people]\ntwo_person_rule = false\n"
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


def seed(api: ApiClient) -> None:
    existing = {u["id"] for u in api.get("/api/units")}
    for uid, name, parent, level in UNITS:
        if uid not in existing:
            api.post("/api/units", {"id": uid, "name": name, "parent_id": parent, "level": level})


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


def run_demo(workdir: Path, http_port: int = 8080) -> int:
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    procs: list[Proc] = []
    mqtt_port = free_port()
    url = f"http://127.0.0.1:{http_port}"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    ctl_toml = workdir / "controller.toml"
    ctl_toml.write_text(controller_toml(workdir / "controller", mqtt_port, http_port)
                        + broker_toml(mqtt_port, workdir / "broker" / "mosquitto.pid")
                        + streaming_toml(free_port()))
    broker = secure_broker(ctl_toml, workdir / "broker", mqtt_port)
    try:
        admin = demo_admin(ctl_toml)
        log_f = open(workdir / "controller.log", "ab")
        procs.append(Proc("controller", subprocess.Popen(loaxa_command("controller", "-c", str(ctl_toml)),
                                                         stdout=log_f, stderr=log_f, env=env)))
        wait_for_port("127.0.0.1", http_port, timeout=30, proc=procs[0].popen)
        api = ApiClient(url, token=admin.token)
        seed(api)
        for device_id, code in enrollment_codes(ctl_toml).items():
            cfg = workdir / f"agent-{device_id}.toml"
            if not cfg.exists():
                cfg.write_text(agent_local_toml(workdir / "agents" / device_id))
            enrolled = subprocess.run(loaxa_command("agent", "enroll", url, code, "-c", str(cfg)),
                                      capture_output=True, text=True, env=env, timeout=60)
            if enrolled.returncode != 0:
                print(f"demo set-up failed: enrolling {device_id}: {enrolled.stderr.strip()}", file=sys.stderr)
                return 1
            out = open(workdir / f"agent-{device_id}.log", "ab")
            procs.append(Proc(device_id, subprocess.Popen(loaxa_command("agent", "-c", str(cfg)),
                                                          stdout=out, stderr=out, env=env)))
        print(instructions(workdir, url, admin), flush=True)
        stopping = []
        signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
        while not stopping:
            for p in procs:
                if p.popen.poll() is not None:
                    print(f"{p.name} exited with code {p.popen.returncode}; see {workdir}/*.log", file=sys.stderr)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except ApiError as exc:
        print(f"demo set-up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("\nStopping the demo…", flush=True)
        for p in reversed(procs):
            if p.popen.poll() is None:
                p.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for p in reversed(procs):
            try:
                p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait()
        broker.stop()
    return 0


@dataclass(frozen=True)
class DemoAdmin:
    username: str
    password: str
    token: str


def demo_admin(config_path: Path, username: str = "demo-admin") -> DemoAdmin:
    """The demo's administrator with a fresh random password and API token (never a fixed one)."""
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
            users.add(username, password, "admin", None, "Quản trị demo")
        else:
            users.set_password(username, password)
            users.revoke_tokens(username, "demo")
        return DemoAdmin(username, password, users.create_token(username, "demo"))
    finally:
        db.close()


def instructions(workdir: Path, url: str, admin: DemoAdmin) -> str:
    sample = Path(__file__).resolve().parent.parent / "docs" / "samples" / "thong-bao-mau.txt"
    return f"""
Loa Xã demo is running.
  Web UI and API:   {url}   (JSON API under {url}/api)
  Devices:          {', '.join(d[0] for d in DEVICES)}  (Xã Tân Lập: Thôn Đông, Thôn Tây)
  Logs and data:    {workdir}
  Sign in as:       {admin.username}  password {admin.password}   (new for each run)

The command line and curl use an API token:
  export LOAXA_TOKEN={admin.token}

Schedule a bulletin on the whole commune one minute from now:
  .venv/bin/loaxa bulletin add {sample} --at +1m --targets xa-tan-lap --approve

or with the API:
  curl -s -X POST {url}/api/bulletins -H "Authorization: Bearer $LOAXA_TOKEN" -H 'Content-Type: application/json' \\
       -d '{{"title": "Thông báo", "text": "Xin thông báo lịch tiêm chủng vào sáng thứ bảy."}}'
  curl -s -X POST {url}/api/broadcasts -H "Authorization: Bearer $LOAXA_TOKEN" -H 'Content-Type: application/json' \\
       -d '{{"bulletin_id": "<id from above>", "starts_at": "<YYYY-MM-DD HH:MM>", "targets": ["xa-tan-lap"]}}'
  curl -s -X POST {url}/api/broadcasts/<broadcast id>/approve -H "Authorization: Bearer $LOAXA_TOKEN" \
       -H 'Content-Type: application/json' -d '{{"comment": "Đồng ý"}}'

Then see what played where and when:
  .venv/bin/loaxa logs
Each simulated speaker writes its plays to {workdir}/agents/<device>/sink/plays.jsonl.
Press Ctrl-C to stop everything.
"""
