"""The Icecast2 server the controller runs: its generated configuration, listener file and process.

Icecast is the field's streaming server (Debian's ``icecast2``).  The controller writes
everything it needs into one directory and starts it from there, so the demo, an
installed controller and the tests run the same configuration:

- ``icecast.xml``: a plain listener (on loopback: the controller's encoders push to it) and,
  when a TLS port is set, a TLS listener certified by the controller's CA, the one devices
  already trust for the broker;
- every mount requires a listener account (``<mount type="default">`` with ``htpasswd``
  authentication): one account per device, so a revoked device is refused at once;
- ``burst-size`` 0 and a short queue: a listener that (re)connects starts at the live point;
- source and admin passwords are random, kept in ``secrets.json`` readable only by its owner;
- ``icecast.pid``: the server started from the directory, so a controller restarted after a
  SIGKILL stops the one it left behind before it starts its own (:func:`reclaim_stale`).

Icecast re-reads the listener file when its modification time changes (second
resolution), so every rewrite moves the time strictly forward.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets as _secrets
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable
from xml.sax.saxutils import escape

from controller.child_process import spawn
from controller.devices.credentials import write_secret
from controller.streaming.settings import StreamingSettings

log = logging.getLogger(__name__)

RUN_AS_ROOT_USER = ("icecast2", "icecast")  # what Debian's package creates; Icecast refuses to run as root


class IcecastError(RuntimeError):
    """Icecast is missing, or did not start from the generated configuration."""


@dataclass(frozen=True)
class IcecastSecrets:
    source_password: str
    admin_password: str


@dataclass(frozen=True)
class IcecastLayout:
    """Where the generated files of one Icecast server live."""

    dir: Path

    @property
    def config(self) -> Path:
        return self.dir / "icecast.xml"

    @property
    def listeners(self) -> Path:
        return self.dir / "listeners.htpasswd"

    @property
    def tls_bundle(self) -> Path:
        return self.dir / "tls" / "icecast.pem"

    @property
    def secrets(self) -> Path:
        return self.dir / "secrets.json"

    @property
    def pid_file(self) -> Path:
        """The pid of the Icecast the controller started from this directory (see :func:`reclaim_stale`)."""
        return self.dir / "icecast.pid"

    @property
    def log_dir(self) -> Path:
        return self.dir / "log"


def load_or_create_secrets(layout: IcecastLayout) -> IcecastSecrets:
    if layout.secrets.exists():
        data = json.loads(layout.secrets.read_text())
        return IcecastSecrets(data["source_password"], data["admin_password"])
    made = IcecastSecrets(_secrets.token_urlsafe(24), _secrets.token_urlsafe(24))
    write_secret(layout.secrets, json.dumps({"source_password": made.source_password,
                                             "admin_password": made.admin_password}))
    return made


def _run_as() -> tuple[str, str] | None:
    """The account Icecast drops to when started as root (it refuses to serve as root)."""
    if os.geteuid() != 0:
        return None
    return RUN_AS_ROOT_USER


def render_config(settings: StreamingSettings, layout: IcecastLayout, secrets: IcecastSecrets, *, port: int,
                  tls_port: int = 0, run_as: tuple[str, str] | None = None) -> str:
    """icecast.xml for these settings; ``port``/``tls_port`` are passed so tests can pick free ports."""
    bind = escape(settings.bind_address)
    sockets = [f"<listen-socket><port>{port}</port><bind-address>{bind}</bind-address></listen-socket>"]
    if tls_port:
        sockets.append(f"<listen-socket><port>{tls_port}</port><bind-address>{bind}</bind-address>"
                       f"<ssl>1</ssl></listen-socket>")
    share = Path("/usr/share/icecast2")
    owner = (f"<changeowner><user>{escape(run_as[0])}</user><group>{escape(run_as[1])}</group></changeowner>"
             if run_as else "")
    tls_path = f"<ssl-certificate>{escape(str(layout.tls_bundle))}</ssl-certificate>" if tls_port else ""
    return f"""<icecast>
  <location>Loa Xa</location>
  <admin>root@localhost</admin>
  <hostname>{escape(settings.device_host or settings.bind_address)}</hostname>
  <limits>
    <clients>{settings.max_listeners}</clients>
    <sources>64</sources>
    <queue-size>131072</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>10</header-timeout>
    <source-timeout>5</source-timeout>
    <burst-on-connect>0</burst-on-connect>
    <burst-size>0</burst-size>
  </limits>
  <authentication>
    <source-password>{escape(secrets.source_password)}</source-password>
    <admin-user>admin</admin-user>
    <admin-password>{escape(secrets.admin_password)}</admin-password>
  </authentication>
  {''.join(sockets)}
  <mount type="default">
    <public>0</public>
    <authentication type="htpasswd">
      <option name="filename" value="{escape(str(layout.listeners))}"/>
      <option name="allow_duplicate_users" value="1"/>
    </authentication>
  </mount>
  <fileserve>0</fileserve>
  <paths>
    <basedir>{escape(str(layout.dir))}</basedir>
    <logdir>{escape(str(layout.log_dir))}</logdir>
    <webroot>{share / 'web'}</webroot>
    <adminroot>{share / 'admin'}</adminroot>
    {tls_path}
  </paths>
  <logging>
    <accesslog>access.log</accesslog>
    <errorlog>error.log</errorlog>
    <loglevel>3</loglevel>
  </logging>
  <security><chroot>0</chroot>{owner}</security>
</icecast>
"""


def listener_hash(password: str) -> str:
    """Icecast's htpasswd format stores the MD5 hex digest of the password."""
    return hashlib.md5(password.encode("utf-8")).hexdigest()  # noqa: S324 - the format Icecast reads


