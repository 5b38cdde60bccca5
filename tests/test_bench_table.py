"""The README's bench table says, per row, which way its ratio should go, and says it
as bench.common.DIRECTIONS does (the table is rewritten by `python -m bench`)."""

from __future__ import annotations

from pathlib import Path

from bench.common import NONE, Row, direction

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_bench_row_names_its_direction() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("<!-- bench:start -->") : text.index("<!-- bench:end -->")]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert rows[0] == "| figure | ours | reference | ratio | better | notes |"
    assert len(rows) > 40
    for line in rows[1:]:
        cells = line.split(" | ")
        figure, ratio, better = cells[0][2:], cells[3], cells[4]
        has_ratio = ratio not in ("–", "-")
        expected = direction(Row(figure, "", "", 1.0)) if has_ratio else NONE
        assert better == expected != "?", figure
