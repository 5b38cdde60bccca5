"""Distributed crawling: ``yuqing crawler-worker`` processes sharing one frontier in Redis.

scrapy-redis supplies the scheduler (requests kept in Redis, so any worker may
take any request) and the request (de)serialisation; this module adds what it
leaves out and a system of record needs:

Rounds
    A crawl of a source is a *round*. :func:`enqueue_source` opens one (refused
    while the source's previous round still has work) and pushes a seed; the
    worker that takes the seed loads the source's crawl state from the store and
    runs the spider's own ``start()`` into the frontier. Every request belongs to
    the round open when it was pushed; the round's duplicate filter is a Redis set
    of its own, so a page is fetched once per round by whichever worker, and the
    next round reads the list pages again. Already-stored posts are skipped as in
    a single-process crawl (``sink.seen``, the store's post sightings).
Leases
    Taking a request moves it, atomically, into the worker's lease hash; it is
    acknowledged only after its response was parsed and the posts it yielded are
    in the store. A worker that stops heart-beating for ``worker_lease_seconds``
    (killed; the heartbeat runs in a thread, so a busy reactor still beats) is
    presumed dead and any other worker puts its leased requests back in the
    queue: those pages -- in flight, or parsed and stored but not yet
    acknowledged (acks go out every quarter second) -- are fetched again, and
    the store's upsert by stable key makes the second copy change nothing.
    SIGTERM/SIGINT lets in-flight requests finish and acknowledges them; a second
    signal stops at once and leaves the rest to the lease timeout.
Round end
    Each round counts its pending requests; the worker whose acknowledgement
    takes the count to zero saves the crawl state (feed validators, health keys,
    ``running`` false) and reports the round's statistics (``on_round_finished``:
    a ``crawl_runs`` row, as the child-process crawl writes).

Politeness over several workers: robots.txt is obeyed by every worker (each
fetches it once per source). ``download_delay`` holds over all workers together:
:class:`SharedDelayMiddleware` reserves each request's send time in Redis, one
per delay per domain (the per-process delay is switched off so it does not count
twice). ``concurrent_requests_per_domain`` and AutoThrottle stay per process
(scrapy-redis shares neither), so N workers may hold up to N times that many
connections to one site, still spaced by the shared delay.

Scrapy internals relied on: the engine's ``_slot.inprogress`` (a request leaves
it only after its callback's items went through the item pipelines), checked when
each spider opens, with a clear error in the log if a Scrapy upgrade removes it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import redis
from scrapy import Request, signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.dupefilters import BaseDupeFilter
from scrapy.exceptions import DontCloseSpider, ScrapyDeprecationWarning
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy_redis.queue import Base as RedisQueueBase  # type: ignore[import-untyped]
from twisted.internet.task import LoopingCall, deferLater
from twisted.python.failure import Failure

from crawler.frontier_codec import FrontierDataError
from crawler.runner import CrawlStats, spider_for
from crawler.spiders.base import SourceSpider
from yuqing.contracts import CrawledPost, DeadLetter

if TYPE_CHECKING:
    from yuqing.settings import AppConfig, Source

log = logging.getLogger("crawler.distributed")

LEASE_META = "yuqing_lease"  # set on a request taken from the frontier, never stored there
ROUND_KEEP_SECONDS = 7 * 86400  # finished rounds stay readable (status) this long
STORE_BACKOFF_SECONDS = 5.0  # a worker whose store failed takes no requests this long

# -- Redis scripts: each step that must not be split between workers is one script

# queue a request unless its round has seen it (ARGV[3] '' = dont_filter): one step, so a
# worker dying between marking a page seen and queueing it cannot lose the page
_PUSH = """
if ARGV[3] ~= '' then
  if redis.call('SADD', KEYS[3], ARGV[3]) == 0 then return 0 end
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
if redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'pending', 1)
  return 1
