"""First-run model: load the active model, or train one and make it active.

Layout of ``model_dir``::

    current                 one line: the active version directory's name
    v20260101T000000Z-ab12cd34/
        meta.json, category.skops, severity.skops

A version directory is written under a temporary name and renamed into place,
and ``current`` is replaced atomically, so a reader never sees half a model.
A lock file keeps two processes starting at once from both training.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from classifier.model import TrainedModel
from classifier.params import ModelParams
from classifier.persist import ModelLoadError, load_model, save_model
from classifier.provenance import (
    SYNTHETIC_ZH,
    Provenance,
    embed_examples,
    is_synthetic,
    write_provenance,
)
from classifier.training import train
from yuqing.contracts import LabelledText
from yuqing.settings import TaxonomyFile

POINTER = "current"
_LOCK = ".train.lock"
_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


def active_version(model_dir: Path) -> str | None:
    """The version named by ``model_dir/current``, or None when there is none."""
    try:
        name = (Path(model_dir) / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not _VERSION_NAME.match(name):
        where = Path(model_dir) / POINTER
        raise ModelLoadError(
            f"{where}：{name!r} 不是模型版本名 / {where}: not a version name: {name!r}"
        )
    return name


def load_active(
    model_dir: Path, taxonomy: TaxonomyFile | None, uncertain_below: float
) -> TrainedModel | None:
    """The active model, or None when ``current`` is absent. Raises ModelLoadError."""
    name = active_version(model_dir)
    if name is None:
        return None
    return load_model(Path(model_dir) / name, uncertain_below=uncertain_below, taxonomy=taxonomy)


def set_active(model_dir: Path, version: str) -> None:
    """Point ``current`` at ``version`` (atomically)."""
    model_dir = Path(model_dir)
    if not _VERSION_NAME.match(version) or not (model_dir / version).is_dir():
        raise ModelLoadError(
            f"{model_dir} 中没有模型版本 {version!r} / {model_dir}: no model version {version!r}"
        )
    fd, tmp = tempfile.mkstemp(dir=model_dir, prefix=".current-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(version + "\n")
        os.replace(tmp, model_dir / POINTER)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_version(
    model: TrainedModel,
    model_dir: Path,
    *,
    provenance: Provenance | None = None,
    embed: Sequence[LabelledText] | None = None,
    synthetic: bool = False,
    attach: Sequence[Path] = (),
) -> Path:
    """Save ``model`` as ``model_dir/<version>/`` via a temporary directory and a rename.

    ``provenance`` (what it was trained on) is written beside it; ``embed`` examples
    that exist only in memory are written into the directory first and recorded as
    its first source (``synthetic`` says whether they are the demo corpus);
    ``attach`` files are copied in by name (a retrained model keeps its embedded data).
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    final = model_dir / model.version
    if final.is_dir():
        # Same data in the same second: keep a sound copy, move a damaged one aside.
        try:
            load_model(final)
            return final
        except ModelLoadError:
            os.rename(final, model_dir / f".{model.version}.damaged-{uuid.uuid4().hex[:8]}")
    tmp = Path(tempfile.mkdtemp(dir=model_dir, prefix=f".{model.version}-"))
    try:
        save_model(model, tmp)
        for f in attach:
            shutil.copyfile(f, tmp / Path(f).name)
        if embed is not None:
            base = provenance or Provenance(sources=[])
            source = embed_examples(tmp, embed, synthetic=synthetic)
            provenance = dataclasses.replace(base, sources=[source, *base.sources])
        if provenance is not None:
            write_provenance(tmp, provenance)
        os.rename(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not final.is_dir():
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _pointer_text(model_dir: Path) -> str | None:
    try:
        return (model_dir / POINTER).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def _training_lock(model_dir: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # not POSIX: the renames alone keep the files consistent
        yield
        return
    with open(model_dir / _LOCK, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure_model(
    model_dir: Path,
    taxonomy: TaxonomyFile,
    examples_factory: Callable[[], Sequence[LabelledText]],
    uncertain_below: float,
    progress: Callable[[str], None] | None = None,
    *,
    params: ModelParams | None = None,
    clock: Callable[[], datetime] | None = None,
    synthetic: bool = True,
) -> TrainedModel:
    """Load the active model, or train one on ``examples_factory()`` and activate it.

    The examples are written into the new version's directory and recorded as its
    training data, synthetic unless ``synthetic=False`` (this path trains the demo
    model; real data goes through ``yuqing init --train`` / ``classifier train``).
    An active model that cannot be served (damaged, other segmenter, taxonomy
    changed) is reported through ``progress`` and replaced by a new one; the old
    version directory stays for inspection.
    """
    say = progress or (lambda _msg: None)
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)

    def try_load() -> TrainedModel | None:
        try:
            model = load_active(model_dir, taxonomy, uncertain_below)
        except ModelLoadError as exc:
            say(f"模型不可用, 将重新训练: {exc}")
            return None
        if model is not None:
            demo = is_synthetic(model_dir / model.version)
            say(f"模型: {model.version}" + (f" — {SYNTHETIC_ZH}" if demo else ""))
        return model

    seen = _pointer_text(model_dir)
    model = try_load()
    if model is not None:
        return model
    with _training_lock(model_dir):
        # Another process may have trained while we waited for the lock.
        if _pointer_text(model_dir) != seen:
            model = try_load()
            if model is not None:
                return model
        examples = examples_factory()
        say(f"首次训练: {len(examples)} 条标注样本")
        model = train(
            examples,
            taxonomy,
            progress=progress,
            params=params,
            uncertain_below=uncertain_below,
            clock=clock,
        )
        save_version(model, model_dir, embed=examples, synthetic=synthetic)
        set_active(model_dir, model.version)
        note = f" — {SYNTHETIC_ZH}" if synthetic else ""
        say(f"已保存并启用: {model_dir / model.version}{note}")
    return model
