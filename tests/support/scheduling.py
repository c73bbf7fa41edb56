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

# Seconds per file (setup, call and teardown of all its tests) in a full ``make test``, relative
# to tests/; regenerate with ``python -m support.scheduling`` after a full run.
FILE_SECONDS: dict[str, float] = {
    "agent/test_fleet_rollout.py": 115,
    "test_controller_input.py": 115,
    "web/test_web_flows.py": 95,
    "alerts/test_alert_broadcast.py": 90,
    "security/test_epoch_review.py": 82,
    "security/test_forged_playback.py": 81,
    "province/test_bridge_outage.py": 80,
    "web/test_web_compose_intake.py": 80,
    "agent/test_agent_faults.py": 71,
    "agent/test_agent_update.py": 70,
    "schedule_service/test_sched_playback.py": 66,
    "test_demo.py": 65,
    "test_end_to_end.py": 65,
    "web/test_web_map.py": 61,
    "agent/test_agent_reboot.py": 60,
    "ops/test_backup.py": 56,
    "web/test_web_access_and_input.py": 52,
    "streaming/test_agent_stream.py": 50,
    "streaming/test_relay_programme.py": 50,
    "audio/test_render_cli.py": 48,
    "people/test_people_openapi.py": 47,
    "schedule_service/test_sched_report.py": 46,
    "people/test_people_manage.py": 45,
    "province/test_province_day.py": 45,
    "streaming/test_live_browser.py": 45,
    "web/test_auditor_pages.py": 45,
    "security/test_https_serving.py": 44,
    "province/test_bridge_restarts.py": 43,
    "test_bulletins_api.py": 43,
    "schedule_service/test_sched_api.py": 42,
    "security/test_kill_switch.py": 42,
    "security/test_pentest_web.py": 41,
    "test_ocr_acknowledgement.py": 41,
    "security/test_client_binding.py": 40,
    "audio/test_master.py": 38,
    "schedule_service/test_sched_preemption.py": 38,
    "province/test_bridge_flapping.py": 36,
    "security/test_enrollment.py": 33,
    "audio/test_intake.py": 32,
    "security/test_media_scope.py": 32,
    "alerts/test_alert_render_retry.py": 30,
    "alerts/test_alert_service.py": 30,
    "ops/test_metrics.py": 30,
    "people/test_people_live.py": 30,
    "province/test_tree_heads.py": 30,
    "security/test_broker_tls.py": 30,
    "security/test_head_copies.py": 30,
    "security/test_heads_receiver.py": 30,
    "security/test_key_rotation.py": 30,
    "security/test_legacy_pole_key.py": 30,
    "security/test_retired_keys.py": 30,
    "streaming/test_live_late_join.py": 30,
    "streaming/test_live_rules.py": 30,
    "streaming/test_relay_sources_page.py": 30,
    "test_cli_docs.py": 30,
    "web/test_web_alert_sources.py": 30,
    "web/test_web_fleet.py": 30,
    "web/test_web_guardrails.py": 30,
    "web/test_web_people.py": 30,
    "web/test_web_render_progress.py": 30,
    "web/test_web_status.py": 30,
    "web/test_web_technician.py": 30,
    "web/test_web_test_tone.py": 30,
    "web/test_web_volume_schedule.py": 30,
    "web/test_web_week_editing.py": 30,
    "agent/test_agent_conductor.py": 28,
    "schedule_service/test_sched_week_editing.py": 28,
    "audio/test_pipeline.py": 25,
    "people/test_proxy_throttle.py": 22,
    "schedule_service/test_sched_seconds.py": 22,
    "streaming/test_restreamer.py": 21,
    "schedule_domain/test_schedule_properties.py": 20,
    "security/test_silencing.py": 20,
    "alerts/test_alert_web.py": 19,
    "ops/test_install.py": 18,
    "ops/test_logs.py": 17,
    "ops/test_migrations.py": 17,
    "web/test_web_csp.py": 17,
    "audio/test_script_cli.py": 16,
    "test_import_boundary.py": 15,
    "streaming/test_stream_timeline.py": 14,
    "web/test_render_progress_api.py": 14,
    "web/test_report_json_shape.py": 14,
    "streaming/test_alsa_stream_output.py": 13,
    "streaming/test_api_streams.py": 13,
    "audio/test_pipeline_progress.py": 12,
    "audio/test_corpus_check.py": 11,
    "notifications/test_notifications.py": 11,
    "people/test_people_bad_input.py": 10,
    "agent/test_agent_media_faults.py": 9,
    "ops/test_retention.py": 8,
    "people/test_people_access.py": 8,
    "people/test_use_cases.py": 8,
    "streaming/test_icecast.py": 8,
    "security/test_broker_acl.py": 7,
    "web/test_auditor_reports.py": 7,
    "audio/test_normalize.py": 6,
    "province/test_bridge_metrics.py": 6,
    "test_schedule_facts.py": 6,
    "web/test_web_reports.py": 5,
    "agent/test_agent_media_cache.py": 4,
    "people/test_people_audit_chain.py": 4,
    "people/test_people_role_matrix.py": 4,
    "test_agent_security.py": 4,
    "test_protocol.py": 4,
    "agent/test_agent_disk_full.py": 3,
    "audio/test_normalize_dictionary.py": 3,
    "web/test_web_app.py": 3,
    "agent/test_agent_capture.py": 2,
    "agent/test_agent_clock.py": 2,
    "agent/test_agent_late_window.py": 2,
    "audio/test_tts_google.py": 2,
    "people/test_audit_vocabulary.py": 2,
    "province/test_bulk_events.py": 2,
    "test_demo_supervisor.py": 2,
    "agent/test_agent_sdnotify.py": 1,
    "alerts/test_alert_areas.py": 1,
    "alerts/test_alert_feed.py": 1,
    "alerts/test_alert_lifecycle.py": 1,
    "alerts/test_alert_parsing.py": 1,
    "alerts/test_alert_policy.py": 1,
    "alerts/test_alert_trust.py": 1,
    "audio/test_attention_tone.py": 1,
    "audio/test_document.py": 1,
    "audio/test_document_fixtures.py": 1,
    "audio/test_document_layouts.py": 1,
    "audio/test_master_chime.py": 1,
    "audio/test_normalize_report.py": 1,
    "audio/test_tables.py": 1,
    "audio/test_tts_espeak.py": 1,
    "dictionary/test_commune_dictionary.py": 1,
    "province/test_link_pages.py": 1,
    "schedule_domain/test_schedule_check.py": 1,
    "schedule_domain/test_schedule_date_phrases_vi.py": 1,
    "schedule_domain/test_schedule_form_entry.py": 1,
    "schedule_domain/test_schedule_guardrails.py": 1,
    "schedule_domain/test_schedule_programme.py": 1,
    "schedule_domain/test_schedule_rules.py": 1,
    "schedule_domain/test_schedule_tree.py": 1,
    "schedule_service/test_sched_tree_cache.py": 1,
    "security/test_broker_passwords.py": 1,
    "security/test_media_auth.py": 1,
    "test_compose_uploads.py": 1,
    "test_config.py": 1,
    "test_migration_registry.py": 1,
    "test_plugins.py": 1,
    "test_render_progress_registry.py": 1,
    "test_time.py": 1,
    "test_volume_schedule.py": 1,
    "test_wire_vectors.py": 1,
    "web/test_web_is_thin.py": 1,
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
    from xdist.scheduler import LoadFileScheduling

    seconds = expected_seconds(config)

    class LongestFirst(LoadFileScheduling):
        ordered = False

        def _assign_work_unit(self, node: Any) -> None:
            if not self.ordered:  # the work queue is complete once the first unit is handed out
                for scope in sorted(self.workqueue, key=lambda s: -seconds.get(s, UNKNOWN_SECONDS)):
                    self.workqueue.move_to_end(scope)
                self.ordered = True
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