end
return 0
"""
# take the first request of a queue into this worker's leases; with the round it is in
_LEASE_Z = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({q=KEYS[1], s=r[2], d=r[1]}))
return {r[1], redis.call('GET', KEYS[3]) or ''}
"""
_LEASE_SEED = """
local d = redis.call('LPOP', KEYS[1])
if not d then return false end
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({q=KEYS[1], d=d}))
return d
"""
_ACK = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return -1 end
return redis.call('HINCRBY', KEYS[2], 'pending', -1)
"""
# put leases back where they came from: the queue (scored) or the seed list
_RELEASE = """
local n = 0
local fields = ARGV
if #ARGV == 0 then
  fields = {}
  local all = redis.call('HKEYS', KEYS[1])
  for i = 1, #all do fields[i] = all[i] end
end
for i = 1, #fields do
  local v = redis.call('HGET', KEYS[1], fields[i])
  if v then
    local l = cjson.decode(v)
    if l.s then redis.call('ZADD', l.q, 'NX', l.s, l.d) else redis.call('LPUSH', l.q, l.d) end
    redis.call('HDEL', KEYS[1], fields[i])
    n = n + 1
  end
end
return n
"""
_SEED = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local p = tonumber(redis.call('HGET', ARGV[1] .. cur, 'pending') or '0')
  if p > 0 then return {0, tonumber(cur)} end
end
local n = redis.call('INCR', KEYS[2])
redis.call('HSET', ARGV[1] .. n, 'pending', 1, 'started_at', ARGV[2], 'started_unix', ARGV[3])
redis.call('SET', KEYS[1], n)
redis.call('RPUSH', KEYS[3], tostring(n))
return {1, n}
"""
# next time a request may go to a domain: one per `delay` over all workers
_RESERVE = """
local now = tonumber(ARGV[1])
local at = tonumber(redis.call('GET', KEYS[1]) or '0')
if at < now then at = now end
redis.call('SET', KEYS[1], at + tonumber(ARGV[2]), 'PX', math.ceil((at - now + tonumber(ARGV[2])) * 1000) + 1000)
return tostring(at - now)
"""


