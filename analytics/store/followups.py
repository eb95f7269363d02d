"""跟进 The follow-up store: who does what for an at-risk customer, by when, and how it ended.

Follow-ups are written by many users all day, unlike imports, so they do not live in the
versioned warehouse (each warehouse write copies a version: 700 MB at ten million lines).
They live in one small SQLite file beside it (standard library, one file, transactional):

- WAL journal and ``synchronous=FULL``: a committed write survives a crash or ``kill -9``;
- every write is one ``BEGIN IMMEDIATE`` transaction: a failed write changes nothing, and a
  second writer waits for the first (``busy_timeout``) instead of failing;
- ``backup`` copies a consistent snapshot through SQLite's online backup API.

The path is ``$STEELSIGHT_FOLLOWUPS``, else ``[followups] path`` in .streamlit/secrets.toml,
else ``followups.sqlite`` beside the warehouse folder.
Scope and the audit log are the callers' (analytics.ops.followup_work): this module stores.
"""

from __future__ import annotations

import collections
import os
import sqlite3
import threading
import tomllib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from analytics.store.frames import member
from analytics.store.warehouse import DEFAULT_DIR, ROOT

ENV_PATH = "STEELSIGHT_FOLLOWUPS"
FILE_NAME = "followups.sqlite"

ACTIONS = ("call", "visit", "senior_visit", "credit_review", "price_offer",
           "complaint_callback", "other")
OUTCOMES = ("reached", "order_promised", "order_placed", "lost_competitor", "lost_price",
            "lost_quality", "lost_credit", "no_answer", "other")
STATUSES = ("open", "done")
MAX_NOTE = 500          # characters: a note is a sentence or two, not a document
BUSY_MS = 15_000        # how long a writer waits for another one before giving up

COLUMNS = ("id", "customer_id", "customer_name", "assignee", "assigned_by", "created_at",
           "due", "action", "note", "source", "reason", "probability", "risk_band", "tier",
           "status", "done_at", "done_by", "outcome", "outcome_note", "demo")

_DDL = """
CREATE TABLE IF NOT EXISTS followups (
    id            INTEGER PRIMARY KEY,
    customer_id   TEXT NOT NULL CHECK (length(customer_id) > 0),
    customer_name TEXT,
    assignee      TEXT NOT NULL CHECK (length(assignee) > 0),
    assigned_by   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    due           TEXT NOT NULL,
    action        TEXT NOT NULL,
    note          TEXT,
    source        TEXT,
    reason        TEXT,
    probability   REAL,
    risk_band     TEXT,
    tier          TEXT,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    done_at       TEXT,
    done_by       TEXT,
    outcome       TEXT,
    outcome_note  TEXT,
    demo          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS followups_customer ON followups (customer_id);
CREATE INDEX IF NOT EXISTS followups_open ON followups (status, due);
CREATE TABLE IF NOT EXISTS events (
    id          INTEGER PRIMARY KEY,
    followup_id INTEGER NOT NULL REFERENCES followups (id),
    time        TEXT NOT NULL,
    user        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT
);
"""


