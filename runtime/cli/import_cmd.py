"""yuqing import: load a hotline (12345) export file."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import fail, progress_printer
from runtime.cli.i18n import _

PROGRESS_EVERY = 500  # rows between progress lines


@click.command("import", short_help="Import a CSV/XLSX/JSONL export (e.g. 12345 records).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--source",
    "source_name",
    required=True,
    help="Source name from sources.yaml (a kind: file source).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@pass_state
def command(state: CliState, file: Path, source_name: str, as_json: bool) -> None:
    """Import FILE through the same pipeline as crawled posts (normalise, mask,
    classify, store, index, alerts). Rows that cannot be read are kept as dead
    letters with the reason. Re-importing the same file adds nothing twice."""
    from crawler.imports import read_export
    from runtime.ingest import Ingestor
    from runtime.jobs import CrawlOutcome, drain_index, evaluate_alerts, record_crawl
    from yuqing.contracts import CrawledPost, DeadLetter

    config = state.config()
    try:
        source = config.source(source_name)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    if source.kind != "file":
        raise click.UsageError(
            _(
                "source {name} is a {kind} source, not a file source: files import into a "
                "source with {setting} in sources.yaml (an example is at its end)"
            ).format(name=source.name, kind=source.kind, setting="`kind: file`")
        )
    if file.suffix.lower() not in (".csv", ".xlsx", ".jsonl", ".json"):
        raise click.UsageError(
            _("{file}: unsupported file type (use .csv, .xlsx or .jsonl)").format(file=file.name)
        )
    rows = read_export(file, source, config.settings.timezone)
    try:
        # the header is checked at the first row: a missing column fails here, with its
        # name, before anything is written
        first = next(rows, None)
    except ValueError as exc:
        fail(str(exc), 2)
    rows = itertools.chain([first] if first is not None else [], rows)
    app = state.app()
    try:
        sink = Ingestor(app)
        started, t0 = app.now(), time.monotonic()
        batch: list[CrawledPost] = []  # classified together: several times faster than one by one
        say = progress_printer(not as_json)
        say(_("importing {file} → source {source}").format(file=file.name, source=source.name))
        for seen, item in enumerate(rows, 1):
            if isinstance(item, DeadLetter):
                sink.reject(item)
            else:
                batch.append(item)
            if len(batch) >= 64:
                sink.accept_many(batch)
                batch = []
            if seen % PROGRESS_EVERY == 0:
                say(
                    _(
                        "{n} rows read: {accepted} stored, {rejected} doubtful ({seconds:.0f}s)"
                    ).format(
                        n=seen,
                        accepted=sink.accepted,
                        rejected=sink.rejected,
                        seconds=time.monotonic() - t0,
                    )
                )
        if batch:
            sink.accept_many(batch)
        # an import is a run of its source like a crawl: kept in crawl_runs
        record_crawl(
            app,
            CrawlOutcome(
                source.name,
                True,
                {
                    "items_accepted": sink.accepted,
                    "items_new": sink.new,
                    "items_updated": sink.updated,
                    "items_duplicate": sink.accepted - sink.new - sink.updated,
                    "dead_letters": sink.rejected,
                    "duration_s": round(time.monotonic() - t0, 3),
                },
                None,
                started,
            ),
        )
        run = drain_index(app)
        stats = evaluate_alerts(app)
        out = {
            "source": source.name,
            "file": str(file),
            "accepted": sink.accepted,
            "new": sink.new,
            "updated": sink.updated,
            "duplicates": sink.accepted - sink.new - sink.updated,
            "rejected": sink.rejected,
            "indexed": run.indexed,
            "alerts_opened": stats.opened,
            # of those: waiting for the duty desk, and old records in its backlog (no page)
            "alerts_triage": stats.triage,
            "alerts_backlog": stats.backlog,
        }
        if as_json:
            click.echo(json.dumps(out, ensure_ascii=False))
        else:
            dupes = sink.accepted - sink.new - sink.updated
            click.echo(
                _(
                    "{file}: {rows} rows, {new} new, {updated} updated, {dupes} duplicates "
                    "(already stored, not stored again), {rejected} doubtful (kept as dead "
                    "letters with the reason); {alerts} new alerts ({triage} to the duty desk, "
                    "{backlog} old posts to its backlog, nobody paged)"
                ).format(
                    file=file.name,
                    rows=sink.accepted + sink.rejected,
                    new=sink.new,
                    updated=sink.updated,
                    dupes=dupes,
                    rejected=sink.rejected,
                    alerts=stats.opened,
                    triage=stats.triage,
                    backlog=stats.backlog,
                )
            )
    finally:
        app.close()