class Frontier:
    """The shared frontier of one deployment: its Redis keys and the atomic steps on them.

    One instance per process; ``worker_id`` names this process's leases.
    """

    def __init__(
        self,
        server: redis.Redis,
        prefix: str = "yuqing:crawl",
        lease_seconds: float = 30.0,
        worker_id: str | None = None,
    ) -> None:
        self.server = server
        self.prefix = prefix
        self.lease_seconds = lease_seconds
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._push = server.register_script(_PUSH)
        self._lease_z = server.register_script(_LEASE_Z)
        self._lease_seed = server.register_script(_LEASE_SEED)
        self._ack = server.register_script(_ACK)
        self._release = server.register_script(_RELEASE)
        self._seed = server.register_script(_SEED)
        self._reserve = server.register_script(_RESERVE)
        self._last_reap = 0.0
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    @classmethod
    def from_config(cls, config: AppConfig, worker_id: str | None = None) -> Frontier:
        c = config.settings.crawler
        if not c.redis_url:
            raise ValueError(
                "distributed crawling needs settings.crawler.redis_url (or YUQING_REDIS_URL)"
            )
        server = redis.Redis.from_url(c.redis_url, decode_responses=True)
        return cls(server, c.redis_key_prefix, c.worker_lease_seconds, worker_id)

    # -- keys
    def key(self, *parts: object) -> str:
        return ":".join([self.prefix, *(str(p) for p in parts)])

    def queue_key(self, source: str) -> str:
        return self.key(source, "requests")

    def round_key(self, source: str, round_id: int) -> str:
        return self.key(source, "round", round_id)

    @property
    def leases_key(self) -> str:
        return self.key("leases", self.worker_id)

    # -- seeding
    def seed(self, source: str, now: datetime | None = None) -> int | None:
        """Open a new round of ``source`` and queue its seed; None while the previous
        round still has pending work (one round of a source at a time)."""
        started = (now or datetime.now(UTC)).isoformat()
        keys = [self.key(source, "round"), self.key(source, "rounds"), self.key(source, "seeds")]
        args: list[str | float] = [self.key(source, "round", ""), started, time.time()]
        opened, round_id = self._seed(keys=keys, args=args)
        return int(round_id) if opened else None

    def current_round(self, source: str) -> int | None:
        value = self.server.get(self.key(source, "round"))
        return int(value) if value else None

    def round_info(self, source: str, round_id: int) -> dict[str, str]:
        return cast(dict[str, str], self.server.hgetall(self.round_key(source, round_id)))

    # -- queue
    def push(
        self, source: str, data: str, score: float, round_id: int, fingerprint: str = ""
    ) -> bool:
        """Queue a request of round ``round_id``; False when the round already had one
        with this ``fingerprint`` (none: never filtered)."""
        keys = [
            self.queue_key(source),
            self.round_key(source, round_id),
            self.key(source, "seen", round_id),
        ]
        return bool(self._push(keys=keys, args=[score, data, fingerprint, ROUND_KEEP_SECONDS]))

    def lease(self, source: str) -> tuple[str, str, int | None] | None:
        """Take the next request of ``source``: (lease id, request data, its round)."""
        lease_id = uuid.uuid4().hex
        got = self._lease_z(
            keys=[self.queue_key(source), self.leases_key, self.key(source, "round")],
            args=[lease_id],
        )
        if not got:
            return None
        data, round_id = got
        return lease_id, data, int(round_id) if round_id else None

    def lease_seed(self, source: str) -> tuple[str, int] | None:
        lease_id = uuid.uuid4().hex
        data = self._lease_seed(keys=[self.key(source, "seeds"), self.leases_key], args=[lease_id])
        return (lease_id, int(data)) if data is not None else None

    def ack(self, lease_id: str, source: str, round_id: int) -> int | None:
        """Done with a leased request: its round's pending count after this, or None
        when the lease was no longer ours (presumed dead, handed to another worker)."""
        left = int(
            self._ack(keys=[self.leases_key, self.round_key(source, round_id)], args=[lease_id])
        )
        return None if left < 0 else left

    def release(self, lease_ids: list[str] | None = None, worker_id: str | None = None) -> int:
        """Put leased requests back in their queue (all of a worker's when no ids)."""
        key = self.key("leases", worker_id) if worker_id else self.leases_key
        return int(self._release(keys=[key], args=lease_ids or []))

    def pending(self, source: str) -> int:
        """Requests of ``source`` queued, seeded or leased by any worker (status, tests)."""
        round_id = self.current_round(source)
        if round_id is None:
            return 0
        return int(self.server.hget(self.round_key(source, round_id), "pending") or 0)

    # -- workers
    def heartbeat(self) -> None:
        """Say this worker is alive for another ``lease_seconds``."""
        self.server.sadd(self.key("workers"), self.worker_id)
        self.server.set(self.key("worker", self.worker_id), "1", px=int(self.lease_seconds * 1000))

    def start_heartbeat(self) -> None:
        """Beat from a thread of its own, so a reactor busy storing a batch (or waiting
        on a database lock) is not taken for dead; only a dead process stops beating."""
        self.heartbeat()
        self._stop.clear()

        def beat() -> None:
            while not self._stop.wait(self.lease_seconds / 4):
                try:
                    self.heartbeat()
                except redis.RedisError as exc:
                    log.warning("heartbeat failed: %s", exc)

        self._beat = threading.Thread(target=beat, name="frontier-heartbeat", daemon=True)
        self._beat.start()

    def maybe_reap(self) -> int:
        """Return the leases of dead workers, at most every ``lease_seconds / 3``."""
        now = time.monotonic()
        if now - self._last_reap < self.lease_seconds / 3:
            return 0
        self._last_reap = now
        return self.reap()

    def reap(self) -> int:
        returned = 0
        for worker in cast(set[str], self.server.smembers(self.key("workers"))):
            if worker == self.worker_id or self.server.exists(self.key("worker", worker)):
                continue
            n = self.release(worker_id=worker)
            self.server.srem(self.key("workers"), worker)
            if n:
                log.warning(
                    "worker %s is gone: %d of its requests are back in the queue", worker, n
                )
            returned += n
        return returned

    def leave(self) -> int:
        """On stopping: return whatever is still leased, and sign off."""
        self._stop.set()
        n = self.release()
        self.server.delete(self.key("worker", self.worker_id))
        self.server.srem(self.key("workers"), self.worker_id)
        return n

    def workers(self) -> list[str]:
        return sorted(cast(set[str], self.server.smembers(self.key("workers"))))

    # -- politeness
    def reserve(self, domain: str, delay: float) -> float:
        """Seconds to wait before sending a request to ``domain`` (shared by all workers)."""
        now = time.time()
        return float(self._reserve(keys=[self.key("domain", domain)], args=[now, delay]))

    def clear(self) -> int:
        """Delete every key under the prefix (tests, or a reset of a stuck deployment)."""
        keys = list(self.server.scan_iter(match=f"{self.prefix}:*", count=500))
        return int(self.server.delete(*keys)) if keys else 0


