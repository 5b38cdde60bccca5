"""yuqing crawler-worker: crawl from the shared Redis frontier (distributed crawling)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any

import click

from runtime.cli import CliState, pass_state
from runtime.cli.i18n import _


def _names(value: str | None) -> list[str]:
    return [n.strip() for n in (value or "").split(",") if n.strip()]


def _check_sources(config: Any, names: list[str]) -> None:
    for name in names:
        try:
            config.source(name)
        except KeyError as exc:
            raise click.UsageError(str(exc.args[0])) from None


@contextmanager
def _frontier_reached() -> Iterator[None]:
    """Redis away: one line saying so, not a traceback."""
    import redis

    try:
        yield
    except redis.RedisError as exc:
        raise click.ClickException(
            _("the frontier's Redis is unreachable: {error}").format(error=exc)
        ) from None


def _frontier_config(state: CliState) -> Any:
    config = state.config()
    if not config.settings.crawler.redis_url:
        raise click.UsageError(
            _("distributed crawling needs {setting} in settings.yaml (or {env})").format(
                setting="crawler.redis_url", env="YUQING_REDIS_URL"
            )
        )
    return config


@click.group(
    "crawler-worker",
    invoke_without_command=True,
    short_help="Crawl from the shared Redis frontier until stopped.",
)
@click.option("--sources", default=None, help="Comma-separated source names (default: all).")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Requests in flight per source in this worker.",
)
@click.option("--demo-url", default=None, help="Address of the demo site for demo sources.")
@click.pass_context
def command(
    ctx: click.Context, sources: str | None, concurrency: int, demo_url: str | None
) -> None:
    """Take requests of the configured sources from the shared frontier
    (settings crawler.redis_url), crawl them with the usual spiders and store the
    posts. Runs until SIGTERM or Ctrl-C: the first lets in-flight requests
    finish, a second stops at once (their leases expire and another worker
    fetches them again). Seed crawls with `yuqing crawler-worker enqueue`."""
    if ctx.invoked_subcommand is not None:
        return
    state: CliState = ctx.find_object(CliState)  # type: ignore[assignment]
    config = _frontier_config(state)
    names = _names(sources)
    _check_sources(config, names)

    from crawler.distributed import WorkerOptions, run_worker
    from crawler.runner import CrawlStats
    from runtime.ingest import Ingestor
    from runtime.jobs import CrawlOutcome, record_crawl

    app = state.app(demo_url=demo_url)
    sink = Ingestor(app)  # with --demo-url and no model yet, trains the demo model

    def finished(source: str, stats: CrawlStats, started: datetime | None) -> None:
        record_crawl(app, CrawlOutcome(source, True, asdict(stats), None, started))

    try:
        run_worker(
            config,
            sink,
            WorkerOptions(sources=names, concurrency=concurrency, demo_url=demo_url),
            on_round_finished=finished,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        app.close()


@command.command("enqueue", short_help="Seed crawls of sources into the frontier.")
@click.argument("sources", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every enabled board, feed and api source.")
@pass_state
def enqueue(state: CliState, sources: tuple[str, ...], all_: bool) -> None:
    """Open a crawl round of each SOURCE for the workers to take. A source whose
    previous round is still being crawled is left alone (said so on stdout)."""
    from crawler.distributed import enqueue_source, worker_sources

    config = _frontier_config(state)
    if bool(sources) == all_:
        raise click.UsageError(_("give SOURCE names or --all (not both)"))
    names = list(sources) or [s.name for s in worker_sources(config, [])]
    _check_sources(config, names)
    for name in names:
        try:
            with _frontier_reached():
                round_id = enqueue_source(config, name)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        if round_id is None:
            click.echo(_("{name}: previous round still running; not seeded").format(name=name))
        else:
            click.echo(_("{name}: round {round} seeded").format(name=name, round=round_id))


@command.command("status", short_help="Queued and pending requests per source, live workers.")
@pass_state
def status(state: CliState) -> None:
    """Print the frontier's state as JSON."""
    from crawler.distributed import frontier_status

    config = _frontier_config(state)
    with _frontier_reached():
        found = frontier_status(config)
    click.echo(json.dumps(found, ensure_ascii=False, indent=2))
