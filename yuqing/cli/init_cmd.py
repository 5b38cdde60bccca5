"""yuqing init: create the store, the first admin, the first model and the index."""

from __future__ import annotations

import click

from yuqing.cli import CliState, pass_state
from yuqing.cli.common import progress_printer


@click.command("init", short_help="Create the database, the first admin, model and index.")
@pass_state
def command(state: CliState) -> None:
    """Create or migrate the store, create the first console admin when there is
    none (password from YUQING_ADMIN_PASSWORD, else generated and printed once),
    train the baseline classifier at first run (on the bundled demo corpus) and
    open the search index. Safe to repeat."""
    from console.accounts import ensure_first_admin

    app = state.app()
    progress = progress_printer()
    try:
        progress(f"store: {app.store.safe_url}")
        with app.store.session() as s:
            created = ensure_first_admin(s, app.config, app.now())
        model = app.model(progress=progress)
        app.index.count()
        click.echo(f"store      {app.store.safe_url}")
        click.echo(f"model      {getattr(model, 'version', '?')}")
        click.echo(f"index      {app.config.settings.index.backend}")
        click.echo(f"var        {app.config.var_dir}")
        if created is not None:
            user, password = created
            if password is None:
                click.echo(f"admin      {user} (password from YUQING_ADMIN_PASSWORD)")
            else:
                click.echo(f"admin      {user}  password: {password}  (shown once; change it)")
    finally:
        app.close()
