"""A crawler worker whose store fails its first few batches, for the test that the
pages behind a failed batch are fetched again rather than acknowledged.

``python tests/distributed/flaky_worker.py CONFIG_DIR REDIS_URL FAILURES`` crawls until
a round finishes, then prints the URLs stored (one JSON line) and stops itself.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import datetime
from typing import Any

from crawler.distributed import WorkerOptions, run_worker
from crawler.runner import CrawlStats
from crawler.sinks import MemorySink
from yuqing.contracts import CrawledPost
from yuqing.settings import load_config


class FlakySink(MemorySink):
    """Refuses the first ``failures`` posts it is given (a store that is away)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def accept(self, post: CrawledPost) -> bool:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("store away")
        return super().accept(post)

    def reject(self, letter: Any) -> None:
        if self.failures > 0:
            raise ConnectionError("store away")
        super().reject(letter)


def main() -> None:
    directory, redis_url, failures = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = load_config(directory, {**os.environ, "YUQING_REDIS_URL": redis_url})
    sink = FlakySink(failures)

    def finished(source: str, stats: CrawlStats, started: datetime | None) -> None:
        urls = sorted({p.url for p in sink.posts if p.url})
        letters = [d.stage for d in sink.dead_letters]
        print(json.dumps({"urls": urls, "dead_letters": letters, "pages": stats.pages}), flush=True)
        os.kill(os.getpid(), signal.SIGTERM)

    run_worker(config, sink, WorkerOptions(sources=["dist-board-first-page"]), finished)


if __name__ == "__main__":
    main()
