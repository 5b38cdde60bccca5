"""The scheduler's queue (SCHEDULER_QUEUE_CLASS): scrapy-redis's priority queue whose
pop leases a request from the frontier instead of removing it."""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy_redis.queue import Base as RedisQueueBase  # type: ignore[import-untyped]

from crawler.distributed.frontier import Frontier
from crawler.frontier_codec import FrontierDataError

LEASE_META = "yuqing_lease"  # set on a request taken from the frontier, never stored there


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
