"""Accounts: users and roles, passwords, login sessions, API tokens, grid scope.

Plain functions over a Session, shared by the console and `yuqing users`.
Passwords are hashed with argon2id; session ids and API tokens are random
256-bit strings of which the store keeps only a SHA-256 hash.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from store.console_models import ApiToken, ConsoleSession, LoginAttempt
from store.models import AuditLog, User
from yuqing.settings import AppConfig

ROLES: tuple[str, ...] = ("responder", "analyst", "supervisor", "admin")
ROLE_LABELS_ZH: dict[str, str] = {
    "responder": "处置员",
    "analyst": "分析员",
    "supervisor": "督办领导",
    "admin": "管理员",
}
# What each role may do beyond reading its scope.
PERMISSIONS: dict[str, frozenset[str]] = {
    "responder": frozenset({"act"}),
    "analyst": frozenset({"search"}),
    "supervisor": frozenset({"act", "search", "dashboard", "reports"}),
    "admin": frozenset({"act", "search", "dashboard", "reports", "admin"}),
}
MIN_PASSWORD = 8
TOKEN_STAMP_EVERY = timedelta(minutes=1)  # how fresh an API token's last_used_at is kept
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A bad account request (unknown user, weak password, unknown team or role)."""


class LoginRefused(Exception):
    """Wrong credentials, a disabled account, or too many recent failures."""

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


# ------------------------------------------------------------------- scope


@dataclass(frozen=True, slots=True)
class Scope:
    """Which alerts and posts a user may see; None means everything."""

    teams: frozenset[str] | None
    areas: frozenset[str] | None

    @property
    def everything(self) -> bool:
        return self.teams is None


EVERYTHING = Scope(None, None)


def team_subtree(config: AppConfig, team_id: str) -> frozenset[str]:
    """The team and every team below it in the escalation chain (config teams `parent`)."""
    children: dict[str | None, list[str]] = {}
    for t in config.teams.teams:
        children.setdefault(t.parent, []).append(t.id)
    out, todo = set(), [team_id]
    while todo:
        cur = todo.pop()
        if cur in out:
            continue
        out.add(cur)
        todo.extend(children.get(cur, []))
    return frozenset(out)


def area_subtree(config: AppConfig, areas: Iterable[str]) -> frozenset[str]:
    """The areas and every area inside them (config areas.yaml)."""
    from yuqing.gazetteer import subtree

    return subtree(config.areas, areas)


