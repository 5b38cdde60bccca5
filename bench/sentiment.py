"""Negativity (classifier/sentiment.py) on held-out Weibo emotion posts, against a plain
character-unigram naive Bayes on the same split, and what it says of citizens' messages."""

from __future__ import annotations

import time

from bench.common import SHARED_DATA, Row, messages, say

WEIBO = SHARED_DATA / "weibo-emotion" / "weibo.jsonl"


def run(quick: bool) -> list[Row]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    from classifier import sentiment

    if not WEIBO.is_file():
        say("sentiment: ../shared/data/weibo-emotion absent; skipped")
        return []
    texts, labels, _ = sentiment.read_emotions(WEIBO)
    if quick:
        texts, labels = texts[::4], labels[::4]
    tr, te = sentiment.split(texts, labels, 0.2, seed=0)
    train_x, train_y = [texts[i] for i in tr], [labels[i] for i in tr]
    test_x, test_y = [texts[i] for i in te], [labels[i] for i in te]
    say(f"sentiment: {len(tr)} distinct Weibo posts to train, {len(te)} held out")
    t0 = time.perf_counter()
    ours = sentiment.train(train_x, train_y, holdout=0.2)
    fit_s = time.perf_counter() - t0
    mine = sentiment.figures(test_y, ours.score_many(test_x))
    ref = make_pipeline(TfidfVectorizer(analyzer="char"), MultinomialNB()).fit(train_x, train_y)
    base = sentiment.figures(test_y, [float(p) for p in ref.predict_proba(test_x)[:, 1]])
    gov = messages(1000)
    scores = ours.score_many(f"{m.title}\n{m.text}" for m in gov)
    share = sum(s >= 0.5 for s in scores) / len(scores)
    note = (
        f"{len(te)} held-out distinct posts (repeats merged: the file's {len(texts)} distinct "
        f"texts of 21,173 rows), negative = fear/anger/sadness/disgust, "
        f"{base['negative_share']:.0%} of them; ratio = ours / reference, higher is better"
    )
    return [
        Row(
            "negativity accuracy, held-out Weibo posts",
            f"{mine['accuracy']:.3f}",
            f"{base['accuracy']:.3f} (char unigram TF-IDF + naive Bayes)",
            mine["accuracy"] / base["accuracy"],
            f"{note}; macro-F1 {mine['macro_f1']:.3f} vs {base['macro_f1']:.3f}; "
            f"training {fit_s:.1f} s (fit twice: held-out probe, then all)",
        ),
        Row(
            "negativity AUC, held-out Weibo posts",
            f"{mine['auc']:.3f}",
            f"{base['auc']:.3f} (char unigram TF-IDF + naive Bayes)",
            mine["auc"] / base["auc"],
            f"ratio = ours / reference, higher is better; on {len(gov)} citizens' messages "
            f"(hot-issue board, another domain) {share:.0%} score ≥ 0.5: a trend, not a verdict",
        ),
    ]
