"""The province day's relay slot at toy size, apart from the toy day (whose emergencies would cover it).

One commune broker, four real agents, ten simulated devices, a 30 s day holding only the relay
(``slots=False``) and one fault inside it (two agents SIGKILLed and started again 3 s later):
the controller runs its Icecast and restreams an HLS source that ffmpeg makes on loopback.
Every agent airs the slot to its end; the two killed ones rejoin it at the live point, so the
report counts them as aired with the seconds they lost, not as missed; its start error stands
apart from the file plays', and nothing is lost or duplicated.
"""

from __future__ import annotations

from support.province_day import DaySize, ProvinceDay


def test_the_province_days_relay_airs_on_every_agent_and_is_reported_apart(tmp_path):
    report = ProvinceDay(tmp_path, DaySize(communes=1, agents=4, sims=10, day_s=30, slots=False,
                                           faults=("agents_killed_during_download",))).run()
    relay = report.relay
    assert relay is not None and relay.faults_during == ["agents_killed_during_download"], report.markdown()
    assert relay.expected == {"xa-1": 4} and relay.aired == {"xa-1": 4}, report.markdown()
    assert not relay.missed and not relay.yielded and report.plays_missed == 0, report.markdown()
    assert sorted(relay.rejoined) == [("loa-003", "agent_restart"), ("loa-004", "agent_restart")], report.markdown()
    planned = 4 * relay.slot_s
    assert planned - 2 * (3 + 10) < relay.aired_s["xa-1"] <= planned + 0.5, report.markdown()  # each killed one back within 10 s
    assert 0 <= relay.start_error_ms["max"] < 500, report.markdown()  # the first start of each, on time
    assert not report.expected and not report.start_error_ms  # no file play: the relay's figures stand apart
    assert report.generated > 0 and report.lost == 0 and report.duplicated == 0, report.markdown()
    assert report.audit_ok, report.audit_output
    [row] = [line for line in report.markdown().splitlines() if line.startswith("| xa-1 | 4 |")]
    assert row.startswith("| xa-1 | 4 | 4 |") and row.endswith("| 2 | 0 |"), row