def enqueue_source(config: AppConfig, source_name: str, now: datetime | None = None) -> int | None:
    """Seed a crawl of ``source_name`` into the shared frontier (what the scheduler calls
    when ``crawler.redis_url`` is set). The round number, or None while the source's
    previous round is still being crawled."""
    source = config.source(source_name)
    spider_for(source)  # fail here on a source no spider reads (e.g. kind file)
    frontier = Frontier.from_config(config)
    try:
        return frontier.seed(source.name, now)
    finally:
        frontier.server.close()


# -- Scrapy components: the scheduler's queue, duplicate filter and statistics


class LeasedQueue(RedisQueueBase):
    """scrapy-redis priority queue whose pop leases instead of removing (SCHEDULER_QUEUE_CLASS)."""

    def __init__(self, server: Any, spider: Any, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        self.frontier: Frontier = spider.frontier

    def __len__(self) -> int:
        return int(self.server.zcard(self.key))

    def _encode_request(self, request: Request) -> str:
        obj = request.to_dict(spider=self.spider)
        obj["meta"] = {k: v for k, v in obj["meta"].items() if k != LEASE_META}
        return str(self.serializer.dumps(obj))

    def push(self, request: Request) -> None:
        spider = self.spider
        if spider.round_id is None:
            raise RuntimeError(f"{spider.source.name}: a request outside any round: {request.url}")
        fingerprint = (
            ""
            if request.dont_filter
            else spider.crawler.request_fingerprinter.fingerprint(request).hex()
        )
        data = self._encode_request(request)
        if not self.frontier.push(
            spider.source.name, data, -request.priority, spider.round_id, fingerprint
        ):
            spider.crawler.stats.inc_value("dupefilter/filtered")

    def pop(self, timeout: int = 0) -> Request | None:
        spider = self.spider
        while True:
            got = self.frontier.lease(spider.source.name)
            if got is None:
                return None
            lease_id, data, round_id = got
            if round_id != spider.round_id:  # another worker opened a new round
                spider._set_round(round_id)
            try:
                request = self._decode_request(data)
            except (FrontierDataError, ValueError, TypeError, AttributeError) as exc:
                spider.bad_entry(lease_id, data, exc)
                continue
            request.meta[LEASE_META] = lease_id
            spider.leased[lease_id] = request
            return request

    def clear(self) -> None:
        # the frontier outlives every worker (SCHEDULER_PERSIST); never cleared from here
        return None


class RoundDupeFilter(BaseDupeFilter):
    """DUPEFILTER_CLASS: lets everything through to :meth:`LeasedQueue.push`, which
    filters against the round's set of fingerprints in the same step as it queues
    (scrapy-redis marks first and queues after: a page lost if a worker dies between)."""

    @classmethod
    def from_spider(cls, spider: Any) -> RoundDupeFilter:
        return cls()

    def request_seen(self, request: Request) -> bool:
        return False


class RoundStats(MemoryStatsCollector):
    """Scrapy stats that also count yuqing's figures into the current round's hash, so
    a round's statistics add up over every worker that took part (STATS_CLASS)."""

    round_key: str | None = None
    server: Any = None

    def inc_value(self, key: str, count: int = 1, start: int = 0, spider: Any = None) -> None:
        super().inc_value(key, count, start)
        if self.round_key is None:
            return
        if key.startswith("yuqing/"):
            self.server.hincrby(self.round_key, key, count)
        elif key.startswith("spider_exceptions/"):
            self.server.hincrby(self.round_key, "yuqing/errors", count)


class SharedDelayMiddleware:
    """Downloader middleware: ``download_delay`` between requests to a domain over all
    workers together, by reserving send times in Redis (the per-process delay is off)."""

    def __init__(self, crawler: Crawler, delay: float) -> None:
        self.crawler = crawler
        self.delay = delay

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedDelayMiddleware:
        return cls(crawler, crawler.settings.getfloat("YUQING_SHARED_DOWNLOAD_DELAY"))

    async def process_request(self, request: Request, spider: Any = None) -> None:
        frontier = getattr(self.crawler.spider, "frontier", None)
        if self.delay <= 0 or frontier is None or request.url.endswith("/robots.txt"):
            return None
        wait = frontier.reserve(urlsplit(request.url).hostname or "", self.delay)
        if wait > 0:
            from twisted.internet import reactor

            await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))
        return None


