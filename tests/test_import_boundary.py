"""Dependencies point one way, as the table in docs/architecture.md says, and a Pi installs only the agent.

The allowed imports between our packages are read from the "Dependency rule" table of
docs/architecture.md, and the controller's sub-packages from its "Layers" table (each may
import only lower layers, so none closes a cycle), so the document and this test cannot drift
apart.  Every import
counts: at module level, inside functions (lazy ones), under ``TYPE_CHECKING``, and
``importlib.import_module("...")`` / ``__import__("...")`` with a literal name.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
FORBIDDEN = {"controller", "web", "audio", "schedules", "flask", "werkzeug", "pydub", "gtts", "apscheduler",
             "sqlite_utils", "waitress", "cheroot", "sqlalchemy"}

# Imports the web layer still makes past the controller, each to be replaced by a controller
# function; an entry here that no longer occurs shows as XPASS in the summary and goes.
def allowed_table() -> dict[str, set[str]]:
    """Package → the packages of ours it may import, from the "Dependency rule" table of the doc."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Dependency rule", 1)[1].split("\n#", 1)[0]
    table: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        table[cells[0].strip("`/")] = set(re.findall(r"`([a-z_]+)/?`", cells[1]))
    return table


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every absolute module name ``path`` imports, wherever the import sits."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def boundary_crossings() -> list[tuple[str, int, str, str]]:
    """(file, line, package imported, module) for every import of ours the table does not allow."""
    table = allowed_table()
    out = []
    for package, allowed in table.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for line, module in imported_modules(path):
                top = module.split(".")[0]
                if top in table and top != package and top not in allowed:
                    out.append((rel, line, top, module))
    return out


def test_the_table_names_every_package_and_the_rule_of_the_issue():
    table = allowed_table()
    assert table == {
        "web": {"controller", "loaxa"},
        "controller": {"audio", "schedules", "loaxa"},
        "audio": {"loaxa"},
        "schedules": {"loaxa"},
        "edge_agent": {"loaxa"},
        "loaxa": set(),
    }
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench", "scripts"}
    assert on_disk == set(table), "a new package needs its row in docs/architecture.md"


def test_every_package_imports_only_what_the_table_allows():
    crossings = list(boundary_crossings())
    assert crossings == [], "\n".join(f"{f}:{n} imports {m}" for f, n, _, m in crossings)


def test_the_scanner_sees_lazy_and_dynamic_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import importlib\n"
                      "def f():\n    from controller.service import Controller\n"
                      "def g():\n    return importlib.import_module('web.app')\n"
                      "def h():\n    import audio.normalize as n\n", encoding="utf-8")
    assert sorted(m for _, m in imported_modules(sample)) == ["audio.normalize", "controller.service", "importlib", "web.app"]


def test_agent_sources_do_not_import_controller_side_packages():
    offenders = []
    for path in list((ROOT / "edge_agent").rglob("*.py")) + sorted((ROOT / "loaxa").rglob("*.py")):
        for line, name in imported_modules(path):
            if name.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.name}:{line} {name}")
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
    for name in ("protocol.py", "envelope.py", "wire_time.py", "local_time.py"):
        tree = ast.parse((ROOT / "loaxa" / name).read_text())
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not imported & {"paho", "socket", "sqlite3", "subprocess", "urllib", "os", "requests"}, name


def controller_layers() -> dict[str, int]:
    """Controller sub-package → its layer, from the table of "Layers of the controller's sub-packages" in the doc."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Layers of the controller's sub-packages", 1)[1].split("\n#", 1)[0]
    layers: dict[str, int] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].isdigit():
            for name in re.findall(r"`([a-z_]+)`", cells[1]):
                assert name not in layers, f"{name} has two rows in the layers table"
                layers[name] = int(cells[0])
    return layers


def controller_subpackage_imports() -> dict[tuple[str, str], list[str]]:
    """(importing file relative to controller/, sub-package it imports) → the lines, lazy imports included."""
    base = ROOT / "controller"
    subpackages = {p.parent.name for p in base.glob("*/__init__.py")}
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(base).as_posix()
        own = rel.split("/")[0]
        if own not in subpackages:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = list(imported_modules(path))
        names += [(n.lineno, f"controller.{a.name}") for n in ast.walk(tree)
                  if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module == "controller" for a in n.names]
        for line, module in names:
            parts = module.split(".")
            if len(parts) > 1 and parts[0] == "controller" and parts[1] in subpackages and parts[1] != own:
                found.setdefault((rel, parts[1]), []).append(f"controller/{rel}:{line}")
    return found


def import_cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan), each a cycle or several."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_controller_subpackages_import_each_other_without_cycles():
    imports = controller_subpackage_imports()
    edges = {(rel.split("/")[0], package) for rel, package in imports}
    cycles = import_cycles(edges)
    where = [line for (rel, package), lines in sorted(imports.items()) for line in lines
             if any(rel.split("/")[0] in c and package in c for c in cycles)]
    assert cycles == [], f"controller sub-packages import each other in a cycle {cycles}:\n" + "\n".join(where)


def test_every_controller_subpackage_has_a_layer_and_imports_only_lower_ones():
    layers = controller_layers()
    on_disk = {p.parent.name for p in (ROOT / "controller").glob("*/__init__.py")}
    assert set(layers) == on_disk, "a new controller sub-package needs its row in the layers table of docs/architecture.md"
    upward = [f"{line} ({rel.split('/')[0]}, layer {layers[rel.split('/')[0]]}, imports {package}, layer {layers[package]})"
              for (rel, package), lines in sorted(controller_subpackage_imports().items()) for line in lines
              if layers[package] >= layers[rel.split("/")[0]]]
    assert upward == [], "imports not pointing to a lower layer:\n" + "\n".join(upward)


def test_the_cycle_check_sees_a_cycle():
    assert import_cycles({("plans", "operations"), ("operations", "plans"), ("people", "reports")}) == [
        ["operations", "plans"]]
