"""Negativity (负面倾向): how likely a post voices a negative emotion, 0..1.

Learned from labelled emotions (the shared Weibo set: fear, anger, sadness and disgust
count as negative; optimism, gratitude and surprise as not), with hashed character
1–3-gram TF-IDF and a logistic regression: no segmenter, so nothing ties it to the category
model's dictionary. It is a model's estimate trained on social-media posts, not on
citizens' messages to a government board (almost all of which complain): its trend
says more than one post's score, and every screen that shows it says so.

Saved as ``<model_dir>/negativity/`` (``model.skops`` + ``meta.json`` with the
held-out figures and the data's SHA-256); a retrain replaces it whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from classifier.provenance import file_sha256

NEGATIVE_EMOTIONS = frozenset({"fear", "anger", "sadness", "disgust"})
OTHER_EMOTIONS = frozenset({"optimism", "gratitude", "surprise"})
DIRECTORY = "negativity"
MODEL_FILE = "model.skops"
META_FILE = "meta.json"
CAUTION_ZH = "负面倾向为模型估计（以微博情绪语料训练），宜看趋势，不宜据单帖下结论"


class SentimentDataError(ValueError):
    """The labelled file cannot be read: which line and why."""


class SentimentLoadError(Exception):
    """The saved negativity model is damaged or cannot be trusted."""


@dataclass
class NegativityMeta:
    version: str
    trained_at: str
    data_sha256: str
    examples: int  # distinct texts after merging repeats
    holdout: float
    figures: dict[str, float] = field(default_factory=dict)
    negative: list[str] = field(default_factory=lambda: sorted(NEGATIVE_EMOTIONS))
    file_sha256: str = ""


def read_emotions(path: Path) -> tuple[list[str], list[int], str]:
    """(texts, 1 = negative, SHA-256 of the file) from JSONL rows with ``text`` and
    ``label_name``. A text given several times counts once, by its majority label: the
    shared set repeats about half its rows, and a repeat across the held-out split would
    flatter the figures."""
    data = Path(path).read_bytes()
    votes: dict[str, list[int]] = defaultdict(list)
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise SentimentDataError(
            f"{path}：不是 UTF-8 编码的文本（第 {exc.start} 字节处）/ "
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, label = str(row["text"]).strip(), str(row["label_name"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SentimentDataError(
                f"{path} 第 {no} 行：应为含 text 和 label_name 的 JSON 对象 / "
                f"{path}:{no}: not a JSON object with text and label_name ({exc})"
            ) from None
        if label not in NEGATIVE_EMOTIONS | OTHER_EMOTIONS:
            known = sorted(NEGATIVE_EMOTIONS | OTHER_EMOTIONS)
            raise SentimentDataError(
                f"{path} 第 {no} 行：没有这种情绪 {label!r}（可用：{'、'.join(known)}）/ "
                f"{path}:{no}: unknown emotion {label!r} (known: {', '.join(known)})"
            )
        if text:
            votes[text].append(int(label in NEGATIVE_EMOTIONS))
    if len(votes) < 20:
        raise SentimentDataError(
            f"{path}：只有 {len(votes)} 条不同的文本，至少需要 20 条 / "
            f"{path}: {len(votes)} distinct texts; at least 20 are needed"
        )
    texts = sorted(votes)
    labels = [int(sum(votes[t]) * 2 > len(votes[t])) for t in texts]
    if len(set(labels)) < 2:
        raise SentimentDataError(
            f"{path}：所有文本的标注都相同 / {path}: every text has the same label"
        )
    return texts, labels, hashlib.sha256(data).hexdigest()


def _pipeline(seed: int) -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    # hashed n-grams: no vocabulary to save (a 47,000-entry one made a 37 MB file)
    return make_pipeline(
        HashingVectorizer(
            analyzer="char", ngram_range=(1, 3), n_features=2**18, alternate_sign=False, norm=None
        ),
        TfidfTransformer(sublinear_tf=True),
        LogisticRegression(C=4.0, max_iter=2000, random_state=seed),
    )


def split(
    texts: Sequence[str], labels: Sequence[int], holdout: float, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Indices (train, held out), stratified by label, reproducible for a seed."""
    rng = random.Random(seed)
    train: list[int] = []
    test: list[int] = []
    for value in (0, 1):
        idx = [i for i, y in enumerate(labels) if y == value]
        rng.shuffle(idx)
        cut = round(len(idx) * holdout)
        test += idx[:cut]
        train += idx[cut:]
    return sorted(train), sorted(test)


