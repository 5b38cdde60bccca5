"""The `yuqing` command line: one module per subcommand, shared options here."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from runtime.cli.i18n import _, lang, one_language
from store.db import StoreError
from yuqing.settings import AppConfig, ConfigError, Problem, load_config, resolve_config_dir


@dataclass
class CliState:
    config_dir: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    _config: AppConfig | None = None

    def config(self) -> AppConfig:
        """Load and validate the config; a problem ends the command with exit status 2."""
        if self._config is None:
            try:
                self._config = load_config(self.config_dir, self.env)
            except ConfigError as exc:
                first = problem_text(exc.problems[0])
                more = len(exc.problems) - 1
                tail = (
                    _(" (and {n} more: run {command})").format(
                        n=more, command="`yuqing config check`"
                    )
                    if more
                    else ""
                )
                raise click.UsageError(
                    _("config: {problem}").format(problem=f"{first}{tail}")
                ) from None
        return self._config

    def app(self, demo_url: str | None = None) -> Any:
        from runtime.app import App

        return App(self.config(), demo_url=demo_url)


pass_state = click.make_pass_decorator(CliState)

_LINE = re.compile(r"line (\d+), column (\d+)")
_WHOLE = ("(file)", "(top)", "(directory)")  # the Chinese message says which


def problem_text(problem: Problem) -> str:
    """A config problem as `file: key: message` in the locale's language (the key's
    file position too: "line 3, column 5" is 第 3 行第 5 列)."""
    message = one_language(problem.message)
    if lang() == "en":
        return f"{problem.file}: {problem.key}: {message}"
    if problem.key in _WHOLE:
        return f"{problem.file}: {message}"
    where = _LINE.sub(r"第 \1 行第 \2 列", problem.key)
    return f"{problem.file}: {where}: {message}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Config directory (default: $YUQING_CONFIG or ./config).",
)
@click.version_option(package_name="yuqing")
@click.pass_context
def cli(ctx: click.Context, config_dir: Path | None) -> None:
    """yuqing: public-opinion monitoring and response for grassroots government.

    Crawl public posts, classify their issue type and severity, index them for
    search and raise tiered alerts to the right grid team.
    """
    ctx.obj = CliState(resolve_config_dir(config_dir, os.environ))


def _register() -> None:
    from runtime.cli import (
        alerts_cmd,
        classifier_cmd,
        config_cmd,
        crawl_cmd,
        import_cmd,
        index_cmd,
        init_cmd,
        run_cmd,
        search_cmd,
    )

    for mod in (init_cmd, run_cmd, crawl_cmd, import_cmd, search_cmd, alerts_cmd, config_cmd):
        cli.add_command(mod.command)
    cli.add_command(classifier_cmd.command)
    cli.add_command(index_cmd.command)
    from runtime.cli import crawler_worker_cmd  # distributed crawling (crawler/distributed/)

    cli.add_command(crawler_worker_cmd.command)
    from runtime.cli import report_cmd, users_cmd  # console accounts and briefs

    cli.add_command(users_cmd.command)
    cli.add_command(report_cmd.command)
    from runtime.cli import events_cmd  # events (analysis.events)

    cli.add_command(events_cmd.command)
    from runtime.cli import sentiment_cmd  # the negativity model (classifier.sentiment)

    cli.add_command(sentiment_cmd.command)
    from runtime.cli import schemes_cmd  # monitoring schemes (analysis.schemes)

    cli.add_command(schemes_cmd.command)
    from runtime.cli import scheduler_cmd, serve_cmd  # the pieces `run` starts, one at a time

    cli.add_command(serve_cmd.command)
    cli.add_command(scheduler_cmd.command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point. Usage errors (bad option, unknown source, broken config) print
    one line naming the problem and exit with status 2, before anything is written.

    The lower floors word errors for people "中文 / English"; here, the one place
    every error passes, each line keeps the locale's half (i18n.one_language)."""
    from runtime.cli.i18n import install

    install(cli)  # Chinese unless the locale asks for English
    try:
        rv = cli.main(args=argv, prog_name="yuqing", standalone_mode=False)
    except click.UsageError as exc:
        cmd = exc.ctx.command_path if exc.ctx else "yuqing"
        message = one_language(exc.format_message())
        click.echo(_("{command}: error: {message}").format(command=cmd, message=message), err=True)
        sys.exit(2)
    except StoreError as exc:
        message = one_language(str(exc))
        click.echo(
            _("{command}: error: {message}").format(command="yuqing", message=message), err=True
        )
        sys.exit(1)
    except click.ClickException as exc:  # as exc.show() would, the locale's half
        message = one_language(exc.format_message())
        click.echo(_("Error: {message}").format(message=message), err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo(_("aborted"), err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo(_("interrupted"), err=True)
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)
