"""Writes ``docs/performance.md`` from ``bench/results.json``: figures, targets, the machine."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
PROVINCE_DAY = Path(__file__).resolve().parent / "province_day.md"  # written by make soak (tests/support/province_day.py)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    target: float | None = None
    higher_is_better: bool = False
    reference: str = ""


FIGURES = [
    Figure("start_error_p99_ms", "Start precision, one agent: p99 of the start error (actual − planned)", "ms", 2.0,
           reference="first frame handed to the output vs the planned instant (sink timestamps)"),
    Figure("start_error_20_agents_p99_ms", "Start precision, 20 agents on 2 cores: p99", "ms",
           reference="bounded by CPU contention: 50 bare processes waking at one instant measured p99 ≈ 8–12 ms here"),
    Figure("fanout_p99_ms", "Emergency fan-out to 500 devices: p99 from POST /api/emergency to receipt", "ms", 150.0,
           reference="a bare mosquitto fan-out to 500 paho clients measured p99 ≈ 40 ms here"),
    Figure("fanout_p99_ms_2000", "Emergency fan-out to 2,000 devices: p99", "ms"),
    Figure("fanout_p99_ms_bridged_2000", "Emergency fan-out through 4 bridged commune brokers to 2,000 devices: p99 from "
           "the command's publish on the province broker to receipt", "ms", 150.0,
           reference="received: the kernel's timestamp on each device's connection (bare MQTT sessions, bench/raw_devices.py); "
                     "fanout_p99_ms_direct_2000_same_run: the same devices on one broker, in the same run"),
    Figure("soak_events_lost", "Province day (`make soak`): events lost or stored twice", "events", 0.0,
           reference="see the province day below"),
    Figure("soak_plays_missed", "Province day: approved plays that did not air (a slot yielding to an emergency aside)",
           "plays", 0.0),
    Figure("plan_publish_5000_s", "Rebuild, sign and publish 48 h plans for 5,000 devices", "s", 3.0),
    Figure("render_rtf", "Render real-time factor (clean → normalize → espeak-ng → master → encode)", "× real time", 30.0,
           higher_is_better=True),
    Figure("opus_kbytes_per_min", "Opus on the wire per minute of speech", "KB", 480.0,
           reference="a 64 kb/s stream costs 480 KB a minute"),
    Figure("agent_rss_mb", "Agent memory (RSS), idle with a 48 h plan", "MB", 40.0),
    Figure("agent_idle_cpu_pct", "Agent CPU, idle", "% of a core", 1.0),
    Figure("ingest_events_per_s", "Playback events validated, stored and acknowledged through MQTT", "events/s", 5000.0,
           higher_is_better=True, reference="with 10,000 devices' heartbeats every 30 s at the same time"),
    Figure("controller_cpu_pct", "Controller CPU during that ingest", "% of a core"),
    Figure("controller_rss_mb", "Controller memory (RSS) with 10,000 devices", "MB"),
    Figure("cap_to_air_p99_ms", "Official warning: new CAP alert in a feed polled every 10 s → first sample on 10 agents, p99", "ms",
           15000.0, reference="includes the poll's phase (0–10 s), the espeak-ng render and the first-airing lead"),
    Figure("cap_push_to_air_p99_ms", "Official warning pushed (POST /api/alerts/push) → first sample on 10 agents, p99", "ms",
           3000.0, reference="the first sample is the warning's attention signal (made once, sent at once); its words "
                             "follow back to back while the render keeps within the signal (see the gap below)"),
    Figure("cap_push_render_ms", "… of which push → planned signal, less the lead (intake, decisions, amplifier warm-up)", "ms"),
    Figure("cap_push_start_late_p99_ms", "… and each agent's first sample after the planned instant, p99", "ms"),
    Figure("cap_push_words_p99_ms", "Official warning pushed → the words' first sample on 10 agents, p99", "ms"),
    Figure("cap_push_words_gap_p99_ms", "… the words' start after the end of the signal, p99 over agents", "ms", 100.0),
    Figure("update_s", "Fleet update: release published → 20 agents on the new version (all in one wave)", "s",
           reference="each agent downloads, checks and pip-installs the release into a new venv: 20 builds on 2 cores"),
    Figure("update_kbytes", "Bytes each device downloads for that update (median)", "kB",
           reference="the whole release: manifest, key chain and every wheel; no deltas"),
    Figure("update_release_kbytes", "Size of that release's wheels (agent wheel, locked dependencies, pip)", "kB"),
    Figure("audit_query_ms", "Audit report: one commune's week out of 1.12 million events", "ms", 100.0),
    Figure("audit_query_30m_ms", "Commune-week compliance, p95, on the bulk-loaded province logbook", "ms", 100.0,
           reference="the database held province_year_events events (see docs/scale.md)"),
    Figure("ingest_events_per_s_30m", "Ingest (validate, store, hash chain) on that logbook, without MQTT", "events/s",
           5000.0, higher_is_better=True),
    Figure("logbook_page_30m_ms", "Commune's weekly logbook page, p95, on that logbook", "ms", 100.0),
    Figure("logbook_xlsx_30m_ms", "That logbook's XLSX export, p95, to the download's first bytes", "ms", 100.0,
           reference="streamed as it is written; logbook_xlsx_whole_30m_ms: the whole file"),
    Figure("province_compliance_30m_ms", "Province compliance page (every cluster, one week), p95", "ms", 100.0,
           reference="from the unit and per-day rollups (docs/scale.md)"),
    Figure("province_compliance_30m_cpu_ms", "… the processor time of one call, median", "ms",
           reference="what the call costs whatever else the machine runs"),
    Figure("retention_month_30m_s", "Retention pruning the logbook's oldest month, ingest running beside it", "s"),
    Figure("ingest_events_per_s_during_prune", "Ingest while that prune runs", "events/s", 5000.0,
           higher_is_better=True),
    Figure("ocr_char_accuracy_clean", "OCR character accuracy, clean Vietnamese page (200 dpi)", "%", 97.0,
           higher_is_better=True),
    Figure("ocr_char_accuracy_phone", "OCR character accuracy, the page as a phone photo (3°, blur, uneven light, JPEG 70)",
           "%", 95.0, higher_is_better=True),
    Figure("ocr_chars_per_s", "OCR speed, preprocessing included", "characters/s"),
    Figure("pdf_text_ms_per_page", "PDF text layer read, columns rebuilt", "ms per page"),
    Figure("stream_kbytes_per_min", "Bytes a cluster receives per minute of relay (Opus 24 kb/s from Icecast)", "kB/min",
           240.0),
    Figure("relay_failover_s", "Relay source death → fallback audible to a listener", "s", 5.0),
    Figure("relay_start_p99_ms", "Scheduled relay instant → first sample at each agent's sink, p99 (median of 3 runs)",
           "ms", 1500.0, reference="`stream_bench_agents` agents in one process on the same cores as Icecast and the restreamer"),
    Figure("stream_sync_p99_ms", "Offset between agents airing the same sample of a relay, p99 (median of 3 runs)", "ms",
           20.0, reference="the common timeline (granule stamps, signed 1.2 s playout delay; docs/live-audio.md), from the sinks' records"),
    Figure("live_latency_p99_ms", "Microphone (WebM/Opus in 250 ms slices, as MediaRecorder) → the sample at each agent's sink, p99",
           "ms", 3000.0, reference="includes the 250 ms slice; the browser's own capture delay is not included"),
]


def _machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB memory"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu or platform.machine()}){mem}, Python {platform.python_version()}, {platform.system()}"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}".rstrip("0").rstrip(".") if abs(v) < 100 else f"{v:,.0f}"
    return str(v)


def _verdict(f: Figure, value: float) -> str:
    if f.target is None:
        return "—"
    ok = value >= f.target if f.higher_is_better else value <= f.target
    sign = "≥" if f.higher_is_better else "≤"
    return f"{'met' if ok else 'missed'} ({sign} {_fmt(f.target)})"


def write(results: dict[str, Any], load_average: tuple[float, float, float] | None = None) -> Path:
    lines = [
        "# Performance",
        "",
        "Written by `make bench` from `bench/results.json`; each figure is the median of the benchmark's runs",
        "unless its name says otherwise (p99, max). Spread is shown where a benchmark records it.",
        "",
        f"- Machine: {_machine()}",
        f"- Written: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
        + (f"; load average at start {load_average[0]:.2f}" if load_average else ""),
        "",
        "| Figure | Value | Target | Reference point |",
        "|---|---|---|---|",
    ]
    for f in FIGURES:
        if f.key not in results:
            continue
        value = results[f.key]
        spread = [f"{tag} {_fmt(results[k])}" for tag in ("p50", "max")
                  if "_p99" in f.key and (k := f.key.replace("_p99", f"_{tag}")) in results]
        shown = f"{_fmt(value)} {f.unit}" + (f" ({', '.join(spread)})" if spread else "")
        lines.append(f"| {f.label} | {shown} | {_verdict(f, value)} | {f.reference} |")
    known = {f.key for f in FIGURES}
    known |= {f.key.replace("_p99", f"_{tag}") for f in FIGURES for tag in ("p50", "max") if "_p99" in f.key}
    others = sorted(k for k in results if k not in known)
    if others:
        lines += ["", "## Other figures", "", "| Key | Value |", "|---|---|"]
        lines += [f"| `{k}` | {_fmt(results[k])} |" for k in others]
    if PROVINCE_DAY.exists():
        lines += ["", "## Province day (`make soak`)", "", PROVINCE_DAY.read_text().rstrip()]
    lines.append("")
    DOC.write_text("\n".join(lines))
    return DOC
