"""Users, passwords, lockout and the audit log — kept outside the repository.

The users file (YAML, the layout streamlit-authenticator reads: ``credentials.usernames`` and
``cookie``) holds bcrypt hashes, each user's level and scope, and the failure count behind the
lockout. Its path comes from ``STEELSIGHT_USERS`` or ``[auth] users_file`` in
``.streamlit/secrets.toml`` (default ``~/.steelsight/users.yaml``). When no users file exists
the app runs in single-user mode and says so. The audit log is an append-only JSON-lines file
beside it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from analytics.access import LEVELS, Scope
from analytics.warehouse import ROOT

ENV_USERS = "STEELSIGHT_USERS"
DEFAULT_USERS = Path.home() / ".steelsight" / "users.yaml"
MAX_FAILURES = 5                  # failed logins in a row before the account locks
LOCKOUT = timedelta(minutes=15)
COOKIE_EXPIRY_DAYS = 7
MIN_PASSWORD = 8


class AuthError(Exception):
    """A failed login: ``code`` is "invalid" or "locked" (with ``until``)."""

    def __init__(self, code: str, until: datetime | None = None):
        self.code, self.until = code, until
        super().__init__(code)


def users_path() -> Path:
    if os.environ.get(ENV_USERS):
        return Path(os.environ[ENV_USERS]).expanduser()
    secrets_file = ROOT / ".streamlit" / "secrets.toml"
    if secrets_file.exists():
        with secrets_file.open("rb") as fh:
            found = tomllib.load(fh).get("auth", {}).get("users_file")
        if found:
            return Path(found).expanduser()
    return DEFAULT_USERS


def login_required() -> bool:
    """Login is on exactly when a users file exists."""
    return users_path().exists()


def _now() -> datetime:
    return datetime.now(UTC)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[dict[str, Any]]:
    """Read-modify-write of the users file under a lock, written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = _read(path)
        try:
            yield data
        finally:  # a failed login raises here, and its count must still be written
            tmp = path.with_suffix(".tmp")
            tmp.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=True),
                           encoding="utf-8")
            os.chmod(tmp, 0o600)  # hashes are not secret, but nobody else needs them
            tmp.replace(path)


def _read(path: Path) -> dict[str, Any]:
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    else:
        data = {}
    data.setdefault("credentials", {}).setdefault("usernames", {})
    data.setdefault("cookie", {"name": "steelsight_auth", "key": secrets.token_hex(32),
                               "expiry_days": COOKIE_EXPIRY_DAYS})
    return data


