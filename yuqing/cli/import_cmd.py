"""yuqing import: load a hotline (12345) export file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from yuqing.cli import CliState, pass_state


@click.command("import", short_help="Import a CSV/XLSX/JSONL export (e.g. 12345 records).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", "source_name", required=True, help="Source name from sources.yaml.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@pass_state
def command(state: CliState, file: Path, source_name: str, as_json: bool) -> None:
    """Import FILE through the same pipeline as crawled posts (normalise, mask,
    classify, store, index, alerts). Rows that cannot be read are kept as dead
    letters with the reason. Re-importing the same file adds nothing twice."""
    from crawler.imports import read_export

    from yuqing.contracts import DeadLetter
    from yuqing.ingest import Ingestor
    from yuqing.pipeline import drain_index, evaluate_alerts

    config = state.config()
    try:
        source = config.source(source_name)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    if file.suffix.lower() not in (".csv", ".xlsx", ".jsonl", ".json"):
        raise click.UsageError(f"{file.name}: unsupported file type (use .csv, .xlsx or .jsonl)")
    app = state.app()
    try:
        sink = Ingestor(app)
        rows = read_export(file, source, config.settings.timezone)
        with click.progressbar(rows, label=f"importing {file.name}", file=None) as bar:
            for item in bar:
                if isinstance(item, DeadLetter):
                    sink.reject(item)
                else:
                    sink.accept(item)
        run = drain_index(app)
        stats = evaluate_alerts(app)
        out = {
            "source": source.name,
            "file": str(file),
            "accepted": sink.accepted,
            "new": sink.new,
            "rejected": sink.rejected,
            "indexed": run.indexed,
            "alerts_opened": stats.opened,
        }
        if as_json:
            click.echo(json.dumps(out, ensure_ascii=False))
        else:
            click.echo(
                f"{sink.accepted} rows accepted ({sink.new} new), {sink.rejected} kept as "
                f"dead letters; {stats.opened} new alerts"
            )
    finally:
        app.close()
