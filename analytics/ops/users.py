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

from analytics.store.access import LEVELS, Scope
from analytics.store.warehouse import ROOT

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


ENV_ALLOW_OPEN = "STEELSIGHT_ALLOW_OPEN"  # 1 = single-user mode for clients not on this machine
MAX_THROTTLED = 2000              # failure records kept (one per user name and client)


class UsersFileError(Exception):
    """The users file exists but cannot be read (not YAML, not our layout)."""


def login_required() -> bool:
    """Login is on exactly when a users file exists (a damaged one keeps it on: fail closed)."""
    path = users_path()
    if path.exists():
        _read(path)  # raises UsersFileError when it cannot be read
        return True
    return False


def open_mode_allowed() -> bool:
    """Whether the operator allowed single-user mode (no login) for clients that are not on
    this machine; without it only a browser on this machine gets in without a users file."""
    return os.environ.get(ENV_ALLOW_OPEN, "").strip().lower() in ("1", "true", "yes")


def now() -> datetime:
    return datetime.now(UTC)


_now = now


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
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError, OSError) as err:
            raise UsersFileError(f"the users file {path} cannot be read: {err}") from None
        if not isinstance(data, dict) or not isinstance(data.get("credentials", {}), dict) \
                or not isinstance(data.get("credentials", {}).get("usernames", {}), dict):
            raise UsersFileError(f"the users file {path} is not a SteelSight users file")
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
             all_customers: bool = False, known_provinces: tuple[str, ...] | None = None,
             path: Path | None = None) -> list[str]:
    """A new user; returns warnings to show. A rep's scope is its own name as it appears in
    sales_rep; a manager's is the reps and/or provinces given. A manager of every customer must
    say so (``all_customers``): an empty scope by mistake would show the whole book. Two reps
    with one sales_rep name would share their customers, so that is refused. Provinces not in
    ``known_provinces`` (the warehouse's) are warned about: a misspelt one shows nothing."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    if not username.strip():
        raise ValueError("a user needs a user name")
    if level == "rep" and not reps:
        reps = (name or username,)
    if level == "manager" and not (reps or provinces) and not all_customers:
        raise ValueError("a manager needs --provinces or --reps (or --all-customers for a "
                         "manager of every customer)")
    if all_customers and (reps or provinces):
        raise ValueError("--all-customers cannot be combined with --reps or --provinces")
    warnings = [f"province {p!r} is not in the data (known: {', '.join(known_provinces)})"
                for p in provinces if known_provinces is not None and p not in known_provinces]
    path = path or users_path()
    with _locked(path) as data:
        users = data["credentials"]["usernames"]
        if username in users:
            raise ValueError(f"user {username!r} exists; use reset to change the password")
        if level == "rep":
            for other, d in users.items():
                shared = set(reps) & set(d.get("reps") or ()) if d.get("level") == "rep" \
                    else set()
                if shared:
                    raise ValueError(f"rep {', '.join(sorted(shared))!r} is already user "
                                     f"{other!r}: two reps with one name would share customers")
        users[username] = {"name": name or username, "password": _hash(password),
                           "level": level, "reps": list(reps), "provinces": list(provinces),
                           "failed": 0, "locked_until": None}
    audit("user_added", user=username, level=level)
    return warnings


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
        _clear_throttle(data, username)
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


def _throttle_key(username: str, client: str) -> str:
    return f"{username}|{client}"


def _clear_throttle(data: dict[str, Any], username: str) -> None:
    throttle = data.get("throttle") or {}
    for key in [k for k in throttle if k.rpartition("|")[0] == username]:
        del throttle[key]


def _prune_throttle(throttle: dict[str, Any], now: datetime) -> None:
    for key, entry in list(throttle.items()):
        until = entry.get("locked_until")
        if until and datetime.fromisoformat(until) <= now and not entry.get("failed"):
            del throttle[key]
    for key in sorted(throttle, key=lambda k: str(throttle[k].get("last", "")))[
            :max(0, len(throttle) - MAX_THROTTLED)]:
        del throttle[key]


def verify(username: str, password: str, *, client: str = "", path: Path | None = None,
           now: datetime | None = None) -> Scope:
    """The user's scope if the password is right and this client is not locked out.

    MAX_FAILURES wrong passwords in a row from one client lock that client out of that user
    name for LOCKOUT; a right password while locked is refused too (and does not reset the
    count). The lock is per user name and client, so nobody can lock another person out of
    their account from elsewhere, and unknown user names fail and lock exactly like known
    ones, so neither the message nor the lock reveals who exists.
    """
    now = now or _now()
    path = path or users_path()
    with _locked(path) as data:
        throttle = data.setdefault("throttle", {})
        _prune_throttle(throttle, now)
        key = _throttle_key(username, client)
        entry = throttle.get(key) or {"failed": 0, "locked_until": None}
        user = data["credentials"]["usernames"].get(username)
        until = entry.get("locked_until")
        if until and datetime.fromisoformat(until) > now:
            audit("login_refused_locked", user=username, client=client or None)
            raise AuthError("locked", datetime.fromisoformat(until))
        if user is None:
            bcrypt.checkpw(b"x", _DUMMY)  # same time as a real check
            right = False
        else:
            right = bcrypt.checkpw(password.encode(), user["password"].encode())
        if not right:
            entry["failed"] = int(entry.get("failed") or 0) + 1
            entry["last"] = now.isoformat()
            throttle[key] = entry
            if entry["failed"] >= MAX_FAILURES:
                entry.update(failed=0, locked_until=(now + LOCKOUT).isoformat())
                audit("lockout", user=username, client=client or None,
                      until=entry["locked_until"])
                raise AuthError("locked", now + LOCKOUT)
            audit("login_failed", user=username, client=client or None,
                  reason=None if user is not None else "unknown", failures=entry["failed"])
            raise AuthError("invalid")
        throttle.pop(key, None)
    audit("login", user=username, client=client or None)
    return scope_of(username, path=path)


def locked_clients(username: str, *, path: Path | None = None,
                   now: datetime | None = None) -> list[tuple[str, str]]:
    """(client, locked until) for each client locked out of ``username`` now."""
    now = now or _now()
    throttle = _read(path or users_path()).get("throttle") or {}
    out = []
    for key, entry in throttle.items():
        name, _, client = key.rpartition("|")
        until = entry.get("locked_until")
        if name == username and until and datetime.fromisoformat(until) > now:
            out.append((client or "local", until))
    return out


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
        # who logged in, imported and exported is nobody else's business on this machine
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)  # two processes' lines never interleave
            end = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, end - 1))
            # a line cut by a crash is closed first, so this record stays readable
            lead = b"\n" if end and fh.read(1) != b"\n" else b""
            fh.write(lead + json.dumps(record, ensure_ascii=False, default=str).encode() + b"\n")
        os.chmod(path, 0o600)  # a log made before this rule was world-readable
    except OSError:
        pass


def read_audit(limit: int = 1000) -> list[dict[str, Any]]:
    """The latest ``limit`` events, newest first."""
    path = audit_path()
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[-limit:]
    out = []
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:  # a line cut by a crash mid-write: skip it, keep the rest
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


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
