"""No public function the web layer can reach in the controller is declared to answer a dictionary.

Entities and messages are frozen records whose ``to_dict`` is the JSON (``test_package_records``,
``test_use_case_records``, ``test_plans_records``).  This reads the source, so a new
``-> dict[str, Any]`` fails here before any caller starts indexing it: every controller
module ``web/`` imports, and every module those import in turn (lazy imports and a package's
``_EXPORTS`` included), is walked, and each public function's and public method's return
annotation is checked.  ``to_dict`` methods are the records' JSON edge and do not count.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from test_import_boundary import imported_modules

ROOT = Path(__file__).resolve().parent.parent

# Where the shape is someone else's, or the dictionary is input, not an answer; keep this short.
ALLOWED = {
    # the map's GeoJSON FeatureCollection, handed to the map library as the format defines it
    "controller.devices.map_view.map_data",
    # a form's fields parsed into the mapping the use case validates (request input, not an answer)
    "controller.plans.guardrail_form.values_from_form",
    "controller.plans.schedule_facts.timing_from_form",
    # the exact content a hash-chain link covers: its canonical JSON is the chain, byte for byte
    "controller.reports.hashchain.ChainSpec.content",
}
DICT_ANSWER = re.compile(r"^(list\[|tuple\[|Sequence\[|Iterable\[)?(dict|Mapping|MutableMapping)(\[str, ?(Any|object)\])?\]?$"
                         r"|dict\[str, ?(Any|object)\]")


def module_path(name: str) -> Path | None:
    base = ROOT / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def package_exports(path: Path) -> dict[str, str]:
    """A sub-package's lazy ``_EXPORTS`` (public name → its module), read from the source."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_EXPORTS" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def imports_of(path: Path) -> set[str]:
    """The controller modules ``path`` imports, a package's named exports resolved to their modules."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names_from = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0
                  and n.module for a in n.names}
    for _, module in imported_modules(path):
        if module.split(".")[0] == "controller" and module_path(module):
            found.add(module)
    for module, name in names_from:
        if module.split(".")[0] != "controller":
            continue
        if module_path(f"{module}.{name}"):
            found.add(f"{module}.{name}")
        package = module_path(module)
        if package is not None and package.name == "__init__.py" and name in package_exports(package):
            found.add(f"{module}.{package_exports(package)[name]}")
    return found


def reachable_from_web() -> set[str]:
    seen: set[str] = set()
    todo = {m for p in (ROOT / "web").rglob("*.py") for m in imports_of(p)}
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = module_path(module)
        if path.name == "__init__.py":  # a package imported whole: any of its exports may be used
            todo |= {f"{module}.{m}" for m in package_exports(path).values()}
        todo |= imports_of(path) - seen
    return seen


def dict_answers(module: str) -> list[tuple[str, str]]:
    """(qualified name, annotation) of each public function or method declared to answer a dictionary."""
    out = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef) and not child.name.startswith("_"):
                walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child.returns is not None:
                if child.name.startswith("_") or child.name == "to_dict":
                    continue
                annotation = ast.unparse(child.returns).strip("'\"")
                if DICT_ANSWER.search(annotation):
                    out.append((f"{module}.{prefix}{child.name}", annotation))

    walk(ast.parse(module_path(module).read_text(encoding="utf-8")), "")
    return out


def test_the_walk_reaches_the_controller_through_the_web_layer():
    reached = reachable_from_web()
    assert {"controller.service", "controller.devices.ingest", "controller.plans.worklists",
            "controller.reports.report_scope", "controller.streaming.sources"} <= reached
    assert not any(m.startswith("controller.devtools") for m in reached)  # never imported by production code


def test_the_pattern_knows_a_dictionary_answer_from_a_record():
    for annotation in ("dict[str, Any]", "list[dict[str, Any]]", "dict", "list[dict]", "dict[str, dict[str, Any]]",
                       "dict[str, object]", "Mapping[str, Any]"):
        assert DICT_ANSWER.search(annotation), annotation
    for annotation in ("PlaybackLogEntry", "list[Device]", "dict[str, dict[str, Desired]]", "dict[str, str]", "dict[str, int]", "dict[str, Device]",
                       "tuple[str, ...]"):
        assert not DICT_ANSWER.search(annotation), annotation


def test_no_public_function_the_web_layer_reaches_answers_a_dictionary():
    found = [hit for module in sorted(reachable_from_web()) for hit in dict_answers(module)]
    unexpected = [f"{name} -> {annotation}" for name, annotation in found if name not in ALLOWED]
    assert not unexpected, "answer a frozen record with to_dict() instead:\n" + "\n".join(unexpected)
    stale = ALLOWED - {name for name, _ in found}
    assert not stale, f"no longer answers a dictionary, drop it from ALLOWED: {sorted(stale)}"
