"""yuqing users: console accounts (add, passwd, disable, enable, list, token)."""

from __future__ import annotations

import json
import sys

import click

from runtime.cli import CliState, pass_state
from runtime.cli.i18n import _

ROLE_CHOICE = click.Choice(["responder", "analyst", "supervisor", "admin"])


def _password(from_stdin: bool, generate: bool) -> tuple[str, bool]:
    """(password, generated): from stdin, generated, or asked for twice on a terminal."""
    from console.accounts import new_password

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    if generate:
        return new_password(), True
    return click.prompt("password", hide_input=True, confirmation_prompt=True), False


def _run(state: CliState, fn: object) -> object:
    from console.accounts import AccountError

    app = state.app()
    try:
        with app.store.session() as s:
            return fn(app, s)  # type: ignore[operator]
    except AccountError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        app.close()


@click.group("users", short_help="Console accounts: add, passwd, disable, list, token.")
def command() -> None:
    """Console accounts. Roles: responder (a team's inbox, scoped to that team and
    the teams below it), analyst (search, read only), supervisor (everything, the
    dashboard and reports), admin (all of that and accounts)."""


@command.command("add", short_help="Create an account.")
@click.argument("username")
@click.option("--role", type=ROLE_CHOICE, required=True)
@click.option("--team", default=None, help="Team id from config/teams.yaml (responders need one).")
@click.option("--name", "display_name", default="", help="Name shown in the console.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
@pass_state
def add(
    state: CliState,
    username: str,
    role: str,
    team: str | None,
    display_name: str,
    password_stdin: bool,
    generate: bool,
) -> None:
    from console.accounts import add_user

    password, generated = _password(password_stdin, generate)

    def go(app, s):  # type: ignore[no-untyped-def]
        add_user(s, app.config, username, password, role, app.now(), team_id=team,
                 display_name=display_name)  # fmt: skip

    _run(state, go)
    click.echo(
        _("added {user} ({role})").format(user=username, role=role + (", " + team if team else ""))
    )
    if generated:
        click.echo(_("password: {password}").format(password=password))


@command.command("passwd", short_help="Set a new password (ends the user's sessions).")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
@pass_state
def passwd(state: CliState, username: str, password_stdin: bool, generate: bool) -> None:
    from console.accounts import set_password

    password, generated = _password(password_stdin, generate)
    _run(state, lambda app, s: set_password(s, username, password, app.now()))
    click.echo(_("password changed for {user}").format(user=username))
    if generated:
        click.echo(_("password: {password}").format(password=password))


@command.command("disable", short_help="Disable an account (ends sessions, revokes tokens).")
@click.argument("username")
@pass_state
def disable(state: CliState, username: str) -> None:
    from console.accounts import set_disabled

    _run(state, lambda app, s: set_disabled(s, username, True, app.now()))
    click.echo(_("disabled {user}").format(user=username))


@command.command("enable", short_help="Enable a disabled account.")
@click.argument("username")
@pass_state
def enable(state: CliState, username: str) -> None:
    from console.accounts import set_disabled

    _run(state, lambda app, s: set_disabled(s, username, False, app.now()))
    click.echo(_("enabled {user}").format(user=username))


@command.command("list", short_help="List accounts.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_state
def list_(state: CliState, as_json: bool) -> None:
    from console.accounts import list_users

    users = _run(state, lambda app, s: list_users(s))
    assert isinstance(users, list)
    if as_json:
        click.echo(json.dumps({"users": users}, ensure_ascii=False))
        return
    for u in users:
        flag = _("  (disabled)") if u["disabled"] else ""
        click.echo(f"{u['username']:<20} {u['role']:<11} {u['team'] or '-':<20}{flag}")


@command.command("token", short_help="Create an API token for a user (printed once).")
@click.argument("username")
@click.option("--name", default="", help="What the token is for.")
@pass_state
def token(state: CliState, username: str, name: str) -> None:
    """Print a new API token; send it as `Authorization: Bearer <token>`."""
    from console.accounts import create_token

    click.echo(_run(state, lambda app, s: create_token(s, username, app.now(), name=name)))
