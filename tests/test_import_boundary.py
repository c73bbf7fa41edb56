"""A Pi installs only the agent's dependencies: the agent must never pull in the controller's."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"controller", "web", "audio", "schedules", "flask", "werkzeug", "pydub", "gtts", "apscheduler",
             "sqlite_utils", "waitress", "sqlalchemy"}


def test_agent_sources_do_not_import_controller_side_packages():
    offenders = []
    for path in list((ROOT / "edge_agent").rglob("*.py")) + [ROOT / "loaxa" / "protocol.py", ROOT / "loaxa" / "config.py",
                                                             ROOT / "loaxa" / "mqtt_client.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_running_the_agent_code_loads_no_controller_side_module():
    code = (
        "import sys, pkgutil, importlib, edge_agent\n"
        "for m in pkgutil.iter_modules(edge_agent.__path__): importlib.import_module('edge_agent.' + m.name)\n"
        "import loaxa.cli; loaxa.cli.build_parser()\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN - {'controller', 'web', 'audio'})!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


def test_protocol_module_does_no_io():
    tree = ast.parse((ROOT / "loaxa" / "protocol.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"paho", "socket", "sqlite3", "subprocess", "urllib", "os", "requests"}
