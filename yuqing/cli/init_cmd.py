"""yuqing init: create the store, train the first model, prepare the index."""

from __future__ import annotations

import click

from yuqing.cli import CliState, pass_state
from yuqing.cli.common import progress_printer


@click.command("init", short_help="Create the database, the first model and the index.")
@pass_state
def command(state: CliState) -> None:
    """Create or migrate the store, train the baseline classifier at first run
    (on the bundled demo corpus) and open the search index. Safe to repeat."""
    app = state.app()
    progress = progress_printer()
    try:
        progress(f"store: {app.store.safe_url if hasattr(app.store, 'safe_url') else ''}")
        model = app.model(progress=progress)
        app.index.count()
        click.echo(f"store      {app.store.safe_url}")
        click.echo(f"model      {getattr(model, 'version', '?')}")
        click.echo(f"index      {app.config.settings.index.backend}")
        click.echo(f"var        {app.config.var_dir}")
    finally:
        app.close()
