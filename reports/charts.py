"""Charts: one spec (:class:`Chart`, the data and its labels) drawn two ways.

- In the console by Apache ECharts (``Chart.option()``, the ECharts option as JSON;
  ``console/static/charts.js`` draws it), with the same numbers as a table and a CSV
  beside it and a sentence when there is nothing to draw.
- In the self-contained HTML brief as inline SVG (:func:`bar_chart`: no JavaScript, so
  it also prints). Every text is escaped; the SVG carries role="img" and a <title>.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

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


Value = float | int | None
# ECharts' palette without its reds and oranges: red means tiers I-II and open alerts here
ECHARTS_PALETTE = ("#5470c6", "#91cc75", "#73c0de", "#3ba272", "#9a60b4", "#fac858")
ALERT_RED = "#c62828"
QUIET_BLUE = "#5470c6"


@dataclass(frozen=True, slots=True)
class TreeNode:
    """One area of the treemap: ``value`` sizes it (its subtree's total), ``alerts``
    (open alerts in its subtree) colours it red."""

    name: str
    value: int
    alerts: int = 0
    path: str = ""
    children: tuple[TreeNode, ...] = ()

    def option(self) -> dict[str, Any]:
        # every node its own colour: ECharts passes a parent's down to its children
        out: dict[str, Any] = {
            "name": self.name, "value": self.value, "alerts": self.alerts,
            "itemStyle": {"color": ALERT_RED if self.alerts else QUIET_BLUE},
        }  # fmt: skip
        if self.children:
            out["children"] = [c.option() for c in self.children]
        return out

    def count(self) -> int:
        return 1 + sum(c.count() for c in self.children)

    def rows(self, depth: int = 0) -> list[list[Value | str]]:
        out: list[list[Value | str]] = [[("　" * depth) + self.name, self.value, self.alerts]]
        for c in self.children:
            out += c.rows(depth + 1)
        return out


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart's data. ``labels`` name the categories (x axis, or y for ``hbar``),
    each series is (name, one value per label, None for "no figure"); a treemap takes
    ``tree`` instead. ``empty`` is said when there is nothing to draw."""

    id: str
    title: str
    kind: Literal["bar", "hbar", "line", "treemap"]
    labels: Sequence[str] = ()
    series: Sequence[tuple[str, Sequence[Value]]] = ()
    unit: str = ""
    label_name: str = ""  # the first column of the table: what a label is
    value_name: str = ""  # the value axis' name
    empty: str = "该条件下没有数据。"
    tree: Sequence[TreeNode] = ()
    tree_columns: tuple[str, str] = ("帖子", "未办结告警")
    max_value: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        if self.kind == "treemap":
            return not any(n.value or n.alerts for n in self.tree)
        return not self.labels or all(v in (None, 0) for _n, vs in self.series for v in vs)

    def table(self) -> tuple[list[str], list[list[Value | str]]]:
        """The chart's numbers: header and rows (the table beside it, the CSV)."""
        if self.kind == "treemap":
            rows = [r for n in self.tree for r in n.rows()]
            return [self.label_name or "区域", *self.tree_columns], rows
        header = [self.label_name or "", *(n for n, _vs in self.series)]
        rows = [
            [label, *(vs[i] if i < len(vs) else None for _n, vs in self.series)]
            for i, label in enumerate(self.labels)
        ]
        return header, rows

    def csv(self) -> str:
        """The table as CSV with a BOM (Excel opens it as UTF-8); "—" never, empty cells."""
        buf = io.StringIO()
        w = csv.writer(buf)
        header, rows = self.table()
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else _csv_safe(v) for v in r])
        return "\ufeff" + buf.getvalue()

    def option(self) -> dict[str, Any]:
        """The ECharts option (JSON-ready). Tooltips and the unit are completed in
        charts.js (a formatter is a function, which JSON cannot carry)."""
        base: dict[str, Any] = {
            "color": list(ECHARTS_PALETTE),
            "aria": {"enabled": True},
            "toolbox": {"feature": {"saveAsImage": {"title": "保存为图片"}}},
        }
        if self.kind == "treemap":
            return base | {
                "tooltip": {"trigger": "item"},
                "series": [
                    {
                        "type": "treemap",
                        "name": self.tree_columns[0],
                        "data": [n.option() for n in self.tree],
                        "roam": False,
                        # a county's few dozen areas fit at once; a city's drill down
                        **({} if sum(n.count() for n in self.tree) <= 80 else {"leafDepth": 2}),
                        "breadcrumb": {"show": True},
                        "upperLabel": {"show": True, "height": 22},
                        "label": {"show": True, "formatter": "{b}\n{c}"},
                        "levels": [
                            {"itemStyle": {"borderWidth": 3, "gapWidth": 3}},
                            {"itemStyle": {"borderWidth": 2, "gapWidth": 2}},
                            {"itemStyle": {"gapWidth": 1}},
                        ],
                    }
                ],
            }
        horizontal = self.kind == "hbar"
        category_axis: dict[str, Any] = {
            "type": "category",
            "data": list(self.labels),
            "name": self.label_name,
            "axisLabel": {"hideOverlap": True},
        }
        value_axis: dict[str, Any] = {"type": "value", "name": self.value_name, "minInterval": 1}
        if self.max_value is not None:
            value_axis["max"] = self.max_value
        if self.unit == "%":
            value_axis["minInterval"] = 0
        if horizontal:
            category_axis["inverse"] = True  # the first label on top, as in the table
            category_axis["name"] = ""  # it would sit under the axis; the table names it
            category_axis["axisLabel"] |= {"width": 140, "overflow": "truncate"}
        series = [
            {
                "name": name,
                "type": "line" if self.kind == "line" else "bar",
                "data": ["-" if v is None else v for v in values],  # "-": a gap, not 0
                "connectNulls": False,
                **({"showSymbol": len(self.labels) <= 48} if self.kind == "line" else {}),
                **(
                    {"label": {"show": len(self.labels) <= 12, "position": "right"}}
                    if horizontal
                    else {}
                ),
            }
            for name, values in self.series
        ]
        return base | {
            "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
            "legend": {"top": 0, "data": [n for n, _v in self.series]},
            "grid": {"left": 16, "right": 40, "top": 40, "bottom": 8, "containLabel": True},
            "xAxis": value_axis if horizontal else category_axis,
            "yAxis": category_axis if horizontal else value_axis,
            "series": series,
        }

    def height(self) -> int:
        """Pixels: enough for every bar of a horizontal chart to carry its label."""
        if self.kind == "hbar":
            return max(240, 60 + len(self.labels) * (18 * max(1, len(self.series)) + 12))
        return 420 if self.kind == "treemap" else 300


def _csv_safe(v: Value | str) -> Value | str:
    # a cell starting with = + - @ is a formula to Excel: keep labels as text
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v
    return v
