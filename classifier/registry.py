"""The model registry: versions recorded in the store, served from ``model_dir``.

The files of a version live in ``model_dir/<version>/`` and the ``current`` pointer
file says which one serves (see classifier/bootstrap.py). The store keeps, per
version, its data hash, metrics, parameters, creation time and the active flag,
plus every activation, so ``rollback`` knows what was active before.

Promote and rollback change the pointer atomically; a running service holds a
:class:`ServingModel`, which notices the change (one ``stat`` at most every
``check_every`` seconds) and swaps the model in without a restart.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from classifier.bootstrap import POINTER, active_version, load_active, set_active
from classifier.model import TrainedModel
from classifier.persist import META_FILE, ModelLoadError, load_model
from classifier.provenance import ProvenanceError, describe_version, read_provenance
from store.classifier_models import ClassifierActivation, ClassifierModelRow
from yuqing.bilingual import halves

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from store.db import Store
    from yuqing.contracts import Classification, CrawledPost
    from yuqing.settings import TaxonomyFile

log = logging.getLogger("yuqing.classifier")


class RegistryError(Exception):
    """A registry request that cannot be carried out (unknown version, nothing to roll back)."""


@dataclass(slots=True)
class VersionInfo:
    version: str
    created_at: str
    data_hash: str
    metrics: dict[str, Any]
    params: dict[str, Any]
    active: bool
    path: str
    on_disk: bool
    # What it was trained on (classifier/provenance.py): a line for people, whether the
    # data is synthetic (None: not recorded), and the record itself.
    data: str = ""
    synthetic: bool | None = None
    provenance: dict[str, Any] | None = None


class Registry:
    def __init__(
        self,
        store: Store,
        model_dir: Path,
        taxonomy: TaxonomyFile | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.model_dir = Path(model_dir)
        self.taxonomy = taxonomy
        self.clock = clock

    # ---------------------------------------------------------------- write
    def register(self, model: TrainedModel, path: Path, note: str = "") -> None:
        """Record a saved version (idempotent by version name)."""
        with self.store.session() as s:
            self._upsert(s, model.meta.version, model.meta.created_at, model, Path(path), note)

    def _upsert(
        self,
        s: Session,
        version: str,
        created_at: str,
        model: TrainedModel | None,
        path: Path,
        note: str = "",
    ) -> ClassifierModelRow:
        row = s.scalar(select(ClassifierModelRow).where(ClassifierModelRow.version == version))
        if row is not None:
            return row
        meta = model.meta if model is not None else None
        row = ClassifierModelRow(
            version=version,
            created_at=datetime.fromisoformat(created_at),
            data_hash=meta.data_hash if meta else "",
            metrics=meta.metrics if meta else {},
            params=meta.params if meta else {},
            path=str(path),
            active=False,
            note=note,
        )
        s.add(row)
        s.flush()
        return row

    def sync(self) -> None:
        """Record versions found on disk but not yet in the store (e.g. the first model),
        and make the store's active flag agree with the ``current`` pointer."""
        if not self.model_dir.is_dir():
            return
        try:
            current = active_version(self.model_dir)
        except ModelLoadError:
            current = None
        with self.store.session() as s:
            known = set(s.scalars(select(ClassifierModelRow.version)))
            for d in sorted(self.model_dir.iterdir()):
                if d.name.startswith(".") or d.name in known or not (d / META_FILE).is_file():
                    continue
                try:
                    model = load_model(d)
                except ModelLoadError as exc:
                    log.warning("model registry: skipping %s: %s", d, exc)
                    continue
                self._upsert(s, model.version, model.meta.created_at, model, d)
            s.execute(
                update(ClassifierModelRow).values(
                    active=ClassifierModelRow.version == (current or "")
                )
            )

    def promote(self, version: str, actor: str = "cli", action: str = "promote") -> str:
        """Make ``version`` the serving model; returns the version that was active before.

        The version is loaded first (with the deployment's taxonomy), so a damaged
        or incompatible model is refused and the service keeps what it has.
        """
        self.sync()
        path = self.model_dir / version
        if not (path / META_FILE).is_file():
            raise RegistryError(
                f"{self.model_dir} 中没有模型版本 {version!r} / "
                f"no model version {version!r} in {self.model_dir}"
            )
        try:
            load_model(path, taxonomy=self.taxonomy)
        except ModelLoadError as exc:
            zh, en = halves(exc)
            raise RegistryError(
                f"不能启用 {version}：{zh} / refusing to promote {version}: {en}"
            ) from None
        previous = active_version(self.model_dir)
        with self.store.session() as s:
            s.add(
                ClassifierActivation(
                    version=version, previous=previous, at=self.clock(), actor=actor, action=action
                )
            )
            s.execute(
                update(ClassifierModelRow).values(active=ClassifierModelRow.version == version)
            )
            # The pointer last, inside the transaction: if it fails nothing is recorded.
            set_active(self.model_dir, version)
        return previous or ""

    def rollback(self, actor: str = "cli") -> tuple[str, str]:
        """Re-activate the version that was active before the current one.

        Returns (from, to). Walks the activation history, skipping versions whose
        files are gone.
        """
        self.sync()
        current = active_version(self.model_dir)
        if current is None:
            raise RegistryError("当前没有启用的模型，无从回滚 / no active model to roll back from")
        with self.store.session() as s:
            history = list(
                s.scalars(select(ClassifierActivation).order_by(ClassifierActivation.id.desc()))
            )
        # The promotion that made the current version active (a rollback row is not
        # one: rolling back twice walks v3 -> v2 -> v1, not back and forth).
        for act in history:
            if act.version != current or act.action == "rollback":
                continue
            prev = act.previous
            if prev and prev != current and (self.model_dir / prev / META_FILE).is_file():
                self.promote(prev, actor=actor, action="rollback")
                return current, prev
            break
        raise RegistryError(
            f"{current} 之前没有启用过其他版本，无从回滚 / "
            f"no earlier version recorded before {current}"
        )

    # ----------------------------------------------------------------- read
    def versions(self) -> list[VersionInfo]:
        self.sync()
        with self.store.session() as s:
            rows = list(
                s.scalars(select(ClassifierModelRow).order_by(ClassifierModelRow.created_at))
            )
            return [
                VersionInfo(
                    version=r.version,
                    created_at=r.created_at.isoformat(),
                    data_hash=r.data_hash,
                    metrics=dict(r.metrics or {}),
                    params=dict(r.params or {}),
                    active=r.active,
                    path=r.path,
                    on_disk=(Path(r.path) / META_FILE).is_file(),
                    **_data_of(Path(r.path)),
                )
                for r in rows
            ]


