"""Evaluation reports: metrics as JSON and a self-contained HTML page with SVG charts.

The page has no scripts and loads nothing from the network: charts are inline
SVG drawn here, so it opens the same on an offline office machine.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from yuqing.contracts import TIER_NAMES

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"


def category_metrics(
    y_true: Sequence[str],
    classes: Sequence[str],
    proba: np.ndarray,
    *,
    uncertain_below: float | None = None,
    bins: int = 10,
) -> dict[str, Any]:
    """Accuracy, macro and per-class P/R/F1, confusion matrix and calibration."""
    classes = [str(c) for c in classes]
    y = np.array([str(v) for v in y_true], dtype=object)
    best = proba.argmax(axis=1)
    pred = np.array([classes[b] for b in best], dtype=object)
    conf = proba[np.arange(len(y)), best]
    labels = [c for c in classes if c in set(y) or c in set(pred)]
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(
        y, pred, labels=[c for c in labels if c in set(y)], average="macro", zero_division=0
    )
    out: dict[str, Any] = {
        "n": len(y),
        "accuracy": float(accuracy_score(y, pred)),
        "macro_precision": float(mp),
        "macro_recall": float(mr),
        "macro_f1": float(mf),
        "labels": labels,
        "per_class": {
            c: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, c in enumerate(labels)
        },
        "confusion": confusion_matrix(y, pred, labels=labels).tolist(),
        "calibration": calibration(y, classes, proba, bins=bins),
    }
    if uncertain_below is not None:
        sure = conf >= uncertain_below
        out["uncertain_below"] = uncertain_below
        out["uncertain_share"] = float(1 - sure.mean()) if len(y) else 0.0
        out["accuracy_when_sure"] = (
            float(accuracy_score(y[sure], pred[sure])) if sure.any() else None
        )
    return out


def calibration(
    y: np.ndarray, classes: Sequence[str], proba: np.ndarray, *, bins: int = 10
) -> dict[str, Any]:
    """Reliability of the top-class confidence, multi-class Brier score and ECE."""
    n = len(y)
    if n == 0:
        return {"bins": [], "brier": None, "ece": None}
    index = {c: i for i, c in enumerate(classes)}
    onehot = np.zeros_like(proba)
    for row, label in enumerate(y):
        if label in index:
            onehot[row, index[label]] = 1.0
    brier = float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    best = proba.argmax(axis=1)
    conf = proba[np.arange(n), best]
    correct = np.array([classes[b] == t for b, t in zip(best, y, strict=True)], dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    rows = []
    ece = 0.0
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        if count:
            acc, mean_conf = float(correct[mask].mean()), float(conf[mask].mean())
            ece += count / n * abs(acc - mean_conf)
        else:
            acc = mean_conf = None
        rows.append(
            {
                "lo": float(edges[b]),
                "hi": float(edges[b + 1]),
                "count": count,
                "accuracy": acc,
                "confidence": mean_conf,
            }
        )
    return {"bins": rows, "brier": brier, "ece": float(ece)}


def severity_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, Any]:
    """Per-tier P/R/F1 and the figure that matters: catching tiers I-II (severity >= 3)."""
    yt, yp = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    tiers = [4, 3, 2, 1]
    p, r, f, s = precision_recall_fscore_support(yt, yp, labels=tiers, zero_division=0)
    high_t, high_p = yt >= 3, yp >= 3
    tp = int((high_t & high_p).sum())
    return {
        "n": int(len(yt)),
        "accuracy": float((yt == yp).mean()) if len(yt) else None,
        "per_tier": {
            TIER_NAMES[t]: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, t in enumerate(tiers)
        },
        "tiers_I_II": {
            "recall": tp / int(high_t.sum()) if high_t.any() else None,
            "precision": tp / int(high_p.sum()) if high_p.any() else None,
            "support": int(high_t.sum()),
        },
        "labels": [TIER_NAMES[t] for t in tiers],
        "confusion": confusion_matrix(yt, yp, labels=tiers).tolist(),
    }


# ------------------------------------------------------------------ writing


def write_report(report: dict[str, Any], directory: Path, title: str = "模型评估") -> list[Path]:
    """``report.json`` and ``report.html`` in ``directory``; returns both paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    j = directory / REPORT_JSON
    j.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    h = directory / REPORT_HTML
    h.write_text(render_html(report, title), encoding="utf-8")
    return [j, h]


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The few lines a terminal shows at the end of training or evaluation."""
    lines = []
    cat = report.get("category")
    if cat:
        lines.append(
            f"类别: n={cat['n']} accuracy {cat['accuracy']:.3f}  macro-F1 {cat['macro_f1']:.3f}"
            f"  (P {cat['macro_precision']:.3f} R {cat['macro_recall']:.3f})"
        )
        for name, m in cat["per_class"].items():
            lines.append(
                f"  {name}: P {m['precision']:.2f} R {m['recall']:.2f} F1 {m['f1']:.2f}"
                f"  n={m['support']}"
            )
        cal = cat["calibration"]
        if cal.get("brier") is not None:
            lines.append(f"  校准: Brier {cal['brier']:.3f}  ECE {cal['ece']:.3f}")
    sev = report.get("severity")
    if sev:
        hi = sev["tiers_I_II"]
        rec = "–" if hi["recall"] is None else f"{hi['recall']:.3f}"
        pre = "–" if hi["precision"] is None else f"{hi['precision']:.3f}"
        lines.append(
            f"严重程度: n={sev['n']} accuracy {sev['accuracy']:.3f}; "
            f"I–II 级 recall {rec} precision {pre} (n={hi['support']})"
        )
    return lines


def _e(v: Any) -> str:
    return html.escape(str(v))


def _fmt(v: Any) -> str:
    return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else _e(v)


def _prf_table(per: dict[str, dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><th>{_e(k)}</th><td>{_fmt(m['precision'])}</td><td>{_fmt(m['recall'])}</td>"
        f"<td>{_fmt(m['f1'])}</td><td>{m['support']}</td></tr>"
        for k, m in per.items()
    )
    return (
        "<table><tr><th></th><th>precision</th><th>recall</th><th>F1</th><th>n</th></tr>"
        f"{rows}</table>"
    )


def _bars_svg(per: dict[str, dict[str, Any]], key: str = "f1") -> str:
    names = list(per)
    h_row, left, width = 22, 130, 300
    height = h_row * len(names) + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 60}" '
             f'height="{height}" role="img" aria-label="{key} per class">']  # fmt: skip
    for i, n in enumerate(names):
        v = float(per[n][key] or 0.0)
        y = 10 + i * h_row
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="12">{_e(n)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{v * width:.1f}" height="14" fill="#3b78b5"/>'
            f'<text x="{left + v * width + 4:.1f}" y="{y + 14}" font-size="11">{v:.2f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _confusion_svg(labels: list[str], matrix: list[list[int]]) -> str:
    k = len(labels)
    cell, left, top = 44, 130, 110
    size = left + cell * k + 10
    peak = max((max(r) for r in matrix if r), default=1) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{top + cell * k + 10}"'
             ' role="img" aria-label="confusion matrix">']  # fmt: skip
    for j, lab in enumerate(labels):
        x = left + j * cell + cell / 2
        parts.append(
            f'<text transform="translate({x:.0f},{top - 6}) rotate(-50)" font-size="11">'
            f"{_e(lab)}</text>"
        )
    for i, lab in enumerate(labels):
        y = top + i * cell
        parts.append(
            f'<text x="{left - 6}" y="{y + cell / 2 + 4:.0f}" text-anchor="end" font-size="11">'
            f"{_e(lab)}</text>"
        )
        for j in range(k):
            v = matrix[i][j]
            shade = 255 - int(200 * v / peak)
            colour = f"rgb({shade},{shade},255)" if i != j else f"rgb({shade},255,{shade})"
            ink = "#fff" if v / peak > 0.6 else "#000"
            parts.append(
                f'<rect x="{left + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                f'fill="{colour}"/><text x="{left + j * cell + cell / 2:.0f}" '
                f'y="{y + cell / 2 + 4:.0f}" text-anchor="middle" font-size="12" '
                f'fill="{ink}">{v}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _reliability_svg(bins: list[dict[str, Any]]) -> str:
    s, pad = 260, 34
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{s + pad + 10}" '
             f'height="{s + pad + 10}" role="img" aria-label="reliability diagram">',
             f'<rect x="{pad}" y="10" width="{s}" height="{s}" fill="none" stroke="#999"/>',
             f'<line x1="{pad}" y1="{s + 10}" x2="{pad + s}" y2="10" stroke="#bbb" '
             'stroke-dasharray="4 3"/>']  # fmt: skip
    for b in bins:
        if b["accuracy"] is None:
            continue
        x = pad + b["lo"] * s
        w = (b["hi"] - b["lo"]) * s - 2
        hgt = b["accuracy"] * s
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{10 + s - hgt:.1f}" width="{w:.1f}" height="{hgt:.1f}" '
            f'fill="#3b78b5" fill-opacity="0.75"><title>{b["lo"]:.1f}–{b["hi"]:.1f}: '
            f"accuracy {b['accuracy']:.2f}, n={b['count']}</title></rect>"
        )
    parts.append(
        f'<text x="{pad + s / 2}" y="{s + pad + 4}" text-anchor="middle" font-size="11">'
        "置信度 confidence</text>"
        f'<text transform="translate(12,{10 + s / 2}) rotate(-90)" text-anchor="middle" '
        'font-size="11">准确率 accuracy</text></svg>'
    )
    return "".join(parts)


def render_html(report: dict[str, Any], title: str = "模型评估") -> str:
    body: list[str] = [f"<h1>{_e(title)}</h1>"]
    meta = report.get("model") or {}
    if meta:
        body.append(
            "<p>"
            + " · ".join(f"{_e(k)}: <code>{_e(v)}</code>" for k, v in meta.items() if v)
            + "</p>"
        )
    cat = report.get("category")
    if cat:
        cal = cat["calibration"]
        body.append(
            f"<h2>类别 (n={cat['n']})</h2><p>accuracy <b>{cat['accuracy']:.3f}</b> · "
            f"macro-F1 <b>{cat['macro_f1']:.3f}</b> · macro-P {cat['macro_precision']:.3f} · "
            f"macro-R {cat['macro_recall']:.3f} · Brier {_fmt(cal['brier'])} · "
            f"ECE {_fmt(cal['ece'])}</p>"
        )
        if cat.get("uncertain_below") is not None:
            body.append(
                f"<p>低于 {cat['uncertain_below']:.2f} 转待分拣: "
                f"{cat['uncertain_share']:.1%}; 其余准确率 {_fmt(cat['accuracy_when_sure'])}</p>"
            )
        body.append('<div class="row"><div>' + _prf_table(cat["per_class"]) + "</div>")
        body.append("<div><h3>F1</h3>" + _bars_svg(cat["per_class"]) + "</div></div>")
        body.append('<div class="row"><div><h3>混淆矩阵 (行: 真实, 列: 预测)</h3>')
        body.append(_confusion_svg(cat["labels"], cat["confusion"]) + "</div>")
        body.append("<div><h3>可靠性图</h3>" + _reliability_svg(cal["bins"]) + "</div></div>")
    sev = report.get("severity")
    if sev:
        hi = sev["tiers_I_II"]
        body.append(
            f"<h2>严重程度 (n={sev['n']})</h2><p>I–II 级: recall <b>{_fmt(hi['recall'])}</b>, "
            f"precision <b>{_fmt(hi['precision'])}</b> (n={hi['support']})</p>"
        )
        body.append('<div class="row"><div>' + _prf_table(sev["per_tier"]) + "</div><div>")
        body.append(_confusion_svg(sev["labels"], sev["confusion"]) + "</div></div>")
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #ddd;"
        "text-align:right}.row{display:flex;gap:3em;flex-wrap:wrap;align-items:flex-start}"
    )
    return (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{style}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )
