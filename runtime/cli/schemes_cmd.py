"""yuqing schemes: monitoring schemes (监测方案, analysis/schemes.py) from the command line."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import default_actor, table
from runtime.cli.i18n import _

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


@click.group("schemes", short_help="Monitoring schemes: saved keyword watches.")
def command() -> None:
    """Monitoring schemes: keyword groups (must, any, exclude) over the title, the text
    or both, narrowed to sources, areas and categories. New matching posts are kept,
    charted, told to the subscribed channels and, with an alert tier, raise alerts."""


@command.command("list", short_help="Every scheme with its matches of the last 7 days.")
@json_option
@pass_state
def list_(state: CliState, as_json: bool) -> None:
    from analysis import schemes

    app = state.app()
    try:
        now = app.now()
        with app.store.session() as s:
            rows = schemes.visible(s, user=None, teams=None)
            counts = schemes.hit_counts(s, now - timedelta(days=7), now + timedelta(seconds=1))
            docs = [{**schemes.as_dict(r), "hits_7d": counts.get(r.id, 0)} for r in rows]
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps(docs, ensure_ascii=False, indent=2))
        return
    if not docs:
        click.echo(
            _("no schemes; add one with {command}").format(
                command="`yuqing schemes add NAME --must WORD`"
            )
        )
        return
    click.echo(
        "\n".join(
            table(
                [
                    _("name"),
                    _("must"),
                    _("any"),
                    _("exclude"),
                    _("field"),
                    _("7 days"),
                    _("alert"),
                    _("channels"),
                ],
                [
                    [
                        d["name"],
                        " ".join(d["must"]),
                        " ".join(d["any_of"]),
                        " ".join(d["exclude"]),
                        d["field"],
                        str(d["hits_7d"]),
                        d["alert_tier"] or "-",
                        ",".join(d["channels"]) or "-",
                    ]
                    for d in docs
                ],
            )
        )
    )


@command.command("add", short_help="Add a scheme, or replace the one of that name.")
@click.argument("name")
@click.option("--must", default="", help="Words that must all appear (space or comma separated).")
@click.option("--any", "any_of", default="", help="Words of which at least one must appear.")
@click.option("--exclude", default="", help="Words that must not appear.")
@click.option(
    "--field", type=click.Choice(["all", "title", "text"]), default="all", show_default=True,
    help="Where the words are looked for.",
)  # fmt: skip
@click.option("--source", "sources", default="", help="Only these sources (names).")
@click.option("--area", "areas", default="", help="Only these areas and the places inside.")
@click.option("--category", "categories", default="", help="Only these categories.")
@click.option("--alert-tier", default=None, help="Raise an alert per matching matter: III or IV.")
@click.option("--channel", "channels", default="", help="Channels told of new matches.")
@click.option("--team", default=None, help="Share it with this team (its id).")
@click.option("--by", "actor", default=None, help="Who adds it (default: the OS user).")
@json_option
@pass_state
def add(
    state: CliState,
    name: str,
    must: str,
    any_of: str,
    exclude: str,
    field: str,
    sources: str,
    areas: str,
    categories: str,
    alert_tier: str | None,
    channels: str,
    team: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    from analysis import schemes
    from yuqing.contracts import parse_tier

    try:
        severity = parse_tier(alert_tier) if alert_tier else None
    except ValueError:
        raise click.BadParameter(
            _("unknown tier {value!r}: use I, II, III, IV or 1-4").format(value=alert_tier),
            param_hint="--alert-tier",
        ) from None
    spec = schemes.SchemeSpec(
        name=name,
        must=schemes.words(must),
        any_of=schemes.words(any_of),
        exclude=schemes.words(exclude),
        field=field,
        sources=schemes.words(sources),
        areas=schemes.words(areas),
        categories=schemes.words(categories),
        alert_severity=severity,
        channels=schemes.words(channels),
        team_id=team,
    )
    app = state.app()
    try:
        with app.store.session() as s:
            try:
                row = schemes.save(s, app.config, spec, actor or default_actor(), app.now())
            except schemes.SchemeError as exc:
                raise click.ClickException(str(exc)) from None
            doc = schemes.as_dict(row)
            doc["matched"] = len(schemes.recent(s, row.id, limit=100_000))
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        click.echo(
            _("scheme {name} saved; {n} posts of the last 30 days match").format(
                name=doc["name"], n=doc["matched"]
            )
        )


@command.command("show", short_help="One scheme: its words, daily matches and latest posts.")
@click.argument("name")
@click.option("--days", default=14, show_default=True, help="Days of the daily counts.")
@json_option
@pass_state
def show(state: CliState, name: str, days: int, as_json: bool) -> None:
    from sqlalchemy import select

    from analysis import schemes
    from store.scheme_models import Scheme

    app = state.app()
    try:
        now = app.now()
        zone = ZoneInfo(app.config.settings.timezone)
        with app.store.session() as s:
            row = s.scalars(select(Scheme).where(Scheme.name == name)).first()
            if row is None:
                raise click.ClickException(
                    _("no scheme named {name!r} (see {command})").format(
                        name=name, command="`yuqing schemes list`"
                    )
                )
            doc = schemes.as_dict(row)
            doc["daily"] = schemes.volume(s, row.id, now - timedelta(days=days - 1), now, zone)
            doc["posts"] = schemes.recent_posts(s, row.id, limit=20)
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    click.echo(
        _("{name}  must {must}  any {any}  exclude {exclude}  ({field})").format(
            name=doc["name"],
            must=" ".join(doc["must"]) or "-",
            any=" ".join(doc["any_of"]) or "-",
            exclude=" ".join(doc["exclude"]) or "-",
            field=doc["field"],
        )
    )
    click.echo("  ".join(f"{d[5:]} {n}" for d, n in doc["daily"]))
    for p in doc["posts"]:
        click.echo(
            f"#{p['id']} [{p['tier']}] {p['title']} ({p['area'] or '-'}; {'、'.join(p['words'])})"
        )


@command.command("remove", short_help="Remove a scheme and its matches.")
@click.argument("name")
@pass_state
def remove(state: CliState, name: str) -> None:
    from analysis import schemes

    app = state.app()
    try:
        with app.store.session() as s:
            if not schemes.remove(s, name):
                raise click.ClickException(_("no scheme named {name!r}").format(name=name))
    finally:
        app.close()
    click.echo(_("scheme {name} removed").format(name=name))
