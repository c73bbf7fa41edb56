"""A stand-in for systemd running ``loaxa-agent.service``: ExecStartPre (the guard), ExecStart
(``current/bin/loaxa agent``), Restart=always.  Every start is appended to a JSON-lines file.

With a fourth argument it also stands in for ``loaxa-agent-reboot.path`` and its service: when
that request file appears it is removed (the service's first ExecStart) and, instead of
``systemctl reboot``, the agent is stopped as a shutdown stops it (SIGTERM) and started again as
after a boot; that start is recorded with ``"reboot": true``.

Usage: python supervisor.py <agent tree> <agent config> <starts file> [<reboot request file>]
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

tree, config, starts_file = sys.argv[1:4]
reboot_flag = sys.argv[4] if len(sys.argv) > 4 else ""
stopping = threading.Event()
rebooting = threading.Event()
child = None


def on_term(signum, frame):
    stopping.set()
    if child is not None and child.poll() is None:
        child.send_signal(signal.SIGTERM)


def watch_reboot_requests():
    """PathExists= of loaxa-agent-reboot.path, polled."""
    while not stopping.wait(0.2):
        if os.path.exists(reboot_flag) and not rebooting.is_set():
            requested = open(reboot_flag).read().strip()
            os.remove(reboot_flag)
            sys.stderr.write(f"supervisor: reboot requested ({requested}); stopping the agent as a shutdown does\n")
            rebooting.set()
            if child is not None and child.poll() is None:
                child.send_signal(signal.SIGTERM)


signal.signal(signal.SIGTERM, on_term)
if reboot_flag:
    threading.Thread(target=watch_reboot_requests, daemon=True).start()
while not stopping.is_set():
    after_reboot = rebooting.is_set()
    rebooting.clear()
    guard = subprocess.run([sys.executable, os.path.join(tree, "guard.py"), tree], capture_output=True, text=True)
    sys.stderr.write(guard.stderr)
    target = os.readlink(os.path.join(tree, "current"))
    child = subprocess.Popen([os.path.join(tree, "current", "bin", "loaxa"), "agent", "-c", config])
    with open(starts_file, "a") as f:
        f.write(json.dumps({"at": time.time(), "target": target, "pid": child.pid, "guard": guard.stderr.strip(),
                            "reboot": after_reboot}) + "\n")
    rc = child.wait()
    sys.stderr.write(f"supervisor: agent exited with {rc}\n")
    stopping.wait(0.3)  # RestartSec