def cookie_settings(path: Path | None = None) -> dict[str, Any]:
    return dict(_read(path or users_path())["cookie"])


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"passwords need at least {MIN_PASSWORD} characters")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def add_user(username: str, password: str, *, level: str, name: str = "",
             reps: tuple[str, ...] = (), provinces: tuple[str, ...] = (),
             path: Path | None = None) -> None:
    """A new user. A rep's scope is its own name as it appears in sales_rep; a manager's is
    the reps and/or provinces given (none = all)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    if level == "rep" and not reps:
        reps = (name or username,)
    path = path or users_path()
    with _locked(path) as data:
        users = data["credentials"]["usernames"]
        if username in users:
            raise ValueError(f"user {username!r} exists; use reset to change the password")
        users[username] = {"name": name or username, "password": _hash(password),
                           "level": level, "reps": list(reps), "provinces": list(provinces),
                           "failed": 0, "locked_until": None}
    audit("user_added", user=username, level=level)


def remove_user(username: str, *, path: Path | None = None) -> None:
    with _locked(path or users_path()) as data:
        if data["credentials"]["usernames"].pop(username, None) is None:
            raise ValueError(f"no user {username!r}")
    audit("user_removed", user=username)


def reset_password(username: str, password: str, *, path: Path | None = None) -> None:
    """New password; also lifts a lockout."""
    with _locked(path or users_path()) as data:
        user = data["credentials"]["usernames"].get(username)
        if user is None:
            raise ValueError(f"no user {username!r}")
        # a new password also ends the sessions signed in with the old one
        user.update(password=_hash(password), failed=0, locked_until=None,
                    sessions_ended=_now().isoformat())
    audit("password_reset", user=username)


def end_sessions(username: str, *, path: Path | None = None, now: datetime | None = None
                 ) -> None:
    """Sign-out: the user's sessions (cookies) issued until ``now`` are no longer honoured.
    Deleting the cookie happens in the browser, by a component that a rerun or a closed tab
    can cut short; the server must not take the cookie back after that."""
    with _locked(path or users_path()) as data:
        user = data["credentials"]["usernames"].get(username)
        if user is not None:
            user["sessions_ended"] = (now or _now()).isoformat()


def session_valid(username: str, issued: datetime, *, path: Path | None = None) -> bool:
    """Whether a session (cookie) issued to ``username`` at ``issued`` still counts: the user
    exists and has not signed out or changed password since."""
    user = _read(path or users_path())["credentials"]["usernames"].get(username)
    if user is None:
        return False
    ended = user.get("sessions_ended")
    return not ended or issued > datetime.fromisoformat(ended)


def list_users(path: Path | None = None) -> list[dict[str, Any]]:
    """Users without their hashes."""
    users = _read(path or users_path())["credentials"]["usernames"]
    return [{"username": u, **{k: v for k, v in d.items() if k != "password"}}
            for u, d in sorted(users.items())]


def scope_of(username: str, *, path: Path | None = None) -> Scope:
    user = _read(path or users_path())["credentials"]["usernames"].get(username)
    if user is None:
        raise AuthError("invalid")
    return Scope(user=username, level=user["level"], reps=tuple(user.get("reps") or ()),
                 provinces=tuple(user.get("provinces") or ()), single_user=False)


def verify(username: str, password: str, *, path: Path | None = None,
           now: datetime | None = None) -> Scope:
    """The user's scope if the password is right and the account is not locked.

    MAX_FAILURES wrong passwords in a row lock the account for LOCKOUT; a right password
    while locked is refused too (and does not reset the count). Unknown users fail like a
    wrong password, so the form does not reveal who exists.
    """
    now = now or _now()
    path = path or users_path()
    with _locked(path) as data:
        user = data["credentials"]["usernames"].get(username)
        if user is None:
            bcrypt.checkpw(b"x", _DUMMY)  # same time as a real check
            audit("login_failed", user=username, reason="unknown")
            raise AuthError("invalid")
        until = user.get("locked_until")
        if until and datetime.fromisoformat(until) > now:
            audit("login_refused_locked", user=username)
            raise AuthError("locked", datetime.fromisoformat(until))
        if not bcrypt.checkpw(password.encode(), user["password"].encode()):
            user["failed"] = int(user.get("failed") or 0) + 1
            if user["failed"] >= MAX_FAILURES:
                user["locked_until"] = (now + LOCKOUT).isoformat()
                user["failed"] = 0
                audit("lockout", user=username, until=user["locked_until"])
                raise AuthError("locked", now + LOCKOUT)
            audit("login_failed", user=username, failures=user["failed"])
            raise AuthError("invalid")
        user.update(failed=0, locked_until=None)
    audit("login", user=username)
    return scope_of(username, path=path)


_DUMMY = bcrypt.hashpw(b"timing", bcrypt.gensalt(rounds=12))


# -- audit log --------------------------------------------------------------------------------
def audit_path() -> Path:
    return users_path().with_name("audit.jsonl")


def audit(event: str, *, user: str = "", **details: object) -> None:
    """Append one event (never rewrites the file); failures to log never break the app."""
    record = {"time": _now().isoformat(timespec="seconds"), "event": event, "user": user,
              **{k: v for k, v in details.items() if v is not None}}
    try:
        path = audit_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    except OSError:
        pass


def read_audit(limit: int = 1000) -> list[dict[str, Any]]:
    """The latest ``limit`` events, newest first."""
    path = audit_path()
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()[-limit:]
    return [json.loads(line) for line in reversed(lines) if line.strip()]


def demo_users(*, path: Path | None = None, rep: str = "张伟",
               provinces: tuple[str, ...] = ("Guangdong",)) -> dict[str, str]:
    """One user per level with random passwords, returned once for printing."""
    made = {}
    for username, level, kwargs in (("rep", "rep", {"reps": (rep,), "name": rep}),
                                    ("manager", "manager", {"provinces": provinces}),
                                    ("executive", "executive", {}), ("admin", "admin", {})):
        password = secrets.token_urlsafe(12)
        add_user(username, password, level=level, path=path, **kwargs)  # type: ignore[arg-type]
        made[username] = password
    return made
