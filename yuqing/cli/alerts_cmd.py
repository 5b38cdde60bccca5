"""yuqing alerts: the alert list."""

from __future__ import annotations

import json

import click

from yuqing.cli import CliState, pass_state


@click.group("alerts", short_help="List alerts.")
def command() -> None:
    """Alerts raised from posts: tier, team, status and deadlines."""


@command.command("list", short_help="List alerts, nearest deadline first.")
@click.option(
    "--status",
    type=click.Choice(["open", "acknowledged", "responded", "resolved", "all"]),
    default=None,
    help="Only this status (default: everything not resolved).",
)
@click.option("--team", help="Only this team id.")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_state
def list_(state: CliState, status: str | None, team: str | None, limit: int, as_json: bool) -> None:
    from console.services import alerts_as_dicts

    config = state.config()
    if team is not None and team not in config.teams.by_id():
        raise click.BadParameter(f"unknown team {team!r}", param_hint="--team")
    app = state.app()
    try:
        with app.store.session() as s:
            alerts = alerts_as_dicts(s, status=status, team=team, limit=limit)
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps({"alerts": alerts}, ensure_ascii=False, default=str))
        return
    click.echo(f"{len(alerts)} alerts")
    for a in alerts:
        deadline = (a.get("deadline") or "-")[:16].replace("T", " ")
        click.echo(
            f"#{a['id']} [{a['tier']:>3}] {a['status']:<12} {a['team']:<20} due {deadline}  {a['title']}"
        )