def figures(truth: Sequence[int], scores: Sequence[float]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    guess = [int(s >= 0.5) for s in scores]
    return {
        "accuracy": round(float(accuracy_score(truth, guess)), 4),
        "macro_f1": round(float(f1_score(truth, guess, average="macro")), 4),
        "auc": round(float(roc_auc_score(truth, scores)), 4),
        "negative_share": round(sum(truth) / len(truth), 4),
    }


@dataclass
class NegativityModel:
    pipeline: Any
    meta: NegativityMeta

    def score_many(self, texts: Iterable[str]) -> list[float]:
        texts = list(texts)
        if not texts:
            return []
        return [round(float(p), 4) for p in self.pipeline.predict_proba(texts)[:, 1]]


def train(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    holdout: float = 0.2,
    seed: int = 0,
    data_sha256: str = "",
) -> NegativityModel:
    """Fit on all but ``holdout`` of the texts, measure on the rest, then refit on
    everything (the figures are the held-out ones)."""
    if not 0 < holdout < 1:
        raise ValueError("holdout 应在 0 和 1 之间 / holdout must be between 0 and 1")
    tr, te = split(texts, labels, holdout, seed)
    probe = _pipeline(seed).fit([texts[i] for i in tr], [labels[i] for i in tr])
    held = figures([labels[i] for i in te], probe.predict_proba([texts[i] for i in te])[:, 1])
    held["held_out"] = len(te)
    model = _pipeline(seed).fit(list(texts), list(labels))
    now = datetime.now(UTC)
    meta = NegativityMeta(
        version=now.strftime("neg-%Y%m%d-%H%M%S"),
        trained_at=now.isoformat(timespec="seconds"),
        data_sha256=data_sha256,
        examples=len(texts),
        holdout=holdout,
        figures=held,
    )
    return NegativityModel(model, meta)


def save(model: NegativityModel, model_dir: Path) -> Path:
    """Write to ``<model_dir>/negativity`` whole: a reader never sees half a model."""
    import skops.io as sio

    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_dir / DIRECTORY
    work = Path(tempfile.mkdtemp(prefix=".negativity-", dir=model_dir))
    try:
        sio.dump(model.pipeline, work / MODEL_FILE)
        untrusted = sio.get_untrusted_types(file=work / MODEL_FILE)
        if untrusted:
            raise RuntimeError(f"{MODEL_FILE} holds types skops does not trust: {untrusted}")
        model.meta.file_sha256 = file_sha256(work / MODEL_FILE)
        (work / META_FILE).write_text(
            json.dumps(asdict(model.meta), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        old = model_dir / f".negativity-old-{os.getpid()}"
        if target.exists():
            target.rename(old)
        work.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def read_meta(model_dir: Path) -> NegativityMeta | None:
    path = model_dir / DIRECTORY / META_FILE
    if not path.is_file():
        return None
    try:
        return NegativityMeta(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise SentimentLoadError(f"{path}：负面倾向模型说明已损坏 / {path}: {exc}") from None


def load(model_dir: Path) -> NegativityModel | None:
    """The saved model, None when none was trained; a damaged one is an error."""
    import skops.io as sio

    meta = read_meta(model_dir)
    if meta is None:
        return None
    path = model_dir / DIRECTORY / MODEL_FILE
    if not path.is_file() or file_sha256(path) != meta.file_sha256:
        raise SentimentLoadError(
            f"{path}：文件缺失或保存后被改动过（校验和不符）/ "
            f"{path}: missing or altered since it was saved (checksum)"
        )
    try:
        pipeline = sio.load(path, trusted=[])
    except Exception as exc:  # skops raises several types for damaged or untrusted files
        raise SentimentLoadError(
            f"{path}：无法加载负面倾向模型 / {path}: {type(exc).__name__}: {exc}"
        ) from None
    return NegativityModel(pipeline, meta)
