"""Scrapy statistics (STATS_CLASS) that add up over every worker of a round."""

from __future__ import annotations

from typing import Any

from scrapy.statscollectors import MemoryStatsCollector


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
