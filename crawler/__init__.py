"""The crawler stage: a Scrapy project, file imports of 12345 exports, and a demo site.

Everything here ends in :class:`yuqing.contracts.CrawledPost` (or a
:class:`~yuqing.contracts.DeadLetter`) handed to a :class:`~yuqing.contracts.PostSink`.
"""
