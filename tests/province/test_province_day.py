"""The province-day simulator itself at toy size, so that ``make soak`` cannot rot.

One commune broker, two real agents, twenty simulated devices, a 24 s day with one fault
(the commune broker restarted): every play of the programme and both emergencies air on
every cluster (a slot that falls while an emergency plays yields to it, by design), no
event is lost or duplicated, and the logbook verifies.  It takes about a minute on the
shared machine, most of it starting the brokers, the controller and the agents.
"""

from __future__ import annotations

from support.province_day import DaySize, ProvinceDay


def test_a_toy_province_day_airs_everything_and_loses_nothing(tmp_path):
    report = ProvinceDay(tmp_path, DaySize(communes=1, agents=2, sims=20, day_s=24, relay=False,
                                           faults=("commune_broker_restart",))).run()
    assert report.faults_done == ["commune_broker_restart"]
    assert sum(report.expected.values()) == 22 * 4, report.markdown()
    assert report.plays_missed == 0 and not report.missed, report.markdown()
    assert report.generated > 0 and report.lost == 0 and report.duplicated == 0, report.markdown()
    assert report.sim_downloads >= 20, report.markdown()  # each simulated device fetched its files itself
    assert report.audit_ok, report.audit_output
    [row] = [line for line in report.markdown().splitlines() if line.startswith("| xa-1 |")]
    assert row.startswith("| xa-1 | 88 |") and row.endswith("| 0 |"), row
