"""Tokenisation once per post: the classifier's tokens reach the index unchanged."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from classifier.features import MAX_TEXT_CHARS
from classifier.model import TrainedModel
from classifier.text import tokenizer_for
from index.base import SearchQuery
from index.embedded import EmbeddedBackend
from store.posts import stored_tokens, tokens_extra
from yuqing.contracts import IndexDoc, Segmented
from yuqing.settings import TaxonomyFile

TITLE = "小区停水三天"
TEXT = "小区停水三天没人管，老人摔倒受伤"


def _doc(doc_id: int, tokens: Segmented | None) -> IndexDoc:
    return IndexDoc(
        id=doc_id, title=TITLE, text=TEXT, source="test", category="城乡建设",
        severity=3, area=None, published_at=None, url=None, tokens=tokens,
    )  # fmt: skip


def test_classifier_keeps_the_index_tokens(model: TrainedModel, taxonomy: TaxonomyFile) -> None:
    shared = tokenizer_for(taxonomy)  # what the App gives the index
    c = model.classify(TITLE, TEXT)
    assert c.tokens is not None and c.tokens.segmenter == shared.segmenter_key
    assert list(c.tokens.title) == shared.tokenize(TITLE)
    assert list(c.tokens.text) == shared.tokenize(TEXT)
    # Tokens are not part of the decision.
    assert replace(c, tokens=None) == c
    # Over-long texts are cut for the model: the index segments the whole text itself.
    assert model.classify("", "停水" * MAX_TEXT_CHARS).tokens is None


def test_tokens_survive_the_store_round_trip(model: TrainedModel) -> None:
    seg = model.classify(TITLE, TEXT).tokens
    assert seg is not None
    assert stored_tokens({"tokens": tokens_extra(seg)}) == seg
    assert stored_tokens({}) is None and stored_tokens({"tokens": {"title": []}}) is None


def test_index_reuses_tokens_only_from_the_same_segmenter(
    taxonomy: TaxonomyFile, tmp_path: Path
) -> None:
    shared = tokenizer_for(taxonomy)
    index = EmbeddedBackend(tmp_path / "index.sqlite", shared)
    # A marker token the text does not contain shows which tokens were indexed.
    mine = Segmented(shared.segmenter_key, ("停水三天",), ("qqmarker",))
    alien = Segmented("another-segmenter", ("停水三天",), ("zzmarker",))
    assert index.index([_doc(1, mine), _doc(2, alien), _doc(3, None)]) == []
    assert [h.id for h in index.search(SearchQuery(text="qqmarker")).hits] == [1]
    assert index.search(SearchQuery(text="zzmarker")).hits == []
    # Posts 2 and 3 were segmented by the index itself.
    found = {h.id for h in index.search(SearchQuery(text="摔倒")).hits}
    assert found == {2, 3}
    index.close()
