"""Run one real crawl in a child process (the reactor cannot restart) and write
what the sink received to a JSON file.

    python crawl_child.py SPEC.json

SPEC: ``{config_dir, env?, source, demo_url?, seen?: [[source, url]], state?: {source: {...}},
crawler?: {setting: value}, out}``; the output holds stats, posts, dead letters and
the crawl state the sink was left with.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from crawler.runner import run_crawl
from crawler.sinks import MemorySink, to_json
from yuqing.settings import load_config


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    config = load_config(spec["config_dir"], spec.get("env") or {})
    # no politeness delays against our own loopback server
    overrides = {"download_delay": 0, "autothrottle": False, **spec.get("crawler", {})}
    fast = config.settings.crawler.model_copy(update=overrides)
    config = dataclasses.replace(
        config, settings=config.settings.model_copy(update={"crawler": fast})
    )
    sink = MemorySink(seen=[tuple(s) for s in spec.get("seen", [])], state=spec.get("state"))
    stats = run_crawl(
        config,
        config.source(spec["source"]),
        sink,
        demo_url=spec.get("demo_url"),
        scrapy_overrides={"LOG_LEVEL": "WARNING"},
    )
    out = {
        "stats": dataclasses.asdict(stats),
        "posts": [to_json(p) for p in sink.posts],
        "dead_letters": [to_json(d) for d in sink.dead_letters],
        "state": sink.state,
    }
    Path(spec["out"]).write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
