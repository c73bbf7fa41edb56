"""web/ is a thin adapter: a view parses the request, calls one controller function and renders.

So no module of web/ may touch the database (sqlite3, sqlite_utils, ``.execute(``/``.query(``
on a connection), start a process, import the domain packages the controller owns (audio,
schedules, edge_agent), or write the audit trail; all of that is the controller's.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
FORBIDDEN_MODULES = {"sqlite3", "sqlite_utils", "subprocess", "audio", "schedules", "edge_agent"}
FORBIDDEN_METHODS = {"execute", "executemany", "executescript", "query", "tx"}


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{where} imports {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{where} imports {node.module}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, owner = node.func.attr, node.func.value
            if name in FORBIDDEN_METHODS:
                found.append(f"{where} calls .{name}(): SQL belongs in the controller")
            if name == "record" and isinstance(owner, ast.Attribute) and owner.attr == "audit":
                found.append(f"{where} writes the audit trail: the controller's use case does")
            if name in {"run", "Popen", "call", "check_call", "check_output"} and isinstance(owner, ast.Name) \
                    and owner.id in {"subprocess", "os"}:
                found.append(f"{where} starts a process")
        elif isinstance(node, ast.Attribute) and node.attr in {"db", "audit"} and isinstance(node.value, ast.Call):
            found.append(f"{where} reaches the controller's .{node.attr} directly")
    return found


def test_web_modules_hold_no_sql_processes_domain_imports_or_audit_writes():
    modules = sorted(WEB.glob("*.py"))
    assert len(modules) > 10  # the scan does see web/
    offences = [o for path in modules for o in _offences(path)]
    assert offences == []


def test_the_scan_catches_what_it_forbids(tmp_path):
    bad = tmp_path / "bad_view.py"
    bad.write_text(
        "import sqlite3\nimport subprocess\nfrom schedules.rules import BroadcastRule\nfrom audio.normalize import x\n"
        "def view(c):\n"
        "    with ctl().db.tx() as db:\n"
        "        db.execute('SELECT 1')\n"
        "    ctl().audit.record('u', 'login')\n"
        "    subprocess.run(['true'])\n",
        encoding="utf-8")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        offences = _offences(bad)
    finally:
        ROOT = saved
    text = "\n".join(offences)
    for expected in ("imports sqlite3", "imports subprocess", "imports schedules.rules", "imports audio.normalize",
                     "calls .execute()", "calls .tx()", "writes the audit trail", "starts a process",
                     "reaches the controller's .db", "reaches the controller's .audit"):
        assert expected in text, (expected, offences)
