"""The report's charts as plain inline SVG, drawn in Python.

No JavaScript: the PDF renderer cannot run any, and a printed record must not depend on it.
Every chart shares one time axis (same width, margins and range), so a phase change or an alarm
lines up across all of them. Drawn for black-and-white printing: series differ by line style and
marker shape, never by colour alone.
"""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from itertools import pairwise
from zoneinfo import ZoneInfo

WIDTH = 720.0
LEFT = 48.0
RIGHT = 34.0
PLOT_W = WIDTH - LEFT - RIGHT
CHART_H = 150.0
TOP = 8.0
BOTTOM = 24.0
MARKERS_UP_TO = 200  # sparser series than this get a marker on every point
TICK_STEPS_MIN = (1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720, 1440)

Point = tuple[datetime, float]

# Presentation attributes, not CSS: WeasyPrint does not apply the page's stylesheet to inline SVG.
_FONT = 'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif"'
ATTRS = {
    "axis": 'stroke="#000" stroke-width="0.8"',
    "grid": 'stroke="#c8c8c8" stroke-width="0.5"',
    "tick": f'{_FONT} font-size="9" fill="#000"',
    "phase-line": 'stroke="#000" stroke-width="0.8" stroke-dasharray="2 2"',
    "limit": 'stroke="#555" stroke-width="0.8" stroke-dasharray="6 3"',
    "limit-label": f'{_FONT} font-size="8" fill="#333"',
    "series": 'fill="none" stroke="#000" stroke-width="1.2" stroke-linejoin="round"',
    "series dashed": (
        'fill="none" stroke="#444" stroke-width="1.2" stroke-dasharray="4 2" '
        'stroke-linejoin="round"'
    ),
    "marker": 'fill="#000" stroke="none"',
    "alarm-tick": 'fill="#000"',
    "alarm-mark": 'fill="#000"',
    "alarm-label": f'{_FONT} font-size="9" font-weight="bold" fill="#000"',
    "band shade-0": 'fill="#fff" stroke="#000" stroke-width="0.6"',
    "band shade-1": 'fill="#e4e4e4" stroke="#000" stroke-width="0.6"',
    "band shade-2": 'fill="#c4c4c4" stroke="#000" stroke-width="0.6"',
    "band-label": f'{_FONT} font-size="9" fill="#000"',
}


def _a(cls: str) -> str:
    """class= for the browser and tests, plus the attributes that draw it."""
    return f'class="{cls}" {ATTRS[cls]}'