def scope_for(config: AppConfig, role: str, team_id: str | None) -> Scope:
    """Responders see their team's subtree; every other role sees everything."""
    if role != "responder":
        return EVERYTHING
    if not team_id:
        return Scope(frozenset(), frozenset())
    teams = team_subtree(config, team_id)
    by_id = config.teams.by_id()
    areas = area_subtree(config, [a for t in teams if t in by_id for a in by_id[t].areas])
    return Scope(teams, areas)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a logged-in user (session) or a machine (API token)."""

    user_id: int
    username: str
    display_name: str
    role: str
    team_id: str | None
    scope: Scope
    via: str  # "session" or "token"
    csrf_token: str | None = None

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    @property
    def role_label(self) -> str:
        return ROLE_LABELS_ZH.get(self.role, self.role)


def principal_for(config: AppConfig, user: User, via: str, csrf: str | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name or user.username,
        role=user.role,
        team_id=user.team_id,
        scope=scope_for(config, user.role, user.team_id),
        via=via,
        csrf_token=csrf,
    )


# ------------------------------------------------------------------- users


def hash_secret(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_password() -> str:
    return secrets.token_urlsafe(12)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            f"密码太短，至少 {MIN_PASSWORD} 个字符 / "
            f"password too short: at least {MIN_PASSWORD} characters"
        )


def _check_role_team(config: AppConfig, role: str, team_id: str | None) -> None:
    if role not in ROLES:
        raise AccountError(
            f"没有角色 {role!r}，可选：{'、'.join(ROLES)} / unknown role {role!r}: use {', '.join(ROLES)}"
        )
    if team_id is not None and team_id not in config.teams.by_id():
        raise AccountError(
            f"没有责任单位 {team_id!r}（见 config/teams.yaml） / "
            f"unknown team {team_id!r} (config/teams.yaml)"
        )
    if role == "responder" and not team_id:
        raise AccountError("处置人员需要指定责任单位（--team） / a responder needs a team (--team)")


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"没有用户 {username!r} / no user {username!r}")
    return user


def add_user(
    session: Session,
    config: AppConfig,
    username: str,
    password: str,
    role: str,
    now: datetime,
    *,
    team_id: str | None = None,
    display_name: str = "",
    actor: str = "cli",
) -> User:
    username = username.strip()
    if not username or len(username) > 80 or any(c.isspace() for c in username):
        raise AccountError(
            "用户名须为 1-80 个字符，不含空格 / username must be 1-80 characters without spaces"
        )
    _check_role_team(config, role, team_id)
    _check_password(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"用户 {username!r} 已存在 / user {username!r} exists already")
    user = User(
        username=username,
        display_name=display_name,
        password_hash=_hasher.hash(password),
        role=role,
        team_id=team_id,
        disabled=False,
        created_at=now,
    )
    session.add(user)
    session.flush()
    _audit(session, now, actor, "user.add", username, {"role": role, "team": team_id})
    return user


def set_password(
    session: Session, username: str, password: str, now: datetime, actor: str = "cli"
) -> None:
    """New password; every open session of the user ends."""
    _check_password(password)
    user = get_user(session, username)
    user.password_hash = _hasher.hash(password)
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    _audit(session, now, actor, "user.passwd", username, {})


def set_disabled(
    session: Session, username: str, disabled: bool, now: datetime, actor: str = "cli"
) -> None:
    """Disable (or enable) an account; disabling ends its sessions and revokes its tokens."""
    user = get_user(session, username)
    user.disabled = disabled
    if disabled:
        session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
        for tok in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
            tok.revoked = True
    _audit(session, now, actor, "user.disable" if disabled else "user.enable", username, {})


def list_users(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "team": u.team_id,
            "disabled": u.disabled,
            "created_at": u.created_at.isoformat(),
        }
        for u in session.scalars(select(User).order_by(User.username))
    ]


def has_admin(session: Session) -> bool:
    return (
        session.scalar(
            select(func.count()).select_from(User).where(User.role == "admin", ~User.disabled)
        )
        or 0
    ) > 0


def _audit(
    session: Session, now: datetime, actor: str, action: str, target: str, detail: dict[str, Any]
) -> None:
    session.add(
        AuditLog(
            at=now, actor=actor, action=action, target_type="user", target_id=target, detail=detail
        )
    )


# ------------------------------------------------------------------- login


def _verify(user: User | None, password: str) -> bool:
    if user is None:
        # Same work for an unknown name, so timing does not tell which names exist.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(
    session: Session,
    config: AppConfig,
    username: str,
    password: str,
    ip: str,
    now: datetime,
) -> User | None:
    """Check a username and password, counting failures per username+IP.

    Returns the user, or None for a wrong name or password or a disabled
    account (the failure is recorded). After ``login_max_failures`` failures
    within ``login_window`` every try raises LoginRefused (even with the right
    password) until the window has passed.
    """
    cs = config.settings.console
    key = f"{username.strip().lower()[:120]}|{ip[:64]}"
    since = now - cs.login_window
    failures = (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.key == key, LoginAttempt.at >= since, ~LoginAttempt.ok)
        )
        or 0
    )
    if failures >= cs.login_max_failures:
        raise LoginRefused("登录失败次数过多，请稍后再试 / too many failed logins", throttled=True)
    user = session.scalar(select(User).where(User.username == username.strip()))
    ok = _verify(user, password) and user is not None and not user.disabled
    if not ok or user is None:
        session.add(LoginAttempt(key=key, at=now, ok=False))
        return None  # the caller commits, so the failure counts
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    # A success forgets earlier failures of this key; old rows of every key are pruned.
    session.execute(
        delete(LoginAttempt).where(
            or_(and_(LoginAttempt.key == key, ~LoginAttempt.ok), LoginAttempt.at < since)
        )
    )
    _audit(session, now, user.username, "user.login", user.username, {"ip": ip})
    return user


def open_session(
    session: Session, config: AppConfig, user: User, now: datetime, ip: str | None
) -> tuple[str, str]:
    """A new browser session; returns (cookie value, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=hash_secret(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + config.settings.console.session_ttl,
            ip=(ip or "")[:64] or None,
        )
    )
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    return token, csrf


