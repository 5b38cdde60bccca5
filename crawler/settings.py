"""Scrapy settings for the yuqing crawler (the module scrapy.cfg names).

Politeness defaults come from :class:`yuqing.settings.CrawlerSettings`, their
one home; a deployment's ``settings.yaml`` overrides them when the spider
starts (see :func:`crawler.config.scrapy_settings`). ``-s NAME=VALUE`` on the
command line still wins.
"""

from crawler.config import scrapy_settings
from yuqing.settings import CrawlerSettings

BOT_NAME = "yuqing"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

DOWNLOADER_MIDDLEWARES = {
    # after HttpCompression (590) so it sees the decompressed body
    "crawler.middlewares.EncodingMiddleware": 600,
}
ITEM_PIPELINES = {
    "crawler.pipelines.NormalisePipeline": 300,
    "crawler.pipelines.DeadLetterPipeline": 400,
    "crawler.pipelines.SinkPipeline": 500,
}

# dotted path of `factory(config: AppConfig) -> PostSink`, used by `scrapy crawl`
# (run_crawl passes its sink in directly)
YUQING_SINK_FACTORY = "runtime.ingest.open_sink"

FEED_EXPORT_ENCODING = "utf-8"
# no listening consoles in a service that runs unattended
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"

globals().update(scrapy_settings(CrawlerSettings()))
