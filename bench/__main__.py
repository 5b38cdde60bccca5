"""``python -m bench`` (``make bench``): every figure side by side with its reference.

Prints one table (figure | ours | reference | ratio | notes). ``--write-readme``
replaces the README section between ``<!-- bench:start -->`` and
``<!-- bench:end -->`` with that table and the machine it came from.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from bench.common import ROOT, Row, data_note, load_average, machine, say, table, today

FIGURES = (
    "classify",
    "classifier",
    "quality",
    "ingest",
    "store",
    "crawl",
    "encoding",
    "search",
    "relevance",
    "search_scale",
    "alerts",
    "routing",
    "triage",
    "demo_stream",
    "console",
    "distributed",
    "events",
    "overview",
    "sentiment",
)
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
README = ROOT / "README.md"


def readme_section(rows: list[Row], seconds: float, load: str) -> str:
    return "\n".join(
        [
            START,
            f"Measured {today()} on {machine()}; load average {load} at start; "
            f"whole run {seconds:.0f} s; data: "
            + data_note("the real messages in ../shared/data (read in place, not copied)")
            + ". Regenerate with `.venv/bin/python -m bench --write-readme`.",
            "",
            "Every ratio is ours against a reference measured in the same run on the same "
            "data, as its notes define it; the column *better* says which way that ratio "
            "should go for each row (↑ higher, ↓ lower, ≈ 1 flat, – no direction). "
            "Timings are medians of repeated runs; none is asserted in a test.",
            "",
            table(rows),
            END,
        ]
    )


def write_readme(section: str, path: Path = README) -> None:
    text = path.read_text(encoding="utf-8")
    start, end = text.find(START), text.find(END)
    if start != -1 and end > start:
        text = text[:start] + section + text[end + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n## Benchmarks\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks as ratios against a reference measured in the same run.",
    )
    ap.add_argument("--only", choices=FIGURES, action="append", metavar="NAME",
                    help=f"run only this figure (repeatable): {', '.join(FIGURES)}")  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="small sizes, one repeat (a smoke run)")
    ap.add_argument("--write-readme", action="store_true",
                    help="replace the README's bench section with this run's table")  # fmt: skip
    args = ap.parse_args(argv)
    if args.write_readme and (args.quick or args.only):
        print("bench: --write-readme needs the full run (no --quick, no --only)", file=sys.stderr)
        return 2
    if not (ROOT / "config").is_dir():
        print(f"bench: {ROOT / 'config'}: not found; run from the repository", file=sys.stderr)
        return 2

    load = load_average()
    t0 = time.perf_counter()
    rows: list[Row] = []
    for name in args.only or FIGURES:
        t = time.perf_counter()
        rows.extend(importlib.import_module(f"bench.{name}").run(args.quick))
        say(f"{name}: {time.perf_counter() - t:.0f} s")
    seconds = time.perf_counter() - t0
    print(table(rows))
    print(f"\n{machine()}; {today()}; load {load} at start; {seconds:.0f} s")
    if args.write_readme:
        write_readme(readme_section(rows, seconds, load))
        say(f"wrote the table into {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
