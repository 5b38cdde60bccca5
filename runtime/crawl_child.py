"""Child process for one crawl: `python -m runtime.crawl_child --source NAME`.

Prints the crawl's statistics as one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="runtime.crawl_child")
    parser.add_argument("--source", required=True)
    parser.add_argument("--demo-url", default=None)
    args = parser.parse_args(argv)

    from crawler.runner import run_crawl
    from runtime.ingest import open_sink
    from yuqing.settings import load_config, resolve_config_dir

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    config = load_config(resolve_config_dir(None, os.environ), os.environ)
    source = config.source(args.source)
    sink = open_sink(config, demo_url=args.demo_url)
    try:
        stats = run_crawl(config, source, sink, demo_url=args.demo_url, clock=sink.app.clock)
    finally:
        sink.close()
    print(json.dumps(asdict(stats), default=str), flush=True)
    if sink.unavailable is not None:  # stopped unfinished: the parent records a failure
        print(f"crawl stopped, nothing stored: {sink.unavailable}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