# -- the worker's spiders


class StatelessSink:
    """The store sink as a worker's spider sees it: without the crawl-state methods
    (in a worker the crawl state belongs to the round, saved when a round starts and
    ends), and telling the spider when the store failed, so that the pages behind
    the failure go back to the queue rather than being acknowledged."""

    def __init__(self, sink: Any) -> None:
        self._sink = sink
        self.failed = False  # since the spider last looked

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:
            self.failed = True
            raise

    def accept(self, post: CrawledPost) -> bool:
        return self._call(self._sink.accept, post)  # type: ignore[no-any-return]  # an Outcome

    def accept_many(self, posts: list[CrawledPost]) -> list[bool]:
        many = getattr(self._sink, "accept_many", None)
        if many is None:
            return [self.accept(p) for p in posts]
        return list(self._call(many, posts))

    def reject(self, letter: DeadLetter) -> None:
        self._call(self._sink.reject, letter)

    def seen(self, source: str, url: str) -> bool:
        return bool(self._call(self._sink.seen, source, url))

    def close(self) -> None:
        return None  # the worker closes the real sink once, at the end


RoundFinished = Callable[[str, CrawlStats, datetime | None], None]


class DistributedMixin:
    """Turns a yuqing spider into a worker's spider: requests come from the frontier,
    it stays open when idle, leases are acknowledged after their posts are stored.
    Parsing is the spider's own."""

    frontier: Frontier
    store: Any  # the real sink, with load_state/save_state
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


# -- the worker process


@dataclass(slots=True)
class WorkerOptions:
    sources: list[str] = field(default_factory=list)  # empty: every enabled crawlable source
    concurrency: int = 8  # requests in flight per source in this worker
    demo_url: str | None = None
    scrapy_overrides: dict[str, Any] = field(default_factory=dict)


def worker_sources(config: AppConfig, names: list[str]) -> list[Source]:
    if names:
        return [config.source(n) for n in names]
    return [s for s in config.sources.sources if s.enabled and s.kind in ("board", "feed", "api")]


