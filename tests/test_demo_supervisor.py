"""The demo's supervision with real processes: what dies is restarted, a planned outage switches one off and
back on, and Ctrl-C in a real terminal ends ``make demo`` without an error."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import textwrap
import time

from controller.devtools.supervise import Supervised, Supervisor
from support.harness import ROOT, wait_for

SLEEPER = [sys.executable, "-c", "import time\nwhile True: time.sleep(1)"]


def supervisor_with(tmp_path, *names: str, delay: float = 0.2) -> tuple[Supervisor, list[str]]:
    said: list[str] = []
    sup = Supervisor(restart_delay_s=delay, say=said.append)
    for name in names:
        sup.add(Supervised(name, SLEEPER, tmp_path / f"{name}.log"))
    return sup, said


def poll_until(sup: Supervisor, predicate, what: str, timeout: float = 15.0):
    def step():
        sup.poll()
        return predicate()
    return wait_for(step, timeout=timeout, interval=0.05, what=what)


def test_an_agent_that_dies_is_restarted_and_the_others_keep_running(tmp_path):
    sup, said = supervisor_with(tmp_path, "controller", "loa-1", "loa-2")
    try:
        others = {n: sup.get(n).popen.pid for n in ("controller", "loa-2")}
        dead = sup.get("loa-1")
        first_pid = dead.popen.pid
        os.kill(first_pid, signal.SIGKILL)
        poll_until(sup, lambda: dead.starts == 2 and dead.running, "loa-1 restarted")
        assert dead.popen.pid != first_pid
        assert {n: sup.get(n).popen.pid for n in others} == others and all(sup.get(n).running for n in others)
        assert said[0].startswith("loa-1 exited with code -9; restarting it in 0.2 s") and said[1] == "loa-1 restarted"
    finally:
        sup.stop_all(10)
    assert not any(p.running for p in sup.procs)


def test_a_speaker_that_keeps_dying_is_not_restarted_faster_than_the_delay(tmp_path):
    said: list[str] = []
    sup = Supervisor(restart_delay_s=0.5, say=said.append)
    crasher = sup.add(Supervised("loa-x", [sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "x.log"))
    started = time.monotonic()
    try:
        poll_until(sup, lambda: crasher.starts >= 3, "three starts of a crashing agent")
        assert time.monotonic() - started >= 1.0  # two restarts, each after the delay
        assert said[0].startswith("loa-x exited with code 3; restarting it in 0.5 s")
    finally:
        sup.stop_all(5)


def test_a_planned_outage_switches_a_speaker_off_then_on_again(tmp_path):
    sup, said = supervisor_with(tmp_path, "loa-1", "loa-tay-1")
    try:
        victim = sup.get("loa-tay-1")
        sup.outage("loa-tay-1", after_s=0.0, seconds=1.0)
        poll_until(sup, lambda: not victim.running, "the speaker switched off")
        off_at = time.monotonic()
        assert said == ["loa-tay-1 switched off on purpose for 1 s (a dead speaker)"]
        sup.poll()
        assert not victim.running and victim.starts == 1, "held down: not restarted as a crash"
        poll_until(sup, lambda: victim.running, "the speaker switched on again")
        assert time.monotonic() - off_at >= 0.9 and victim.starts == 2 and said[-1] == "loa-tay-1 switched on again"
        assert sup.get("loa-1").starts == 1
    finally:
        sup.stop_all(10)


STANDS_IN_FOR_THE_DEMO = textwrap.dedent("""
    import sys, time
    from controller.devtools.terminal import own_foreground
    with own_foreground() as moved:
        try:
            sys.stdout.write(f"ready {moved}!\\n")
            sys.stdout.flush()
            while True:
                time.sleep(0.1)
        except KeyboardInterrupt:
            print("stopped cleanly", flush=True)
    sys.exit(0)
""")


def make_in_a_terminal(tmp_path, script: str) -> tuple[int, str]:
    """Run ``make demo`` with a real pseudo-terminal as its controlling terminal, press Ctrl-C, return make's code."""
    (tmp_path / "demo.py").write_text(script)
    (tmp_path / "Makefile").write_text(f"demo:\n\t{sys.executable} demo.py\n")
    master, slave = pty.openpty()

    def controlling_terminal() -> None:
        import fcntl
        import termios

        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a terminal's shell starts make, whatever the runner ignores
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    make = subprocess.Popen(["make", "-s", "demo"], cwd=tmp_path, stdin=slave, stdout=slave, stderr=slave,
                            preexec_fn=controlling_terminal, env=env, close_fds=True)
    os.close(slave)
    seen = b""

    def read_until(marker: bytes, timeout: float) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {marker!r} within {timeout} s: {seen!r}"
            if select.select([master], [], [], left)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
    try:
        read_until(b"!", 30)
        os.write(master, b"\x03")  # Ctrl-C: the terminal sends SIGINT to its foreground process group
        code = make.wait(timeout=30)
        try:
            read_until(b"stopped cleanly", 2)
        except AssertionError:
            pass
        return code, seen.decode(errors="replace")
    finally:
        if make.poll() is None:
            make.kill()
        os.close(master)


def test_ctrl_c_in_a_terminal_ends_make_demo_without_an_error(tmp_path):
    code, output = make_in_a_terminal(tmp_path, STANDS_IN_FOR_THE_DEMO)
    assert "ready True" in output and "stopped cleanly" in output
    assert code == 0, output


def test_without_the_terminal_foreground_make_itself_dies_of_ctrl_c(tmp_path):
    """The control: a program that stops cleanly on Ctrl-C still leaves make failing, which is why the demo moves."""
    script = STANDS_IN_FOR_THE_DEMO.replace("with own_foreground() as moved:", "if True:\n    moved = False")
    code, output = make_in_a_terminal(tmp_path, script)
    assert "ready False" in output
    assert code != 0
