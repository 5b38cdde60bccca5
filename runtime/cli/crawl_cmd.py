"""yuqing crawl: crawl one source or all of them now."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import fail, progress_printer
from runtime.cli.i18n import _


@click.command("crawl", short_help="Crawl a source (or --all) now.")
@click.argument("source", required=False)
@click.option("--all", "all_", is_flag=True, help="Crawl every enabled source.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@pass_state
def command(state: CliState, source: str | None, all_: bool, as_json: bool) -> None:
    """Crawl SOURCE (a name from sources.yaml) or --all, then index the new posts
    and evaluate alert rules. Demo sources start the bundled demo site for the crawl."""
    from runtime.jobs import crawl_in_child, drain_index, evaluate_alerts

    config = state.config()
    if bool(source) == all_:
        raise click.UsageError(_("give a SOURCE or --all (not both)"))
    if source:
        try:
            config.source(source)
        except KeyError as exc:
            raise click.UsageError(str(exc.args[0])) from None
        names = [source]
    else:
        names = [s.name for s in config.sources.sources if s.enabled and s.kind != "file"]
    site = None
    if any(config.source(n).demo for n in names):
        from datetime import UTC, datetime

        from crawler.demo.corpus import demo_corpus
        from crawler.demo.site import DemoSite

        site = DemoSite(demo_corpus(datetime.now(UTC)))
        site.start()
    app = state.app(demo_url=site.url if site else None)
    failed = 0
    results = []
    try:
        app.model(
            progress=progress_printer()
        )  # first run: train here, with progress, not in the child
        for name in names:
            outcome = _crawl_with_progress(app, name, crawl_in_child)
            results.append(
                {"source": name, "ok": outcome.ok, "error": outcome.error, **outcome.stats}
            )
            failed += not outcome.ok
        run = drain_index(app)
        stats = evaluate_alerts(app)
        summary = {"sources": results, "indexed": run.indexed, "alerts_opened": stats.opened}
        if as_json:
            click.echo(json.dumps(summary, ensure_ascii=False, default=str))
        else:
            for r in results:
                click.echo(stats_line(r))
            click.echo(
                _("indexed {n} posts; {alerts} new alerts").format(
                    n=run.indexed, alerts=stats.opened
                )
            )
    finally:
        if site is not None:
            site.stop()
        app.close()
    if failed:
        fail(_("{failed} of {n} crawls failed").format(failed=failed, n=len(names)))


def stats_line(r: dict[str, Any]) -> str:
    """One crawl's statistics (as kept in crawl_runs) on one line."""
    head = f"{r['source']}: {_('ok') if r['ok'] else _('FAILED')}"
    if "enqueued_round" in r:  # a shared frontier: the crawler workers crawl it
        if r["enqueued_round"] is None:
            return head + _(" - its previous round is still in the shared frontier; not seeded")
        return head + _(
            " - round {round} seeded into the shared frontier; {command} shows its progress"
        ).format(round=r["enqueued_round"], command="`yuqing crawler-worker status`")
    body = _(
        "{pages} pages fetched, {items} items ({new} new, {updated} updated, "
        "{unchanged} unchanged, {collided} collided), {not_modified} not modified, "
        "{dead} dead letters"
    ).format(
        pages=r.get("pages", 0),
        items=r.get("items_accepted", 0),
        new=r.get("items_new", 0),
        updated=r.get("items_updated", 0),
        unchanged=r.get("items_duplicate", 0),
        collided=r.get("items_collided", 0),
        not_modified=r.get("not_modified", 0),
        dead=r.get("dead_letters", 0),
    )
    if r.get("mojibake") or r.get("unparsed"):
        body += _(" ({mojibake} mojibake, {unparsed} unparsed)").format(
            mojibake=r.get("mojibake", 0), unparsed=r.get("unparsed", 0)
        )
    if r.get("mojibake_repaired"):
        body += _(", {n} re-decoded").format(n=r["mojibake_repaired"])
    body += _(", {errors} errors, {seconds:.1f}s").format(
        errors=r.get("errors", 0), seconds=float(r.get("duration_s", 0.0))
    )
    tail = f" - {r['error']}" if r.get("error") else ""
    return f"{head} - {body}{tail}"


def _crawl_with_progress(app: Any, name: str, crawl: Callable[[Any, str], Any]) -> Any:
    """On a terminal, show how many posts of the source are stored while it crawls."""
    if not sys.stderr.isatty():
        return crawl(app, name)
    from sqlalchemy import func, select

    from store.models import PostSighting

    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(crawl(app, name)), daemon=True)
    start = time.monotonic()
    worker.start()
    while worker.is_alive():
        worker.join(1.0)
        with app.store.session() as s:
            n = s.scalar(
                select(func.count()).select_from(PostSighting).where(PostSighting.source == name)
            )
        click.echo(
            "\r"
            + _("{name}: {n} posts stored, {seconds:.0f}s ").format(
                name=name, n=n, seconds=time.monotonic() - start
            ),
            nl=False,
            err=True,
        )
    click.echo("", err=True)
    return result[0]
