"""yuqing scheduler: the scheduled work without the console."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import progress_printer
from runtime.cli.i18n import _

LOG_FORMAT = click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines as text or one JSON object each (default: settings ops.log_format).",
)


def status_printer(fmt: str) -> Callable[[str], None]:
    """Status lines on stderr; a log record instead when logs are JSON, so every
    line of a JSON log stays one object."""
    if fmt == "json":
        return logging.getLogger("yuqing.cli").info
    return lambda msg: click.echo(msg, err=True)


@click.command("scheduler", short_help="Run crawls, pipeline, alerts and briefs (no console).")
@click.option("--demo", is_flag=True, help="Also start the bundled demo source site.")
@click.option(
    "--demo-url",
    default=None,
    metavar="URL",
    help="Crawl the demo sources from a demo site that is already running.",
)
@LOG_FORMAT
@pass_state
def command(state: CliState, demo: bool, demo_url: str | None, log_format: str | None) -> None:
    """Run the scheduler until SIGTERM or Ctrl-C: crawls on their schedules, the
    pipeline tick (indexing, alert rules), deadlines and escalation, notification
    delivery, digests and briefs. Start it on several machines for a hot standby:
    one process holds the lease in the store (alerts.yaml jobs.lock_ttl) and works,
    the others load everything, wait, and take over once the lease expires."""
    from runtime.observability import configure_logging
    from runtime.service import Service

    config = state.config()
    fmt = log_format or config.settings.ops.log_format
    configure_logging(fmt, config.settings.ops.log_level)
    say = status_printer(fmt)
    if demo and demo_url:
        raise click.UsageError(_("give --demo or --demo-url, not both"))
    site = None
    if demo:
        from crawler.demo.site import live_site

        site = live_site()  # the demo history, its last hour, and new posts as time passes
        site.start()
        demo_url = site.url
        say(_("demo site  {url}").format(url=site.url))

    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    app = state.app(demo_url=demo_url)
    service = Service(app)
    try:
        app.model(progress=progress_printer())  # a hot standby has its model loaded too
        service.start()
        role = _("active") if service.scheduler is not None else _("standby")
        say(_("scheduler  {role} ({holder})").format(role=role, holder=service.lock.holder))
        while not stop.wait(1.0):
            pass
    finally:
        service.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
        if site is not None:
            site.stop()
        app.close()
        say(_("stopped"))
