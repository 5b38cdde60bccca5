"""A source's crawl state: what an incremental crawl remembers between runs.

The sink keeps it (the store's ``sources.state`` for the real pipeline), so it
survives restarts. Keys the crawler uses:

``running``
    True from the start of a crawl until it finishes cleanly. A crawl that
    finds it still True knows the previous one was killed and walks every list
    page instead of stopping at the first page it has seen, so nothing the
    killed crawl missed is lost.
``etag`` / ``last_modified``
    A feed's validators, sent back as If-None-Match / If-Modified-Since. Saved
    only when a crawl finishes cleanly: every entry is stored by then.
``last_run_productive`` / ``selector_miss``
    Whether the last clean crawl found anything (links, entries, a 304), and
    whether configured selectors matched nothing on a page that returned 200.
``bad_runs`` / ``health``
    Kept by ``runtime.jobs.record_crawl``: consecutive failed or empty crawls,
    and the verdict drawn from them (an alert to the owner team when unhealthy).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class CrawlStateStore(Protocol):
    """Optional sink capability: a JSON-able dict per source that outlives the process."""

    def load_state(self, source: str) -> dict[str, Any]: ...

    def save_state(self, source: str, state: dict[str, Any]) -> None: ...


class NoState:
    """For sinks that keep no state: every crawl starts afresh."""

    def load_state(self, source: str) -> dict[str, Any]:
        return {}

    def save_state(self, source: str, state: dict[str, Any]) -> None:
        return None


def state_store(sink: object) -> CrawlStateStore:
    return sink if isinstance(sink, CrawlStateStore) else NoState()
