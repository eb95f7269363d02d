"""The warehouse: where the canonical tables live, and how they are read and written.

Default store: versioned DuckDB files under ``data/warehouse/`` (docs/architecture.md).
Readers open the current version read-only; a write takes a lock, copies the current version to
a new file, writes there, checks it, and switches the ``CURRENT`` pointer with an atomic rename.
So a failed or interrupted write leaves the warehouse exactly as it was, any number of
processes (app, notebooks, CLI) read at once, and older versions are the rollback history.

What a writer derives from a version (summaries, kept results) is written after the version is
current, into a file of its own beside it (``v000012.derived.duckdb``, made under a temporary
name and renamed when whole), which readers attach once it is there: an import is visible as
soon as its data is written, and the minute of deriving on a large book may run in the
background (issue 21). Until then readers compute on request from the version's own data, so
they never read what was derived from another version.

The URL comes from ``STEELSIGHT_WAREHOUSE`` or ``[warehouse] url`` in ``.streamlit/secrets.toml``;
``duckdb:///path/to/folder`` selects the versioned store, any other Ibis URL is read through Ibis.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd

from analytics.store import schema

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = ROOT / "data" / "warehouse"
ENV_URL = "STEELSIGHT_WAREHOUSE"
KEEP_VERSIONS = 10  # rollback history; each version is a full copy, so keep it modest
# Tables a writer derives from the data and keeps with a version (the derive step it passes
# to Warehouse.writing): the stored results (analytics.store.results) and the summaries
# (analytics.domain.summaries). Versioned with the data, but not data: not counted, not listed.
STORED_TABLE = "stored_results"
SUMMARY_TABLES = ("summary_purchase_days", "summary_invoice_settlement", "summary_month_ends")
DERIVED_TABLES = frozenset({STORED_TABLE, *SUMMARY_TABLES})
# and one table per kept per-customer frame, named with this prefix (analytics.store.results)
ROWS_PREFIX = "stored_rows_"
Derive = Callable[[duckdb.DuckDBPyConnection], object]
_VERSION_RE = re.compile(r"^v(\d{6})\.duckdb$")
DERIVED_SUFFIX = ".derived.duckdb"    # v000012.derived.duckdb: what was derived from v000012
DERIVED_DB = "derived"                # the name a reader attaches it under
STARTING_S = 30.0                     # a derive said to start this long ago counts as running
_DERIVED_OF = "derived_of"            # inside it: the version file it was derived from


class MissingData(LookupError):
    """A page or function needs a table (or column) the warehouse does not have."""

    def __init__(self, table: str, column: str | None = None):
        self.table, self.column = table, column
        what = f"{table}.{column}" if column else table
        super().__init__(f"missing data: {what}")


@dataclass(frozen=True, eq=False)
class Source:
    """The backend a version's tables were read from, and which derived tables it holds
    (listed once when the tables are read: a page asks for them a dozen times).

    ``customers`` and ``hidden`` say how the tables were narrowed since, when only by whole
    customers (a scope, a customer filter) and by hidden columns: the customer ids kept (None:
    the whole book) and the columns dropped. What was derived per customer from the whole book
    then still serves the narrowed tables, row by row (analytics.store.derived)."""

    backend: ibis.BaseBackend
    derived: frozenset[str]
    customers: ibis.Table | None = None
    hidden: frozenset[str] = frozenset()
    # the version file, with its inode and write time (a version file is never written
    # again, but a wiped folder starts at v000001 anew): what a process may cache a stored
    # result under; None (tables in memory, a version being written) caches nothing
    version: str | None = None
    # where the derived tables are: None, beside the data (tables in memory, a version being
    # derived); else the catalog of the derived file attached (analytics.store.derived)
    derived_in: tuple[str, str] | None = None

    @property
    def whole_book(self) -> bool:
        return self.customers is None and not self.hidden

    def derived_table(self, name: str) -> ibis.Table:
        return self.backend.table(name, database=self.derived_in)


@dataclass(frozen=True)
class Tables:
    """Ibis tables for the canonical tables present in the warehouse (None when absent)."""

    customers: ibis.Table | None = None
    orders: ibis.Table | None = None
    products: ibis.Table | None = None
    invoices: ibis.Table | None = None
    payments: ibis.Table | None = None
    surveys: ibis.Table | None = None
    complaints: ibis.Table | None = None
    market_prices: ibis.Table | None = None
    inventory: ibis.Table | None = None
    contacts: ibis.Table | None = None
    targets: ibis.Table | None = None
    reseller_reviews: ibis.Table | None = None
    # True when the customers were narrowed (a scope or a customer filter): company-wide
    # figures such as inventory days no longer match the narrowed sales.
    customer_filtered: bool = False
    # The version these tables were read from, while they are its whole book or narrowed by
    # whole customers and hidden columns only: what the writer derived (analytics.store.derived)
    # is read from there. Any other change (with_) drops it, so such a view computes from its
    # own rows.
    source: Source | None = None

    def get(self, name: str) -> ibis.Table:
        table = getattr(self, name, None)
        if table is None:
            raise MissingData(name)
        return table

    def has(self, name: str, *columns: str) -> bool:
        table = getattr(self, name, None)
        return table is not None and all(c in table.columns for c in columns)

    def present(self) -> list[str]:
        return [f.name for f in fields(self) if f.name in schema.TABLES and self.has(f.name)]

    def with_(self, **changes: Any) -> Tables:
        """These tables with some replaced; no longer the whole book as written, so what was
        derived from it is not read for them (every narrowing goes through here)."""
        return replace(self, **{"source": None, **changes})

    def narrowed(self, *, to_ids: ibis.Table | None = None, hidden: frozenset[str] =
                 frozenset(), **changes: Any) -> Tables:
        """These tables with some replaced by a narrowing to whole customers (``to_ids``: a
        table of the customer ids kept) or by dropping ``hidden`` columns: the source stays,
        marked so, and what was derived per customer still serves them
        (analytics.store.narrowing and analytics.store.access call this, nothing else)."""
        source = self.source
        if source is not None:
            source = replace(source, customers=to_ids if to_ids is not None
                             else source.customers, hidden=source.hidden | hidden)
        return replace(self, **{**changes, "source": source})


def tables_from(con: ibis.BaseBackend, *, version: Path | str | None = None) -> Tables:
    """The tables of a backend; ``version``: the version file they come from, if any (what
    was derived from it is attached once it has been written)."""
    label = version_label(version) if version else None
    names = set(_listed(con, label, None))
    derived, derived_in = frozenset(names & DERIVED_TABLES), None
    if version is not None and not derived and attach_derived(con, Path(version)):
        derived_in = (DERIVED_DB, "main")
        derived = frozenset(set(_listed(con, label, derived_in)) & DERIVED_TABLES)
    return Tables(**{n: _table(con, label, n) for n in schema.TABLES if n in names},
                  source=Source(con, derived, derived_in=derived_in, version=label))


# A version file never changes once published (a write makes a new file, and its label holds
# the inode and write time), so the names and schemas of its tables are read once per process:
# every cached call of a page opens the tables again, and a dozen schema queries took 60 ms
_CATALOG: dict[tuple[str, str | None], list[str]] = {}
_SCHEMAS: dict[tuple[str, str], ibis.Schema] = {}


def _listed(con: ibis.BaseBackend, label: str | None, database: tuple[str, str] | None
            ) -> list[str]:
    key = (label or "", None if database is None else ".".join(database))
    if label is None or key not in _CATALOG:
        listed = list(con.list_tables(database=database) if database else con.list_tables())
        if label is None:
            return listed
        _CATALOG[key] = listed
    return _CATALOG[key]


def _table(con: ibis.BaseBackend, label: str | None, name: str) -> ibis.Table:
    if label is None:
        return con.table(name)
    if (label, name) not in _SCHEMAS:
        if len(_SCHEMAS) > 4096:  # a long-running server's old versions: read again if asked
            _SCHEMAS.clear()
            _CATALOG.clear()
        table = con.table(name)
        _SCHEMAS[(label, name)] = table.schema()
        return table
    from ibis.expr import operations as ops

    # what con.table(name) builds, without asking the database for the schema again
    return ops.DatabaseTable(name, schema=_SCHEMAS[(label, name)], source=con,
                             namespace=ops.Namespace(catalog=None, database=None)).to_expr()


def is_derived(name: str) -> bool:
    """Whether a table is derived from the data (kept with a version), not data."""
    return name in DERIVED_TABLES or name.startswith(ROWS_PREFIX)


def _derived_in(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The derived tables inside the database ``con`` writes (an older version file's)."""
    return [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = "
        "current_database()").fetchall() if is_derived(r[0])]


