"""The crawler stage: a Scrapy project, file imports of 12345 exports, and a demo site.

Everything here ends in :class:`yuqing.contracts.CrawledPost` (or a
:class:`~yuqing.contracts.DeadLetter`) handed to a :class:`~yuqing.contracts.PostSink`.
"""

# The stage's public face for other stages (alerts reads a stored post's extra):
# posts.extra[APPROX_KEY] is True when published_at is a representative hour of a
# day or part of a day (昨天下午, 3天前, a date without a time), absent when exact.
from crawler.items import APPROX_KEY, REPAIRED_KEY

__all__ = ["APPROX_KEY", "REPAIRED_KEY"]
