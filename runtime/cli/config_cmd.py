"""yuqing config: validate the configuration."""

from __future__ import annotations

import sys

import click

from runtime.cli import CliState, pass_state
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
            click.echo(str(p), err=True)
        click.echo(f"{len(exc.problems)} problem(s) in {state.config_dir}", err=True)
        sys.exit(2)
    click.echo(
        f"ok: {cfg.directory} — {len(cfg.sources.sources)} sources, "
        f"{len(cfg.taxonomy.categories)} categories, {len(cfg.areas.all())} areas, "
        f"{len(cfg.teams.teams)} teams, {len(cfg.alerts.rules)} rules"
    )
    overrides = [k for k in ENV_OVERRIDES if state.env.get(k)]
    if overrides:
        click.echo("environment overrides: " + ", ".join(overrides))
