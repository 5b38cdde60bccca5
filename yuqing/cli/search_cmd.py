"""yuqing search: full-text search over the index."""

from __future__ import annotations

import json

import click

from yuqing.cli import CliState, pass_state
from yuqing.cli.common import iso, parse_since
from yuqing.contracts import parse_tier, tier_name


def _severity(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_tier(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("search", short_help="Search posts (Chinese full text, filters).")
@click.argument("query", nargs=-1)
@click.option("--category", help="Only this issue type, e.g. 环境保护.")
@click.option(
    "--severity", callback=_severity, help="At least this tier: I..IV or 4..1 (4 = I 特别重大)."
)
@click.option("--since", help="Published since: YYYY-MM-DD, an ISO time, 7d or today.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_state
def command(
    state: CliState,
    query: tuple[str, ...],
    category: str | None,
    severity: int | None,
    since: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """Search QUERY: words, "exact phrases", -exclusions, OR and field filters
    such as category:环境保护 tier:>=II area:东湖街道 since:2026-11-01."""
    config = state.config()
    since_dt = parse_since(since, config.settings.timezone)
    if category is not None and category not in config.taxonomy.category_names():
        known = "、".join(config.taxonomy.category_names())
        raise click.BadParameter(
            f"unknown category {category!r} (known: {known})", param_hint="--category"
        )
    from index.base import BackendError, QueryError, SearchQuery

    q = SearchQuery(
        text=" ".join(query),
        category=category,
        severity_min=severity,
        since=since_dt,
        limit=limit,
        offset=offset,
    )
    app = state.app()
    try:
        result = app.index.search(q)
    except QueryError as exc:
        raise click.UsageError(f"query: {exc}") from None
    except BackendError as exc:
        raise click.ClickException(f"search index unavailable: {exc}") from None
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
        }
        for h in result.hits
    ]
    if as_json:
        doc = {"total": result.total, "hits": hits, "facets": result.facets}
        click.echo(json.dumps(doc, ensure_ascii=False))
        return
    click.echo(f"{result.total} posts")
    for h in hits:
        when = (h["published_at"] or "")[:16].replace("T", " ")
        click.echo(
            f"[{h['tier']:>3}] {h['category'] or '-'} {h['area'] or '-'} {when}  #{h['id']} {h['title']}"
        )
