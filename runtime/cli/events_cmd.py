"""yuqing events: the matters the posts formed (analysis.events), from the command line."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import default_actor
from runtime.cli.i18n import _

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
        click.echo(_("no events"))
    for e in rows:
        click.echo(
            _("{id:>6}  {posts:>4} posts  {tier:<4} {category:<8} {area:<10} {title}").format(
                id=e["id"],
                posts=e["post_count"],
                tier=e["tier"],
                category=e["category"] or "-",
                area=e["area"] or "-",
                title=e["title"][:40],
            )
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
        raise click.ClickException(_("event {id} not found").format(id=event_id)) from None
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps(e, ensure_ascii=False, indent=2))
        return
    click.echo(_("event {id}  {title}").format(id=e["id"], title=e["title"]))
    click.echo(
        _("category {category}  area {area}  tier {tier}  posts {posts}  authors {authors}").format(
            category=e["category"] or "-",
            area=e["area"] or "-",
            tier=e["tier"],
            posts=len(e["posts"]),
            authors=e["authors"],
        )
    )
    sources = _("; ").join(f"{k} {v}" for k, v in e["sources"].items())
    click.echo(_("sources {sources}").format(sources=sources))
    spread = " ".join(f"{d['day']}:{d['posts']}" for d in e["spread"])
    click.echo(_("new posts a day {spread}").format(spread=spread))
    click.echo(_("effect of the response {label}").format(label=e["effect"]["label"]))
    for a in e["alerts"]:
        click.echo(
            _("alert {id} {tier} {status}: {title}").format(
                id=a["id"], tier=a["tier"], status=a["status"], title=a["title"]
            )
        )
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
