"""The shared frontier of a deployment: its Redis keys and the atomic steps on them
(rounds, the queue, leases, heartbeats, the shared per-domain delay)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import redis

from crawler.distributed import scripts
from crawler.runner import spider_for

if TYPE_CHECKING:
    from yuqing.settings import AppConfig

log = logging.getLogger(__name__)

ROUND_KEEP_SECONDS = 7 * 86400  # finished rounds stay readable (status) this long


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
        self._push = server.register_script(scripts.PUSH)
        self._lease_z = server.register_script(scripts.LEASE_Z)
        self._lease_seed = server.register_script(scripts.LEASE_SEED)
        self._ack = server.register_script(scripts.ACK)
        self._release = server.register_script(scripts.RELEASE)
        self._seed = server.register_script(scripts.SEED)
        self._reserve = server.register_script(scripts.RESERVE)
        self._last_reap = 0.0
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    @classmethod
    def from_config(cls, config: AppConfig, worker_id: str | None = None) -> Frontier:
        c = config.settings.crawler
        if not c.redis_url:
            raise ValueError(
                "分布式采集需要在 settings.yaml 中设置 crawler.redis_url（或环境变量 "
                "YUQING_REDIS_URL）/ "
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
