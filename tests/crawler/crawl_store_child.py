"""Run real crawls of several sources in one child process, through the normal path:
config files -> App -> Scrapy (settings, middlewares, item pipelines) -> Ingestor ->
store, each run recorded in crawl_runs as ``yuqing crawl`` records it.

    python crawl_store_child.py SPEC.json

SPEC: ``{config_dir, env, sources: [name, ...], out}``; ``out`` receives each
source's statistics. One reactor serves every source (the reactor cannot restart,
and one child per source would cost most of the test's time).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from crawler.runner import run_crawls
from runtime.app import App
from runtime.ingest import Ingestor
from runtime.jobs import CrawlOutcome, record_crawl
from yuqing.settings import load_config


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    config = load_config(spec["config_dir"], spec.get("env") or {})
    app = App(config)
    started = app.now()
    try:
        stats = run_crawls(
            config,
            [config.source(name) for name in spec["sources"]],
            lambda source: Ingestor(app),  # one sink per crawl; the App is shared
            clock=app.clock,
            scrapy_overrides={"LOG_LEVEL": "WARNING"},
        )
        for name, st in stats.items():
            record_crawl(app, CrawlOutcome(name, True, dataclasses.asdict(st), None, started))
    finally:
        app.close()
    out = {name: dataclasses.asdict(st) for name, st in stats.items()}
    Path(spec["out"]).write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
