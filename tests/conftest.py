"""Shared fixtures: a real mosquitto per test, and the process factory of ``support.harness``."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.devtools.broker_runner import Broker
from support.harness import System
from support.scheduling import FileClock, make_scheduler


@pytest.fixture
def broker(tmp_path: Path):
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def system(tmp_path: Path, broker: Broker):
    s = System(tmp_path, broker)
    yield s
    s.close()


@pytest.fixture(scope="module")
def refusing_controller(tmp_path_factory: pytest.TempPathFactory):
    """One controller (and broker) for a module's parametrized refusals.

    A refused request changes nothing, so the cases share it instead of starting a broker and
    a controller each."""
    root = tmp_path_factory.mktemp("refusals")
    b = Broker(root / "broker").start()
    s = System(root, b)
    try:
        yield s.controller()
    finally:
        s.close()


LOG_TAIL_LINES = 60
LOG_FILES_SHOWN = 8


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed test shows the tails of the process logs it left (agents, controller, brokers).

    CI keeps nothing but its output, and a fault test on real processes is read from their logs."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    tmp = item.funcargs.get("tmp_path") if hasattr(item, "funcargs") else None
    if not isinstance(tmp, Path) or not tmp.is_dir():
        return
    logs = sorted((p for p in tmp.rglob("*.log") if p.is_file()), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in logs[:LOG_FILES_SHOWN]:
        try:
            lines = path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        except OSError:
            continue
        report.sections.append((f"log {path.relative_to(tmp)}", "\n".join(lines)))


_CLOCK = FileClock()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile`` hands out the longest expected file first (see ``support.scheduling``)."""
    if config.getoption("dist", None) == "loadfile":
        return make_scheduler(config, log)
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _CLOCK.add(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The main process of a full run keeps each file's seconds for the next run's order."""
    if not hasattr(session.config, "workerinput"):
        _CLOCK.save(session.config)
