"""yuqing report: write a daily or weekly brief (舆情简报) as HTML or PDF."""

from __future__ import annotations

from pathlib import Path

import click

from runtime.cli import CliState, pass_state
from runtime.cli.i18n import _


@click.command("report", short_help="Write a daily or weekly brief as HTML or PDF.")
@click.argument("kind", type=click.Choice(["daily", "weekly"]))
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="Output file; .pdf writes PDF, .html or .htm HTML, .json the figures.",
)
@click.option("--date", "day", default=None, help="Last day covered, YYYY-MM-DD (default today).")
@click.option("--send", is_flag=True, help="Also deliver it via settings console.brief_channels.")
@pass_state
def command(state: CliState, kind: str, out: Path, day: str | None, send: bool) -> None:
    """A brief covers whole local days: daily the given day, weekly the seven
    days ending on it. It lists volume by category and area, top events and the
    severe alerts with how fast they were answered."""
    import json

    from reports import briefs as reports

    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".html", ".htm", ".json"):
        raise click.BadParameter(_("the file must end in .pdf, .html or .json"), param_hint="--out")
    app = state.app()
    try:
        try:
            d = reports.parse_day(day, app.now(), app.config.settings.timezone)
        except reports.BriefInputError as exc:
            raise click.BadParameter(str(exc), param_hint="--date") from None
        with app.store.session() as s:
            brief = reports.build_brief(s, app.config, kind, d, app.now())
        html = reports.render_html(brief)
        if suffix == ".pdf":
            out.write_bytes(reports.render_pdf(brief, app.config.settings.console.brief_font))
        elif suffix == ".json":
            out.write_text(json.dumps(brief.as_dict(), ensure_ascii=False, indent=1), "utf-8")
        else:
            out.write_text(html, "utf-8")
        sent = reports.deliver_brief(brief, app.config, app.clock, html) if send else []
    finally:
        app.close()
    click.echo(
        _("{title} {period}: {posts} posts, {alerts} alerts -> {out}").format(
            title=brief.title,
            period=brief.period_label,
            posts=brief.posts,
            alerts=brief.alerts,
            out=out,
        )
    )
    if send and not sent:
        click.echo(_("no channel configured (settings.yaml console.brief_channels)"), err=True)
    for r in sent:
        sent_via = _("sent via {name}").format(name=r["channel"])
        click.echo(sent_via if r.get("sent") else f"{r['channel']}: {r['error']}")
    if any(not r.get("sent") for r in sent):
        raise SystemExit(1)
