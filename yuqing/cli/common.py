"""Helpers shared by subcommands: errors, progress, date options."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import click


def default_actor() -> str:
    """Who acts from the command line when --by is not given (kept in the audit log)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (e.g. a container without passwd entry)
        return "cli"


def fail(message: str, code: int = 1) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def progress_printer(enabled: bool = True) -> Callable[[str], None]:
    """Progress lines on a terminal; silent when output is piped (e.g. --json)."""
    tty = sys.stderr.isatty()

    def show(msg: str) -> None:
        if enabled and tty:
            click.echo(f"… {msg}", err=True)

    return show


def parse_since(value: str | None, tz: str, now: datetime | None = None) -> datetime | None:
    """'2026-11-01', '2026-11-01T08:00', '7d', 'today' -> aware UTC; else a usage error."""
    if value is None:
        return None
    zone = ZoneInfo(tz)
    now = now or datetime.now(UTC)
    v = value.strip()
    if v in ("today", "今天"):
        local = now.astimezone(zone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    if len(v) >= 2 and v[:-1].isdigit() and v[-1] in "dh":
        n = int(v[:-1])
        return now - (timedelta(days=n) if v[-1] == "d" else timedelta(hours=n))
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (use YYYY-MM-DD, an ISO time, 7d or today)",
            param_hint="--since",
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    return dt.astimezone(UTC)


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None
