"""The worker's spiders: a yuqing spider whose requests come from the frontier, which
stays open when idle, acknowledges leases once their posts are stored, and starts and
ends rounds (the crawl state is the round's)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import redis
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall, deferLater
from twisted.python.failure import Failure

from crawler.distributed.frontier import ROUND_KEEP_SECONDS, Frontier
from crawler.distributed.stats import RoundStats
from crawler.runner import CrawlStats, spider_for
from crawler.spiders.base import SourceSpider
from yuqing.contracts import CrawledPost, DeadLetter, Outcome, PostSink

if TYPE_CHECKING:
    from yuqing.settings import Source

log = logging.getLogger(__name__)

STORE_BACKOFF_SECONDS = 5.0  # a worker whose store failed takes no requests this long


class StatelessSink:
    """The store sink as a worker's spider sees it: its crawl state is empty and saved
    nowhere (in a worker the crawl state belongs to the round, saved when a round
    starts and ends), and it tells the spider when the store failed, so that the
    pages behind the failure go back to the queue rather than being acknowledged."""

    def __init__(self, sink: PostSink) -> None:
        self._sink = sink
        self.failed = False  # since the spider last looked

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:
            self.failed = True
            raise

    def accept(self, post: CrawledPost) -> Outcome:
        return cast(Outcome, self._call(self._sink.accept, post))

    def accept_many(self, posts: Sequence[CrawledPost]) -> list[Outcome]:
        return list(self._call(self._sink.accept_many, posts))

    def reject(self, letter: DeadLetter) -> None:
        self._call(self._sink.reject, letter)

    def seen(self, source: str, url: str) -> bool:
        return bool(self._call(self._sink.seen, source, url))

    def load_state(self, source: str) -> dict[str, Any]:
        return {}

    def save_state(self, source: str, state: dict[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None  # the worker closes the real sink once, at the end


RoundFinished = Callable[[str, CrawlStats, datetime | None], None]


class DistributedMixin:
    """Turns a yuqing spider into a worker's spider: requests come from the frontier,
    it stays open when idle, leases are acknowledged after their posts are stored.
    Parsing is the spider's own."""

    frontier: Frontier
    store: PostSink  # the real sink: the round keeps the crawl state in it
    round_id: int | None
    leased: dict[str, Request]
    on_round_finished: RoundFinished | None
    stopping: bool
    _loop: LoopingCall | None
    if TYPE_CHECKING:  # from SourceSpider, which this is mixed into
        source: Source
        crawler: Crawler
        before_close: list[Callable[[], None]]
        resuming: bool
        crawl_state: dict[str, Any]
        sink: Any

        def finish_state(self, state: dict[str, Any]) -> None: ...

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Any:
        frontier: Frontier = kwargs.pop("frontier")
        store = kwargs.pop("sink")
        on_round_finished = kwargs.pop("on_round_finished", None)
        source: Source = kwargs["source"]
        crawler.settings.set("SCHEDULER_QUEUE_KEY", frontier.queue_key(source.name), "spider")
        spider = super().from_crawler(crawler, *args, sink=StatelessSink(store), **kwargs)  # type: ignore[misc]
        spider.frontier = frontier
        spider.store = store
        spider.round_id = frontier.current_round(source.name)
        spider.leased = {}
        spider.on_round_finished = on_round_finished
        spider.stopping = False
        spider._loop = None
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        # nothing at start-up: a round's first requests come from its seed
        return
        yield

    # -- the loop: acknowledge finished requests, take seeds, wake the engine
    def _opened(self, spider: Any) -> None:
        self._slot()  # fail here, not in every tick, if Scrapy's engine changed
        self._set_round(self.round_id)
        self._loop = LoopingCall(self._tick)
        self._loop.start(0.25, now=True).addErrback(self._loop_failed)

    def _loop_failed(self, failure: Failure) -> None:
        log.error("%s: worker loop failed: %s", self.source.name, failure.getTraceback())

    def _idle(self, spider: Any) -> None:
        if not self.stopping:
            raise DontCloseSpider

    def _slot(self) -> Any:
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is None or not hasattr(slot, "inprogress"):
            raise RuntimeError("this Scrapy version's engine has no _slot.inprogress")
        return slot

    def _tick(self) -> None:
        try:
            self.frontier.maybe_reap()
            self.acknowledge()
            if not self.stopping and self._slot().closing is None:
                seed = self.frontier.lease_seed(self.source.name)
                if seed is not None:
                    deferred_from_coro(self._take_seed(*seed))
                self._slot().nextcall.schedule()  # take what other workers queued
        except redis.RedisError as exc:  # Redis away for a moment: try again next tick
            log.warning("%s: frontier unavailable: %s", self.source.name, exc)
        except Exception:  # keep the loop alive whatever one tick met
            log.exception("%s: worker tick failed", self.source.name)

    def acknowledge(self, everything: bool = False) -> None:
        """Acknowledge leased requests whose responses are fully processed (all of them
        when ``everything``, on close) once their posts are flushed to the store."""
        inprogress = self._slot().inprogress if not everything else set()
        done = [lease for lease, req in self.leased.items() if req not in inprogress]
        if not done:
            return
        sink = cast(StatelessSink, self.sink)
        try:
            for flush in self.before_close:
                flush()  # the sink pipeline's pending batch: the posts of these pages
        except Exception:
            sink.failed = True
        if sink.failed:  # some of these pages' posts (or links) may not be stored
            self.frontier.release(done)
            for lease in done:
                self.leased.pop(lease)
            sink.failed = False
            log.error(
                "%s: the store failed; %d pages go back to the queue, pausing %.0f s",
                self.source.name,
                len(done),
                STORE_BACKOFF_SECONDS,
            )
            self._pause(STORE_BACKOFF_SECONDS)
            return
        for lease in done:
            self.leased.pop(lease)
            self._ack(lease)

    def _pause(self, seconds: float) -> None:
        """Take no new requests for a while (the store is away: do not hammer the site)."""
        from twisted.internet import reactor

        engine = self.crawler.engine
        if engine is None or engine.paused:
            return
        engine.pause()
        deferLater(reactor, seconds, engine.unpause)

    def _ack(self, lease: str) -> None:
        round_id = self.round_id
        if round_id is None:
            return
        left = self.frontier.ack(lease, self.source.name, round_id)
        if left is not None and left <= 0:
            self._finish_round(round_id)

    def _set_round(self, round_id: int | None) -> None:
        if round_id != self.round_id and hasattr(self, "_validators"):
            self._validators = None  # a feed's validators are saved only from its own round
        self.round_id = round_id
        stats = self.crawler.stats
        if isinstance(stats, RoundStats):
            stats.server = self.frontier.server
            stats.round_key = (
                self.frontier.round_key(self.source.name, round_id)
                if round_id is not None
                else None
            )
        if round_id is not None:
            info = self.frontier.round_info(self.source.name, round_id)
            self.resuming = info.get("resuming") == "1"

    async def _begin_round(self, lease: str, round_id: int) -> None:
        """Take a seed: the source's crawl state from the store, then the spider's own
        start requests into the frontier, then acknowledge the seed."""
        name = self.source.name
        state = dict(self.store.load_state(name))
        resuming = bool(state.get("running"))
        if resuming:
            log.warning("%s: the last round did not finish; walking every page", name)
        state["running"] = True
        self.store.save_state(name, state)
        self.frontier.server.hset(
            self.frontier.round_key(name, round_id), "resuming", "1" if resuming else "0"
        )
        self.crawl_state = state
        self._set_round(round_id)
        async for request in super().start():  # type: ignore[misc]
            self.crawler.engine.crawl(request)
        self._ack(lease)

    async def _take_seed(self, lease: str, round_id: int) -> None:
        try:
            await self._begin_round(lease, round_id)
        except Exception:  # e.g. the store away: the seed goes back for a later try
            log.exception("%s: could not start round %d", self.source.name, round_id)
            self.frontier.release([lease])

    def _finish_round(self, round_id: int) -> None:
        name = self.source.name
        info = self.frontier.round_info(name, round_id)

        def n(key: str) -> int:
            return int(info.get(f"yuqing/{key}", 0))

        state = dict(self.store.load_state(name))
        self.finish_state(state)
        # the round's figures, over all workers (finish_state read this process's)
        state["last_run_productive"] = n("productive") > 0
        state["selector_miss"] = n("selector_miss") > 0
        state["running"] = False
        self.store.save_state(name, state)
        started = datetime.fromisoformat(info["started_at"]) if "started_at" in info else None
        took = time.time() - float(info.get("started_unix", time.time()))  # wall time, any clock
        stats = CrawlStats.from_counters(info, duration_s=round(took, 3), finish_reason="finished")
        pipe = self.frontier.server.pipeline()
        pipe.expire(self.frontier.round_key(name, round_id), ROUND_KEEP_SECONDS)
        pipe.delete(self.frontier.key(name, "seen", round_id))
        pipe.execute()
        log.info("%s: round %d finished: %s", name, round_id, stats)
        if self.on_round_finished is not None:
            self.on_round_finished(name, stats, started)

    def bad_entry(self, lease: str, data: str, exc: Exception) -> None:
        """A frontier entry no spider wrote: kept as a dead letter, then acknowledged."""
        name = self.source.name
        log.error("%s: unreadable frontier entry: %s", name, exc)
        self.store.reject(
            DeadLetter(
                stage="frontier",
                source=name,
                reason=f"unreadable frontier entry: {exc}",
                payload={"data": str(data)[:20_000]},
            )
        )
        self._ack(lease)

    def _closed(self, spider: Any, reason: str) -> None:
        """Graceful stop: Scrapy has let in-flight requests finish and flushed the sink
        pipeline; acknowledge them, and hand anything else back to the queue."""
        self.stopping = True
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        try:
            self.acknowledge(everything=True)
        except redis.RedisError as exc:
            log.error("%s: could not acknowledge on close: %s", self.source.name, exc)


_CLASSES: dict[type[SourceSpider], type[SourceSpider]] = {}


def worker_spider(source: Source) -> type[SourceSpider]:
    """The worker's spider class for ``source``: its usual spider with DistributedMixin."""
    base = spider_for(source)
    if base not in _CLASSES:
        _CLASSES[base] = type(f"Distributed{base.__name__}", (DistributedMixin, base), {})
    return _CLASSES[base]
