"""Helpers shared by subcommands: errors, progress, date options."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from runtime.cli.i18n import _, one_language


def default_actor() -> str:
    """Who acts from the command line when --by is not given (kept in the audit log)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (e.g. a container without passwd entry)
        return "cli"


def fail(message: str, code: int = 1) -> None:
    click.echo(_("Error: {message}").format(message=one_language(message)), err=True)
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
            _("{value!r} is not a date (use YYYY-MM-DD, an ISO time, 7d or today)").format(
                value=value
            ),
            param_hint="--since",
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    return dt.astimezone(UTC)


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def keep_first_admin(var_dir: Path, created: tuple[str, str | None] | None) -> str | None:
    """The first admin's generated password, written to ``<var>/secrets/admin-password``
    (mode 0600) rather than to a terminal where the log soon scrolls it away; the line
    that says where it is and how to change it (None when no admin was created now)."""
    if created is None:
        return None
    user, password = created
    if password is None:
        return _("{user}: password from YUQING_ADMIN_PASSWORD").format(user=user)
    folder = var_dir / "secrets"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "admin-password"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"{user}\n{password}\n")
    os.chmod(path, 0o600)  # an older file keeps its mode through O_CREAT
    return _(
        "{user}: first password in {path} (readable on this machine only); after logging in "
        "change it with {command}, then delete the file"
    ).format(user=user, path=path, command=f"yuqing users passwd {user}")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """Lines of a plain-text table whose columns line up in a terminal: padded by display
    width (a Chinese character takes two cells), the last column left ragged."""
    from wcwidth import wcswidth

    def width(text: str) -> int:
        w = wcswidth(text)
        return w if w >= 0 else len(text)  # control characters: count them plainly

    cells = [[str(h) for h in headers], *([("" if c is None else str(c)) for c in r] for r in rows)]
    widths = [max(width(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for r in cells:
        padded = [c + " " * (widths[i] - width(c)) for i, c in enumerate(r[:-1])]
        lines.append("  ".join([*padded, r[-1]]).rstrip())
    return lines
