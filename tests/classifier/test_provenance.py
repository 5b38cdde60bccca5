"""Every model records what it was trained on; retraining reuses exactly that data or
refuses naming the file; `yuqing init` trains on a real file, or on demo data only
when asked, and a synthetic model says so wherever it is listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.bootstrap import active_version
from classifier.provenance import SYNTHETIC_EN, read_provenance
from runtime.cli import main
from tests.classifier.synthetic import examples


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, config_dir: Path, var_env: dict[str, str]) -> Path:
    for k, v in var_env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("YUQING_ADMIN_PASSWORD", "a-long-enough-password-1")
    monkeypatch.delenv("YUQING_DATABASE_URL", raising=False)
    monkeypatch.setenv("YUQING_CONFIG", str(config_dir))
    return Path(var_env["YUQING_VAR_DIR"]) / "models"


@pytest.fixture
def labelled_file(tmp_path: Path) -> Path:
    path = tmp_path / "labelled.jsonl"
    rows = [
        {"id": f"s{i}", "text": e.text, "label": e.category, "severity": e.severity}
        for i, e in enumerate(examples())
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_init_without_a_model_says_so_and_trains_nothing(  # type: ignore[no-untyped-def]
    env: Path, config_dir: Path, tmp_path: Path, capsys
) -> None:
    code, out, err = run(["init"], capsys)
    assert code == 0, err
    assert "model      none — no classifier model" in out and "yuqing init --train FILE" in out
    assert active_version(env) is None and not any(env.glob("v*"))
    # and an import, which classifies, refuses with the same hint (exit 2)
    with (config_dir / "sources.yaml").open("a", encoding="utf-8") as f:
        f.write("  - {name: hotline, kind: file, area: 云溪县}\n")
    export = tmp_path / "12345.jsonl"
    export.write_text('{"id": "1", "title": "停水", "text": "停水三天"}\n', encoding="utf-8")
    code, _, err = run(["import", str(export), "--source", "hotline"], capsys)
    assert code == 2 and "no classifier model" in err and "--demo" in err


def test_init_train_records_the_file_and_repeats_safely(  # type: ignore[no-untyped-def]
    env: Path, labelled_file: Path, capsys
) -> None:
    args = ["init", "--train", str(labelled_file), "--label-field", "label"]
    code, out, err = run(args, capsys)
    assert code == 0, err
    first = active_version(env)
    assert first and f"model      {first}  (trained on labelled.jsonl" in out
    prov = read_provenance(env / first)
    assert prov is not None and not prov.synthetic and prov.rows == len(examples())
    [src] = prov.sources
    assert src.path == str(labelled_file.resolve()) and src.label_field == "label"
    code, out, _ = run(args, capsys)  # same file: kept, not retrained
    assert code == 0 and "already trained on" in out and active_version(env) == first
    code, out, _ = run(["classifier", "list"], capsys)
    assert f"* {first}" in out and "labelled.jsonl (" in out and SYNTHETIC_EN not in out


def test_init_with_a_bad_file_writes_nothing(env: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "只有一类", "category": "城乡建设"}\n', encoding="utf-8")
    code, _, err = run(["init", "--train", str(bad)], capsys)
    assert code == 2 and "bad.jsonl" in err and "only one class" in err
    assert not env.parent.joinpath("yuqing.db").exists()
    code, _, err = run(["init", "--demo", "--train", str(bad)], capsys)
    assert code == 2 and "not both" in err


def test_retrain_reuses_the_recorded_file_or_names_it(  # type: ignore[no-untyped-def]
    env: Path, labelled_file: Path, capsys
) -> None:
    assert run(["init", "--train", str(labelled_file), "--label-field", "label"], capsys)[0] == 0
    first = active_version(env)
    code, out, err = run(["classifier", "retrain", "--holdout", "0", "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    new = report["model"]["version"]
    prov = read_provenance(env / new)
    assert prov is not None and prov.base_version == first and prov.corrections == 0
    assert [s.path for s in prov.sources] == [str(labelled_file.resolve())]
    assert active_version(env) == first  # not promoted unless asked

    labelled_file.write_text(labelled_file.read_text("utf-8") + "\n", "utf-8")  # changed
    code, _, err = run(["classifier", "retrain"], capsys)
    assert code == 2 and str(labelled_file.resolve()) in err and "has changed" in err
    labelled_file.unlink()
    code, _, err = run(["classifier", "retrain"], capsys)
    assert code == 2 and str(labelled_file.resolve()) in err and "is gone" in err


def test_demo_model_only_when_asked_and_marked_synthetic(env: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(["init", "--demo"], capsys)
    assert code == 0, err
    version = active_version(env)
    assert version and "演示模型（合成数据训练）" in out
    prov = read_provenance(env / version)
    assert prov is not None and prov.synthetic and prov.rows > 100
    assert (env / version / prov.sources[0].path).is_file()  # the demo data, as a file
    code, out, _ = run(["classifier", "list"], capsys)
    assert f"* {version}" in out and SYNTHETIC_EN in out
    code, out, _ = run(["classifier", "list", "--json"], capsys)
    [listed] = json.loads(out)["versions"]
    assert listed["synthetic"] is True and listed["provenance"]["sources"][0]["synthetic"]
    # retraining a demo model stays a demo model, on its own copy of the data
    code, out, err = run(["classifier", "retrain", "--holdout", "0", "--json"], capsys)
    assert code == 0, err
    new = json.loads(out)["model"]["version"]
    again = read_provenance(env / new)
    assert again is not None and again.synthetic
    assert (env / new / again.sources[0].path).is_file()
