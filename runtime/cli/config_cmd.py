"""yuqing config: validate the configuration."""

from __future__ import annotations

import sys

import click

from runtime.cli import CliState, pass_state, problem_text
from runtime.cli.i18n import _
from yuqing.settings import ENV_OVERRIDES, ConfigError, load_config


@click.group("config", short_help="Check the configuration.")
def command() -> None:
    """The YAML files under the config directory."""


@command.command("check", short_help="Validate every config file.")
@pass_state
def check(state: CliState) -> None:
    """Validate settings, sources, taxonomy, areas, teams and alerts, and the
    references between them. Prints every problem as `file: key: message` and
    exits 2 when there is one."""
    try:
        cfg = load_config(state.config_dir, state.env)
    except ConfigError as exc:
        for p in exc.problems:
            click.echo(problem_text(p), err=True)
        click.echo(
            _("{n} problem(s) in {dir}").format(n=len(exc.problems), dir=state.config_dir),
            err=True,
        )
        sys.exit(2)
    click.echo(
        _(
            "ok: {dir} — {sources} sources, {categories} categories, {areas} areas, "
            "{teams} teams, {rules} rules"
        ).format(
            dir=cfg.directory,
            sources=len(cfg.sources.sources),
            categories=len(cfg.taxonomy.categories),
            areas=len(cfg.areas.all()),
            teams=len(cfg.teams.teams),
            rules=len(cfg.alerts.rules),
        )
    )
    overrides = [k for k in ENV_OVERRIDES if state.env.get(k)]
    if overrides:
        click.echo(_("environment overrides: {names}").format(names=", ".join(overrides)))
