"""Charts drawn on the server as SVG text: no chart library, no script, nothing for a weak phone to run.

Each function takes plain figures and returns one ``<svg>`` element with Vietnamese labels, a
``role="img"`` and an ``aria-label``, and a ``<title>`` on every mark so a tap or hover shows the
number.  Every text from people (unit and device names) is escaped.  The pages size the
drawing with CSS (``.chart svg``); colours are fixed so a printout reads the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

PALETTE = ("#1b5e9a", "#1b7a3a", "#d18f00", "#7a3a9a", "#a51b1b", "#3a8a8a", "#6b6b6b", "#b85c1b")
GOOD, WARN, BAD, GRID, INK = "#1b7a3a", "#d18f00", "#a51b1b", "#d0d0d0", "#222"


def esc(text: str) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def _open(width: int, height: int, label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{esc(label)}" font-family="sans-serif">')


def _empty(label: str, message: str) -> str:
    return _open(640, 60, label) + f'<text x="10" y="34" font-size="14" fill="{INK}">{esc(message)}</text></svg>'


def _hours(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} giờ {minutes % 60:02d} phút" if minutes >= 60 else f"{minutes} phút"


@dataclass(frozen=True)
class Series:
    """One unit's values, one per category (a week)."""

    name: str
    values: tuple[float, ...]