class FollowUpError(ValueError):
    """A follow-up that cannot be written; ``code`` is a text key (``fu_error_{code}``)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class New:
    """A follow-up to assign: what the list showed about the customer is kept with it."""

    customer_id: str
    assignee: str
    due: date
    action: str
    note: str = ""
    customer_name: str | None = None
    source: str | None = None        # which list it came from (a page key)
    reason: str | None = None        # why the customer was on it (codes, as the list had them)
    probability: float | None = None  # the churn probability the list showed
    risk_band: str | None = None
    tier: str | None = None


def default_path(warehouse_root: Path | None = None) -> Path:
    """``$STEELSIGHT_FOLLOWUPS``, else ``[followups] path`` in .streamlit/secrets.toml (as the
    warehouse URL), else beside the warehouse folder (data/followups.sqlite)."""
    if os.environ.get(ENV_PATH):
        return Path(os.environ[ENV_PATH])
    secrets = ROOT / ".streamlit" / "secrets.toml"
    if secrets.exists():
        with secrets.open("rb") as fh:
            found = tomllib.load(fh).get("followups", {}).get("path")
        if found:
            return Path(found) if Path(found).is_absolute() else ROOT / found
    return Path(warehouse_root or DEFAULT_DIR).parent / FILE_NAME


def _checked(new: New) -> New:
    if not str(new.customer_id).strip():
        raise FollowUpError("customer")
    if not str(new.assignee).strip():
        raise FollowUpError("assignee")
    if new.action not in ACTIONS:
        raise FollowUpError("action")
    if not isinstance(new.due, date):
        raise FollowUpError("due")
    if len(new.note or "") > MAX_NOTE:
        raise FollowUpError("note")
    return new


class Store:
    """One SQLite file of follow-ups; every method opens its own connection (thread-safe)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None)
        except sqlite3.Error as err:
            raise FollowUpError("store") from err
        with closing(con):
            try:
                con.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
                con.execute("PRAGMA journal_mode = WAL")
                con.execute("PRAGMA synchronous = FULL")
                con.execute("PRAGMA foreign_keys = ON")
                con.executescript(_DDL)
                os.chmod(self.path, 0o600)  # whom a rep calls is nobody else's business
            except sqlite3.DatabaseError as err:  # not a database, or a damaged one
                raise FollowUpError("store") from err
            yield con

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One transaction: all of it is written, or (on any error) none of it."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def add(self, new: New, *, by: str, at: datetime | None = None) -> int:
        new = _checked(new)
        at = at or datetime.now()
        with self._writing() as con:
            cur = con.execute(
                "INSERT INTO followups (customer_id, customer_name, assignee, assigned_by,"
                " created_at, due, action, note, source, reason, probability, risk_band, tier)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (new.customer_id, new.customer_name, new.assignee, by,
                 at.isoformat(timespec="seconds"), new.due.isoformat(), new.action,
                 new.note or None, new.source, new.reason, new.probability, new.risk_band,
                 new.tier))
            fid = int(cur.lastrowid or 0)
            _event(con, fid, by, at, "added", new.assignee)
        return fid

    def done(self, fid: int, *, outcome: str, note: str = "", by: str,
             at: datetime | None = None) -> None:
        if outcome not in OUTCOMES:
            raise FollowUpError("outcome")
        if len(note or "") > MAX_NOTE:
            raise FollowUpError("note")
        at = at or datetime.now()
        with self._writing() as con:
            changed = con.execute(
                "UPDATE followups SET status = 'done', done_at = ?, done_by = ?, outcome = ?,"
                " outcome_note = ? WHERE id = ? AND status = 'open'",
                (at.isoformat(timespec="seconds"), by, outcome, note or None, fid)).rowcount
            if changed != 1:
                raise FollowUpError("not_open")
            _event(con, fid, by, at, "done", outcome)

    def reassign(self, fid: int, *, to: str, by: str, at: datetime | None = None) -> None:
        if not to.strip():
            raise FollowUpError("assignee")
        at = at or datetime.now()
        with self._writing() as con:
            changed = con.execute("UPDATE followups SET assignee = ? WHERE id = ? AND"
                                  " status = 'open'", (to, fid)).rowcount
            if changed != 1:
                raise FollowUpError("not_open")
            _event(con, fid, by, at, "reassigned", to)

    def seed_demo(self, frame: pd.DataFrame) -> int:
        """Replace the demo company's follow-ups (rows marked demo) by ``frame``, in one
        transaction; follow-ups users wrote themselves are kept."""
        cols = [c for c in COLUMNS if c in frame.columns and c not in ("id", "demo")]
        rows = [tuple(None if pd.isna(v) else v for v in row)
                for row in frame[cols].itertuples(index=False, name=None)]
        with self._writing() as con:
            con.execute("DELETE FROM events WHERE followup_id IN"
                        " (SELECT id FROM followups WHERE demo = 1)")
            con.execute("DELETE FROM followups WHERE demo = 1")
            con.executemany(f"INSERT INTO followups ({', '.join(cols)}, demo) VALUES"
                            f" ({', '.join('?' * len(cols))}, 1)", rows)
        return len(rows)

    def frame(self, customers: list[str] | None = None, *, status: str | None = None,
              columns: tuple[str, ...] | None = None) -> pd.DataFrame:
        """The follow-ups, newest first; only those of ``customers`` when given (a scope),
        with ``status`` (open, done) when given, only ``columns`` when given (with id and
        created_at, the order's). The Overview asks for the open ones (1,200 of 200,000 in
        the 10 M-line demo: 10 ms instead of 2.5 s for all of them)."""
        out = self._all(status, columns)
        if customers is not None:
            # a boolean array, not a list: an empty list would select no columns of an empty
            # store (Arrow's hash look-up: pandas' isin on Arrow strings is slow)
            out = out[member(out["customer_id"], customers)]
        return out.reset_index(drop=True)

    def empty(self) -> bool:
        """No follow-up at all (one indexed look, not a read of the list)."""
        with self._connect() as con:
            return con.execute("SELECT 1 FROM followups LIMIT 1").fetchone() is None

    def of_customer(self, customer_id: str) -> pd.DataFrame:
        """One customer's follow-ups, newest first (a card's: through the index, not the
        list of every follow-up)."""
        return self._read("WHERE customer_id = ?", (customer_id,), "*")

    def _all(self, status: str | None, columns: tuple[str, ...] | None) -> pd.DataFrame:
        """The follow-ups asked, parsed: read once per process and change of the store
        (reading and parsing 200,000 follow-ups took 1.8 s on every rerun of the page); a
        copy, so no caller changes what the next one reads."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"no follow-up status {status!r}")
        if columns is not None:
            columns = tuple(dict.fromkeys(("id", "created_at", *columns)))
            if unknown := set(columns) - set(COLUMNS):
                raise ValueError(f"no follow-up column {sorted(unknown)}")
        with self._connect() as con:
            # the mark, and the file's identity: a store replaced by another (a restored
            # backup) with as many rows is not taken for the one read before (not the WAL's:
            # SQLite removes and makes it again as connections come and go)
            stat = self.path.stat()
            slot = (str(self.path.resolve()),
                    f"{_change_mark(con)}|{stat.st_ino}|{stat.st_mtime_ns}|{status}|{columns}")
            with _READ_LOCK:
                if slot in _READ:
                    _READ.move_to_end(slot)
                    return _READ[slot].copy()
        out = self._read("WHERE status = ?" if status else "", (status,) if status else (),
                         ", ".join(columns) if columns else "*")
        with _READ_LOCK:
            _READ[slot] = out
            while len(_READ) > _READ_KEPT:
                _READ.popitem(last=False)
        return out.copy()

    def _read(self, where: str, params: tuple[object, ...], columns: str) -> pd.DataFrame:
        """The rows ``where`` says (its values in ``params``), parsed, newest first."""
        with self._connect() as con:
            cur = con.execute(f"SELECT {columns} FROM followups {where}", params)
            names = [d[0] for d in cur.description]
            out = _frame_of(cur.fetchall(), names)
        # newest first, sorted here: SQLite sorting 200,000 rows without an index took longer
        # than reading them
        out = out.sort_values(["created_at", "id"], ascending=False, na_position="last",
                              kind="mergesort", ignore_index=True)
        for col in ("created_at", "done_at"):
            if col in out:   # one unit whatever the rows read hold (all empty: seconds)
                out[col] = pd.to_datetime(out[col], errors="coerce").astype("datetime64[us]")
        if "due" in out:
            out["due"] = pd.to_datetime(out["due"], errors="coerce").dt.date
        return out

    def events(self, fid: int) -> pd.DataFrame:
        with self._connect() as con:
            return pd.read_sql_query("SELECT time, user, kind, detail FROM events WHERE"
                                     " followup_id = ? ORDER BY id", con, params=(fid,))

    def get(self, fid: int) -> dict[str, object] | None:
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            row = con.execute("SELECT * FROM followups WHERE id = ?", (fid,)).fetchone()
        return dict(row) if row is not None else None

    def change_mark(self) -> str:
        """Changes whenever a follow-up is written: part of the cache key of what reads them."""
        with self._connect() as con:
            return _change_mark(con)

    def assignment_mark(self) -> str:
        """Changes when a follow-up is added, reassigned or replaced, not when one is done:
        the key of what reads only who was followed up, when, how and by whom."""
        with self._connect() as con:
            row = con.execute("SELECT (SELECT count(*) FROM followups),"
                              " (SELECT max(id) FROM followups),"
                              " (SELECT count(*) FROM events WHERE kind = 'reassigned')"
                              ).fetchone()
        return ":".join(str(v) for v in row)

    def backup(self, dest: Path) -> int:
        """A consistent copy of the store at ``dest`` (safe while others write); its rows."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con, closing(sqlite3.connect(dest)) as out:
            con.backup(out)
            n = int(out.execute("SELECT count(*) FROM followups").fetchone()[0])
        os.chmod(dest, 0o600)
        return n

    def check(self) -> str:
        with self._connect() as con:
            return str(con.execute("PRAGMA integrity_check").fetchone()[0])


