"""Routing through the real path: config files -> `yuqing import` of a JSONL export ->
the stored post's area -> the alert's team, on a small county with colliding names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select

from runtime.cli import main
from store.models import Alert, Post

REPO = Path(__file__).resolve().parents[2]

AREAS = {
    "areas": [
        {
            "name": "清河县",
            "level": "county",
            "children": [
                {
                    "name": "城关街道",
                    "level": "street",
                    "children": [
                        {"name": "北关社区", "level": "community"},
                        {"name": "城关街道刘庄村", "level": "village", "aliases": ["刘庄村"]},
                    ],
                },
                {
                    "name": "刘楼镇",
                    "level": "township",
                    "children": [
                        {"name": "刘楼村", "level": "village"},
                        {"name": "刘楼镇刘庄村", "level": "village", "aliases": ["刘庄村"]},
                        {"name": "孟庄村", "level": "village"},
                    ],
                },
            ],
        }
    ]
}
TEAMS = {
    "triage_team": "county-triage",
    "teams": [
        {"id": "county", "name": "清河县舆情中心", "level": "county", "areas": ["清河县"]},
        {"id": "county-triage", "name": "分拣组", "level": "county", "parent": "county"},
        {"id": "chengguan", "name": "城关街道", "level": "street", "areas": ["城关街道"],
         "parent": "county"},
        {"id": "beiguan", "name": "北关社区网格", "level": "grid", "areas": ["北关社区"],
         "parent": "chengguan"},
        {"id": "cg-liuzhuang", "name": "城关刘庄村网格", "level": "grid",
         "areas": ["城关街道刘庄村"], "parent": "chengguan"},
        {"id": "liulou", "name": "刘楼镇政府", "level": "township", "areas": ["刘楼镇", "刘楼村"],
         "parent": "county"},
        {"id": "ll-liuzhuang", "name": "刘楼刘庄村网格", "level": "grid",
         "areas": ["刘楼镇刘庄村"], "parent": "liulou"},
    ],
}  # fmt: skip
WAGES = "几十个农民工在{p}的工地门口讨薪，包工头拖欠工资半年不给，大家准备去堵路。"
# (title, body, expected area, expected team)
POSTS = [
    ("{p}农民工讨薪", "刘楼镇刘庄村", "刘楼镇刘庄村", "ll-liuzhuang"),  # township settles it
    ("{p}农民工讨薪", "刘庄村，属于城关街道", "城关街道刘庄村", "cg-liuzhuang"),
    ("{p}农民工讨薪", "刘楼那边", "刘楼镇", "liulou"),  # 刘楼镇 or 刘楼村: the township
    ("北关社区农民工讨薪", "刘楼村", "北关社区", "beiguan"),  # two places: the title's
    ("{p}农民工讨薪", "刘庄村", "清河县", "county"),  # unsettled: the county
]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    dump = {"allow_unicode": True, "sort_keys": False}
    (config / "areas.yaml").write_text(yaml.safe_dump(AREAS, **dump), encoding="utf-8")
    (config / "teams.yaml").write_text(yaml.safe_dump(TEAMS, **dump), encoding="utf-8")
    sources = {
        "sources": [
            {"name": "hotline", "kind": "file", "area": "清河县",
             "fields": {"external_id": "id", "title": "title", "text": "body",
                        "published_at": "time"}},
        ]
    }  # fmt: skip
    (config / "sources.yaml").write_text(yaml.safe_dump(sources, **dump), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YUQING_CONFIG", str(config))
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    for k in ("YUQING_DATABASE_URL", "YUQING_ES_URL"):
        monkeypatch.delenv(k, raising=False)
    return tmp_path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_import_places_posts_and_alerts_reach_the_grid(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = env / "12345.jsonl"
    rows = [
        {"id": f"GD{i}", "title": title.format(p=p), "body": WAGES.format(p=p),
         "time": f"2026-11-19 09:{i:02d}"}
        for i, (title, p, _, _) in enumerate(POSTS)
    ]  # fmt: skip
    export.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    assert run(["init", "--demo"], capsys)[0] == 0
    code, out, err = run(["import", str(export), "--source", "hotline", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["new"] == len(POSTS)

    engine = create_engine(f"sqlite:///{env / 'var' / 'yuqing.db'}")
    try:
        with engine.connect() as c:
            stored = {
                r.external_id: (r.area, r.uncertain, r.id)
                for r in c.execute(select(Post.external_id, Post.area, Post.uncertain, Post.id))
            }
            alerts = c.execute(select(Alert.area, Alert.team_id, Alert.title)).all()
    finally:
        engine.dispose()
    assert [stored[f"GD{i}"][0] for i in range(len(POSTS))] == [a for _, _, a, _ in POSTS]
    # the wage posts are certain (讨薪 is on the watch-list): their team is the area's
    assert not any(u for _, u, _ in stored.values())
    teams = {title: (area, team) for area, team, title in alerts}
    for title, p, area, team in POSTS:
        assert teams[title.format(p=p)] == (area, team)
