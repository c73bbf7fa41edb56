"""One source of time: wire instants (UTC, ISO 8601) and local wall clocks (Asia/Ho_Chi_Minh)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from loaxa import local_time, protocol, wire_time
from loaxa.local_time import LOCAL_TZ, NaiveTimeError, local_date, local_instant, local_midnight, local_to_utc, to_local
from loaxa.wire_time import WireTimeError, format_time, parse_time

ROOT = Path(__file__).resolve().parent.parent
UTC = timezone.utc


def test_wire_times_round_trip_as_utc_with_milliseconds():
    t = datetime(2026, 11, 25, 17, 0, 0, 123456, tzinfo=LOCAL_TZ)
    text = format_time(t)
    assert text == "2026-11-25T10:00:00.123+00:00"
    assert parse_time(text, "at") == datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC)
    assert parse_time("2026-11-25T17:00:00+07:00", "at") == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert parse_time("2026-11-25T17:00:00+07:00", "at").tzinfo is UTC
    assert wire_time.utcnow().tzinfo is UTC


@pytest.mark.parametrize("value", ["2026-11-25T17:00:00", "hôm qua", "", None, 17, "2026-11-25T17:00:00+07:00" + " " * 40])
def test_wire_times_refuse_naive_or_unreadable_values(value):
    with pytest.raises(WireTimeError, match="at"):
        parse_time(value, "at")
    with pytest.raises(protocol.ProtocolError):  # in a message, a bad time makes the payload invalid
        protocol.parse_time(value, "at")


def test_a_naive_time_never_goes_on_the_wire():
    with pytest.raises(WireTimeError):
        format_time(datetime(2026, 11, 25, 17, 0))
    with pytest.raises(protocol.ProtocolError):
        protocol.format_time(datetime(2026, 11, 25, 17, 0))


def test_to_local_refuses_a_naive_time_instead_of_guessing_the_host_zone():
    with pytest.raises(NaiveTimeError):
        to_local(datetime(2026, 11, 25, 10, 0))
    with pytest.raises(ValueError):  # callers that catch bad input as ValueError keep catching it
        local_date(datetime(2026, 11, 25, 10, 0))
    assert to_local(datetime(2026, 11, 25, 23, 30, tzinfo=UTC)) == datetime(2026, 11, 26, 6, 30, tzinfo=LOCAL_TZ)


def test_local_wall_clock_readings_become_utc_instants():
    assert local_to_utc(datetime(2026, 11, 25, 6, 0)) == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    assert local_to_utc(datetime(2026, 11, 25, 6, 0, tzinfo=UTC)) == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    assert local_instant(date(2026, 11, 25), time(6, 0)) == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    assert local_midnight(date(2026, 11, 25)) == datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    assert local_date(datetime(2026, 11, 24, 17, 0, tzinfo=UTC)) == date(2026, 11, 25)
    assert local_date(datetime(2026, 11, 24, 16, 59, tzinfo=UTC)) == date(2026, 11, 24)


def test_every_side_uses_the_one_definition():
    """The controller, the schedule domain and the web UI hand out the same functions, not copies."""
    from controller import plan_expansion
    from controller.reports import logbook
    from schedules import timeutil

    assert timeutil.to_local is local_time.to_local and timeutil.LOCAL_TZ is LOCAL_TZ
    assert plan_expansion.to_local is local_time.to_local and logbook.to_local is local_time.to_local
    assert protocol.utcnow is wire_time.utcnow
    from controller.plans import timeparse

    assert timeparse.to_local is local_time.to_local and timeparse.LOCAL_TZ is LOCAL_TZ


def test_no_module_defines_its_own_zone_or_wire_format():
    """Only loaxa/local_time.py names the zone; only loaxa/wire_time.py parses wire instants."""
    offenders = []
    for package in ("controller", "schedules", "web", "edge_agent", "audio", "loaxa"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            rel = path.relative_to(ROOT).as_posix()
            if 'ZoneInfo("Asia/Ho_Chi_Minh")' in text and rel != "loaxa/local_time.py":
                offenders.append(f"{rel}: its own Asia/Ho_Chi_Minh zone")
            if "def to_local(" in text and rel != "loaxa/local_time.py":
                offenders.append(f"{rel}: its own to_local")
            if "def utcnow(" in text and rel != "loaxa/wire_time.py":
                offenders.append(f"{rel}: its own utcnow")
    assert offenders == []


def test_local_conversions_do_not_depend_on_the_host_zone():
    """A controller whose host clock runs in another zone still plans 06:00 Vietnam time."""
    code = ("from datetime import datetime, date, time\n"
            "from loaxa.local_time import local_instant, to_local\n"
            "t = local_instant(date(2026, 11, 25), time(6, 0))\n"
            "print(t.isoformat(), to_local(t).isoformat())\n")
    env = {**os.environ, "TZ": "America/New_York", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=60)
    assert out.stdout.split() == ["2026-11-24T23:00:00+00:00", "2026-11-25T06:00:00+07:00"]
    assert timedelta(hours=7) == datetime(2026, 11, 25, 6, tzinfo=LOCAL_TZ).utcoffset()
