"""Negativity (负面倾向): trained from labelled emotions through the CLI, stored on posts
that the ingest path scores, and bad input refused with the line at fault."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from classifier import sentiment
from runtime.app import App
from runtime.ingest import Ingestor
from store.models import Post
from tests.classifier.conftest import run
from yuqing.clock import FrozenClock
from yuqing.contracts import CrawledPost
from yuqing.settings import load_config

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
SUBJECTS = ["小区门口", "这条路", "物业", "楼下工地", "公交站", "菜市场", "学校旁边", "医院"]
NEGATIVE = {
    "anger": ["气死人了，{s}又出问题，谁来管管", "{s}太过分了，投诉多少次都没用，愤怒"],
    "fear": ["{s}晚上好吓人，担心出事", "{s}的情况让人害怕，不敢出门"],
    "sadness": ["{s}变成这样真难过，心里很失落", "想起{s}以前的样子，伤心"],
    "disgust": ["{s}脏得恶心，臭气熏天", "{s}乱七八糟，令人反感"],
}
OTHER = {
    "gratitude": ["谢谢大家，{s}终于修好了，感谢", "感谢工作人员，{s}干净多了"],
    "optimism": ["{s}越来越好了，加油，开心", "相信{s}会更好，很期待"],
    "surprise": ["没想到{s}今天换了样子", "{s}居然这么快就有变化"],
}


def _rows(n: int = 8, seed: int = 1) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for emotions in (NEGATIVE, OTHER):
        for label, templates in emotions.items():
            for t in templates:
                for s in rng.sample(SUBJECTS, n):
                    rows.append({"text": t.format(s=s), "label_name": label})
    rows.append(dict(rows[0]))  # a repeat counts once
    return rows


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_repeats_count_once_and_labels_fold_to_negative(tmp_path: Path) -> None:
    texts, labels, digest = sentiment.read_emotions(_write(tmp_path / "e.jsonl", _rows()))
    assert len(texts) == len(set(texts)) == len(_rows()) - 1
    assert sum(labels) == 4 * 2 * 8 and len(digest) == 64


def test_train_show_and_score_through_the_cli(
    tmp_path: Path, env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    data = _write(tmp_path / "e.jsonl", _rows())
    code, out, err = run([*env, "sentiment", "train", "--data", str(data), "--json"], capsys)
    assert code == 0, err
    trained = json.loads(out)
    assert trained["examples"] == len(_rows()) - 1 and trained["figures"]["held_out"] > 0
    assert 0 <= trained["figures"]["accuracy"] <= 1
    code, out, _ = run([*env, "sentiment", "show"], capsys)
    assert code == 0 and trained["version"] in out and "read it as a trend" in out
    code, out, _ = run([*env, "sentiment", "score", "物业太过分了，愤怒", "谢谢大家，感谢"], capsys)
    assert code == 0
    angry, thanks = (float(line.split("\t")[0]) for line in out.splitlines())
    assert angry > 0.5 > thanks


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"text": "好", "label_name": "joy"}', "unknown emotion 'joy'"),
        ("not json", "not a JSON object"),
        ('{"label_name": "anger"}', "not a JSON object"),
    ],
)
def test_bad_data_names_its_line(
    tmp_path: Path,
    env: list[str],
    capsys: pytest.CaptureFixture[str],
    line: str,
    problem: str,
) -> None:
    data = _write(tmp_path / "e.jsonl", _rows())
    with data.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
    code, _, err = run([*env, "sentiment", "train", "--data", str(data)], capsys)
    lines = len(_rows()) + 1
    assert code == 1 and f"e.jsonl:{lines}: {problem}" in err, err


def test_show_without_a_model_says_how_to_train(
    env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run([*env, "sentiment", "show"], capsys)
    assert code == 1 and "yuqing sentiment train" in err


def test_an_altered_model_file_is_refused(tmp_path: Path) -> None:
    texts, labels, _ = sentiment.read_emotions(_write(tmp_path / "e.jsonl", _rows()))
    where = sentiment.save(sentiment.train(texts, labels), tmp_path / "models")
    with (where / sentiment.MODEL_FILE).open("ab") as f:
        f.write(b"x")
    with pytest.raises(sentiment.SentimentLoadError, match="checksum"):
        sentiment.load(tmp_path / "models")


@pytest.fixture
def app(tmp_path: Path, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    import shutil

    from tests.conftest import CONFIG_DIR

    directory = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, directory)
    var = tmp_path / "var"
    demo = tmp_path_factory.getbasetemp() / "sentiment-demo-models"
    config = load_config(
        directory,
        {"YUQING_VAR_DIR": str(var), "YUQING_DATABASE_URL": db_url},
    )
    if not demo.exists():  # the demo classifier, trained once for the module
        App(load_config(directory, {"YUQING_VAR_DIR": str(demo.parent / "sv")})).model(demo=True)
        shutil.copytree(demo.parent / "sv" / "models", demo)
    shutil.copytree(demo, config.model_dir, dirs_exist_ok=True)
    running = App(config, clock=FrozenClock(NOW))
    yield running
    running.close()


def _post(n: int, text: str) -> CrawledPost:
    return CrawledPost(source="demo-board", title=f"帖子{n}", text=text, url=f"http://x/{n}")


def test_ingest_scores_posts_once_a_model_is_trained(app: App, tmp_path: Path) -> None:
    first = Ingestor(app)
    first.accept(_post(1, "物业太过分了，投诉多少次都没用，愤怒"))
    texts, labels, _ = sentiment.read_emotions(_write(tmp_path / "e.jsonl", _rows()))
    sentiment.save(sentiment.train(texts, labels), app.config.model_dir)
    later = App(app.config, clock=app.clock)  # a process started after training
    try:
        Ingestor(later).accept_many(
            [
                _post(2, "物业太过分了，投诉多少次都没用，愤怒"),
                _post(3, "谢谢大家，路灯修好了，感谢"),
            ]
        )
        with later.store.session() as s:
            scores = dict(s.execute(select(Post.url, Post.negativity)).tuples().all())
    finally:
        later.close()
    assert scores["http://x/1"] is None  # stored before there was a model: not guessed
    assert scores["http://x/2"] is not None and scores["http://x/3"] is not None
    assert scores["http://x/2"] > 0.5 > scores["http://x/3"]
