"""Charts drawn on the server as SVG: no chart library, no CDN, readable without JavaScript and by screen readers
(each chart is an ``img`` with a label, each mark has a ``<title>``, and a table follows it on the page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 180, 36, 22, 10
PALETTE = ("#0369a1", "#15803d", "#b45309", "#7c3aed", "#be123c")  # the legend's .swatch-N repeat them (gaby.css)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _nice_max(value: float) -> float:
    """The axis top: the next 1, 2 or 5 times a power of ten at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def bars(labels: Sequence[str], series: Sequence[Series], *, title: str, unit: str = "") -> SafeString:
    """Grouped bars, one group per label (a day), one bar per series."""
    top = _nice_max(max((v for s in series for v in s.values), default=0))
    plot_w, plot_h = WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP
    group = plot_w / max(len(labels), 1)
    bar = max(group * 0.8 / max(len(series), 1), 1)
    rows = []
    for i, label in enumerate(labels):
        for j, one in enumerate(series):
            value = one.values[i]
            h = plot_h * value / top
            x = PAD_LEFT + i * group + group * 0.1 + j * bar
            suffix = f" {unit}" if unit else ""
            rows.append(
                (
                    _at(x),
                    _at(PAD_TOP + plot_h - h),
                    _at(bar),
                    _at(h),
                    PALETTE[j % len(PALETTE)],
                    label,
                    _number(value),
                    one.name.lower(),
                    suffix,
                )
            )
    marks = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {} {}{}</title></rect>',
        rows,
    )
    return _frame(title, top, labels, marks, series, unit)


def _at(value: float) -> str:
    """A coordinate, to a tenth of a unit (format_html escapes its arguments to text before formatting them)."""
    return f"{value:.1f}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _frame(
    title: str, top: float, labels: Sequence[str], marks: SafeString, series: Sequence[Series], unit: str
) -> SafeString:
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#e2e8f0"/><text x="{}" y="{}" font-size="10" '
        'text-anchor="end" fill="#475569">{}</text>',
        (
            (
                PAD_LEFT,
                WIDTH,
                _at(PAD_TOP + plot_h * (1 - f)),
                _at(PAD_TOP + plot_h * (1 - f)),
                PAD_LEFT - 4,
                _at(PAD_TOP + plot_h * (1 - f) + 3),
                _number(top * f),
            )
            for f in (0, 0.5, 1)
        ),
    )
    step = max(len(labels) // 6, 1)  # about six dates along the axis
    group = (WIDTH - PAD_LEFT) / max(len(labels), 1)
    axis = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="#475569">{}</text>',
        ((_at(PAD_LEFT + i * group + group / 2), HEIGHT - 6, label) for i, label in enumerate(labels) if i % step == 0),
    )
    legend = format_html_join(
        " ",
        '<span class="legend"><i class="swatch swatch-{}" aria-hidden="true"></i>{}</span>',
        ((j % len(PALETTE), s.name) for j, s in enumerate(series)),
    )
    summary = "; ".join(f"{s.name}: {_number(sum(s.values))}{' ' + unit if unit else ''} in total" for s in series)
    return format_html(
        '<figure class="chart"><svg viewBox="0 0 {} {}" role="img" aria-label="{}: {}" preserveAspectRatio="none">'
        "{}{}{}</svg><figcaption>{}</figcaption></figure>",
        WIDTH,
        HEIGHT,
        title,
        summary,
        grid,
        marks,
        axis,
        legend,
    )


SPARK_W, SPARK_H = 120, 28


def sparkline(values: Sequence[float], *, label: str, colour: int = 0) -> SafeString:
    """A small line for a card (the MSP portal's last 30 days): an ``img`` labelled with its total and last value;
    the figures beside it on the card are the readable ones."""
    top = max(max(values, default=0), 1)
    step = SPARK_W / max(len(values) - 1, 1)
    points = " ".join(f"{_at(i * step)},{_at(SPARK_H - 2 - (SPARK_H - 4) * v / top)}" for i, v in enumerate(values))
    summary = f"{_number(sum(values))} in {len(values)} days, {_number(values[-1] if values else 0)} on the last"
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}: {}">'
        '<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5"/></svg>',
        SPARK_W,
        SPARK_H,
        SPARK_W,
        SPARK_H,
        label,
        summary,
        points,
        PALETTE[colour % len(PALETTE)],
    )
