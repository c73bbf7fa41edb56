"""``create_app`` registers every page's blueprint itself, so the shared page helpers import no page."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from support.world import make_world

WEB = Path(__file__).resolve().parents[2] / "web"
PAGES = sorted(p.stem for p in WEB.glob("ui_*.py") if p.stem != "ui_base")


def test_create_app_registers_every_page_blueprint(tmp_path):
    world = make_world(tmp_path)
    try:
        for name in PAGES:
            bp = importlib.import_module(f"web.{name}").bp
            assert world.app.blueprints.get(bp.name) is bp, name
        assert world.client().get("/login").status_code == 200  # a page answers, with the shared helpers in place
    finally:
        world.controller.stop()


def test_the_shared_page_helpers_import_no_page():
    tree = ast.parse((WEB / "ui_base.py").read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "web" for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m.split(".")[-1] for m in imported} & set(PAGES)
