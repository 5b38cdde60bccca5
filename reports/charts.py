"""Charts as inline SVG drawn on the server: no JavaScript, no CDN, prints in PDF briefs.

Every text is escaped; the charts carry role="img" and a <title> for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#17324d", "#ef6c00", "#2e7d32", "#c62828", "#6a1b9a", "#00838f")


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}".rstrip("0").rstrip(".")


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    unit: str = "",
    width: int = 640,
    max_value: float | None = None,
) -> Markup:
    """Horizontal grouped bars, one group per label (long Chinese names fit on a phone)."""
    bar_h, gap, left, top = 14, 10, 150, 40
    n = len(series)
    group_h = n * bar_h + gap
    height = top + max(1, len(labels)) * group_h + 24
    values = [v for _name, vs in series for v in vs if v is not None]
    vmax = max_value or (max(values) if values else 1.0) or 1.0
    plot_w = width - left - 60
    out = [
        f'<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-size="14" font-weight="600">{escape(title)}</text>',
    ]
    for j, (name, _vs) in enumerate(series):  # legend
        x = left + j * 150
        out.append(f'<rect x="{x}" y="24" width="10" height="10" fill="{PALETTE[j % 6]}"/>')
        out.append(f'<text x="{x + 14}" y="33" font-size="11">{escape(name)}</text>')
    for i, label in enumerate(labels):
        y0 = top + i * group_h
        out.append(
            f'<text x="{left - 6}" y="{y0 + n * bar_h / 2 + 4}" font-size="12" '
            f'text-anchor="end">{escape(str(label)[:14])}</text>'
        )
        for j, (_name, vs) in enumerate(series):
            v = vs[i] if i < len(vs) else None
            y = y0 + j * bar_h
            if v is None:
                out.append(f'<text x="{left + 4}" y="{y + 11}" font-size="10" fill="#888">—</text>')
                continue
            w = max(1.0, plot_w * min(v, vmax) / vmax)
            out.append(
                f'<rect class="bar" x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" '
                f'fill="{PALETTE[j % 6]}"><title>{escape(str(label))} {escape(name)}: '
                f"{_fmt(v)}{escape(unit)}</title></rect>"
            )
            out.append(
                f'<text x="{left + w + 4:.1f}" y="{y + 11}" font-size="10">'
                f"{_fmt(v)}{escape(unit)}</text>"
            )
    out.append("</svg>")
    return Markup("".join(out))


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    width: int = 640,
    height: int = 220,
) -> Markup:
    """Lines over periods (e.g. alerts per day)."""
    left, right, top, bottom = 40, 10, 40, 30
    values = [v for _n, vs in series for v in vs if v is not None]
    vmax = (max(values) if values else 1.0) or 1.0
    pw, ph = width - left - right, height - top - bottom
    n = max(1, len(labels) - 1)
    out = [
        f'<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-size="14" font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{_fmt(vmax)}</text>',
        f'<text x="{left - 4}" y="{top + ph}" font-size="10" text-anchor="end">0</text>',
    ]
    step = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % step == 0:
            x = left + pw * i / n
            out.append(
                f'<text x="{x:.1f}" y="{height - 10}" font-size="10" text-anchor="middle">'
                f"{escape(str(label)[-5:])}</text>"
            )
    for j, (name, vs) in enumerate(series):
        pts = [
            f"{left + pw * i / n:.1f},{top + ph - ph * v / vmax:.1f}"
            for i, v in enumerate(vs)
            if v is not None
        ]
        colour = PALETTE[j % 6]
        out.append(
            f'<polyline class="line" fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{" ".join(pts)}"><title>{escape(name)}</title></polyline>'
        )
        out.append(
            f'<text x="{left + 4 + j * 120}" y="32" font-size="11" fill="{colour}">'
            f"{escape(name)}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))
