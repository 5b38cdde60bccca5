"""The duplicate filter (DUPEFILTER_CLASS) of a worker: the queue filters instead."""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.dupefilters import BaseDupeFilter


class RoundDupeFilter(BaseDupeFilter):
    """DUPEFILTER_CLASS: lets everything through to :meth:`LeasedQueue.push`, which
    filters against the round's set of fingerprints in the same step as it queues
    (scrapy-redis marks first and queues after: a page lost if a worker dies between)."""

    @classmethod
    def from_spider(cls, spider: Any) -> RoundDupeFilter:
        return cls()

    def request_seen(self, request: Request) -> bool:
        return False
