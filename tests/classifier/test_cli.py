"""`yuqing classifier`: train, evaluate, predict and bad input, through the real CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.classifier.conftest import run
from tests.classifier.synthetic import examples


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture
def labelled_file(tmp_path: Path) -> Path:
    rows = [
        {"id": f"s{i}", "text": e.text, "category": e.category, "severity": e.severity, "x": 1}
        for i, e in enumerate(examples())
    ]
    return write_jsonl(tmp_path / "train.jsonl", rows)


@pytest.fixture
def trained(tmp_path: Path, labelled_file: Path, env: list[str], capsys) -> Path:
    out = tmp_path / "m"
    code, _, err = run([*env, "classifier", "train", "--data", str(labelled_file),
                        "--out", str(out)], capsys)  # fmt: skip
    assert code == 0, err
    return out


def test_train_writes_model_and_report(trained: Path) -> None:
    version = (trained / "current").read_text().strip()
    vdir = trained / version
    assert (vdir / "meta.json").is_file() and (vdir / "category.skops").is_file()
    report = json.loads((vdir / "report.json").read_text("utf-8"))
    cat = report["category"]
    assert {"accuracy", "macro_f1", "per_class", "confusion", "calibration"} <= set(cat)
    assert cat["calibration"]["brier"] is not None and len(cat["calibration"]["bins"]) == 10
    assert "tiers_I_II" in report["severity"]
    page = (vdir / "report.html").read_text("utf-8")
    assert page.count("<svg") >= 3
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")


def test_predict_jsonl_with_hostile_texts(
    trained: Path, tmp_path: Path, env: list[str], capsys
) -> None:
    rows = [
        {"id": "a", "text": "化工厂爆炸，多人受伤送医，附近居民聚集"},
        {"id": "empty", "text": ""},
        {"id": "spaces", "text": "   \n\t "},
        {"id": "emoji", "text": "🔥🔥 小区 Wasser 停水三天了！！😡 ｆｕｌｌ-width Ёж العربية"},
        {"id": "huge", "text": "小区物业不管电梯维修。" * 100_000},
        {"id": "notext"},
    ]
    inp = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    code, _, err = run([*env, "classifier", "predict", "--model", str(trained),
                        "--input", str(inp), "--output", str(out)], capsys)  # fmt: skip
    assert code == 0, err
    got = {o["id"]: o for o in map(json.loads, out.read_text("utf-8").splitlines())}
    assert list(got) == [r["id"] for r in rows]
    for o in got.values():
        assert {"category", "category_confidence", "severity", "reasons"} <= set(o)
        assert 1 <= o["severity"] <= 4 and 0.0 <= o["category_confidence"] <= 1.0
    assert got["a"]["severity"] == 4 and any("爆炸" in r for r in got["a"]["reasons"])
    for key in ("empty", "spaces", "notext"):
        assert got[key]["uncertain"] and got[key]["category_confidence"] == 0.0
    assert any("过长" in r for r in got["huge"]["reasons"])
    assert got["emoji"]["severity"] >= 2


def test_csv_train_and_evaluate(tmp_path: Path, env: list[str], capsys) -> None:
    data = tmp_path / "train.csv"
    with data.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["编号", "内容", "类别"])
        for i, e in enumerate(examples()):
            w.writerow([i, e.text, e.category])
    out = tmp_path / "m"
    code, stdout, err = run([*env, "classifier", "train", "--data", str(data), "--text-field",
                             "内容", "--label-field", "类别", "--out", str(out)], capsys)  # fmt: skip
    assert code == 0, err
    assert "macro-F1" in stdout
    code, stdout, err = run([*env, "classifier", "evaluate", "--model", str(out), "--data",
                             str(data), "--text-field", "内容", "--label-field", "类别",
                             "--json"], capsys)  # fmt: skip
    assert code == 0, err
    report = json.loads(stdout)
    assert report["category"]["n"] == len(examples())


@pytest.mark.parametrize(
    ("rows", "args", "needle"),
    [
        ([{"text": "物业不管", "category": "城乡建设"}] * 30, [], "only one class"),
        ([{"text": "物业不管"}, {"text": "噪音"}], [], "no column 'category'"),
        ([{"body": "物业不管", "category": "城乡建设"}], [], "no column 'text'"),
        ([{"text": "物业不管", "category": ""}] * 5, [], "no row has a label"),
        (
            [{"text": "a", "category": "火星"}, {"text": "b", "category": "城乡建设"}] * 10,
            [],
            "--labels-from-data",
        ),  # fmt: skip
        ([{"text": "a", "category": "城乡建设", "severity": "V"}] * 3, [], "unknown tier"),
    ],
)
def test_bad_training_data_is_one_line_exit_2(
    rows, args, needle, tmp_path: Path, env: list[str], capsys
) -> None:
    data = write_jsonl(tmp_path / "bad.jsonl", rows)
    code, _, err = run([*env, "classifier", "train", "--data", str(data), "--out",
                        str(tmp_path / "m"), *args], capsys)  # fmt: skip
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1, err


def test_unreadable_files_are_exit_2(tmp_path: Path, env: list[str], capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\nnot json\n', "utf-8")
    code, _, err = run([*env, "classifier", "train", "--data", str(bad)], capsys)
    assert code == 2 and "bad.jsonl:2: not JSON" in err
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("text,category\n物业,城乡建设\n".encode("gbk"))
    code, _, err = run([*env, "classifier", "train", "--data", str(gbk)], capsys)
    assert code == 2 and "not UTF-8" in err
    code, _, err = run([*env, "classifier", "train", "--data", str(tmp_path / "x.txt")], capsys)
    assert code == 2


def test_tampered_and_corrupted_models_are_refused(
    trained: Path, tmp_path: Path, env: list[str], capsys
) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": "物业"}])
    version = (trained / "current").read_text().strip()
    skops_file = trained / version / "category.skops"
    blob = bytearray(skops_file.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    skops_file.write_bytes(bytes(blob))
    argv = [*env, "classifier", "predict", "--model", str(trained), "--input", str(inp),
            "--output", str(tmp_path / "o.jsonl")]  # fmt: skip
    code, _, err = run(argv, capsys)
    assert code == 2 and "checksum" in err and len(err.strip().splitlines()) == 1
    (trained / version / "meta.json").write_text("{broken", "utf-8")
    code, _, err = run(argv, capsys)
    assert code == 2 and "meta.json" in err
    code, _, err = run([*env, "classifier", "predict", "--model", str(tmp_path / "nowhere"),
                        "--input", str(inp), "--output", str(tmp_path / "o.jsonl")], capsys)  # fmt: skip
    assert code == 2 and "no model there" in err


def test_train_with_corrections_from_the_store(
    labelled_file: Path, tmp_path: Path, env: list[str], config_dir: Path, var_env, capsys
) -> None:
    from datetime import UTC, datetime

    from classifier.corrections import record_correction
    from runtime.app import App
    from store.posts import upsert_post
    from yuqing.contracts import Classification, CrawledPost
    from yuqing.settings import load_config

    now = datetime(2026, 3, 1, tzinfo=UTC)
    app = App(load_config(config_dir, var_env))
    try:
        with app.store.session() as s:
            post = CrawledPost(
                source="t", title="", text="楼道里堆满杂物", url="http://t.invalid/1"
            )
            pid = upsert_post(s, post, Classification("环境保护", 0.4, 1), now).post_id
            record_correction(
                s, pid, actor="a", at=now, taxonomy=app.config.taxonomy, category="城乡建设"
            )
    finally:
        app.close()
    code, out, err = run([*env, "classifier", "train", "--data", str(labelled_file),
                          "--with-corrections", "--holdout", "0", "--json"], capsys)  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["corrections"] == 1
