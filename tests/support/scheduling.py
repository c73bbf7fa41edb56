"""Longest files first: the order in which ``make test`` hands test files to its workers.

With ``--dist loadfile`` each file runs whole on one worker.  Left alone, pytest-xdist hands
out the files with the most tests first, which puts the slow one-test files (a commune on
real processes, a browser, a release build, a fault that lasts a minute) at the end, where
one of them alone sets when the run ends.  :class:`LongestFirst` hands out the file expected
to take longest first instead (longest-processing-time scheduling), so the long files overlap
each other and the many short ones fill the gaps at the end.

The expected seconds of a file come from the last full run on this checkout (pytest's cache,
``loaxa/file-seconds``), else from :data:`FILE_SECONDS` (a full run on the 2-core machine),
else :data:`UNKNOWN_SECONDS`: a new file is assumed to be a slow one until a run says not.
The order changes only how soon a file starts, never what it runs or proves.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Mapping

import pytest

CACHE_KEY = "loaxa/file-seconds"
UNKNOWN_SECONDS = 30.0
FULL_RUN_FILES = 100  # a session that ran fewer files (one area, one file) leaves the figures alone

# Seconds per file (setup, call and teardown of all its tests) in a full ``make test`` on the
# shared 2-core machine, relative to tests/; after a full run, ``PYTHONPATH=tests .venv/bin/python
# -m support.scheduling`` prints the table again from that run.  Files whose waits were shortened
# since that run carry its figure scaled by their own before/after runs, until the next full run.
FILE_SECONDS: dict[str, float] = {
    "agent/test_agent_faults.py": 94,
    "web/test_web_flows.py": 83,
    "schedule_service/test_sched_playback.py": 82,
    "alerts/test_alert_broadcast.py": 82,
    "streaming/test_agent_stream.py": 82,
    "agent/test_fleet_rollout.py": 77,
    "streaming/test_relay_programme.py": 56,
    "agent/test_agent_conductor.py": 51,
    "test_demo.py": 50,
    "schedule_service/test_sched_api.py": 49,
    "audio/test_intake.py": 45,
    "province/test_bridge_outage.py": 40,
    "streaming/test_live_browser.py": 40,
    "security/test_client_binding.py": 39,
    "province/test_bridge_restarts.py": 38,
    "streaming/test_restreamer.py": 37,
    "agent/test_agent_update.py": 36,
    "province/test_bridge_flapping.py": 34,
    "province/test_province_day.py": 34,
    "schedule_service/test_sched_preemption.py": 32,
    "schedule_service/test_sched_report.py": 29,
    "web/test_web_status.py": 29,
    "streaming/test_stream_timeline.py": 27,
    "audio/test_pipeline.py": 26,
    "streaming/test_relay_sources_page.py": 25,
    "web/test_web_access_and_input.py": 25,
    "streaming/test_alsa_stream_output.py": 24,
    "web/test_web_compose_intake.py": 24,
    "agent/test_agent_reboot.py": 23,
    "streaming/test_live_late_join.py": 23,
    "web/test_auditor_pages.py": 22,
    "security/test_pentest_web.py": 22,
    "test_end_to_end.py": 22,
    "alerts/test_alert_service.py": 21,
    "web/test_web_test_tone.py": 20,
    "security/test_enrollment.py": 20,
    "audio/test_render_cli.py": 19,
    "security/test_kill_switch.py": 19,
    "security/test_epoch_review.py": 18,
    "audio/test_script_cli.py": 18,
    "security/test_forged_playback.py": 18,
    "test_ocr_acknowledgement.py": 18,
    "schedule_service/test_sched_week_editing.py": 18,
    "security/test_legacy_pole_key.py": 18,
    "web/test_web_fleet.py": 18,
    "security/test_silencing.py": 17,
    "web/test_web_technician.py": 17,
    "alerts/test_alert_render_retry.py": 16,
    "people/test_people_access.py": 15,
    "ops/test_logs.py": 15,
    "streaming/test_icecast.py": 14,
    "test_controller_input.py": 13,
    "web/test_web_csp.py": 13,
    "web/test_web_render_progress.py": 13,
    "people/test_people_openapi.py": 12,
    "security/test_https_serving.py": 12,
    "streaming/test_api_streams.py": 12,
    "people/test_people_manage.py": 12,
    "security/test_heads_receiver.py": 12,
    "security/test_media_scope.py": 12,
    "province/test_bridge_metrics.py": 12,
    "security/test_head_copies.py": 12,
    "agent/test_agent_media_faults.py": 12,
    "web/test_web_people.py": 12,
    "ops/test_backup.py": 12,
    "web/test_web_map.py": 11,
    "web/test_web_week_editing.py": 11,
    "security/test_key_rotation.py": 11,
    "notifications/test_notifications.py": 11,
    "web/test_web_volume_schedule.py": 10,
    "people/test_people_live.py": 10,
    "test_bulletins_api.py": 9,
    "province/test_tree_heads.py": 9,
    "security/test_broker_acl.py": 9,
    "audio/test_master.py": 9,
    "web/test_web_alert_sources.py": 8,
    "web/test_web_guardrails.py": 8,
    "web/test_auditor_reports.py": 8,
    "ops/test_migrations.py": 8,
    "ops/test_retention.py": 7,
    "schedule_service/test_sched_seconds.py": 7,
    "streaming/test_live_rules.py": 6,
    "alerts/test_alert_web.py": 6,
    "people/test_people_bad_input.py": 6,
    "people/test_proxy_throttle.py": 6,
    "web/test_report_json_shape.py": 6,
    "audio/test_normalize.py": 6,
    "audio/test_pipeline_progress.py": 6,
    "people/test_people_role_matrix.py": 5,
    "people/test_use_cases.py": 5,
    "people/test_people_audit_chain.py": 5,
    "ops/test_install.py": 5,
    "agent/test_agent_disk_full.py": 4,
    "web/test_web_reports.py": 4,
    "schedule_domain/test_schedule_properties.py": 4,
    "web/test_render_progress_api.py": 4,
    "agent/test_agent_media_cache.py": 4,
    "ops/test_metrics.py": 4,
    "test_agent_security.py": 4,
    "audio/test_corpus_check.py": 3,
    "test_protocol.py": 3,
    "test_import_boundary.py": 3,
    "agent/test_agent_late_window.py": 3,
    "agent/test_agent_capture.py": 3,
    "audio/test_tts_google.py": 3,
    "alerts/test_alert_feed.py": 3,
    "test_demo_supervisor.py": 3,
    "agent/test_agent_clock.py": 2,
    "security/test_broker_tls.py": 2,
    "test_schedule_facts.py": 2,
    "dictionary/test_commune_dictionary.py": 2,
    "audio/test_normalize_dictionary.py": 2,
    "audio/test_document.py": 1,
    "security/test_broker_passwords.py": 1,
    "people/test_audit_vocabulary.py": 1,
    "province/test_bulk_events.py": 1,
    "province/test_link_pages.py": 1,
    "web/test_web_app.py": 1,
    "test_compose_uploads.py": 1,
    "audio/test_normalize_report.py": 1,
    "audio/test_document_fixtures.py": 1,
    "audio/test_master_chime.py": 1,
    "alerts/test_alert_trust.py": 1,
    "security/test_media_auth.py": 1,
    "test_plugins.py": 1,
    "audio/test_document_layouts.py": 1,
    "alerts/test_alert_parsing.py": 1,
    "schedule_domain/test_schedule_tree.py": 1,
    "schedule_service/test_sched_tree_cache.py": 1,
    "audio/test_attention_tone.py": 1,
    "audio/test_tts_espeak.py": 1,
    "security/test_retired_keys.py": 1,
    "test_migration_registry.py": 1,
    "test_time.py": 1,
    "web/test_web_is_thin.py": 1,
    "agent/test_agent_sdnotify.py": 1,
    "alerts/test_alert_areas.py": 1,
    "alerts/test_alert_lifecycle.py": 1,
    "alerts/test_alert_policy.py": 1,
    "audio/test_tables.py": 1,
    "schedule_domain/test_schedule_check.py": 1,
    "schedule_domain/test_schedule_date_phrases_vi.py": 1,
    "schedule_domain/test_schedule_form_entry.py": 1,
    "schedule_domain/test_schedule_guardrails.py": 1,
    "schedule_domain/test_schedule_programme.py": 1,
    "schedule_domain/test_schedule_rules.py": 1,
    "test_cli_docs.py": 1,
    "test_config.py": 1,
    "test_render_progress_registry.py": 1,
    "test_volume_schedule.py": 1,
    "test_wire_vectors.py": 1,
}


def expected_seconds(config: pytest.Config) -> dict[str, float]:
    """Expected seconds per file id (``tests/...py``): the last full run's, else the table's."""
    seconds = {f"tests/{name}": s for name, s in FILE_SECONDS.items()}
    cache = getattr(config, "cache", None)
    if cache is not None:
        seconds.update(cache.get(CACHE_KEY, {}))
    return seconds


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """The ``loadfile`` scheduler with the longest expected file handed out first."""
    try:
        from xdist.scheduler import LoadFileScheduling
    except ImportError:  # a pytest-xdist without it: its own scheduler, in its own order
        return None

    seconds = expected_seconds(config)

    class LongestFirst(LoadFileScheduling):
        ordered = False

        def _assign_work_unit(self, node: Any) -> None:
            queue = getattr(self, "workqueue", None)
            if not self.ordered and hasattr(queue, "move_to_end"):  # complete once the first unit is handed out
                for scope in sorted(queue, key=lambda s: -seconds.get(s, UNKNOWN_SECONDS)):
                    queue.move_to_end(scope)
            self.ordered = True  # another pytest-xdist keeps its own order: slower, never wrong
            super()._assign_work_unit(node)

    return LongestFirst(config, log)


class FileClock:
    """Adds up the seconds of every test report per file; after a full run, keeps them in the cache."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def add(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid.split("::")[0]] += report.duration

    def save(self, config: pytest.Config) -> None:
        cache = getattr(config, "cache", None)
        if cache is None or len(self.seconds) < FULL_RUN_FILES:
            return
        merged: dict[str, float] = dict(cache.get(CACHE_KEY, {}))
        merged.update({f: round(s, 1) for f, s in self.seconds.items()})
        cache.set(CACHE_KEY, merged)


def table_from(figures: Mapping[str, float]) -> str:
    """:data:`FILE_SECONDS` as source lines, longest first."""
    rows = sorted(((f.removeprefix("tests/"), s) for f, s in figures.items()), key=lambda r: (-r[1], r[0]))
    return "\n".join(f'    "{name}": {max(1, round(s))},' for name, s in rows)


if __name__ == "__main__":  # print the table from the last full run in .pytest_cache
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / ".pytest_cache" / "v" / CACHE_KEY
    print(table_from(json.loads(path.read_text())))