def write_listeners(layout: IcecastLayout, accounts: Iterable[tuple[str, str]]) -> None:
    """Write the listener accounts (user name, password) atomically, with a strictly newer mtime."""
    lines = "".join(f"{user}:{listener_hash(pw)}\n" for user, pw in sorted(accounts))
    path = layout.listeners
    before = path.stat().st_mtime if path.exists() else 0.0
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(lines, encoding="utf-8")
    os.chmod(tmp, 0o640)
    stamp = max(time.time(), int(before) + 1.0)
    os.utime(tmp, (stamp, stamp))
    _give_to_server(tmp)
    os.replace(tmp, path)


def _give_to_server(path: Path) -> None:
    """When Icecast drops root it must still read its files."""
    run_as = _run_as()
    if run_as is not None:
        shutil.chown(path, run_as[0], run_as[1])


def write_tls_bundle(layout: IcecastLayout, ca_dir: Path, hosts: list[str]) -> Path:
    """Icecast's certificate, issued by the deployment's CA (the broker's), key and chain in one file."""
    from controller.security.certs import issue_server_cert

    files = issue_server_cert(ca_dir, hosts, stem="icecast")
    bundle = files.server_cert.read_text() + files.server_key.read_text()
    write_secret(layout.tls_bundle, bundle)
    _give_to_server(layout.tls_bundle)
    _give_to_server(layout.tls_bundle.parent)
    return files.ca_cert


def write_config(settings: StreamingSettings, layout: IcecastLayout, *, port: int, tls_port: int = 0) -> IcecastSecrets:
    """Generate the directory (config, secrets, log dir); listener accounts are written separately."""
    layout.dir.mkdir(parents=True, exist_ok=True)
    layout.log_dir.mkdir(parents=True, exist_ok=True)
    secrets = load_or_create_secrets(layout)
    layout.config.write_text(render_config(settings, layout, secrets, port=port, tls_port=tls_port, run_as=_run_as()),
                             encoding="utf-8")
    if not layout.listeners.exists():
        write_listeners(layout, [])
    for p in (layout.dir, layout.log_dir, layout.config):
        _give_to_server(p)
    _traversable(layout.dir)
    return secrets


def _traversable(path: Path) -> None:
    """Icecast started as root drops to its own account, which must reach its directory: every
    ancestor gets the search bit for others (not the read bit: nothing can be listed)."""
    if _run_as() is None:
        return
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(parent, stat.S_IMODE(mode) | stat.S_IXOTH)


def _icecast_of(pid: int, config: Path) -> bool:
    """Whether ``pid`` is a live (not zombie) ``icecast2`` reading ``config``, as far as /proc tells."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and bool(argv) and Path(argv[0].decode(errors="replace")).name == "icecast2" \
        and str(config).encode() in argv


def reclaim_stale(layout: IcecastLayout, timeout_s: float = 5.0) -> bool:
    """Stop an Icecast left running from ``layout`` by a controller that died (it would keep the port).

    Its children die with the controller (:mod:`controller.child_process`), but Icecast started as
    root changes its user, which makes the kernel forget that; the pid file written at its start
    finds it.  True when one was stopped.
    """
    try:
        pid = int(layout.pid_file.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return False
    found = _icecast_of(pid, layout.config)
    if found:
        log.warning("stopping Icecast (pid %d) left running by an earlier controller: it holds the port", pid)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + timeout_s
            while _icecast_of(pid, layout.config) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not _icecast_of(pid, layout.config):
                break
    layout.pid_file.unlink(missing_ok=True)
    return found


class IcecastServer:
    """An ``icecast2`` process started from a generated directory (the demo, tests, ``loaxa icecast run``)."""

    def __init__(self, layout: IcecastLayout, host: str, port: int, tls_port: int = 0):
        if shutil.which("icecast2") is None:
            raise IcecastError("icecast2 is not installed (apt-get install icecast2)")
        self.layout = layout
        self.host = host
        self.port = port
        self.tls_port = tls_port
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"https://{self.host}:{self.tls_port}" if self.tls_port else ""

    def start(self, timeout_s: float = 10.0) -> "IcecastServer":
        from controller.port_probe import NotListening, wait_for_port

        reclaim_stale(self.layout)
        self.proc = spawn(["icecast2", "-c", str(self.layout.config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.layout.pid_file.write_text(f"{self.proc.pid}\n", encoding="utf-8")
        try:
            wait_for_port(self.host, self.port, timeout=timeout_s, proc=self.proc)
            if self.tls_port:
                wait_for_port(self.host, self.tls_port, timeout=timeout_s, proc=self.proc)
            # another server may hold the port: then this one exits once it fails to bind
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise NotListening(f"exited with code {self.proc.returncode} (port {self.port} taken?)")
                time.sleep(0.05)
        except NotListening as exc:
            err = self.proc.stderr.read().decode(errors="replace")[-400:] if self.proc.poll() is not None else ""
            self.stop()
            raise IcecastError(f"icecast2 did not start: {exc} {err}".strip()) from None
        log.info("icecast listening on %s:%d%s", self.host, self.port,
                 f" and TLS {self.tls_port}" if self.tls_port else "")
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()
        self.layout.pid_file.unlink(missing_ok=True)

    def reload(self) -> None:
        """SIGHUP: Icecast re-reads its configuration (listener files are re-read on their own)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)

    def __enter__(self) -> "IcecastServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def default_dir(data_dir: Path, settings: StreamingSettings) -> Path:
    return Path(settings.config_dir) if settings.config_dir else data_dir / "icecast"