def derived_path(version: Path) -> Path:
    """Where what is derived from the version file ``version`` is kept."""
    return version.with_name(version.stem + DERIVED_SUFFIX)


def _stamp(version: Path) -> str:
    """The version file's size and write time: a derived file names the content it was made
    from by this, which a copied folder keeps (a wiped one starting at v000001 anew does not)."""
    info = os.stat(version)
    return f"{info.st_size}:{info.st_mtime_ns}"


_ATTACH_LOCK = threading.Lock()
_DERIVED_OK: dict[tuple[str, int, str], bool] = {}


def derived_is_valid(version: Path) -> bool:
    """Whether what was derived from ``version`` is there, whole, and made from this very
    file (a file copied in from another version, or left by a wiped folder, is not)."""
    side = derived_path(version)
    try:
        key = (str(side), side.stat().st_mtime_ns, _stamp(version))
    except OSError:
        return False
    with _ATTACH_LOCK:
        if key not in _DERIVED_OK:
            try:
                check = duckdb.connect(str(side), read_only=True)
                try:
                    made_from = check.execute(f"SELECT label FROM {_DERIVED_OF}").fetchone()
                finally:
                    check.close()
                _DERIVED_OK[key] = made_from is not None and made_from[0] == key[2]
            except duckdb.Error:
                _DERIVED_OK[key] = False
        return _DERIVED_OK[key]


