"""The scale bench's generated posts: deterministic, and their tokens are their text."""

from __future__ import annotations

from index_testkit import tokenize

from bench.search_scale import Generator


def test_generator_is_deterministic_and_pretokenised() -> None:
    a = [x for b in Generator(tokenize).batches(250, 100) for x in b]
    b = [x for b in Generator(tokenize).batches(250, 100) for x in b]
    assert [d.id for d, _, _ in a] == list(range(1, 251))
    assert [(d.title, d.text, d.published_at) for d, _, _ in a] == [
        (d.title, d.text, d.published_at) for d, _, _ in b
    ]
    for doc, title_t, text_t in a:
        assert "".join(title_t) == doc.title and "".join(text_t) == doc.text
        assert doc.severity in (1, 2, 3, 4) and doc.category
    assert len({d.text for d, _, _ in a}) == 250  # filler makes every post different
