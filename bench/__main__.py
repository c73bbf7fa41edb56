"""Run every benchmark, merge its figures into ``bench/results.json``, write ``docs/performance.md``.

Usage: ``python -m bench [NAME ...]`` where NAME is a module suffix (``render`` for
``bench/bench_render.py``).  Figures are merged, so running one benchmark keeps the others'.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import pkgutil
import sys
from pathlib import Path

from bench import report

RESULTS = Path(__file__).with_name("results.json")


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if n.removeprefix("bench_") in argv]
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    load = os.getloadavg()
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        figures = module.run()
        results.update(figures)
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    doc = report.write(results, load)
    width = max((len(k) for k in results), default=10)
    for key in sorted(results):
        value = results[key]
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        sys.stdout.write(f"{key:<{width}}  {shown}\n")
    sys.stdout.write(f"\nreport written to {doc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