def _frame_of(rows: list[tuple[object, ...]], names: list[str]) -> pd.DataFrame:
    """The rows as a frame, each column made by Arrow in one go (pandas typing 20 columns of
    200,000 Python values one by one took 0.7 s); pandas' own way where a column mixes types,
    as SQLite allows."""
    if rows:
        try:
            return pa.table({n: pa.array(c) for n, c in zip(names, zip(*rows, strict=True),
                                                            strict=True)}).to_pandas()
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    return pd.DataFrame.from_records(rows, columns=names)


def _change_mark(con: sqlite3.Connection) -> str:
    # every write adds an event (added, done, reassigned); a demo reseeding changes the rows
    row = con.execute("SELECT (SELECT count(*) FROM followups), (SELECT max(id) FROM followups),"
                      " (SELECT count(*) FROM events), (SELECT max(id) FROM events)").fetchone()
    return ":".join(str(v) for v in row)


# the parsed follow-ups of the stores this process read last, by path and change mark
_READ: collections.OrderedDict[tuple[str, str], pd.DataFrame] = collections.OrderedDict()
_READ_KEPT = 6   # a few stores, each as the Overview, the lists and the comparison read it
_READ_LOCK = threading.Lock()


def _event(con: sqlite3.Connection, fid: int, user: str, at: datetime, kind: str,
           detail: str | None) -> None:
    con.execute("INSERT INTO events (followup_id, time, user, kind, detail) VALUES"
                " (?, ?, ?, ?, ?)", (fid, at.isoformat(timespec="seconds"), user, kind, detail))


def open_store(path: Path | None = None) -> Store:
    return Store(path or default_path())