def worker_settings(config: AppConfig, options: WorkerOptions) -> Settings:
    c = config.settings.crawler
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(
        {
            "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
            "SCHEDULER_PERSIST": True,
            "SCHEDULER_QUEUE_CLASS": "crawler.distributed.LeasedQueue",
            "SCHEDULER_SERIALIZER": "crawler.frontier_codec",
            "DUPEFILTER_CLASS": "crawler.distributed.RoundDupeFilter",
            "STATS_CLASS": "crawler.distributed.RoundStats",
            "REDIS_URL": c.redis_url,
            "CONCURRENT_REQUESTS": options.concurrency,
            "YUQING_SHARED_DOWNLOAD_DELAY": c.download_delay,
            "DOWNLOADER_MIDDLEWARES": {
                "crawler.middlewares.EncodingMiddleware": 600,
                # before the downloader itself, after robots.txt (100) and retries (550)
                "crawler.distributed.SharedDelayMiddleware": 950,
            },
        },
        priority="project",
    )
    settings.setdict(options.scrapy_overrides, priority="cmdline")
    return settings


def run_worker(
    config: AppConfig,
    sink: Any,
    options: WorkerOptions,
    on_round_finished: RoundFinished | None = None,
    frontier: Frontier | None = None,
) -> int:
    """Crawl the configured sources from the shared frontier until SIGTERM/SIGINT
    (the first lets in-flight requests finish; a second stops at once and leaves their
    leases to expire). Returns how many leases were handed back on the way out."""
    sources = worker_sources(config, options.sources)
    if not sources:
        raise ValueError("no sources for this worker (none enabled of kind board, feed or api)")
    # scrapy-redis 0.9 still passes `spider` to the stats collector: not ours to fix
    warnings.filterwarnings("ignore", category=ScrapyDeprecationWarning, module="scrapy_redis")
    frontier = frontier or Frontier.from_config(config)
    try:
        frontier.server.ping()
    except redis.RedisError as exc:
        raise ValueError(f"the frontier's Redis is unreachable: {exc}") from exc
    frontier.start_heartbeat()
    settings = worker_settings(config, options)
    process = CrawlerProcess(settings)
    for source in sources:
        crawler = process.create_crawler(worker_spider(source))
        # the shared delay replaces the per-process one (it would count twice)
        crawler.settings.set("DOWNLOAD_DELAY", 0, priority="cmdline")
        process.crawl(
            crawler,
            source=source,
            sink=sink,
            config=config,
            demo_url=options.demo_url,
            frontier=frontier,
            on_round_finished=on_round_finished,
        )
    log.info("worker %s crawling %s", frontier.worker_id, ", ".join(s.name for s in sources))
    try:
        process.start()
    finally:
        returned = frontier.leave()
    if returned:
        log.warning("handed %d unfinished requests back to the frontier", returned)
    return returned


def frontier_status(config: AppConfig) -> dict[str, Any]:
    """Queued and pending requests per source, and the live workers."""
    frontier = Frontier.from_config(config)
    try:
        out: dict[str, Any] = {"workers": frontier.workers(), "sources": {}}
        for source in worker_sources(config, []):
            round_id = frontier.current_round(source.name)
            info = frontier.round_info(source.name, round_id) if round_id is not None else {}
            out["sources"][source.name] = {
                "round": round_id,
                "queued": int(frontier.server.zcard(frontier.queue_key(source.name))),
                "pending": int(info.get("pending", 0)),
                "pages": int(info.get("yuqing/pages", 0)),
            }
        return out
    finally:
        frontier.server.close()


__all__ = [
    "Frontier",
    "LeasedQueue",
    "RoundDupeFilter",
    "RoundStats",
    "SharedDelayMiddleware",
    "WorkerOptions",
    "enqueue_source",
    "frontier_status",
    "run_worker",
    "worker_spider",
]