def airtime_by_week(weeks: Sequence[str], series: Sequence[Series]) -> str:
    """Grouped bars: the airtime (seconds) of each unit in each week, in minutes on the axis."""
    label = "Biểu đồ thời lượng phát theo tuần và đơn vị"
    if not weeks or not series:
        return _empty(label, "Chưa có buổi phát nào trong khoảng này.")
    width, top, left, bottom, legend_row = 720, 20, 56, 44, 18
    legend_h = legend_row * ((len(series) + 2) // 3)
    plot_h = 220
    height = top + plot_h + bottom + legend_h
    peak = max([v for s in series for v in s.values] + [60.0]) / 60
    step = _nice_step(peak)
    top_value = step * (int(peak // step) + 1)
    group_w = (width - left - 10) / len(weeks)
    bar_w = max(2.0, min(28.0, (group_w - 8) / len(series)))
    parts = [_open(width, height, label)]
    for k in range(int(top_value // step) + 1):
        y = top + plot_h - plot_h * (k * step) / top_value
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="{GRID}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="{INK}">{k * step:g}</text>')
    parts.append(f'<text x="4" y="{top - 6}" font-size="11" fill="{INK}">phút</text>')
    for i, week in enumerate(weeks):
        x0 = left + i * group_w + (group_w - bar_w * len(series)) / 2
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else 0.0
            h = plot_h * (value / 60) / top_value
            parts.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 1:.1f}" '
                         f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}"><title>{esc(s.name)}, {esc(week)}: '
                         f'{_hours(value)}</title></rect>')
        parts.append(f'<text x="{left + (i + 0.5) * group_w:.1f}" y="{top + plot_h + 16}" font-size="11" '
                     f'text-anchor="middle" fill="{INK}">{esc(week)}</text>')
    parts.append(_legend([(s.name, PALETTE[j % len(PALETTE)]) for j, s in enumerate(series)], top + plot_h + bottom - 10,
                         width))
    parts.append("</svg>")
    return "".join(parts)


def _nice_step(peak: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 3000, 6000):
        if peak / step <= 6:
            return float(step)
    return peak / 5


def _legend(entries: Sequence[tuple[str, str]], y: float, width: int) -> str:
    per_row, col_w = 3, (width - 10) / 3
    out = []
    for n, (name, colour) in enumerate(entries):
        x, yy = 10 + (n % per_row) * col_w, y + (n // per_row) * 18
        out.append(f'<rect x="{x:.1f}" y="{yy - 10:.1f}" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{x + 16:.1f}" y="{yy:.1f}" font-size="12" fill="{INK}">{esc(name[:34])}</text>')
    return "".join(out)


def compliance_over_time(points: Sequence[tuple[str, int, int]]) -> str:
    """A line of the share of plays aired on time per day (label, planned, played), with a 95 % guide."""
    label = "Biểu đồ tỉ lệ phát đúng lịch theo ngày"
    points = [p for p in points if p[1] > 0]
    if not points:
        return _empty(label, "Chưa có buổi phát nào đến hạn trong khoảng này.")
    width, height, left, top, plot_h = 720, 280, 48, 16, 220
    plot_w = width - left - 16
    parts = [_open(width, height, label)]
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 16}" y2="{y:.1f}" stroke="{GRID}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="{INK}">{pct}%</text>')
    guide = top + plot_h * 0.05
    parts.append(f'<line x1="{left}" y1="{guide:.1f}" x2="{width - 16}" y2="{guide:.1f}" stroke="{GOOD}" '
                 f'stroke-dasharray="4 3"><title>Mục tiêu 95%</title></line>')

    def xy(i: int, planned: int, played: int) -> tuple[float, float]:
        x = left + (plot_w * (i + 0.5) / len(points))
        return x, top + plot_h * (1 - played / planned)

    coords = [xy(i, p[1], p[2]) for i, p in enumerate(points)]
    if len(coords) > 1:
        parts.append('<polyline fill="none" stroke="#1b5e9a" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords) + '"/>')
    every = max(1, len(points) // 10)
    for i, ((day, planned, played), (x, y)) in enumerate(zip(points, coords)):
        rate = played / planned
        colour = GOOD if rate >= 0.95 else WARN if rate >= 0.8 else BAD
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"><title>{esc(day)}: {played}/{planned} '
                     f'buổi phát ({rate * 100:.0f}%)</title></circle>')
        if i % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle" '
                         f'fill="{INK}">{esc(day)}</text>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Lane:
    """One cluster on the outage timeline: its name and its offline periods."""

    name: str
    periods: tuple[tuple[datetime, datetime], ...]


def outage_timeline(lanes: Sequence[Lane], start: datetime, end: datetime,
                    ticks: Sequence[tuple[datetime, str]]) -> str:
    """One lane per cluster across [start, end): red bars where it was offline, day ticks below."""
    label = "Biểu đồ thời gian mất kết nối của các cụm loa"
    span = (end - start).total_seconds()
    if not lanes or span <= 0:
        return _empty(label, "Không có cụm loa nào trong phạm vi này.")
    lane_h, left, width, top = 24, 190, 720, 8
    plot_w = width - left - 10
    height = top + len(lanes) * lane_h + 40
    parts = [_open(width, height, label)]

    def x_of(t: datetime) -> float:
        return left + plot_w * max(0.0, min(1.0, (t - start).total_seconds() / span))

    for at, text in ticks:
        x = x_of(at)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + len(lanes) * lane_h}" stroke="{GRID}"/>'
                     f'<text x="{x:.1f}" y="{top + len(lanes) * lane_h + 14}" font-size="11" text-anchor="middle" '
                     f'fill="{INK}">{esc(text)}</text>')
    for i, lane in enumerate(lanes):
        y = top + i * lane_h
        parts.append(f'<text x="0" y="{y + 16}" font-size="12" fill="{INK}">{esc(lane.name[:26])}</text>'
                     f'<rect x="{left}" y="{y + 4}" width="{plot_w}" height="{lane_h - 8}" fill="#e8f3ec"/>')
        for a, b in lane.periods:
            x1, x2 = x_of(a), x_of(b)
            parts.append(f'<rect class="outage" x="{x1:.1f}" y="{y + 4}" width="{max(1.5, x2 - x1):.1f}" '
                         f'height="{lane_h - 8}" fill="{BAD}"><title>{esc(lane.name)}: mất kết nối '
                         f'{_hours((b - a).total_seconds())}</title></rect>')
    ly = height - 8
    parts.append(f'<rect x="{left}" y="{ly - 10}" width="12" height="12" fill="#e8f3ec"/>'
                 f'<text x="{left + 16}" y="{ly}" font-size="12" fill="{INK}">Có kết nối</text>'
                 f'<rect x="{left + 110}" y="{ly - 10}" width="12" height="12" fill="{BAD}"/>'
                 f'<text x="{left + 126}" y="{ly}" font-size="12" fill="{INK}">Mất kết nối</text>')
    parts.append("</svg>")
    return "".join(parts)
