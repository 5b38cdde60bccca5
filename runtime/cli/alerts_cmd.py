"""yuqing alerts: list, show, acknowledge, respond, resolve, silence."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import default_actor, table
from runtime.cli.i18n import _, lang


@click.group("alerts", short_help="List and act on alerts; silences.")
def command() -> None:
    """Alerts raised from posts: tier, team, status, deadlines and escalation."""


def _emit(obj: dict[str, Any], as_json: bool, text: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(obj, ensure_ascii=False, default=str))
    else:
        text()


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
by_option = click.option(
    "--by", "actor", default=None, help="Who acts (kept in the audit log; default cli:<login>)."
)


def _local(state: CliState, iso: str | None) -> str:
    if not iso:
        return "-"
    zone = ZoneInfo(state.config().settings.timezone)
    return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M")


@command.command("list", short_help="List alerts, nearest deadline first.")
@click.option(
    "--status",
    type=click.Choice(
        ["triage", "backlog", "open", "acknowledged", "responded", "resolved", "dismissed", "all"]
    ),
    default=None,
    help="Only this status (default: the teams' work: open, acknowledged, responded).",
)
@click.option("--team", help="Only this team id.")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@json_option
@pass_state
def list_(state: CliState, status: str | None, team: str | None, limit: int, as_json: bool) -> None:
    from alerts.status import STATUS_LABELS_ZH
    from alerts.views import alerts_as_dicts

    config = state.config()
    if team is not None and team not in config.teams.by_id():
        raise click.BadParameter(_("unknown team {team!r}").format(team=team), param_hint="--team")
    app = state.app()
    try:
        with app.store.session() as s:
            alerts = alerts_as_dicts(s, status=status, team=team, limit=limit)
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps({"alerts": alerts}, ensure_ascii=False, default=str))
        return
    zone = state.config().settings.timezone
    more = _(" (the --limit was reached: there may be more; raise --limit to see them)")
    click.echo(
        _("{n} alerts{more}, times in {zone} local time").format(
            n=len(alerts), more=more if len(alerts) == limit else "", zone=zone
        )
    )
    rows = [
        [
            f"#{a['id']}",
            a["tier"],
            STATUS_LABELS_ZH.get(a["status"], a["status"]) if lang() == "zh" else a["status"],
            a["team"],
            _local(state, a.get("deadline")),
            f"↑{a['escalation_level']}" if a.get("escalation_level") else "",
            a["title"],
        ]
        for a in alerts
    ]
    for line in table(
        [_("No."), _("Tier"), _("Status"), _("Team"), _("Deadline"), _("Escalated"), _("Title")],
        rows,
    ):
        click.echo(line)


def _detail(session: Any, config: Any, alert_id: int, now: datetime) -> dict[str, Any]:
    from alerts.aftermath import aftermath
    from alerts.escalation import escalations
    from alerts.outbox import outbox_rows
    from alerts.views import alert_detail
    from store.models import Alert

    out = alert_detail(session, alert_id)
    alert = session.get(Alert, alert_id)
    out["aftermath"] = aftermath(session, config, alert, now)
    out["escalations"] = [
        {"level": e.level, "team": e.team_id, "deadline": e.deadline, "at": e.at.isoformat()}
        for e in escalations(session, alert_id)
    ]
    out["notifications"] = [
        {
            "id": r.id,
            "kind": r.kind,
            "team": r.team_id,
            "channel": r.channel,
            "status": r.status,
            "attempts": r.attempts,
            "created_at": r.created_at.isoformat(),
            "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            "next_attempt_at": r.next_attempt_at.isoformat(),
            "last_error": r.last_error,
        }
        for r in outbox_rows(session, alert_id)
    ]
    return out


@command.command("show", short_help="One alert: posts, history, escalation, notifications.")
@click.argument("alert_id", type=int)
@json_option
@pass_state
def show(state: CliState, alert_id: int, as_json: bool) -> None:
    from alerts.errors import AlertNotFound

    app = state.app()
    try:
        with app.store.session() as s:
            d = _detail(s, app.config, alert_id, app.now())
    except AlertNotFound:
        raise click.ClickException(_("alert {id} not found").format(id=alert_id)) from None
    finally:
        app.close()

    def text() -> None:
        click.echo(f"#{d['id']} [{d['tier']}] {d['status']}  {d['title']}")
        click.echo(
            _("  team {team} ({team_name})  rule {rule}  posts {posts}").format(
                team=d["team"], team_name=d["team_name"], rule=d["rule"], posts=d["post_count"]
            )
        )
        click.echo(_("  reason: {reason}").format(reason=d["reason"]))
        click.echo(
            _("  acknowledge by {ack}, respond by {respond}").format(
                ack=_local(state, d["ack_deadline"]), respond=_local(state, d["respond_deadline"])
            )
        )
        am = d["aftermath"]
        if am["status"] != "pending":
            click.echo(
                _(
                    "  after the reply: {status} ({before} posts before, "
                    "{after} after, {days:g}-day window)"
                ).format(
                    status=am["status"],
                    before=am["before"],
                    after=am["after"],
                    days=am["window_days"],
                )
            )
        for e in d["escalations"]:
            click.echo(
                _("  escalated L{level} to {team} ({deadline}) {at}").format(
                    level=e["level"],
                    team=e["team"],
                    deadline=e["deadline"],
                    at=_local(state, e["at"]),
                )
            )
        for r in d["responses"]:
            click.echo(f"  {_local(state, r['at'])} {r['actor']} {r['action']} {r['text'] or ''}")
        for n in d["notifications"]:
            err = f"  {n['last_error']}" if n["last_error"] else ""
            click.echo(
                _("  notify {kind:<9} {channel:<10} {status:<8} x{attempts}{error}").format(
                    kind=n["kind"],
                    channel=n["channel"],
                    status=n["status"],
                    attempts=n["attempts"],
                    error=err,
                )
            )

    _emit(d, as_json, text)


def _act(
    state: CliState,
    alert_id: int,
    action: str,
    actor: str | None,
    as_json: bool,
    text: str | None = None,
    channel: str | None = None,
) -> None:
    from alerts.errors import AlertNotFound, InvalidInput, TransitionError
    from alerts.lifecycle import apply_action
    from alerts.views import alert_as_dict

    app = state.app()
    windows = {t: p.respond for t, p in app.config.alerts.tiers.items()}
    try:
        with app.store.session() as s:
            alert = apply_action(
                s,
                alert_id,
                action,
                actor or default_actor(),
                app.now(),
                text=text,
                channel=channel,
                respond_windows=windows,
            )
            d = alert_as_dict(alert)
    except InvalidInput as exc:
        raise click.UsageError(str(exc)) from None
    except (AlertNotFound, TransitionError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        app.close()
    _emit({"alert": d}, as_json, lambda: click.echo(f"#{d['id']} {d['status']}"))


@command.command("ack", short_help="Acknowledge an open alert.")
@click.argument("alert_id", type=int)
@click.option("--note", default=None, help="A note kept with the acknowledgement.")
@by_option
@json_option
@pass_state
def ack(state: CliState, alert_id: int, note: str | None, actor: str | None, as_json: bool) -> None:
    _act(state, alert_id, "acknowledge", actor, as_json, text=note)


@command.command("respond", short_help="Record the reply given to the public.")
@click.argument("alert_id", type=int)
@click.option("--text", required=True, help="The reply text.")
@click.option("--channel", default=None, help="Where it was given: online, phone, onsite, notice…")
@by_option
@json_option
@pass_state
def respond(
    state: CliState,
    alert_id: int,
    text: str,
    channel: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    _act(state, alert_id, "reply", actor, as_json, text=text, channel=channel)


@command.command("resolve", short_help="Close an acknowledged or answered alert.")
@click.argument("alert_id", type=int)
@click.option("--note", default=None)
@by_option
@json_option
@pass_state
def resolve(
    state: CliState, alert_id: int, note: str | None, actor: str | None, as_json: bool
) -> None:
    _act(state, alert_id, "resolve", actor, as_json, text=note)


@command.command("silence", short_help="Mute a rule, area or event for a while.")
@click.option("--rule", default=None, help="Rule name from alerts.yaml.")
@click.option("--area", default=None, help="Area name (covers the places inside it).")
@click.option("--event", "event_id", type=int, default=None, help="Event id.")
@click.option("--for", "duration", default=None, help="How long, e.g. 2h or 1d.")
@click.option("--until", default=None, help="Until this local time (YYYY-MM-DD[THH:MM]).")
@click.option("--reason", required=True, help="Why (kept in the audit log).")
@by_option
@json_option
@pass_state
def silence(
    state: CliState,
    rule: str | None,
    area: str | None,
    event_id: int | None,
    duration: str | None,
    until: str | None,
    reason: str,
    actor: str | None,
    as_json: bool,
) -> None:
    from alerts.silences import SilenceError, add_silence, silence_as_dict
    from yuqing.settings import parse_duration

    config = state.config()
    if rule is not None and rule not in {r.name for r in config.alerts.rules}:
        raise click.BadParameter(_("unknown rule {rule!r}").format(rule=rule), param_hint="--rule")
    if area is not None and area not in config.areas.all():
        raise click.BadParameter(_("unknown area {area!r}").format(area=area), param_hint="--area")
    if (duration is None) == (until is None):
        raise click.UsageError(_("give exactly one of --for and --until"))
    app = state.app()
    try:
        now = app.now()
        if duration is not None:
            try:
                end = now + parse_duration(duration)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--for") from None
        else:
            try:
                dt = datetime.fromisoformat(until or "")
            except ValueError:
                raise click.BadParameter(
                    _("{value!r} is not a time").format(value=until), param_hint="--until"
                ) from None
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=ZoneInfo(config.settings.timezone))
            end = dt.astimezone(UTC)
        with app.store.session() as s:
            try:
                row = add_silence(
                    s,
                    now=now,
                    until=end,
                    created_by=actor or default_actor(),
                    reason=reason,
                    rule=rule,
                    area=area,
                    event_id=event_id,
                )
            except SilenceError as exc:
                raise click.UsageError(str(exc)) from None
            d = silence_as_dict(row)
    finally:
        app.close()
    _emit(
        {"silence": d},
        as_json,
        lambda: click.echo(
            _("silence #{id} until {until}").format(id=d["id"], until=_local(state, d["until"]))
        ),
    )


@command.command("silences", short_help="List active silences.")
@json_option
@pass_state
def silences(state: CliState, as_json: bool) -> None:
    from alerts.silences import active_silences, silence_as_dict

    app = state.app()
    try:
        with app.store.session() as s:
            rows = [silence_as_dict(x) for x in active_silences(s, app.now())]
    finally:
        app.close()

    def text() -> None:
        click.echo(_("{n} silences").format(n=len(rows)))
        for r in rows:
            scope = " ".join(f"{k}={r[k]}" for k in ("rule", "area", "event_id") if r[k])
            click.echo(
                _("#{id} {scope} until {until} by {by}: {reason}").format(
                    id=r["id"],
                    scope=scope,
                    until=_local(state, r["until"]),
                    by=r["created_by"],
                    reason=r["reason"],
                )
            )

    _emit({"silences": rows}, as_json, text)


@command.command("outbox", short_help="Notifications waiting or failed.")
@click.option(
    "--status",
    type=click.Choice(["pending", "failed", "sent", "cancelled", "all"]),
    default="pending",
    show_default=True,
)
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@json_option
@pass_state
def outbox(state: CliState, status: str, limit: int, as_json: bool) -> None:
    from sqlalchemy import select

    from store.alerting_models import NotificationOutbox as N

    app = state.app()
    try:
        with app.store.session() as s:
            stmt = select(N).order_by(N.id.desc()).limit(limit)
            if status != "all":
                stmt = stmt.where(N.status == status)
            rows = [
                {
                    "id": r.id,
                    "alert_id": r.alert_id,
                    "kind": r.kind,
                    "team": r.team_id,
                    "channel": r.channel,
                    "status": r.status,
                    "attempts": r.attempts,
                    "next_attempt_at": r.next_attempt_at.isoformat(),
                    "last_error": r.last_error,
                }
                for r in s.scalars(stmt)
            ]
    finally:
        app.close()

    def text() -> None:
        click.echo(_("{n} notifications").format(n=len(rows)))
        for r in rows:
            click.echo(
                _(
                    "#{id} alert {alert} {kind:<9} {channel:<10} {status:<8} x{attempts} {error}"
                ).format(
                    id=r["id"],
                    alert=r["alert_id"],
                    kind=r["kind"],
                    channel=r["channel"],
                    status=r["status"],
                    attempts=r["attempts"],
                    error=r["last_error"] or "",
                )
            )

    _emit({"notifications": rows}, as_json, text)


@command.command("test-channel", short_help="Show (or send) a test notification on a channel.")
@click.argument("name")
@click.option("--send", is_flag=True, help="Really send it (default: only show what would go).")
@json_option
@pass_state
def test_channel(state: CliState, name: str, send: bool, as_json: bool) -> None:
    """A dry run by default: prints the request the channel would make, signatures
    included; with --send it delivers one test notification and reports the result."""
    from datetime import timedelta

    from alerts.channels import DeliveryError, build_channel
    from alerts.messages import render_alert
    from store.models import Alert
    from yuqing.clock import SystemClock

    config = state.config()
    opts = config.alerts.channels.get(name)
    if opts is None:
        known = ", ".join(config.alerts.channels) or "none"
        raise click.BadParameter(
            _("unknown channel {name!r} (known: {known})").format(name=name, known=known),
            param_hint="NAME",
        )
    clock = SystemClock()
    now = clock.now()
    sample = Alert(
        id=0,
        tier=4,
        status="open",
        team_id=config.teams.triage_team,
        title="测试通知 / test notification",
        reason="yuqing alerts test-channel",
        area=None,
        category=None,
        post_count=0,
        ack_deadline=now + timedelta(minutes=15),
        respond_deadline=now + timedelta(hours=5),
        escalation_level=0,
        rule="test",
    )
    message = render_alert(config, sample, "open", config.teams.triage_team)
    channel = build_channel(name, opts, clock)
    if not send:
        preview = channel.preview(message)
        if as_json:
            click.echo(json.dumps({"dry_run": True, "request": preview}, ensure_ascii=False))
        else:
            click.echo(json.dumps(preview, ensure_ascii=False, indent=2))
        return
    try:
        channel.send(message)
    except DeliveryError as exc:
        raise click.ClickException(
            _("channel {name}: delivery failed: {error}").format(name=name, error=exc)
        ) from None
    _emit(
        {"sent": True, "channel": name},
        as_json,
        lambda: click.echo(_("sent via {name}").format(name=name)),
    )


def _register_triage() -> None:
    from runtime.cli.triage_cmd import command as triage

    command.add_command(triage)


_register_triage()
