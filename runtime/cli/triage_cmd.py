"""yuqing alerts triage: the duty desk's queue (研判) and backlog, from the command line."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import default_actor, table
from runtime.cli.i18n import _

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
by_option = click.option(
    "--by", "actor", default=None, help="Who decides (kept in the audit log; default cli:<login>)."
)


@click.group("triage", short_help="The duty desk: confirm, retier or dismiss tier I-II alerts.")
def command() -> None:
    """研判. Tier I-II alerts resting on the machine alone wait here for the duty desk
    until their window ends (then they are routed anyway: fail-open); posts found long
    after publication wait in the backlog (no deadline, nobody paged)."""


def _actor(actor: str | None) -> str:
    return actor or default_actor()


def _local(zone: ZoneInfo, iso: str | None) -> str:
    return datetime.fromisoformat(iso).astimezone(zone).strftime("%m-%d %H:%M") if iso else "-"


@command.command("list", short_help="Alerts waiting for the desk, nearest decision first.")
@click.option("--backlog", "which", flag_value="backlog", help="Only the backlog (found late).")
@click.option(
    "--urgent", "which", flag_value="urgent",
    help="Only the tier I-II triage queue and the second looks (复核).",
)  # fmt: skip
@click.option("--desk", default=None, help="Only this desk's queue (a team id).")
@json_option
@pass_state
def list_(state: CliState, which: str | None, desk: str | None, as_json: bool) -> None:
    from alerts.triage import queue
    from alerts.views import alert_as_dict

    app = state.app()
    backlog = None if which is None else which == "backlog"
    try:
        with app.store.session() as s:
            rows = [
                alert_as_dict(a) for a in queue(s, teams=[desk] if desk else None, backlog=backlog)
            ]
        now = app.now()
    finally:
        app.close()
    zone = ZoneInfo(state.config().settings.timezone)

    def text() -> None:
        click.echo(
            _("{n} alerts awaiting triage (times in {zone} local time)").format(
                n=len(rows), zone=zone.key
            )
        )
        lines = []
        for r in rows:
            left = ""
            if r["triage_deadline"] and r["status"] == "triage":
                mins = (datetime.fromisoformat(r["triage_deadline"]) - now).total_seconds() / 60
                left = _("{minutes:+.0f} min").format(minutes=mins)
            outcome = {"triage": _("triage"), "backlog": _("backlog")}
            what = _("review") if r["triage"] == "review" else outcome.get(r["status"], r["status"])
            lines.append([f"#{r['id']}", what, r["tier"], r["team"],
                          _local(zone, r["triage_deadline"]), left, r["title"]])  # fmt: skip
        for line in table(
            [
                _("No."),
                _("Kind"),
                _("Tier"),
                _("Proposed team"),
                _("Deadline"),
                _("Left"),
                _("Title"),
            ],
            lines,
        ):
            click.echo(line)

    if as_json:
        click.echo(json.dumps({"alerts": rows}, ensure_ascii=False, default=str))
    else:
        text()


def _decide(state: CliState, as_json: bool, act: Callable[[Any, Any, datetime], Any]) -> None:
    from alerts.triage import TriageError
    from alerts.views import alert_as_dict

    app = state.app()
    try:
        with app.store.session() as s:
            alert = act(s, app.config, app.now())
            d = alert_as_dict(alert)
    except TriageError as exc:
        raise click.ClickException(str(exc)) from None
    except LookupError as exc:  # the triage floor's "alert N not found", in our words
        found = re.fullmatch(r"alert (\d+) not found", str(exc))
        text = _("alert {id} not found").format(id=found[1]) if found else str(exc)
        raise click.ClickException(text) from None
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps({"alert": d}, ensure_ascii=False, default=str))
    else:
        click.echo(f"#{d['id']} {d['status']} ({d['triage']}) {d['tier']} → {d['team']}")


@command.command("confirm", short_help="Confirm: route to the owning team with its deadlines.")
@click.argument("alert_id", type=int)
@click.option("--note", default="", help="Kept in the history.")
@by_option
@json_option
@pass_state
def confirm(state: CliState, alert_id: int, note: str, actor: str | None, as_json: bool) -> None:
    from alerts.triage import confirm as do

    _decide(state, as_json, lambda s, c, now: do(s, c, alert_id, _actor(actor), now, note))


@command.command("retier", short_help="Route with another tier and/or team.")
@click.argument("alert_id", type=int)
@click.option("--tier", default=None, help="I, II, III or IV (a lower tier is a correction).")
@click.option("--team", default=None, help="Another owning team id.")
@click.option("--note", default="", help="Kept in the history.")
@by_option
@json_option
@pass_state
def retier(
    state: CliState,
    alert_id: int,
    tier: str | None,
    team: str | None,
    note: str,
    actor: str | None,
    as_json: bool,
) -> None:
    from alerts.triage import retier as do
    from yuqing.contracts import parse_tier

    try:
        severity = parse_tier(tier) if tier else None
    except ValueError:
        raise click.BadParameter(
            _("unknown tier {value!r}: use I, II, III, IV or 1-4").format(value=tier),
            param_hint="--tier",
        ) from None
    if severity is None and team is None:
        raise click.UsageError(_("give --tier or --team"))
    _decide(
        state,
        as_json,
        lambda s, c, now: do(
            s, c, alert_id, _actor(actor), now, tier=severity, team_id=team, note=note
        ),
    )


@command.command("dismiss", short_help="A false alarm: close it with a reason (a correction).")
@click.argument("alert_id", type=int)
@click.option("--reason", required=True, help="Why it is not an incident (kept, feeds retraining).")
@by_option
@json_option
@pass_state
def dismiss(state: CliState, alert_id: int, reason: str, actor: str | None, as_json: bool) -> None:
    from alerts.triage import dismiss as do

    _decide(state, as_json, lambda s, c, now: do(s, c, alert_id, _actor(actor), now, reason))


@command.command("archive", short_help="File a backlog item: an old matter, no action now.")
@click.argument("alert_id", type=int)
@click.option("--note", default="", help="Kept in the history.")
@by_option
@json_option
@pass_state
def archive(state: CliState, alert_id: int, note: str, actor: str | None, as_json: bool) -> None:
    from alerts.triage import archive as do

    _decide(state, as_json, lambda s, c, now: do(s, alert_id, _actor(actor), now, note))
