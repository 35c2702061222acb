"""Charts drawn on the server as SVG: a radar ("spider") chart and a bar chart.

No JavaScript and no chart library: each chart is a small SVG with a ``<title>`` and a
``<desc>`` that says in words what it shows, ``role="img"`` and ``aria-labelledby`` pointing at
both, so a screen reader reads the figures; the page shows the same figures in a table beside
it. Colours are from the Okabe-Ito palette (distinguishable with colour-blindness) and the two
series also differ in line style (solid, dashed), so the chart prints in black and white. Every
piece of text is escaped here; the result is safe to put into a page as it is.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["bar_svg", "radar_svg"]

SERIES_COLOUR = "#0072B2"  # blue: the area profiled
REFERENCE_COLOUR = "#D55E00"  # vermilion: the comparison (local authority)
GRID_COLOUR = "#767676"


def _fmt(value: float | None, digits: int = 0) -> str:
    return "no data" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def radar_svg(axes: Sequence[Mapping], *, title: str, series_label: str, reference_label: str,
              chart_id: str = "radar", size: int = 320, maximum: float = 100.0) -> str:
    """A radar chart of one series against a reference on a 0-``maximum`` scale.

    Parameters
    ----------
    axes : sequence of mappings
        One per spoke, clockwise from the top: ``label`` (short text by the spoke), ``value``
        and ``reference`` (numbers on the scale, or None for no data, drawn at the centre and
        labelled "no data").
    title : str
        The chart's title (its accessible name).
    series_label, reference_label : str
        Names of the two series, used in the legend and the description.
    chart_id : str
        Prefix of the ids of the title and description (unique on the page).
    size : int
        Diameter of the outer ring in SVG units; room for labels and the legend is added.
    maximum : float
        The value at the outer ring.

    Returns
    -------
    str
        An ``<svg>`` element.

    Raises
    ------
    ValueError
        With fewer than three axes (a radar chart of two is a line).

    Examples
    --------
    >>> svg = radar_svg([{"label": "IMD", "value": 80, "reference": 50},
    ...                  {"label": "Income", "value": 60, "reference": 50},
    ...                  {"label": "Crime <&>", "value": None, "reference": 50}],
    ...                 title="Need", series_label="Oswestry", reference_label="Shropshire")
    >>> svg.startswith('<svg') and 'role="img"' in svg and "<title id=\\"radar-title\\">Need</title>" in svg
    True
    >>> "Crime &lt;&amp;&gt; (no data)" in svg
    True
    """
    if len(axes) < 3:
        raise ValueError(f"a radar chart needs at least three axes, got {len(axes)}")
    side = 140  # room for the spoke labels left and right
    top = 40  # and above and below
    cx, cy = side + size / 2, top + size / 2
    radius = size / 2 - 8
    width, height = size + 2 * side, size + 2 * top
    legend_h = 56
    n = len(axes)

    def point(i: int, value: float | None) -> tuple[float, float]:
        share = 0.0 if value is None else max(0.0, min(1.0, float(value) / maximum))
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return cx + radius * share * math.cos(angle), cy + radius * share * math.sin(angle)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart radar" viewBox="0 0 {width} {height + legend_h}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(_radar_description(axes, series_label, reference_label, maximum))}</desc>',
    ]
    # Rings and their scale labels.
    for ring in (0.25, 0.5, 0.75, 1.0):
        pts = " ".join(f"{_num(x)},{_num(y)}" for x, y in (point(i, ring * maximum) for i in range(n)))
        parts.append(
            f'<polygon points="{pts}" fill="none" stroke="{GRID_COLOUR}" stroke-width="0.6" stroke-opacity="0.6"/>'
        )
        parts.append(
            f'<text x="{_num(cx + 3)}" y="{_num(cy - radius * ring - 2)}" font-size="13" fill="#505050">'
            f'{_num(ring * maximum)}</text>'
        )
    # Spokes and their labels.
    for i, axis in enumerate(axes):
        x, y = point(i, maximum)
        parts.append(
            f'<line x1="{_num(cx)}" y1="{_num(cy)}" x2="{_num(x)}" y2="{_num(y)}" '
            f'stroke="{GRID_COLOUR}" stroke-width="0.6"/>'
        )
        angle = -math.pi / 2 + 2 * math.pi * i / n
        lx, ly = cx + (radius + 10) * math.cos(angle), cy + (radius + 10) * math.sin(angle)
        cos = math.cos(angle)
        anchor = "middle" if abs(cos) < 0.2 else ("start" if cos > 0 else "end")
        baseline = 16 if math.sin(angle) > 0.5 else (-3 if math.sin(angle) < -0.5 else 6)
        label = escape(str(axis["label"])) + (" (no data)" if axis.get("value") is None else "")
        parts.append(
            f'<text x="{_num(lx)}" y="{_num(ly + baseline)}" text-anchor="{anchor}" font-size="19" fill="#1a1a1a">'
            f'{label}</text>'
        )
    # The reference (dashed) under the series (filled).
    for key, colour, extra in (
        ("reference", REFERENCE_COLOUR, 'fill="none" stroke-dasharray="6 4"'),
        ("value", SERIES_COLOUR, f'fill="{SERIES_COLOUR}" fill-opacity="0.22"'),
    ):
        pts = " ".join(f"{_num(x)},{_num(y)}" for x, y in (point(i, a.get(key)) for i, a in enumerate(axes)))
        parts.append(f'<polygon class="series-{key}" points="{pts}" stroke="{colour}" stroke-width="2.2" {extra}/>')
        if key == "value":
            for i, a in enumerate(axes):
                x, y = point(i, a.get(key))
                parts.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3.2" fill="{colour}"/>')
    # Legend.
    ly = height + 14
    lx0 = side / 2
    parts.append(f'<line x1="{lx0}" y1="{ly}" x2="{lx0 + 28}" y2="{ly}" stroke="{SERIES_COLOUR}" stroke-width="3"/>')
    parts.append(f'<text x="{lx0 + 36}" y="{ly + 5}" font-size="17" fill="#1a1a1a">{escape(series_label)}</text>')
    parts.append(
        f'<line x1="{lx0}" y1="{ly + 24}" x2="{lx0 + 28}" y2="{ly + 24}" stroke="{REFERENCE_COLOUR}" stroke-width="3" '
        'stroke-dasharray="6 4"/>'
    )
    parts.append(f'<text x="{lx0 + 36}" y="{ly + 29}" font-size="17" fill="#1a1a1a">{escape(reference_label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _radar_description(axes, series_label, reference_label, maximum) -> str:
    values = "; ".join(f"{a['label']} {_fmt(a.get('value'))}" for a in axes)
    refs = "; ".join(f"{a['label']} {_fmt(a.get('reference'))}" for a in axes)
    return (f"Scale 0 to {_num(maximum)}, further out is higher. {series_label}: {values}. "
            f"{reference_label}: {refs}.")


def bar_svg(bars: Sequence[Mapping], *, title: str, value_label: str, chart_id: str = "bars",
            width: int = 640, height: int = 220) -> str:
    """A vertical bar chart of counts, one bar per ``label`` (e.g. quarters), value over each bar.

    Parameters
    ----------
    bars : sequence of mappings
        ``label`` and ``value`` (a non-negative number) of each bar, in order.
    title : str
        The chart's title (its accessible name).
    value_label : str
        What the values are ("published places"), for the description.

    Returns
    -------
    str
        An ``<svg>`` element (an empty chart says so in its description).

    Examples
    --------
    >>> svg = bar_svg([{"label": "2024 Q1", "value": 3}, {"label": "2024 Q2", "value": 5}],
    ...               title="Published places", value_label="published places")
    >>> "2024 Q2: 5" in svg and svg.count("<rect") == 2
    True
    """
    top, bottom, left, right = 22, 40, 10, 10
    plot_h = height - top - bottom
    n = max(len(bars), 1)
    slot = (width - left - right) / n
    peak = max((float(b["value"]) for b in bars), default=0.0) or 1.0
    desc = (f"{value_label.capitalize()}: " + "; ".join(f"{b['label']}: {_fmt(float(b['value']))}" for b in bars) + "."
            if bars else f"No {value_label} to show.")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bars" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{GRID_COLOUR}"/>',
    ]
    every = max(1, math.ceil(n / 12))  # at most about 12 axis labels
    for i, b in enumerate(bars):
        v = float(b["value"])
        h = plot_h * v / peak
        w = min(slot * 0.7, 48.0)
        x = left + i * slot + (slot - w) / 2
        y = top + plot_h - h
        parts.append(f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" fill="{SERIES_COLOUR}"/>')
        parts.append(
            f'<text x="{_num(x + w / 2)}" y="{_num(y - 4)}" text-anchor="middle" font-size="11" fill="#1a1a1a">'
            f'{_fmt(v)}</text>'
        )
        if i % every == 0:
            parts.append(
                f'<text x="{_num(x + w / 2)}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11" '
                f'fill="#1a1a1a">{escape(str(b["label"]))}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)
