"""A stand-in for systemd running ``loaxa-agent.service``: ExecStartPre (the guard), ExecStart
(``current/bin/loaxa agent``), Restart=always.  Every start is appended to a JSON-lines file.

Usage: python supervisor.py <agent tree> <agent config> <starts file>
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

tree, config, starts_file = sys.argv[1:4]
stopping = threading.Event()
child = None


def on_term(signum, frame):
    stopping.set()
    if child is not None and child.poll() is None:
        child.send_signal(signal.SIGTERM)


signal.signal(signal.SIGTERM, on_term)
while not stopping.is_set():
    guard = subprocess.run([sys.executable, os.path.join(tree, "guard.py"), tree], capture_output=True, text=True)
    sys.stderr.write(guard.stderr)
    target = os.readlink(os.path.join(tree, "current"))
    child = subprocess.Popen([os.path.join(tree, "current", "bin", "loaxa"), "agent", "-c", config])
    with open(starts_file, "a") as f:
        f.write(json.dumps({"at": time.time(), "target": target, "pid": child.pid, "guard": guard.stderr.strip()}) + "\n")
    rc = child.wait()
    sys.stderr.write(f"supervisor: agent exited with {rc}\n")
    stopping.wait(0.3)  # RestartSec
