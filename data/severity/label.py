"""Rubric-guided first pass over the shared messages; see README.md for the method.

    .venv/bin/python data/severity/label.py [SHARED_DATA_DIR]       # silver candidates
    .venv/bin/python data/severity/label.py select                  # silver sample
    .venv/bin/python data/severity/label.py batches IDS OUT K [SHARED]  # for blind readers
    .venv/bin/python data/severity/label.py merge OUT SAMPLE         # readers' tiers → read.csv

Writes ``candidates.csv`` (id, tier, rule) next to this file; message text never
leaves ../shared/data. The reviewed labels are ``gov-messages.csv``: these rules'
tiers with the manual corrections from ``review.csv`` applied, sampled per tier.
The rules here are deliberately not the classifier's rubric (config/taxonomy.yaml):
they look at context (negation, hypotheticals, who is affected) the rubric ignores.
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FILES = ("gov-messages/train.jsonl", "gov-messages-unlabelled/hot-issues.jsonl")
# Readings may also draw on the other messages of the same board (the silver pass above
# covered FILES only); the benchmark joins read.csv's ids to all of these.
READING_FILES = (
    *FILES,
    "gov-messages-unlabelled/replies.jsonl",
    "gov-messages-unlabelled/testset.jsonl",
)
PER_TIER = {4: 80, 3: 200, 2: 200, 1: 220}

NEG = r"(?:没有|没|未|无|不会|不能|避免|防止|以免|以防|杜绝|一旦|万一|如果|若|假如|恐怕|担心|可能|随时|险些|差点|会不会|迟早|容易|造成)"
DEATH = r"(?:死亡|身亡|遇难|丧生|致死|死了|出人命|闹出人命|溺亡|溺水身亡|当场死|不幸离世|被砸死|被撞死|烧死|淹死)"
MASS = r"(?:爆炸|坍塌|塌方|倒塌|溃坝|跳楼|集体中毒|群体性事件|多人受伤|上百人|数百人|几百人)"
RULES: list[tuple[int, str, str]] = [
    (4, "death", DEATH),
    (4, "mass-casualty-or-incident", MASS),
    (3, "injury", r"(?:受伤|送医|住院|骨折|重伤|烫伤|摔伤|砸伤|咬伤|昏迷|急救|抢救)"),
    (3, "gathering", r"(?:聚集|围堵|堵路|堵门|拉横幅|集体上访|群访|静坐|维权)"),
    (
        3,
        "wage-arrears-many",
        r"(?:农民工|工人|员工|工友|师傅们).{0,30}(?:拖欠|欠薪|讨薪|工资未付|不发工资)"
        r"|(?:拖欠|欠薪|讨薪).{0,30}(?:农民工|工人|员工|多人|几十|数十|上百)",
    ),
    (3, "fire-gas-poison", r"(?:火灾|起火|着火|失火|燃气泄漏|煤气泄漏|漏气|漏电|触电|中毒)"),
    (
        3,
        "vulnerable-in-danger",
        r"(?:儿童|小孩|孩子|学生|幼儿|老人|孤寡|残疾).{0,25}(?:危险|安全隐患|隐患|威胁|事故|落水|伤害|欺凌|虐待)",
    ),
    (
        3,
        "structure-danger",
        r"(?:危房|随时倒塌|随时可能倒|摇摇欲坠|裂缝.{0,10}(?:危险|倒塌)|楼体倾斜)",
    ),
    (
        2,
        "repeated-unanswered",
        r"(?:多次反映|多次投诉|反复投诉|多次举报|一直没人管|无人处理|没有回复|无人问津|石沉大海|至今没有|至今未|迟迟没有|迟迟未|推诿|踢皮球)",
    ),
    (
        2,
        "many-residents",
        r"(?:上百户|几百户|数百户|全小区|全村|整个小区|几千人|上千人|数千名|全体业主)",
    ),
    (2, "utilities-out", r"(?:停水|断水|停电|断电|停气).{0,12}(?:天|周|月|多日|几日)"),
    (2, "hazard", r"(?:安全隐患|隐患|危险|事故多发)"),
    (2, "media", r"(?:媒体|曝光|记者|网络上|发酵)"),
]
COMPILED = [(t, name, re.compile(p)) for t, name, p in RULES]
HYPOTHETICAL = re.compile(NEG + r".{0,8}$")


ROMAN = {4: "I", 3: "II", 2: "III", 1: "IV"}
SEVERITY = {v: k for k, v in ROMAN.items()}


def assess(text: str, max_tier: int = 4) -> tuple[int, str]:
    """Highest tier whose rule fires outside a negation or hypothetical; tier-4 evidence
    that is only hypothetical ("以免出人命") counts as tier 3 (an imminent hazard)."""
    best, why = 1, "none"
    for tier, name, pat in COMPILED:
        if tier > max_tier:
            continue
        for m in pat.finditer(text):
            before = text[max(0, m.start() - 10) : m.start()]
            t = tier
            if HYPOTHETICAL.search(before):
                if tier < 4:
                    continue
                t, name = 3, name + "-hypothetical"
            if t > best:
                best, why = t, name
            break
    return best, why


def shared_messages(shared: Path, files: tuple[str, ...] = FILES) -> Iterator[dict[str, Any]]:
    """Every message of the shared ``files`` the labels are drawn from."""
    for rel in files:
        with (shared / rel).open(encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)


def main(shared: Path) -> None:
    seen: set[str] = set()
    rows = []
    for r in shared_messages(shared):
        key = r["text"][:80]
        if key in seen:
            continue
        seen.add(key)
        tier, why = assess(r["text"])
        # What the message is without its tier-I hit, for hits the review
        # finds figurative ("吵死了", "堵死了").
        lower = assess(r["text"], max_tier=3)[0] if tier == 4 else tier
        rows.append((r["id"], ROMAN[tier], why, ROMAN[lower]))
    with (HERE / "candidates.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "tier", "rule", "tier_if_figurative"])
        w.writerows(rows)
    counts = {t: sum(1 for r in rows if r[1] == t) for t in ROMAN.values()}
    print(f"{len(rows)} messages; candidates per tier {counts}", file=sys.stderr)


def select(seed: int = 0) -> None:
    """gov-messages.csv: a per-tier sample of the candidates, review.csv applied.

    Every tier-I candidate was read: those not listed in review.csv were figurative
    hits and take the tier the other rules give."""
    with (HERE / "candidates.csv").open(encoding="utf-8") as f:
        cands = {
            r["id"]: SEVERITY[r["tier_if_figurative"] if r["tier"] == "I" else r["tier"]]
            for r in csv.DictReader(f)
        }
    with (HERE / "review.csv").open(encoding="utf-8") as f:
        review = {r["id"]: SEVERITY[r["tier"]] for r in csv.DictReader(f)}
    rng = random.Random(seed)
    chosen: list[str] = list(review)
    for tier, n in PER_TIER.items():
        pool = sorted(i for i, t in cands.items() if t == tier and i not in review)
        rng.shuffle(pool)
        have = sum(1 for i in chosen if review.get(i, cands.get(i)) == tier)
        chosen += pool[: max(0, n - have)]
    with (HERE / "gov-messages.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "tier"])
        for i in sorted(set(chosen)):
            w.writerow([i, ROMAN[review.get(i, cands[i])]])


BASIS = frozenset(
    [
        "death",
        "mass-incident",
        "injury",
        "group-action",
        "wages-many",
        "vulnerable-danger",
        "fire-gas-poison",
        "structure-collapse",
        "imminent-catastrophe",
        "many-affected",
        "public-hazard",
        "repeated-unanswered",
        "group-dispute",
        "pollution",
        "media",
        "individual",
        "inquiry",
        "suggestion",
        "other",
    ]
)


def batches(ids_file: Path, out_dir: Path, k: int, shared: Path) -> None:
    """Reading batches for blind readers (GUIDE.md): ``k`` files of {"id", "text"} lines
    in ``out_dir``, which must lie outside the project (message text stays out of it)."""
    if out_dir.resolve().is_relative_to(HERE.parents[1]):
        raise SystemExit(f"{out_dir}: batches hold message text; write them outside the project")
    ids = [line.split(",")[0].strip() for line in ids_file.read_text("utf-8").splitlines()]
    ids = [i for i in ids if i and i != "id"]
    texts = {r["id"]: r["text"] for r in shared_messages(shared, READING_FILES)}
    missing = [i for i in ids if i not in texts]
    if missing:
        raise SystemExit(f"{len(missing)} ids not in the shared files, e.g. {missing[0]}")
    for j in range(k):
        d = out_dir / f"h{j}"
        d.mkdir(parents=True, exist_ok=True)
        with (d / "batch.jsonl").open("w", encoding="utf-8") as f:
            for i in ids[j::k]:
                f.write(json.dumps({"id": i, "text": texts[i][:1500]}, ensure_ascii=False) + "\n")
    print(f"{len(ids)} messages in {k} batches under {out_dir}", file=sys.stderr)


def merge(out_dir: Path, sample: str) -> None:
    """Append the readers' ``h*/read.csv`` (id,tier,basis) to read.csv as ``sample``,
    after checking each covers its batch exactly, in order, with valid tiers and codes."""
    with (HERE / "read.csv").open(encoding="utf-8") as f:
        have = {r["id"] for r in csv.DictReader(f)}
    new: list[list[str]] = []
    for d in sorted(out_dir.glob("h*")):
        with (d / "batch.jsonl").open(encoding="utf-8") as f:
            want = [json.loads(line)["id"] for line in f if line.strip()]
        with (d / "read.csv").open(encoding="utf-8") as f:
            got = list(csv.DictReader(f))
        if [r["id"] for r in got] != want:
            raise SystemExit(f"{d}/read.csv does not cover its batch in order")
        for r in got:
            if r["tier"] not in SEVERITY or r["basis"] not in BASIS:
                raise SystemExit(f"{d}/read.csv: bad row {r['id']}: {r['tier']}, {r['basis']}")
            if r["id"] not in have:
                new.append([r["id"], r["tier"], r["basis"], sample])
                have.add(r["id"])
    with (HERE / "read.csv").open("a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(new)
    print(f"{len(new)} messages added to read.csv as {sample!r}", file=sys.stderr)


if __name__ == "__main__":
    # ../shared/data beside the project checkout.
    default_shared = HERE.parents[2] / "shared" / "data"
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "select":
        select()
    elif cmd == "batches":
        shared = Path(sys.argv[5]) if len(sys.argv) > 5 else default_shared
        batches(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), shared)
    elif cmd == "merge":
        merge(Path(sys.argv[2]), sys.argv[3])
    else:
        main(Path(cmd) if cmd else default_shared)
