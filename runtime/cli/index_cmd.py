"""yuqing index: the search index's status and a rebuild from the store."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import iso
from runtime.cli.i18n import _


@click.group("index", short_help="Search index: status, rebuild from the store.")
def command() -> None:
    """The search index is derived from the store: inspect it or rebuild it."""


def _app(state: CliState) -> Any:
    from index.base import BackendError

    app = state.app()
    try:
        app.index  # noqa: B018 - opening it is the check
    except (BackendError, OSError) as exc:
        app.close()
        raise click.ClickException(
            _("search index unavailable: {error}").format(error=exc)
        ) from None
    return app


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_state
def status(state: CliState, as_json: bool) -> None:
    """Documents in the index against posts in the store, and the outbox backlog.

    Exit status 0 when the index is reachable, 1 when it is not."""
    from index.maintenance import index_status

    app = _app(state)
    try:
        st = index_status(app.store, app.index)
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps(st.as_json(), ensure_ascii=False))
    else:
        where = "  ".join(f"{k}={v}" for k, v in st.location.items() if v)
        docs = (
            st.documents
            if st.documents is not None
            else _("unreachable ({error})").format(error=st.error)
        )
        click.echo(_("backend     {backend}  {where}").format(backend=st.backend, where=where))
        click.echo(_("documents   {n}").format(n=docs))
        click.echo(_("posts       {n}").format(n=st.posts))
        click.echo(
            _("backlog     {queued} queued, {failing} failing").format(
                queued=st.backlog, failing=st.failing
            )
        )
        click.echo(_("oldest      {at}").format(at=iso(st.oldest_queued_at) or "-"))
        if st.last_error:
            click.echo(
                _("last error  {error}  (retry at {at})").format(
                    error=st.last_error, at=iso(st.next_retry_at)
                )
            )
    if not st.reachable:
        sys.exit(1)


@command.command("rebuild")
@click.option("--batch", type=click.IntRange(1, 10_000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document, no progress bar.")
@pass_state
def rebuild(state: CliState, batch: int, as_json: bool) -> None:
    """Re-create the index from every post in the store.

    The old index keeps serving searches until the new one is complete; then
    they are swapped atomically (Elasticsearch: the alias moves to the next
    versioned index; embedded: the new file is copied in one transaction)."""
    from index.base import BackendError
    from index.maintenance import rebuild_index
    from runtime.jobs import drain_index

    app = _app(state)
    try:
        show = not as_json and sys.stderr.isatty()
        with click.progressbar(
            length=1, label=_("rebuilding"), file=sys.stderr, show_pos=True, hidden=not show
        ) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            try:
                report = rebuild_index(
                    app.store, app.index, app.now, batch=batch, progress=progress
                )
            except BackendError as exc:
                raise click.ClickException(
                    _("rebuild failed, old index kept: {error}").format(error=exc)
                ) from None
        drained = drain_index(app)  # posts that changed during the rebuild
    finally:
        app.close()
    doc = {
        "posts": report.posts,
        "indexed": report.indexed,
        "failed": [{"id": i, "reason": r} for i, r in report.failed],
        "requeued": report.requeued,
        "requeued_indexed": drained.indexed,
    }
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False))
        return
    click.echo(_("indexed {n} of {posts} posts").format(n=report.indexed, posts=report.posts))
    for i, r in report.failed[:20]:
        click.echo(_("  failed #{id}: {reason}").format(id=i, reason=r))
    if len(report.failed) > 20:
        click.echo(
            _("  … and {n} more (see {command})").format(
                n=len(report.failed) - 20, command="`yuqing index status`"
            )
        )
