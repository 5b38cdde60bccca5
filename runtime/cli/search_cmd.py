"""yuqing search: full-text search over the index."""

from __future__ import annotations

import json

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import iso, parse_since, table
from runtime.cli.i18n import _
from yuqing.contracts import parse_tier, tier_name


def _severity(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_tier(value)
    except ValueError:
        raise click.BadParameter(
            _("unknown tier {value!r}: use I, II, III, IV or 1-4").format(value=value)
        ) from None


@click.command("search", short_help="Search posts (Chinese full text, filters).")
@click.argument("query", nargs=-1)
@click.option("--category", help="Only this issue type, e.g. 环境保护.")
@click.option(
    "--severity", callback=_severity, help="At least this tier: I..IV or 4..1 (4 = I 特别重大)."
)
@click.option("--since", help="Published since: YYYY-MM-DD, an ISO time, 7d or today.")
@click.option("--until", help="Published before: YYYY-MM-DD (exclusive), an ISO time.")
@click.option("--area", help="Only this area (street, township, community), e.g. 东湖街道.")
@click.option("--source", help="Only this source, e.g. demo-board.")
@click.option(
    "--sort", type=click.Choice(["relevance", "newest"]), default="relevance", show_default=True
)
@click.option(
    "--histogram",
    type=click.Choice(["day", "week"]),
    help="Also count matches per day or week (in --json: histogram [[start, n], ...]).",
)
@click.option(
    "--expand/--no-expand",
    default=True,
    show_default=True,
    help="Also search the synonyms of config/synonyms.yaml (scored below the words typed).",
)
@click.option(
    "--recall",
    is_flag=True,
    help="Everything about it: any one word (or its parts) matches, newest first.",
)
@click.option(
    "--suggest-synonyms",
    is_flag=True,
    help="Instead of posts, list words residents use around QUERY (candidates for "
    "config/synonyms.yaml, to read before adding).",
)
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_state
def command(
    state: CliState,
    query: tuple[str, ...],
    category: str | None,
    severity: int | None,
    since: str | None,
    until: str | None,
    area: str | None,
    source: str | None,
    sort: str,
    histogram: str | None,
    expand: bool,
    recall: bool,
    suggest_synonyms: bool,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """Search QUERY: words (ranked: posts matching more of them first, partial
    matches too), "exact phrases", +required words or AND, -exclusions, OR and
    field filters such as category:环境保护 tier:>=II area:东湖街道 since:2026-11-01."""
    config = state.config()
    since_dt = parse_since(since, config.settings.timezone)
    until_dt = None
    if until is not None:
        try:
            until_dt = parse_since(until, config.settings.timezone)
        except click.BadParameter as exc:
            raise click.BadParameter(
                exc.message.replace("--since", "--until"), param_hint="--until"
            ) from None
    if category is not None and category not in config.taxonomy.category_names():
        known = "、".join(config.taxonomy.category_names())
        raise click.BadParameter(
            _("unknown category {category!r} (known: {known})").format(
                category=category, known=known
            ),
            param_hint="--category",
        )
    from index.base import BackendError, QueryError, SearchQuery

    q = SearchQuery(
        text=" ".join(query),
        category=category,
        severity_min=severity,
        since=since_dt,
        until=until_dt,
        area=area,
        source=source,
        sort=sort,  # type: ignore[arg-type]
        histogram=histogram,  # type: ignore[arg-type]
        facets=as_json,
        limit=limit,
        offset=offset,
        expand=expand,
        recall=recall,
    )
    app = state.app()
    if suggest_synonyms:
        _suggest(app, " ".join(query), limit, as_json)
        return
    try:
        result = app.index.search(q)
    except QueryError as exc:
        raise click.UsageError(_("query: {error}").format(error=exc)) from None
    except BackendError as exc:
        raise click.ClickException(
            _("search index unavailable: {error}").format(error=exc)
        ) from None
    finally:
        app.close()
    hits = [
        {
            "id": h.id,
            "title": h.title,
            "text": h.text,
            "snippet": h.snippet,
            "category": h.category,
            "severity": h.severity,
            "tier": tier_name(h.severity),
            "area": h.area,
            "source": h.source,
            "published_at": iso(h.published_at),
            "url": h.url,
            "score": h.score,
            "expanded": h.expanded,
        }
        for h in result.hits
    ]
    if as_json:
        doc: dict[str, object] = {
            "total": result.total,
            "hits": hits,
            "facets": result.facets,
            "expansions": result.expansions,
            "recall": recall,
            "partial": result.partial,
        }
        if histogram:
            doc["histogram"] = [[b.date().isoformat(), n] for b, n in result.histogram]
        click.echo(json.dumps(doc, ensure_ascii=False))
        return
    zone = state.config().settings.timezone
    shown = (
        _("showing {first}–{last}").format(first=offset + 1, last=offset + len(hits))
        if hits
        else _("none on this page")
    )
    more = (
        _("; next page: --offset {offset}").format(offset=offset + len(hits))
        if offset + len(hits) < result.total
        else ""
    )
    click.echo(
        _("{total} posts, {shown}{more} (times in {zone} local time)").format(
            total=result.total, shown=shown, more=more, zone=zone
        )
        + (_("; everything: any word matches, newest first") if recall else "")
    )
    if result.partial:
        click.echo(_("  few posts have all the words: those with only some are listed too"))
    for word, syns in result.expansions.items():
        click.echo(
            _("  {word!r} was also searched as its synonyms: {synonyms} (--no-expand: off)").format(
                word=word, synonyms=_(", ").join(syns)
            )
        )
    if result.histogram:
        top = max(n for _, n in result.histogram) or 1
        for b, n in result.histogram:
            click.echo(
                f"  {b.date().isoformat()} {'█' * max(1 if n else 0, round(n / top * 40))} {n}"
            )
    rows = [
        [
            f"#{h['id']}",
            h["tier"],
            h["category"] or "-",
            h["area"] or "-",
            _local(zone, h["published_at"]),
            h["title"]
            + (
                _(" (synonyms: {words})").format(words=_(", ").join(h["expanded"]))
                if h["expanded"]
                else ""
            ),
        ]
        for h in hits
    ]
    if rows:
        for line in table(
            [_("No."), _("Tier"), _("Category"), _("Area"), _("Published"), _("Title")], rows
        ):
            click.echo(line)


def _local(zone: str, iso_text: str | None) -> str:
    if not iso_text:
        return "-"
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(iso_text).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _suggest(app: object, word: str, limit: int, as_json: bool) -> None:
    from index.base import BackendError, QueryError
    from index.synonyms import suggest

    try:
        rows = suggest(app.index, word, app.tokenize, top=limit)  # type: ignore[attr-defined]
    except QueryError as exc:
        raise click.UsageError(_("query: {error}").format(error=exc)) from None
    except BackendError as exc:
        raise click.ClickException(
            _("search index unavailable: {error}").format(error=exc)
        ) from None
    finally:
        app.close()  # type: ignore[attr-defined]
    if as_json:
        doc = [{"word": w, "posts": n, "lift": lift} for w, n, lift in rows]
        click.echo(json.dumps({"query": word, "candidates": doc}, ensure_ascii=False))
        return
    click.echo(
        _("words used around {word} (posts, lift); add the right ones to synonyms.yaml:").format(
            word=word
        )
    )
    for w, n, lift in rows:
        click.echo(f"  {w}\t{n}\t{lift}")