def _quoted(path: Path) -> str:
    """A path as an SQL string literal (a folder may be named with a quote)."""
    return "'" + str(path).replace("'", "''") + "'"


def attach_derived(con: ibis.BaseBackend, version: Path) -> bool:
    """Attach what was derived from ``version`` to ``con`` (a connection to it), if it has
    been written from this very file; whether it is attached. The attachment is the
    database's, so each process attaches it once for every cursor (DuckDB shares one database
    per file in a process)."""
    if not derived_is_valid(version):
        return False
    with _ATTACH_LOCK:
        con.raw_sql(f"ATTACH IF NOT EXISTS {_quoted(derived_path(version))} AS {DERIVED_DB} "
                    "(READ_ONLY)")
    return True


def version_label(path: Path | str) -> str:
    """A version file's path, inode and write time: names one version's content."""
    info = os.stat(path)
    return f"{path}:{info.st_ino}:{info.st_mtime_ns}"


def tables_from_frames(frames: Mapping[str, pd.DataFrame]) -> Tables:
    """In-memory DuckDB tables from pandas frames (tests, notebooks, one-off analysis)."""
    con = ibis.duckdb.connect()
    for name, frame in frames.items():
        con.raw_sql(schema.spec(name).ddl())
        insert_frame(con.con, name, frame)
    return tables_from(con)


@dataclass(frozen=True)
class VersionInfo:
    version: str
    created: str
    action: str
    note: str
    rows: dict[str, int]
    current: bool = False
    user: str = ""
    file: str = ""
    sha256: str = ""


def resolve_url(url: str | None = None) -> str:
    """The warehouse URL: argument, environment, secrets.toml, then the default folder."""
    if url:
        return url
    if os.environ.get(ENV_URL):
        return os.environ[ENV_URL]
    secrets = ROOT / ".streamlit" / "secrets.toml"
    if secrets.exists():
        with secrets.open("rb") as fh:
            found = tomllib.load(fh).get("warehouse", {}).get("url")
        if found:
            return str(found)
    return f"duckdb://{DEFAULT_DIR}"


