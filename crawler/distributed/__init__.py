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

Modules: ``scripts`` (the Lua steps), ``frontier`` (the Redis keys and the atomic
steps on them, rounds, leases, heartbeats), ``queue``, ``dupefilter``, ``stats`` and
``middleware`` (the Scrapy components a worker's settings name), ``spider`` (a
yuqing spider turned into a worker's: the loop that acknowledges, takes seeds and
ends rounds) and ``worker`` (the worker process and its settings).
"""

from crawler.distributed.frontier import Frontier, enqueue_source
from crawler.distributed.worker import (
    WorkerOptions,
    frontier_status,
    run_worker,
    worker_sources,
)

__all__ = [
    "Frontier",
    "WorkerOptions",
    "enqueue_source",
    "frontier_status",
    "run_worker",
    "worker_sources",
]
