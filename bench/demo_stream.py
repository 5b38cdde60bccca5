"""The demo stream's tier mix, as the demo model grades it, against a real stream's.

Ours: the demo corpus (crawler/demo/corpus.py, synthetic, ours) and a day of the demo
site's new posts (``live_posts``), classified by the demo model trained on the corpus,
as `yuqing run --demo` trains it. Reference: the blind reading of a random sample of
real government message-board posts (data/severity/read.csv, sample "random").
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import ROOT, Row, config, say

READ = ROOT / "data" / "severity" / "read.csv"
NAMES = {4: "I", 3: "II", 2: "III", 1: "IV"}


def _mix(tiers: Sequence[str]) -> tuple[str, float]:
    """'IV 63% · III 26% · II 7.0% · I 4.0%' and the share of tiers I–II."""
    n = len(tiers) or 1
    c = Counter(tiers)
    text = " · ".join(
        f"{t} {c[t] / n:.0%}" if t in ("IV", "III") else f"{t} {c[t] / n:.1%}"
        for t in ("IV", "III", "II", "I")
    )
    return text, (c["I"] + c["II"]) / n


def run(quick: bool) -> list[Row]:
    from classifier.bootstrap import ensure_model
    from crawler.demo.corpus import BACKLOG_AFTER, demo_corpus, labelled_examples, live_posts

    cfg = config()
    with open(READ, encoding="utf-8") as f:
        real = [r["tier"] for r in csv.DictReader(f) if r["sample"] == "random"]
    now = datetime.now(UTC)
    posts = demo_corpus(now)
    live = live_posts(now, now + timedelta(hours=24))
    say(f"demo_stream: training the demo model on {len(posts)} synthetic posts")
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-demo-") as tmp:
        model = ensure_model(
            Path(tmp), cfg.taxonomy, labelled_examples, cfg.settings.classifier.uncertain_below
        )
        every = [*posts, *live]
        graded = model.classify_many(
            [p.title for p in every],
            [p.body for p in every],
            likes=[p.likes for p in every],
            replies=[p.replies for p in every],
        )
    tier = {id(p): NAMES[g.severity] for p, g in zip(every, graded, strict=True)}
    looks = {id(p) for p, g in zip(every, graded, strict=True) if g.review}
    ours, ours_high = _mix([tier[id(p)] for p in posts])
    labels, _ = _mix([NAMES[p.severity] for p in posts])
    ref, ref_high = _mix(real)
    day, _ = _mix([tier[id(p)] for p in live])
    at_start = [p for p in posts if now - p.published_at < BACKLOG_AFTER]
    first_hour = [p for p in live if p.published_at <= now + timedelta(hours=1)]
    start_c = Counter(tier[id(p)] for p in at_start)
    hour_c = Counter(tier[id(p)] for p in first_hour)
    agree = sum(tier[id(p)] == NAMES[p.severity] for p in posts) / len(posts)
    return [
        Row(
            "demo corpus tier mix (demo model)",
            ours,
            f"{ref} (real posts)",
            ours_high / ref_high if ref_high else None,
            f"ratio = share of tiers I–II, demo / real; {len(posts)} synthetic posts graded "
            f"by the demo model trained on them (labels: {labels}; agree {agree:.0%}); "
            f"real: {len(real)} gov-board posts sampled at random and read blind "
            "(data/severity/read.csv)",
        ),
        Row(
            "demo first hour: posts live at start / new",
            f"{len(at_start)} / {len(first_hour)}",
            "—",
            None,
            f"graded at start: II {start_c['II']}, III {start_c['III']}, IV {start_c['IV']}, "
            f"I {start_c['I']} (the rest is older than {BACKLOG_AFTER.total_seconds() / 3600:.0f} h:"
            f" backlog); new in the first hour: II {hour_c['II']}, III {hour_c['III']}, "
            f"IV {hour_c['IV']}; second looks for the desk (复核) "
            f"{sum(id(p) in looks for p in at_start)} at start, "
            f"{sum(id(p) in looks for p in first_hour)} in the first hour; "
            f"the next 24 h ({len(live)} posts): {day}",
        ),
    ]