def open_warehouse(url: str | None = None) -> Warehouse:
    url = resolve_url(url)
    if url.startswith("duckdb://"):
        # duckdb:///abs/folder is absolute; duckdb://rel/folder is relative to the project
        rest = url.removeprefix("duckdb://")
        path = Path("/" + rest.lstrip("/")) if rest.startswith("/") else Path(rest)
        return Warehouse(path if path.is_absolute() else ROOT / path)
    raise ValueError(
        f"unsupported warehouse URL {url!r}: use duckdb:///path/to/folder "
        "(other engines are reached through analytics.store.engines)"
    )


class Warehouse:
    """A folder of versioned DuckDB files with an atomic CURRENT pointer."""

    def __init__(self, root: Path):
        self.root = Path(root)

    # -- reading -----------------------------------------------------------------------------
    @property
    def pointer(self) -> Path:
        return self.root / "CURRENT"

    def current_path(self) -> Path | None:
        """The current version's file: the one CURRENT names, or — when CURRENT is missing,
        damaged or names a file that is gone or cannot be opened — the newest version that
        opens (``problem`` then says what was wrong). None when no version opens."""
        return self._resolve()[0]

    @property
    def problem(self) -> str | None:
        """What is wrong with the pointer or the current version, or None: "pointer_missing",
        "pointer_damaged" (not a version name, or its file is gone) or "version_damaged" (the
        file does not open). Readers then use the newest readable version; a write repairs
        the pointer."""
        return self._resolve()[1]

    def _resolve(self) -> tuple[Path | None, str | None]:
        try:
            name = self.pointer.read_text(encoding="utf-8", errors="replace").strip()
        except FileNotFoundError:
            name = None
        except OSError:
            name = ""
        if name is not None and _VERSION_RE.match(name):
            path = self.root / name
            if path.exists() and _readable(path):
                return path, None
            problem = "version_damaged" if path.exists() else "pointer_damaged"
        elif name is None:
            problem = "pointer_missing"
        else:
            problem = "pointer_damaged"
        fallback = next((p for p in self.version_files()[::-1] if _readable(p)), None)
        if fallback is None and problem == "pointer_missing":
            return None, None  # a new, empty warehouse: nothing is wrong
        return fallback, problem

    def version_files(self) -> list[Path]:
        """Every version file on disk, oldest first."""
        if not self.root.exists():
            return []
        return sorted(p for p in self.root.glob("v*.duckdb") if _VERSION_RE.match(p.name))

    def has_versions(self) -> bool:
        """Whether any version exists on disk, readable or not (so the demo is never built
        over a user's data whose pointer was lost)."""
        return bool(self.version_files())

    @property
    def version(self) -> str:
        """Changes on every write and rollback, so caches keyed by it invalidate."""
        path = self.current_path()
        return path.stem if path else "empty"

    def exists(self) -> bool:
        return self.current_path() is not None

    def connect_raw(self) -> duckdb.DuckDBPyConnection:
        """A read-only DuckDB connection to the current version (one per process is enough)."""
        path = self.current_path()
        if path is None:
            raise MissingData("warehouse")
        return duckdb.connect(str(path), read_only=True)

    def connect(self, raw: duckdb.DuckDBPyConnection | None = None) -> ibis.BaseBackend:
        """An Ibis backend over its own cursor: safe to use from one thread."""
        raw = raw or self.connect_raw()
        return ibis.duckdb.from_connection(raw.cursor())

    def tables(self, raw: duckdb.DuckDBPyConnection | None = None) -> Tables:
        if not self.exists():
            return Tables()
        return tables_from(self.connect(raw), version=self.current_path() if raw is None
                           else None)

    def row_counts(self) -> dict[str, int]:
        path = self.current_path()
        return _row_counts(path) if path else {}

    # -- writing -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            # flock is released by the kernel if the process dies, so no stale locks
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _next_number(self) -> int:
        numbers = [int(m.group(1)) for p in self.root.glob("v*.duckdb")
                   if (m := _VERSION_RE.match(p.name))]
        return max(numbers, default=0) + 1

    @contextlib.contextmanager
    def writing(self, *, action: str, note: str = "", fresh: bool = False,
                meta: dict[str, object] | None = None, derive: Derive | None = None,
                later: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Write a new version: yields a read-write connection to a private copy.

        The copy becomes current only if the block finishes without error and the file reopens
        and counts; otherwise it is deleted and the warehouse is unchanged. ``fresh`` starts
        from an empty database instead of a copy of the current version. ``derive``, given by
        the writer (an import, the demo), computes what is kept with the version from the data
        as written, once the version is current (``derive_for``); ``later``: the writer runs it
        itself afterwards (in the background), so the version is visible at once. Tables
        derived inside an older version file are dropped from the copy, so a version never
        carries another's.
        """
        with self._lock():
            for stale in self.root.glob(".v*.duckdb.tmp*"):  # left by a killed writer
                stale.unlink(missing_ok=True)
            number = self._next_number()
            final = self.root / f"v{number:06d}.duckdb"
            tmp = self.root / f".v{number:06d}.duckdb.tmp"
            tmp.unlink(missing_ok=True)
            derived_path(final).unlink(missing_ok=True)  # of a wiped folder's v{number}
            current = self.current_path()
            if current is not None and not fresh:
                shutil.copyfile(current, tmp)
            con = duckdb.connect(str(tmp))
            try:
                yield con
                for table in _derived_in(con):  # they described the version copied from
                    con.execute(f'DROP TABLE IF EXISTS "{table}"')
                con.execute("CHECKPOINT")
                con.close()
                rows = _row_counts(tmp)  # reopens read-only: proves the file is whole
            except BaseException:
                _discard(con, tmp)
                raise
            os.replace(tmp, final)
            info = {"version": final.stem, "created": datetime.now(UTC).isoformat(
                timespec="seconds"), "action": action, "note": note, "rows": rows,
                **(meta or {})}
            (self.root / f"{final.stem}.json").write_text(json.dumps(info, ensure_ascii=False))
            self._point_to(final)
            self._prune()
        if derive is not None and not later:  # outside the lock: the next write need not wait
            self.derive_for(final, derive)

    # -- what is derived from a version ------------------------------------------------------
    def _derive_lock(self, version: Path) -> Path:
        return self.root / f".{version.stem}.derive.lock"

    def derive_for(self, version: Path, derive: Derive) -> bool:
        """Run the writer's ``derive`` step on ``version`` and keep what it makes beside it.

        ``derive`` gets a connection to a new file where it creates its tables; the version's
        tables are views of the version file, attached read-only. The file is renamed into
        place only when whole, so readers attach all of it or none. A derive already running
        for this version (another process) is left to finish: returns False then, True when
        the derived file is there. A failure leaves no file: the pages compute on request."""
        side = derived_path(version)
        # "a": opening must not touch its write time, which says a derive is starting
        with open(self._derive_lock(version), "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            try:
                if derived_is_valid(version) or not version.exists():
                    return version.exists()
                side.unlink(missing_ok=True)  # not this version's: made again
                tmp = side.with_name(f".{side.name}.tmp")
                tmp.unlink(missing_ok=True)
                stamp = _stamp(version)
                con = duckdb.connect(str(tmp))
                try:
                    con.execute(f"ATTACH {_quoted(version)} AS data (READ_ONLY)")
                    for (name,) in con.execute(
                            "SELECT table_name FROM information_schema.tables WHERE "
                            "table_catalog = 'data'").fetchall():
                        if name in schema.TABLES:  # the data: canonical names only
                            con.execute(f'CREATE TEMP VIEW "{name}" AS SELECT * FROM '
                                        f'data.main."{name}"')
                    derive(con)
                    con.execute(f"CREATE TABLE {_DERIVED_OF} (label VARCHAR)")
                    con.execute(f"INSERT INTO {_DERIVED_OF} VALUES (?)", [stamp])
                    con.execute("CHECKPOINT")
                    con.close()
                except BaseException:
                    _discard(con, tmp)
                    raise
                os.replace(tmp, side)
                return True
            finally:
                os.utime(fh.fileno(), (0, 0))  # finished: no longer "starting" (derive_state)
                fcntl.flock(fh, fcntl.LOCK_UN)

    def starting(self, version: Path) -> None:
        """Say a derive of ``version`` is about to start (a process on its way to its lock)."""
        self._derive_lock(version).touch()

    def derive_state(self, version: Path | None = None) -> str:
        """"ready" (derived and attached by readers), "running" (a derive holds its lock) or
        "missing" (never made, or it failed) for ``version`` (the current one by default);
        "ready" also for a version that carries its derived tables inside (older files)."""
        version = version or self.current_path()
        if version is None or derived_is_valid(version):
            return "ready"
        try:
            with open(self._derive_lock(version)) as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    fcntl.flock(fh, fcntl.LOCK_UN)
                except BlockingIOError:
                    return "running"
                if time.time() - os.fstat(fh.fileno()).st_mtime < STARTING_S:
                    return "running"  # started (``starting``), not yet holding the lock
        except FileNotFoundError:
            pass
        try:
            con = duckdb.connect(str(version), read_only=True)
            try:
                inside = {r[0] for r in con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_catalog = "
                    "current_database()").fetchall()}
            finally:
                con.close()
        except duckdb.Error:  # a damaged file: nothing derived can be read from it either
            return "missing"
        return "ready" if STORED_TABLE in inside else "missing"

    def _point_to(self, path: Path) -> None:
        tmp = self.root / "CURRENT.tmp"
        tmp.write_text(path.name)
        os.replace(tmp, self.pointer)  # atomic: readers see the old or the new name, never half

    def _prune(self, keep: int = KEEP_VERSIONS) -> None:
        current = self.current_path()
        files = sorted(p for p in self.root.glob("v*.duckdb") if _VERSION_RE.match(p.name))
        for old in files[:-keep]:
            if old != current:
                old.unlink(missing_ok=True)
                old.with_suffix(".json").unlink(missing_ok=True)
                derived_path(old).unlink(missing_ok=True)
                self._derive_lock(old).unlink(missing_ok=True)

    def replace_tables(self, frames: Mapping[str, pd.DataFrame], *, action: str,
                    note: str = "", derive: Derive | None = None) -> str:
        """Replace whole tables (others are kept) in one new version; returns the version."""
        with self.writing(action=action, note=note, derive=derive) as con:
            for name, frame in frames.items():
                con.execute(f'DROP TABLE IF EXISTS "{name}"')
                con.execute(schema.spec(name).ddl())
                insert_frame(con, name, frame)
        return self.version

    def append_rows(self, frames: Mapping[str, pd.DataFrame], *, action: str,
                    note: str = "", derive: Derive | None = None) -> str:
        """Append rows to tables (created if absent) in one new version; returns the version."""
        with self.writing(action=action, note=note, derive=derive) as con:
            existing = {r[0] for r in con.execute("SELECT table_name FROM information_schema."
                                                  "tables").fetchall()}
            for name, frame in frames.items():
                if name not in existing:
                    con.execute(schema.spec(name).ddl())
                insert_frame(con, name, frame)
        return self.version

    # -- history -----------------------------------------------------------------------------
    def versions(self) -> list[VersionInfo]:
        current = self.version
        out = []
        for path in self.version_files()[::-1]:
            try:
                d = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
                if not isinstance(d, dict):
                    raise ValueError("not a record")
            except (OSError, ValueError):  # lost or damaged note: the version is still there
                d = {"action": "unknown", "created": "", "note": ""}
            out.append(VersionInfo(path.stem, str(d.get("created", "")),
                                   str(d.get("action", "unknown")), str(d.get("note", "")),
                                   d.get("rows") or {}, path.stem == current,
                                   str(d.get("user", "")), str(d.get("file", "")),
                                   str(d.get("sha256", ""))))
        return out

    def rollback(self, version: str) -> None:
        """Make an earlier version current again (the later ones stay, so it can be undone)."""
        target = self.root / f"{version}.duckdb"
        if not _VERSION_RE.match(target.name) or not target.exists():
            raise ValueError(f"no such version: {version}")
        if not _readable(target):
            raise ValueError(f"version {version} is damaged (it does not open)")
        with self._lock():
            self._point_to(target)

    def check(self) -> list[dict[str, object]]:
        """One entry per version file: whether it opens, and whether its row counts match what
        was recorded when it was written."""
        current = self.current_path()
        out: list[dict[str, object]] = []
        for path in self.version_files():
            meta_path = path.with_suffix(".json")
            try:
                recorded = json.loads(meta_path.read_text()).get("rows") \
                    if meta_path.exists() else None
            except ValueError:
                recorded = None
            try:
                rows: dict[str, int] | None = _row_counts(path)
            except duckdb.Error:
                rows = None
            out.append({"version": path.stem, "current": path == current,
                        "readable": rows is not None,
                        "rows_match": None if rows is None or recorded is None
                        else rows == recorded})
        return out


def _discard(con: duckdb.DuckDBPyConnection, tmp: Path) -> None:
    """Close and delete a file being written that will not become one (a failed write)."""
    con.close()
    tmp.unlink(missing_ok=True)
    Path(str(tmp) + ".wal").unlink(missing_ok=True)


def insert_frame(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    """Insert a frame into a canonical table, casting each column to the schema's type."""
    spec = schema.spec(name)
    have = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = ?", [name]).fetchall()}
    known = [c for c in spec.columns if c.name in frame.columns and c.name in have]
    if frame.empty:
        return
    view = f"_incoming_{name}"
    con.register(view, frame[[c.name for c in known]])
    try:
        cols = ", ".join(f'"{c.name}"' for c in known)
        casts = ", ".join(f'TRY_CAST("{c.name}" AS {c.dtype})' if c.dtype == schema.DATE
                          else f'CAST("{c.name}" AS {c.dtype})' for c in known)
        con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {casts} FROM "{view}"')
    finally:
        con.unregister(view)


_READABLE: dict[tuple[str, int, int], bool] = {}


def _readable(path: Path) -> bool:
    """Whether a version file opens as a DuckDB database (remembered per file, size and
    modification time: a version is never written after it becomes one)."""
    try:
        stat = path.stat()
    except OSError:
        return False
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _READABLE:
        try:
            con = duckdb.connect(str(path), read_only=True)
            try:
                con.execute("SELECT count(*) FROM information_schema.tables").fetchone()
            finally:
                con.close()
            _READABLE[key] = True
        except duckdb.Error:
            _READABLE[key] = False
    return _READABLE[key]


def _row_counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            # the version's own (a reader in this process may have attached its derived file)
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = "
            "current_database() ORDER BY table_name").fetchall()
            if not is_derived(r[0])]  # results and summaries, not data
        return {n: int(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0])  # type: ignore[index]
                for n in names}
    finally:
        con.close()


def table_summary(tables: Tables) -> list[dict[str, object]]:
    """One entry per canonical table: whether present, its row count, its required columns."""
    out: list[dict[str, object]] = []
    for name, spec in schema.TABLES.items():
        table = getattr(tables, name)
        rows = int(table.count().to_pandas()) if table is not None else None
        out.append({"table": name, "rows": rows, "required": ", ".join(spec.required)})
    return out


def export_table(tables: Tables, name: str, rows: int | None = None) -> pd.DataFrame:
    """A whole (scoped) table as pandas, for downloads: canonical columns, DATE as dates;
    its first ``rows`` only when given (a preview: the data page loaded all 500,000 order
    lines on every rerun to show 200)."""
    table = tables.get(name)
    frame = (table if rows is None else table.limit(rows)).to_pandas()
    for col in schema.spec(name).columns:
        if col.dtype == schema.DATE and col.name in frame:
            frame[col.name] = pd.to_datetime(frame[col.name]).dt.date
    return frame
