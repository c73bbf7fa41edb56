"""The controller's long-lived children (Icecast, ffmpeg) do not outlive a controller killed with SIGKILL.

Outside systemd nothing else cleans up: an orphaned Icecast kept its port and the restarted
controller could not stream.  Real processes throughout: a real controller with its Icecast,
``kill -9``, a restart on the same configuration, and an encoder pushing to the restarted
server; a bare process for the forking-thread rule of ``PR_SET_PDEATHSIG``.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import urllib.request
from pathlib import Path

import pytest

from controller.devtools.broker_runner import free_port, wait_for_port
from controller.devtools.tone_sources import ffmpeg, stop
from controller.streaming.icecast_config import IcecastLayout, load_or_create_secrets
from support.harness import ROOT, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("icecast2") is None
                                or shutil.which("ffmpeg") is None, reason="Linux with icecast2 and ffmpeg")


def _gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its new parent counts as gone: it holds nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _icecast_pid(layout: IcecastLayout, controller_pid: int) -> int:
    """The Icecast the running controller started (its pid file, checked against the process tree)."""
    def found() -> int:
        try:
            pid = int(layout.pid_file.read_text().strip())
        except (OSError, ValueError):
            return 0
        try:
            return pid if not _gone(pid) and _parent(pid) == controller_pid else 0
        except (OSError, IndexError, ValueError):
            return 0
    return wait_for(found, timeout=60, what="the controller's Icecast")


def _admin_stats(port: int, admin_password: str) -> str:
    token = base64.b64encode(f"admin:{admin_password}".encode()).decode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/admin/stats", headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read().decode(errors="replace")


def test_children_die_with_a_process_that_forked_them_from_a_thread_since_ended(tmp_path: Path):
    """The kernel's parent-death signal follows the forking thread: children must come from one that stays."""
    script = textwrap.dedent("""
        import os, sys, threading, time
        from controller.child_process import spawn
        box = {}
        def start():
            box["tid"] = threading.get_native_id()
            box["child"] = spawn(["sleep", "600"])
        t = threading.Thread(target=start)
        t.start()
        t.join()
        while os.path.exists(f"/proc/self/task/{box['tid']}"):  # the thread is gone from the kernel too
            time.sleep(0.01)
        print(box["child"].pid, box["child"].poll(), flush=True)
        time.sleep(600)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        child_pid, status = parent.stdout.readline().split()
        child = int(child_pid)
        assert status == "None" and not _gone(child), "the child died with the thread that asked for it"
        assert _parent(child) == parent.pid
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        wait_for(lambda: _gone(child), timeout=10, what="the child to die with its parent")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        parent.stdout.close()


def test_a_controller_killed_with_sigkill_leaves_no_icecast_and_its_restart_streams(system):
    icecast_dir = Path(tempfile.mkdtemp(prefix="loaxa-icecast-"))  # Icecast's own account must reach it
    layout = IcecastLayout(icecast_dir / "icecast")
    port = free_port()
    ctl = system.controller(f'[streaming]\nenabled = true\nport = {port}\nconfig_dir = "{layout.dir}"\n'
                            'device_host = "127.0.0.1"\n')
    source, first = None, 0
    try:
        first = _icecast_pid(layout, ctl.proc.pid)
        wait_for_port("127.0.0.1", port, timeout=30)

        ctl.kill()
        if os.geteuid() != 0:  # Icecast keeps the controller's user: the kernel kills it at once
            wait_for(lambda: _gone(first), timeout=10, what="Icecast to die with the controller")
        # (started as root it drops to its own account, and the kernel forgets: the restart reclaims it)

        ctl.start()
        second = _icecast_pid(layout, ctl.proc.pid)
        assert second != first
        assert _gone(first), "the Icecast of the killed controller is still running"
        assert "icecast2 did not start" not in ctl.log()

        secrets = load_or_create_secrets(layout)
        source = ffmpeg(["-re", "-f", "lavfi", "-i", "sine=frequency=800:sample_rate=44100", "-ac", "1",
                         "-c:a", "libmp3lame", "-b:a", "64k", "-content_type", "audio/mpeg", "-f", "mp3",
                         f"icecast://source:{secrets.source_password}@127.0.0.1:{port}/restart-check.mp3"],
                        icecast_dir / "source.log")
        wait_for(lambda: "/restart-check.mp3" in _admin_stats(port, secrets.admin_password), timeout=30,
                 what="the restarted controller's Icecast to take a stream")
    finally:
        stop(source)
        ctl.stop()
        if first and not _gone(first):  # a failed reclaim must not leave the server running after the test
            os.kill(first, signal.SIGKILL)
        shutil.rmtree(icecast_dir, ignore_errors=True)
