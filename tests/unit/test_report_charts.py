"""The report's SVG charts: one time axis for all, gaps kept, dense series thinned, well-formed."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from backend.reports.svg_charts import (
    LEFT,
    PLOT_W,
    Band,
    ChartSpec,
    Limit,
    Mark,
    Series,
    TimeAxis,
    render_chart,
    render_timeline,
    split_at_gaps,
    spread_labels,
    thin,
    y_range,
)

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2026, 3, 2, 9, 7, 30, tzinfo=UTC)
KOLKATA = ZoneInfo("Asia/Kolkata")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted input


def axis(minutes: float = 60, tz: ZoneInfo = KOLKATA) -> TimeAxis:
    return TimeAxis(START, START + timedelta(minutes=minutes), tz)


def every_second(count: int, value: float = 70) -> list[tuple[datetime, float]]:
    return [(START + timedelta(seconds=i), value + (i % 7)) for i in range(count)]


def test_ticks_fall_on_round_local_clock_times() -> None:
    ticks = axis(60).ticks()
    local = [t.astimezone(KOLKATA).strftime("%H:%M") for t in ticks]
    # 09:07:30 UTC is 14:37:30 in Kolkata (UTC+05:30): ticks every 10 min from 14:40.
    assert local == ["14:40", "14:50", "15:00", "15:10", "15:20", "15:30"]


def test_the_same_moment_has_the_same_x_on_every_chart() -> None:
    shared = axis(30)
    moment = START + timedelta(minutes=15)
    assert shared.x(START) == LEFT
    assert shared.x(moment) == LEFT + PLOT_W / 2
    heart = ChartSpec("hr", "Heart rate", "/min", [Series("hr", "HR", [(moment, 80)])])
    pressure = ChartSpec("bp", "BP", "mmHg", [Series("sys", "Systolic", [(moment, 130)])])
    xs = []
    for spec in (heart, pressure):
        root = parse(render_chart(spec, shared))
        (dot,) = root.iter(f"{SVG}circle")
        xs.append(dot.get("cx"))
    assert xs[0] == xs[1] == f"{LEFT + PLOT_W / 2:.1f}"


def test_a_line_is_broken_where_the_monitor_fell_silent() -> None:
    before = every_second(120)
    after = [(t + timedelta(minutes=10), v) for t, v in every_second(60)]
    runs = split_at_gaps(before + after)
    assert [len(r) for r in runs] == [120, 60]
    spec = ChartSpec("hr", "Heart rate", "/min", [Series("hr", "HR", before + after)])
    root = parse(render_chart(spec, axis(20)))
    assert len(list(root.iter(f"{SVG}polyline"))) == 2


def test_sparse_readings_are_not_split_by_their_own_interval() -> None:
    every_five_minutes = [(START + timedelta(minutes=5 * i), 120.0 + i) for i in range(8)]
    assert len(split_at_gaps(every_five_minutes)) == 1


def test_thinning_keeps_every_peak_and_trough() -> None:
    points = every_second(3600)
    points[1800] = (points[1800][0], 190)  # one spike
    points[2400] = (points[2400][0], 20)  # one dip
    shown = thin(points, axis(60))
    assert len(shown) < len(points) / 4
    values = [v for _, v in shown]
    assert max(values) == 190 and min(values) == 20
    assert [t for t, _ in shown] == sorted(t for t, _ in shown)


def test_the_y_axis_holds_values_and_limit_lines() -> None:
    spec = ChartSpec(
        "hr",
        "Heart rate",
        "/min",
        [Series("hr", "HR", [(START, 70), (START + timedelta(minutes=1), 90)])],
        [Limit(START, START + timedelta(minutes=1), 120, "120")],
        floor=0,
    )
    low, high, step = y_range(spec)
    assert low < 70 and high > 120
    assert step in (10, 20, 50)


def test_spo2_never_shows_above_100() -> None:
    spec = ChartSpec("spo2", "SpO2", "%", [Series("s", "SpO2", [(START, 99)])], ceiling=100)
    assert y_range(spec)[1] == 100


def test_limit_labels_close_together_are_moved_apart() -> None:
    placed = spread_labels([(100.0, "100"), (103.0, "90"), (40.0, "160")])
    ys = sorted(y for y, _ in placed)
    assert all(b - a >= 9 for a, b in pairwise(ys))


def test_a_chart_is_well_formed_svg_with_its_points_and_marks() -> None:
    points = [(START + timedelta(minutes=i), 120.0 + i) for i in range(10)]
    spec = ChartSpec(
        "blood_pressure",
        'Pressure <"quoted">',
        "mmHg",
        [Series("systolic", "Systolic", points, marker="up")],
        [Limit(START, START + timedelta(minutes=10), 160, "160")],
    )
    svg = render_chart(
        spec,
        axis(10),
        phases=[Mark(START + timedelta(minutes=2), "Infusing")],
        alarms=[Mark(START + timedelta(minutes=3), "1")],
    )
    root = parse(svg)  # escaped: parses as XML
    assert root.get("data-points") == "10"
    assert root.get("role") == "img" and "Pressure" in (root.get("aria-label") or "")
    (line,) = root.iter(f"{SVG}polyline")
    assert len((line.get("points") or "").split()) == 10
    classes = [e.get("class") for e in root.iter()]
    assert classes.count("phase-line") == 1
    assert classes.count("alarm-tick") == 1
    assert classes.count("limit") == 1
    # Drawn with attributes, not CSS classes alone: WeasyPrint ignores the page's CSS in SVG.
    assert line.get("stroke") is None and root.find(f".//{SVG}g[@stroke]") is not None


def test_the_timeline_labels_phases_and_numbers_alarms() -> None:
    shared = axis(60)
    svg = render_timeline(
        shared,
        [
            Band(START, START + timedelta(minutes=10), "Baseline", 0),
            Band(START + timedelta(minutes=10), START + timedelta(minutes=50), "Infusing", 2),
        ],
        [Mark(START + timedelta(minutes=20), "1"), Mark(START + timedelta(minutes=40), "2")],
    )
    root = parse(svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Baseline" in texts and "Infusing" in texts
    assert "1" in texts and "2" in texts