@dataclass(frozen=True)
class TimeAxis:
    start: datetime
    end: datetime
    tz: ZoneInfo

    @property
    def span_s(self) -> float:
        return max((self.end - self.start).total_seconds(), 60.0)

    def x(self, moment: datetime) -> float:
        return LEFT + (moment - self.start).total_seconds() / self.span_s * PLOT_W

    def ticks(self, max_ticks: int = 8) -> list[datetime]:
        """Round local clock times (every 1, 2, 5, 10… minutes) across the axis."""
        span_min = self.span_s / 60
        step = next(
            (s for s in TICK_STEPS_MIN if span_min / s <= max_ticks),
            math.ceil(span_min / max_ticks),
        )
        local = self.start.astimezone(self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        minutes = (local - midnight).total_seconds() / 60
        tick = midnight + timedelta(minutes=math.ceil(minutes / step) * step)
        end = self.start + timedelta(seconds=self.span_s)
        found: list[datetime] = []
        while tick <= end:
            found.append(tick)
            tick += timedelta(minutes=step)
        return found


@dataclass(frozen=True)
class Series:
    name: str
    label: str
    points: Sequence[Point]
    dashed: bool = False
    marker: str = "circle"  # "circle", "up" or "down"


@dataclass(frozen=True)
class Limit:
    start: datetime
    end: datetime
    value: float
    label: str  # e.g. "> 120"


@dataclass(frozen=True)
class Mark:
    at: datetime
    label: str  # shown on the timeline strip; charts show only a tick


@dataclass(frozen=True)
class ChartSpec:
    name: str
    title: str
    unit: str
    series: Sequence[Series]
    limits: Sequence[Limit] = ()
    floor: float | None = None  # lowest value the y axis may show (SpO2: never below 0)
    ceiling: float | None = None

    @property
    def point_count(self) -> int:
        return sum(len(s.points) for s in self.series)


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_step(span: float, target: int = 4) -> float:
    raw = span / max(target, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def y_range(spec: ChartSpec) -> tuple[float, float, float]:
    """The y axis (low, high, tick step) holding every value and limit line, with a margin."""
    values = [v for s in spec.series for _, v in s.points] + [lim.value for lim in spec.limits]
    if not values:
        low, high = 0.0, 1.0
    else:
        low, high = min(values), max(values)
    if high - low < 10:
        middle = (high + low) / 2
        low, high = middle - 5, middle + 5
    step = nice_step(high - low)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    if low == min(values, default=low):
        low -= step
    if high == max(values, default=high):
        high += step
    if spec.floor is not None:
        low = max(low, spec.floor)
    if spec.ceiling is not None:
        high = min(high, spec.ceiling)
    return low, high, step


def split_at_gaps(points: Sequence[Point]) -> list[list[Point]]:
    """Runs of points with no long silence inside: a line must not bridge a dropout."""
    if len(points) < 2:
        return [list(points)] if points else []
    gaps = [(b[0] - a[0]).total_seconds() for a, b in pairwise(points)]
    limit = max(60.0, 5 * statistics.median(gaps))
    runs: list[list[Point]] = [[points[0]]]
    for gap, point in zip(gaps, points[1:], strict=True):
        if gap > limit:
            runs.append([])
        runs[-1].append(point)
    return runs


def thin(points: Sequence[Point], axis: TimeAxis, per_px: float = 0.5) -> list[Point]:
    """At most a lowest and a highest point per bucket of 2 px: the printed line looks the same,
    the document stays small, and no peak is lost."""
    buckets = int(PLOT_W * per_px)
    if len(points) <= 2 * buckets:
        return list(points)
    kept: dict[int, list[Point]] = {}
    for point in points:
        index = int((axis.x(point[0]) - LEFT) / PLOT_W * buckets)
        bucket = kept.setdefault(index, [])
        if len(bucket) < 2:
            bucket.append(point)
            bucket.sort(key=lambda p: p[1])
        elif point[1] < bucket[0][1]:
            bucket[0] = point
        elif point[1] > bucket[1][1]:
            bucket[1] = point
    thinned = [p for bucket in kept.values() for p in bucket]
    return sorted(thinned, key=lambda p: p[0])


def spread_labels(labels: Sequence[tuple[float, str]], gap: float = 9.0) -> list[tuple[float, str]]:
    """Labels moved apart just enough not to overlap (two limits a few units apart)."""
    placed: list[tuple[float, str]] = []
    for label_y, text in sorted(labels, reverse=True):  # from the bottom of the chart up
        if placed and placed[-1][0] - label_y < gap:
            label_y = placed[-1][0] - gap
        placed.append((label_y, text))
    return placed


def _marker(kind: str, x: float, y: float) -> str:
    if kind == "up":
        return f'<path d="M{x:.1f} {y - 3.2:.1f}l3 5.2h-6z"/>'
    if kind == "down":
        return f'<path d="M{x:.1f} {y + 3.2:.1f}l3 -5.2h-6z"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2"/>'


def _x_axis(axis: TimeAxis, height: float) -> list[str]:
    base = height - BOTTOM
    parts = [f'<line {_a("axis")} x1="{LEFT}" y1="{base}" x2="{LEFT + PLOT_W}" y2="{base}"/>']
    for tick in axis.ticks():
        x = axis.x(tick)
        label = tick.astimezone(axis.tz).strftime("%H:%M")
        parts.append(f'<line {_a("grid")} x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{base}"/>')
        parts.append(
            f'<text {_a("tick")} x="{x:.1f}" y="{base + 14}" text-anchor="middle">{label}</text>'
        )
    return parts


def render_chart(
    spec: ChartSpec, axis: TimeAxis, phases: Sequence[Mark] = (), alarms: Sequence[Mark] = ()
) -> str:
    """One vital's chart, as an <svg> element with a text alternative."""
    height = CHART_H
    base = height - BOTTOM
    low, high, step = y_range(spec)

    def y(value: float) -> float:
        return base - (value - low) / (high - low) * (base - TOP)

    parts: list[str] = []
    tick = low
    while tick <= high + 1e-9:
        parts.append(
            f'<line {_a("grid")} x1="{LEFT}" y1="{y(tick):.1f}" x2="{LEFT + PLOT_W}" '
            f'y2="{y(tick):.1f}"/>'
            f'<text {_a("tick")} x="{LEFT - 4}" y="{y(tick) + 3:.1f}" '
            f'text-anchor="end">{_fmt(tick)}</text>'
        )
        tick += step
    parts.append(f'<line {_a("axis")} x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}"/>')
    parts.extend(_x_axis(axis, height))
    for mark in phases:
        x = axis.x(mark.at)
        parts.append(f'<line {_a("phase-line")} x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{base}"/>')
    for limit in spec.limits:
        x1, x2, ly = axis.x(limit.start), axis.x(limit.end), y(limit.value)
        if not low <= limit.value <= high:
            continue
        parts.append(
            f'<line {_a("limit")} x1="{x1:.1f}" y1="{ly:.1f}" x2="{x2:.1f}" y2="{ly:.1f}">'
            f"<title>Alarm limit {escape(limit.label)}</title></line>"
        )
    labelled = sorted({(lim.value, lim.label) for lim in spec.limits if low <= lim.value <= high})
    for label_y, label in spread_labels([(y(value) + 3, label) for value, label in labelled]):
        parts.append(
            f'<text {_a("limit-label")} x="{LEFT + PLOT_W + 3}" y="{label_y:.1f}">'
            f"{escape(label)}</text>"
        )
    for series in spec.series:
        cls = "series dashed" if series.dashed else "series"
        group = [f'<g {_a(cls)} data-series="{escape(series.name)}">']
        for run in split_at_gaps(series.points):
            shown = thin(run, axis)
            coords = " ".join(f"{axis.x(t):.1f},{y(v):.1f}" for t, v in shown)
            if len(shown) > 1:
                group.append(f'<polyline points="{coords}"/>')
            if len(series.points) <= MARKERS_UP_TO or len(shown) == 1:
                group.append(f"<g {_a('marker')}>")
                group.extend(_marker(series.marker, axis.x(t), y(v)) for t, v in shown)
                group.append("</g>")
        group.append("</g>")
        parts.append("".join(group))
    for mark in alarms:
        x = axis.x(mark.at)
        parts.append(
            f'<path {_a("alarm-tick")} d="M{x:.1f} {base - 1:.1f}l4 7h-8z">'
            f"<title>Alarm {escape(mark.label)}</title></path>"
        )
    described = ", ".join(f"{s.label}: {len(s.points)} values" for s in spec.series)
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {height:g}" '
        f'role="img" aria-label="{escape(spec.title)} ({escape(spec.unit)}) over time; '
        f'{escape(described)}" data-chart="{escape(spec.name)}" '
        f'data-points="{spec.point_count}">'
        f"<title>{escape(spec.title)}</title>" + "".join(parts) + "</svg>"
    )


@dataclass(frozen=True)
class Band:
    """A span of the timeline strip: one phase."""

    start: datetime
    end: datetime
    label: str
    shade: int  # 0–2: how dark the band is (the label says which phase; shade only helps)


def render_timeline(axis: TimeAxis, bands: Sequence[Band], alarms: Sequence[Mark]) -> str:
    """The strip above the charts: phases as labelled bands, alarms as numbered triangles."""
    height = 76.0
    parts: list[str] = []
    for band in bands:
        x1, x2 = axis.x(band.start), axis.x(band.end)
        width = max(x2 - x1, 0.5)
        parts.append(
            f'<rect {_a(f"band shade-{band.shade}")} x="{x1:.1f}" y="4" width="{width:.1f}" '
            f'height="20"><title>{escape(band.label)}</title></rect>'
        )
        if width > 40:
            parts.append(
                f'<text {_a("band-label")} x="{x1 + 4:.1f}" y="18">{escape(band.label)}</text>'
            )
    last_label_x = -100.0
    for mark in alarms:
        x = axis.x(mark.at)
        parts.append(
            f'<path {_a("alarm-mark")} d="M{x:.1f} 28l5 9h-10z"><title>Alarm {escape(mark.label)}'
            "</title></path>"
        )
        if x - last_label_x >= 14:
            parts.append(
                f'<text {_a("alarm-label")} x="{x:.1f}" y="48" text-anchor="middle">'
                f"{escape(mark.label)}</text>"
            )
            last_label_x = x
    parts.extend(_x_axis(axis, height))
    return (
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} '
        f'{height:g}" role="img" aria-label="Phases and alarms over time">'
        "<title>Phases and alarms</title>" + "".join(parts) + "</svg>"
    )
