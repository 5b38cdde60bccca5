"""yuqing events: the matters the posts formed (analysis.events), from the command line."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import default_actor

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


@click.group("events", short_help="Events: posts about one matter across sources.")
def command() -> None:
    """事件. Posts about one matter, across sources, linked as they arrive by their
    content words, place, time and category; staff merge and split them in the console."""


@command.command("list", short_help="Events, those with two or more posts first.")
@click.option("--limit", default=50, show_default=True, help="How many.")
@click.option("-q", "query", default="", help="Only events whose title has this.")
@json_option
@pass_state
def list_(state: CliState, limit: int, query: str, as_json: bool) -> None:
    from analysis.detail import event_summaries

    app = state.app()
    try:
        with app.store.session() as s:
            rows = event_summaries(s, limit=limit, q=query)
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no events")
    for e in rows:
        click.echo(
            f"{e['id']:>6}  {e['post_count']:>4} 帖  {e['tier']:<4} {e['category'] or '-':<8} "
            f"{e['area'] or '-':<10} {e['title'][:40]}"
        )


@command.command("show", short_help="One event: timeline, sources, spread, alerts, effect.")
@click.argument("event_id", type=int)
@json_option
@pass_state
def show(state: CliState, event_id: int, as_json: bool) -> None:
    from alerts.errors import AlertNotFound
    from analysis.detail import event_detail

    app = state.app()
    try:
        with app.store.session() as s:
            e = event_detail(s, event_id, app.now(), timezone=app.config.settings.timezone)
    except AlertNotFound:
        raise click.ClickException(f"event {event_id} not found") from None
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps(e, ensure_ascii=False, indent=2))
        return
    click.echo(f"事件 {e['id']}  {e['title']}")
    click.echo(f"类别 {e['category'] or '-'}  属地 {e['area'] or '-'}  等级 {e['tier']}  "
               f"帖子 {len(e['posts'])}  发帖人 {e['authors']}")  # fmt: skip
    click.echo("来源 " + "；".join(f"{k} {v}" for k, v in e["sources"].items()))
    click.echo("每日新帖 " + " ".join(f"{d['day']}:{d['posts']}" for d in e["spread"]))
    click.echo(f"回应效果 {e['effect']['label']}")
    for a in e["alerts"]:
        click.echo(f"告警 {a['id']} {a['tier']} {a['status']}: {a['title']}")
        for r in a["responses"]:
            click.echo(f"  {r['at']} {r['actor']} {r['label']} {r['text'] or ''}")
    for p in e["posts"]:
        click.echo(f"  {p['published_at'] or p['fetched_at']} [{p['source']}] {p['title']}")


@command.command("recluster", short_help="Re-run clustering over recent posts (pins kept).")
@click.option("--days", default=30, show_default=True, help="Posts fetched in the last N days.")
@pass_state
def recluster(state: CliState, days: int) -> None:
    from analysis.linking import recluster as run

    app = state.app()
    try:
        with app.store.session() as s:
            counts = run(s, app.now() - timedelta(days=days), app.now(), default_actor())
    finally:
        app.close()
    click.echo(json.dumps(counts))
