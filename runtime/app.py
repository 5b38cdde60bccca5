"""The running application: one place that builds each stage from the config.

Stages are created lazily so a command only pays for what it uses (the CLI's
`alerts list` needs no classifier).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from yuqing.bilingual import halves
from yuqing.clock import Clock, SystemClock, clock_from_spec
from yuqing.gazetteer import Gazetteer
from yuqing.settings import AppConfig

if TYPE_CHECKING:
    from alerts.routing import Router
    from index.base import SearchBackend
    from store.db import Store
    from yuqing.privacy import PrivacyKeys

log = logging.getLogger("yuqing")


@dataclass
class App:
    config: AppConfig
    clock: Clock = field(default_factory=SystemClock)
    demo_url: str | None = None
    _store: Store | None = None
    _index: SearchBackend | None = None
    _model: Any = None
    _gazetteer: Gazetteer | None = None
    _privacy: PrivacyKeys | None = None
    _metrics: Any = None
    _negativity: Any = False  # False: not looked for yet

    def __post_init__(self) -> None:
        # settings.clock names another clock (a soak's crawl child shares its parent's)
        if isinstance(self.clock, SystemClock) and self.config.settings.clock:
            self.clock = clock_from_spec(self.config.settings.clock)

    @property
    def store(self) -> Store:
        if self._store is None:
            from alerts.engine import sync_teams
            from store.db import Store

            self._store = Store(self.config.database_url, pool=self.config.settings.database_pool)
            with self._store.session() as s:
                sync_teams(s, self.config)
        return self._store

    @property
    def gazetteer(self) -> Gazetteer:
        if self._gazetteer is None:
            self._gazetteer = Gazetteer(self.config.areas)
        return self._gazetteer

    @property
    def router(self) -> Router:
        from alerts.routing import Router

        return Router(self.config.teams, self.gazetteer)

    def tokenize(self, text: str) -> list[str]:
        """The classifier's jieba tokeniser with the taxonomy's words, shared by the index."""
        from classifier.text import tokenize

        return tokenize(text, self.config.taxonomy)

    @property
    def index(self) -> SearchBackend:
        if self._index is None:
            from classifier.text import tokenizer_for
            from index import BackendError, open_backend

            def opened(create: bool) -> SearchBackend:
                return open_backend(
                    self.config.settings.index,
                    self.config.index_path,
                    # the shared tokeniser itself (not self.tokenize): it carries the
                    # segmenter key that lets the index reuse the classifier's tokens
                    tokenizer_for(self.config.taxonomy),
                    timezone=self.config.settings.timezone,
                    synonyms=self.config.directory / "synonyms.yaml",
                    create=create,
                )

            try:
                self._index = opened(create=True)
            except BackendError as exc:
                # A cluster away at start-up: posts queue in the outbox and the index
                # is created at its first use, as after any outage.
                log.warning("search index unreachable, opened without checking: %s", exc)
                self._index = opened(create=False)
        return self._index

    def model(
        self, progress: Callable[[str], None] | None = None, *, demo: bool | None = None
    ) -> Any:
        """The active classifier, a ServingModel that follows `yuqing classifier
        promote/rollback` while running.

        With no active model, only a demo run (``demo``, by default: this App serves
        the demo site) trains one, on the synthetic demo corpus, and records it as
        synthetic. Anywhere else it is a NoModelError saying how to train one: a
        deployment never starts silently on demo data.
        """
        if self._model is None:
            from classifier.bootstrap import ensure_model, load_active
            from classifier.persist import ModelLoadError
            from classifier.registry import ServingModel

            uncertain = self.config.settings.classifier.uncertain_below
            if self.demo_url is not None if demo is None else demo:
                from crawler.demo.corpus import labelled_examples

                model = ensure_model(
                    self.config.model_dir,
                    self.config.taxonomy,
                    labelled_examples,
                    uncertain,
                    progress=progress,
                    synthetic=True,
                )
            else:
                try:
                    model = load_active(self.config.model_dir, self.config.taxonomy, uncertain)
                except ModelLoadError as exc:
                    zh, en = halves(exc)
                    raise NoModelError(
                        f"启用中的模型无法使用：{zh}", f"the active model cannot be used: {en}"
                    ) from None
                if model is None:
                    where = self.config.model_dir
                    raise NoModelError(f"{where} 中没有分类模型", f"no classifier model in {where}")
            self._model = ServingModel(
                model, self.config.model_dir, self.config.taxonomy, uncertain
            )
        return self._model

    @property
    def privacy(self) -> PrivacyKeys:
        """Authors' pseudonym secret and the raw-text key (generated into var/ at first run)."""
        if self._privacy is None:
            from yuqing.privacy import load_keys

            p = self.config.settings.privacy
            self._privacy = load_keys(p.author_secret, p.raw_text_key, self.config.var_dir)
        return self._privacy

    def url_rewrite(self) -> Callable[[str], str] | None:
        """Demo URLs carry a new port each run; key them by a stable base instead."""
        base = self.demo_url
        if not base:
            return None
        return lambda url: DEMO_BASE + url[len(base) :] if url.startswith(base) else url

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def negativity(self) -> Any:
        """The negativity model (classifier/sentiment.py), or None when none was trained
        or the saved one cannot be read (logged once: posts are then stored unscored)."""
        if self._negativity is False:
            from classifier.sentiment import SentimentLoadError, load

            try:
                self._negativity = load(self.config.model_dir)
            except SentimentLoadError as exc:
                log.error("negativity model not used: %s", exc)
                self._negativity = None
        return self._negativity

    def loaded_model(self) -> Any:
        """The classifier already in memory (None until :meth:`model` loads one)."""
        return self._model

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """For /readyz: the store, its migrations, the index and the model answer."""
        from runtime.observability import readiness

        return readiness(self)

    def metrics(self) -> bytes:
        """For /metrics: the store's figures as Prometheus text (one registry per App)."""
        from runtime.observability import metrics_registry, render_metrics

        if self._metrics is None:
            self._metrics = metrics_registry(self)
        return render_metrics(self._metrics)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None
        if self._store is not None:
            self._store.close()
            self._store = None


DEMO_BASE = "http://demo.yuqing.invalid"

TRAIN_HINT_ZH = (
    "请用 `yuqing init --train FILE` 在标注好的文件上训练一个（JSONL 或 CSV，含 text 和 "
    "category 两列），或用 `yuqing init --demo` 或 `yuqing run --demo` 先试用演示"
    "（模型在合成的演示帖子上训练）"
)
TRAIN_HINT = (
    "train one on a labelled file with `yuqing init --train FILE` (JSONL or CSV with "
    "text and category columns), or try the demo with `yuqing init --demo` / "
    "`yuqing run --demo` (a model trained on synthetic demo posts)"
)


class NoModelError(click.ClickException):
    """No usable classifier outside a demo run: one line saying how to get one, exit 2."""

    exit_code = 2

    def __init__(self, problem_zh: str, problem: str) -> None:
        super().__init__(f"{problem_zh}；{TRAIN_HINT_ZH} / {problem}; {TRAIN_HINT}")
