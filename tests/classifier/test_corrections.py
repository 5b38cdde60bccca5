"""Staff corrections feed retraining; the active-learning queue ranks unsure posts first."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from classifier.bootstrap import save_version
from classifier.corrections import (
    CorrectionError,
    correction_examples,
    record_correction,
    retrain,
    uncertainty_queue,
)
from classifier.model import TrainedModel
from classifier.provenance import read_provenance
from store.db import Store
from store.models import Post
from store.posts import upsert_post
from tests.classifier.synthetic import examples
from yuqing.contracts import Classification, CrawledPost
from yuqing.settings import TaxonomyFile

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TEXTS = [
    "小区物业不管电梯维修，业主很不方便",
    "这个事情大家怎么看",  # vague: the model should be unsure
    "工厂夜里排污，河水发黑发臭",
    "今天天气不错",
]


@pytest.fixture
def store(db_url: str) -> Store:
    s = Store(db_url)
    yield s
    s.close()


@pytest.fixture
def post_ids(store: Store, model: TrainedModel) -> list[int]:
    ids = []
    with store.session() as s:
        for i, text in enumerate(TEXTS):
            post = CrawledPost(source="t", title="", text=text, url=f"http://t.invalid/{i}")
            cls: Classification = model.classify("", text)
            ids.append(upsert_post(s, post, cls, NOW).post_id)
    return ids


def test_correction_is_stored_applied_and_used(
    store: Store, post_ids: list[int], taxonomy: TaxonomyFile, model: TrainedModel, tmp_path: Path
) -> None:
    with store.session() as s:
        row = record_correction(
            s, post_ids[1], actor="王科员", at=NOW, taxonomy=taxonomy, category="城乡建设",
            severity=3,
        )  # fmt: skip
        assert row.new_category == "城乡建设" and row.old_severity is not None
    with store.session() as s:
        post = s.get(Post, post_ids[1])
        assert post.category == "城乡建设" and post.severity == 3 and not post.uncertain
        with pytest.raises(CorrectionError, match="unknown category"):
            record_correction(s, post_ids[0], actor="x", at=NOW, taxonomy=taxonomy, category="?")
        with pytest.raises(CorrectionError, match="no post"):
            record_correction(s, 99999, actor="x", at=NOW, taxonomy=taxonomy, severity=2)
    with store.session() as s:
        got = correction_examples(s)
        assert [(e.text, e.category, e.severity) for e in got] == [(TEXTS[1], "城乡建设", 3)]
        base = save_version(model, tmp_path / "models", embed=examples(), synthetic=False)
        new, report, path = retrain(base, s, taxonomy, tmp_path / "models", clock=lambda: NOW)
    assert report["corrections"] == 1 and (path / "report.html").is_file()
    assert new.meta.metrics["n_examples"] == len(examples()) + 1
    # the new version records the same data (its own copy) and the correction
    prov = read_provenance(path)
    assert prov is not None and prov.corrections == 1 and prov.base_version == base.name
    assert [s.sha256 for s in prov.sources] == [s.sha256 for s in read_provenance(base).sources]
    assert (path / prov.sources[0].path).is_file() and not prov.synthetic


def test_queue_ranks_least_sure_first_and_skips_corrected(
    store: Store, post_ids: list[int], model: TrainedModel, taxonomy: TaxonomyFile
) -> None:
    with store.session() as s:
        queue = uncertainty_queue(s, model, limit=4)
    assert sorted(queue) == sorted(post_ids)
    assert queue.index(post_ids[0]) > queue.index(post_ids[3])
    with store.session() as s:
        record_correction(s, queue[0], actor="a", at=NOW, taxonomy=taxonomy, severity=1)
    with store.session() as s:
        again = uncertainty_queue(s, model, limit=2)
    assert queue[0] not in again and len(again) == 2


def test_least_confident_reads_the_stored_confidence_and_skips_corrected(
    store: Store, post_ids: list[int], taxonomy: TaxonomyFile
) -> None:
    from sqlalchemy import select

    from classifier.corrections import least_confident
    from store.models import Post

    with store.session() as s:
        conf = dict(s.execute(select(Post.id, Post.category_confidence)).tuples().all())
        queue = least_confident(s, limit=4)
    assert queue == sorted(post_ids, key=lambda i: (conf[i], -i))
    with store.session() as s:
        record_correction(s, queue[0], actor="a", at=NOW, taxonomy=taxonomy, severity=1)
    with store.session() as s:
        assert least_confident(s, limit=4) == queue[1:]