def close_session(session: Session, token: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == hash_secret(token)))


def principal_from_session(
    session: Session, config: AppConfig, token: str, now: datetime
) -> Principal | None:
    found = resolve_hashed(session, config, "session", hash_secret(token), now)
    return found[0] if found is not None else None


def resolve_hashed(
    session: Session, config: AppConfig, kind: str, secret_hash: str, now: datetime
) -> tuple[Principal, datetime] | None:
    """The principal behind a session ("session") or API token ("token") by the hash of
    its secret, and until when that answer may be reused without asking the store again
    (a session's end; a token's next last-use stamp). None: unknown, ended, revoked or
    disabled."""
    if kind == "session":
        row = session.execute(
            select(ConsoleSession, User)
            .join(User, User.id == ConsoleSession.user_id)
            .where(ConsoleSession.token_hash == secret_hash)
        ).first()
        if row is None:
            return None
        sess, user = row
        if sess.expires_at <= now or user.disabled:
            return None
        return principal_for(config, user, "session", sess.csrf_token), sess.expires_at
    found = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == secret_hash)
    ).first()
    if found is None:
        return None
    tok, owner = found
    if tok.revoked or owner.disabled:
        return None
    # Coarse last-use stamp: one write per token per minute at most.
    if tok.last_used_at is None or now - tok.last_used_at > TOKEN_STAMP_EVERY:
        tok.last_used_at = now
    return principal_for(config, owner, "token"), tok.last_used_at + TOKEN_STAMP_EVERY


# ---------------------------------------------------------------- API tokens


def create_token(
    session: Session, username: str, now: datetime, name: str = "", actor: str = "cli"
) -> str:
    """A new API token for the user; the clear value is returned once and never stored."""
    user = get_user(session, username)
    if user.disabled:
        raise AccountError(f"用户 {username!r} 已停用 / user {username!r} is disabled")
    token = "yq_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(token_hash=hash_secret(token), user_id=user.id, name=name[:80], created_at=now)
    )
    _audit(session, now, actor, "token.create", username, {"name": name})
    return token


def principal_from_token(
    session: Session, config: AppConfig, token: str, now: datetime
) -> Principal | None:
    found = resolve_hashed(session, config, "token", hash_secret(token), now)
    return found[0] if found is not None else None


def ensure_first_admin(
    session: Session, config: AppConfig, now: datetime
) -> tuple[str, str | None] | None:
    """Create the first admin when there is none.

    Returns None when an admin exists; else (username, password) where the
    password is None when it came from config (YUQING_ADMIN_PASSWORD) and the
    generated one otherwise, to be shown once.
    """
    if has_admin(session):
        return None
    cs = config.settings.console
    given = cs.admin_password
    password = given or new_password()
    existing = session.scalar(select(User).where(User.username == cs.admin_user))
    if existing is not None:  # a non-admin or disabled account holds the name: promote it
        existing.role, existing.disabled = "admin", False
        existing.password_hash = _hasher.hash(password)
        _audit(session, now, "init", "user.promote", existing.username, {})
    else:
        add_user(session, config, cs.admin_user, password, "admin", now, actor="init")
    return cs.admin_user, (None if given else password)
