"""yuqing run: the whole service in one process."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import keep_first_admin, progress_printer
from runtime.cli.i18n import _
from runtime.cli.scheduler_cmd import LOG_FORMAT


@click.command("run", short_help="Start crawls, pipeline, alerts and the console.")
@click.option("--demo", is_flag=True, help="Also start the bundled demo source site.")
@click.option("--host", default=None, help="Console address (default from settings: 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Console port (default 8000).")
@LOG_FORMAT
@pass_state
def command(
    state: CliState, demo: bool, host: str | None, port: int | None, log_format: str | None
) -> None:
    """Run the scheduler (crawls on their schedules, indexing, alert rules) and
    the web console until Ctrl-C. With --demo the bundled demo site is served on
    a free loopback port and its sources are crawled, so a first run works offline."""
    import uvicorn

    from console.web import create_app
    from runtime.observability import configure_logging
    from runtime.service import Service

    config = state.config()
    configure_logging(log_format or config.settings.ops.log_format, config.settings.ops.log_level)
    host = host or config.settings.console.host
    port = port if port is not None else config.settings.console.port

    site = None
    if demo:
        from crawler.demo.site import live_site

        site = live_site()  # the demo history, its last hour, and new posts as time passes
        site.start()
        click.echo(_("demo site  {url}").format(url=site.url), err=True)
    app = state.app(demo_url=site.url if site else None)
    service = Service(app)
    worker = None
    try:
        app.model(progress=progress_printer())  # train at first run, before crawls need it
        # The console refuses anonymous visitors: a first run must leave someone able to log in.
        from console.accounts import ensure_first_admin

        with app.store.session() as s:
            created = ensure_first_admin(s, app.config, app.now())
        admin = keep_first_admin(app.config.var_dir, created)
        service.start()
        if config.settings.crawler.redis_url:
            # A shared frontier: the scheduler only seeds it, so "everything in one
            # process" needs one crawler worker beside it to do the crawling.
            worker = _start_crawler_worker(app, site.url if site else None)
            click.echo(
                _("crawler    worker pid {pid} on the shared frontier").format(pid=worker.pid),
                err=True,
            )
        click.echo(_("console    {url}").format(url=f"http://{host}:{port}/"), err=True)
        if admin:  # last, so the start-up output ends with it
            click.echo(_("admin      {value}").format(value=admin), err=True)
        uvicorn.run(create_app(app), host=host, port=port, log_level="warning", log_config=None)
    finally:
        if worker is not None:
            _stop_crawler_worker(worker)
        service.stop()
        if site is not None:
            site.stop()
        app.close()
        click.echo(_("stopped"), err=True)


def _start_crawler_worker(app: Any, demo_url: str | None) -> subprocess.Popen[bytes]:
    from runtime.jobs import child_env

    cmd = [sys.executable, "-m", "runtime.cli", "crawler-worker"]
    if demo_url:
        cmd += ["--demo-url", demo_url]
    return subprocess.Popen(cmd, env=child_env(app))


def _stop_crawler_worker(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets in-flight pages finish; past the wait, unfinished leases go back."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