def _data_of(path: Path) -> dict[str, Any]:
    """The provenance fields of VersionInfo, read from the version's directory."""
    try:
        prov = read_provenance(path)
    except ProvenanceError as exc:
        return {"data": f"训练数据记录损坏: {exc}"}
    if prov is None:
        return {"data": describe_version(path)}
    return {"data": prov.describe(), "synthetic": prov.synthetic, "provenance": prov.to_dict()}


class ServingModel:
    """The active model for a long-running process, reloaded when ``current`` changes.

    Delegates everything else to the loaded :class:`TrainedModel`. A version that
    fails to load is logged and the previous model keeps serving.
    """

    def __init__(
        self,
        model: TrainedModel,
        model_dir: Path,
        taxonomy: TaxonomyFile | None,
        uncertain_below: float,
        *,
        check_every: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._model = model
        self._dir = Path(model_dir)
        self._taxonomy = taxonomy
        self._uncertain_below = uncertain_below
        self._check_every = check_every
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._stamp = self._pointer_stamp()
        self._next_check = monotonic() + check_every
        self._failed: tuple[int, int, int] | None = None

    def _pointer_stamp(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self._dir / POINTER)
        except FileNotFoundError:
            return (0, 0, 0)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def current(self) -> TrainedModel:
        """The model to use now (checks the pointer at most every ``check_every`` s)."""
        now = self._monotonic()
        if now < self._next_check:
            return self._model
        with self._lock:
            self._next_check = now + self._check_every
            stamp = self._pointer_stamp()
            if stamp != self._stamp and stamp != self._failed:
                self.reload(stamp)
        return self._model

    def reload(self, stamp: tuple[int, int, int] | None = None) -> bool:
        stamp = stamp or self._pointer_stamp()
        try:
            model = load_active(self._dir, self._taxonomy, self._uncertain_below)
        except ModelLoadError as exc:
            log.error("active model changed but cannot be loaded; keeping %s: %s",
                      self._model.version, exc)  # fmt: skip
            self._failed = stamp
            return False
        if model is None:
            return False
        if model.version != self._model.version:
            log.info("classifier model %s -> %s", self._model.version, model.version)
        self._model, self._stamp, self._failed = model, stamp, None
        return True

    @property
    def version(self) -> str:
        return self.current().version

    def classify(
        self, title: str, text: str, *, likes: int = 0, replies: int = 0
    ) -> Classification:
        return self.current().classify(title, text, likes=likes, replies=replies)

    def classify_many(
        self,
        titles: Sequence[str],
        texts: Sequence[str],
        *,
        likes: Sequence[int] | None = None,
        replies: Sequence[int] | None = None,
    ) -> list[Classification]:
        return self.current().classify_many(titles, texts, likes=likes, replies=replies)

    def classify_posts(self, posts: Sequence[CrawledPost]) -> list[Classification]:
        return self.current().classify_posts(posts)

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes not defined here: meta, tokenizer, categories, ...
        return getattr(self.current(), name)
