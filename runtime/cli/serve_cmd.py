"""yuqing serve: the console alone, in one or several worker processes."""

from __future__ import annotations

import json
import os
import signal
from typing import TYPE_CHECKING

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import keep_first_admin
from runtime.cli.i18n import _
from runtime.cli.scheduler_cmd import LOG_FORMAT, status_printer

if TYPE_CHECKING:
    from fastapi import FastAPI

# How the serve command hands its options to the worker processes uvicorn spawns
# (they start from an import string, so the environment is the only way in).
WORKER_OPTIONS = "YUQING_SERVE_WORKER"


def worker_app() -> FastAPI:
    """The app factory each uvicorn worker calls: config, logging, App, console."""
    from console.web import create_app
    from runtime.app import App
    from runtime.observability import configure_logging
    from yuqing.settings import load_config, resolve_config_dir

    opts = json.loads(os.environ.get(WORKER_OPTIONS) or "{}")
    config = load_config(resolve_config_dir(opts.get("config_dir"), os.environ), os.environ)
    configure_logging(
        opts.get("log_format") or config.settings.ops.log_format, config.settings.ops.log_level
    )
    return create_app(App(config))


@click.command("serve", short_help="Serve the console (several workers behind one port).")
@click.option("--host", default=None, help="Address (default from settings: 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default from settings: 8000).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes sharing the port (about one per core).",
)
@LOG_FORMAT
@pass_state
def command(
    state: CliState, host: str | None, port: int | None, workers: int, log_format: str | None
) -> None:
    """Serve the web console and JSON API until SIGTERM or Ctrl-C, without the
    scheduler (run `yuqing scheduler` beside it). Workers keep nothing of their
    own: logins, sessions and CSRF tokens live in the store, so any worker
    answers any request. /healthz, /readyz and /metrics are for the operators."""
    import uvicorn

    from console.accounts import ensure_first_admin
    from runtime.observability import configure_logging

    config = state.config()
    fmt = log_format or config.settings.ops.log_format
    configure_logging(fmt, config.settings.ops.log_level)
    say = status_printer(fmt)
    host = host or config.settings.console.host
    port = port if port is not None else config.settings.console.port

    # Migrate and create the first admin once, here, before workers race to do it.
    app = state.app()
    try:
        with app.store.session() as s:
            created = ensure_first_admin(s, app.config, app.now())
    finally:
        app.close()
    admin = keep_first_admin(app.config.var_dir, created)

    os.environ[WORKER_OPTIONS] = json.dumps(
        {"config_dir": str(state.config_dir.resolve()), "log_format": fmt}
    )
    say(
        _("console    {url}  ({workers} workers)").format(
            url=f"http://{host}:{port}/", workers=workers
        )
    )
    if admin:
        say(_("admin      {value}").format(value=admin))
    # uvicorn shuts down on SIGTERM, then raises it again under the handler found at
    # start: let that be a no-op so a stop by systemd ends with status 0, not -15.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: None)
    uvicorn.run(
        "runtime.cli.serve_cmd:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,  # ours (configure_logging), in every worker
        log_level="warning",
        access_log=False,
    )
    say(_("stopped"))
