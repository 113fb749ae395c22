"""Charts drawn on the server as SVG: no chart library, no script, nothing from a CDN.

Pure functions from numbers to shapes; the templates draw the shapes.
"""
from dataclasses import dataclass, field


@dataclass
class BarChart:
    """Pairs of bars (received and resolved) per period, with a y axis."""

    width: int = 480
    height: int = 250
    left: int = 44
    bottom: int = 30
    top: int = 14
    bars: list = field(default_factory=list)
    ticks: list = field(default_factory=list)
    labels: list = field(default_factory=list)


@dataclass
class LineChart:
    """A line of rates (0-1) per period; gaps where a period has no rate."""

    width: int = 480
    height: int = 250
    left: int = 44
    bottom: int = 30
    top: int = 14
    segments: list = field(default_factory=list)
    points: list = field(default_factory=list)
    ticks: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    target_y: float | None = None


def _nice_ceiling(value: float) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        ceiling = step * magnitude
        if ceiling >= value:
            return int(ceiling)
    return int(10 * magnitude)


def _every(count: int, room: int = 8) -> int:
    """Label every n-th period so labels do not overlap."""
    return max(1, -(-count // room))


def bar_chart(labels: list[str], received: list[int], resolved: list[int]) -> BarChart:
    chart = BarChart()
    plot_w = chart.width - chart.left - 8
    plot_h = chart.height - chart.top - chart.bottom
    ceiling = _nice_ceiling(max([*received, *resolved, 1]))
    n = max(len(labels), 1)
    slot = plot_w / n
    bar = max(min(slot * 0.36, 22), 2)
    every = _every(len(labels))
    for index, (label, got, done) in enumerate(zip(labels, received, resolved)):
        x = chart.left + index * slot + slot / 2
        for offset, value, kind in ((-bar, got, "received"), (0, done, "resolved")):
            h = plot_h * value / ceiling
            chart.bars.append({"x": round(x + offset, 1), "y": round(chart.top + plot_h - h, 1),
                               "w": round(bar, 1), "h": round(h, 1), "kind": kind,
                               "value": value, "label": label})
        if index % every == 0:
            chart.labels.append({"x": round(x, 1), "text": label})
    for step in range(5):
        value = ceiling * step / 4
        chart.ticks.append({"y": round(chart.top + plot_h - plot_h * step / 4, 1),
                            "text": f"{value:g}"})
    return chart


def line_chart(labels: list[str], rates: list[float | None],
               target: float | None = None) -> LineChart:
    chart = LineChart()
    plot_w = chart.width - chart.left - 8
    plot_h = chart.height - chart.top - chart.bottom
    n = max(len(labels), 1)
    slot = plot_w / n
    every = _every(len(labels))
    current: list = []
    for index, (label, rate) in enumerate(zip(labels, rates)):
        x = round(chart.left + index * slot + slot / 2, 1)
        if rate is None:
            if current:
                chart.segments.append(current)
            current = []
        else:
            y = round(chart.top + plot_h * (1 - rate), 1)
            current.append((x, y))
            chart.points.append({"x": x, "y": y, "rate": rate, "label": label})
        if index % every == 0:
            chart.labels.append({"x": x, "text": label})
    if current:
        chart.segments.append(current)
    chart.segments = [" ".join(f"{x},{y}" for x, y in segment) for segment in chart.segments]
    for step in range(5):
        chart.ticks.append({"y": round(chart.top + plot_h - plot_h * step / 4, 1),
                            "text": f"{step * 25}%"})
    if target is not None:
        chart.target_y = round(chart.top + plot_h * (1 - target), 1)
    return chart


def rate_class(rate: float | None) -> str:
    if rate is None:
        return ""
    if rate >= 0.95:
        return "good"
    if rate >= 0.8:
        return "mid"
    return "bad"
