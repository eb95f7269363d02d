"""Results computed once when a version is written and kept inside it: how they are keyed,
found and encoded.

The Overview's KPIs, the churn model (training and backtest), the churn status views, the
yearly standing behind the customer cards, the credit page's exposure, ageing and DSO and the
grading page's three views take one to eight seconds each on a book of ten million order lines
(the KPIs one; the whole Overview is read by every visitor first): computed on request,
the first visitor after every import or server start waited for them, and each process computed
its own. So a domain function marks itself ``@kept(defaults)``, naming beside itself the calls
the pages make by default at the latest data date; the writer's derive step
(analytics.domain.derive) computes those calls and stores them in the new version's
``stored_results`` table, in the same atomic write as the data they come from: a reader sees
the results of the version it reads, never another's.

A stored result is used as it is only on the whole book (analytics.store.derived). A function
whose result is one row per customer, each made from that customer's own rows only, is marked
``rows``: its stored frame also serves tables narrowed by whole customers (a rep, a province
manager, a customer filter), filtered to their customers, and without the columns hidden from
the reader and the ones made of them (``profit``). That is what keeps a rep's or a manager's
first page as fast as the executive's: they rank and sum their few rows in memory instead of
reading ten million order lines again (issue 21). Any other result, and any other arguments
(another model, period or rule), are computed on request from the narrowed tables.

Values are encoded without pickle (a warehouse file must not be able to run code): data frames
as Parquet, dates, lists and numbers as JSON, dataclasses field by field, and only classes
marked ``@storable`` are made again.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import inspect
import io
import json
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.store import derived
from analytics.store.period import preset
from analytics.store.warehouse import ROWS_PREFIX, Source, Tables
from analytics.store.warehouse import STORED_TABLE as TABLE

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)
Defaults = Callable[[date, date], list[dict[str, Any]]]   # (first, latest data date)
ROW = "_kept_row"   # a kept per-customer frame's row order, in its table


@dataclass(frozen=True)
class Kept:
    """A kept function: its dotted name (the stored key), the function as decorated (it looks
    its stored result up), its default calls for a data span, and whether its result is one
    row per customer that narrowed tables read too (``rows``)."""

    name: str
    fn: Callable[..., Any]
    defaults: Defaults
    rows: bool = False
    late: bool = False

    def key(self, kwargs: dict[str, Any]) -> str:
        return _key(inspect.signature(self.fn), (), kwargs)


KEPT: dict[str, Kept] = {}          # filled as the domain modules are imported
_CLASSES: dict[str, type] = {}      # the dataclasses a stored value may name


# The default calls the pages make, given the data's first and latest dates
def as_of_end(start: date, end: date) -> list[dict[str, Any]]:
    return [{"as_of": end}]


def last_12_months(start: date, end: date) -> list[dict[str, Any]]:
    return [{"period": preset("last_12_months", as_of=end)}]


def own_defaults(start: date, end: date) -> list[dict[str, Any]]:
    return [{}]


def kept(defaults: Defaults, *, rows: bool = False, profit: tuple[str, ...] = (),
         late: bool = False, company: bool = False) -> Callable[[F], F]:
    """Mark a domain function ``fn(tables, **kwargs)`` whose ``defaults(end)`` calls are
    computed at each write and stored with the version; a call on the whole book whose
    arguments match a stored result returns it.

    ``rows``: the result is a frame (or a ``@storable`` dataclass of frames) with rows per
    ``customer_id``, each from that customer's own rows (never from the contacts, which hidden
    profit also narrows), so tables narrowed to whole customers read the stored frame
    filtered to them; ``profit`` names its columns made of cost, dropped (with every hidden
    column) for a reader who may not see profit.

    ``late``: the result is made from other kept results of the whole book (the one churn
    model's scores), so it is computed after them at a write, and narrowed it equals the
    whole book's result cut to the customers, not a computation over the narrowed tables
    (which would train a model of their own); its callers read it with ``stored_only``.

    ``company``: the result reads no customer's rows (the stock counts and the market
    quotes), so tables narrowed by whole customers compute the same result: the stored one
    serves them as it is — and a rep's too, unless it is made of cost (``profit`` names
    any such column: a rep's tables then compute, and refuse, as before). A product filter
    changes the stock itself: those tables no longer have the source, and compute."""
    def mark(fn: F) -> F:
        name = f"{fn.__module__}.{fn.__qualname__}"
        signature = inspect.signature(fn)

        def find(tables: Tables, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            try:
                key = _key(signature, args, kwargs)
            except TypeError:   # an argument no key can hold (a frame): never stored
                return None
            stored = derived.table(tables, TABLE)
            if stored is not None:
                return _lookup(stored, name, key, tables.source, ())
            if (rows or company) and (narrowed := derived.stored_for_rows(tables)) is not None:
                stored, source = narrowed
                if company:  # the whole company's result, for whoever may read it
                    if profit and source.hidden:
                        return None   # made of cost: a rep's tables compute (and refuse)
                    whole = dataclasses.replace(source, customers=None, hidden=frozenset())
                    return _lookup(stored, name, key, whole, ())
                return _lookup(stored, name, key, source, profit)
            return None

        @functools.wraps(fn)
        def wrapper(tables: Tables, *args: Any, **kwargs: Any) -> Any:
            found = find(tables, args, kwargs)
            return found if found is not None else fn(tables, *args, **kwargs)

        _FIND[name] = find
        KEPT[name] = Kept(name, wrapper, defaults, rows, late)
        return wrapper  # type: ignore[return-value]
    return mark


_FIND: dict[str, Callable[[Tables, tuple[Any, ...], dict[str, Any]], Any]] = {}


def stored_only(fn: Callable[..., Any], tables: Tables, **kwargs: Any) -> Any:
    """What the kept function ``fn`` has stored for this call and these tables (narrowed as
    they are), or None; never computes. For a caller with a cheaper way than the whole
    computation when nothing is kept (one customer's card)."""
    return _FIND[f"{fn.__module__}.{fn.__qualname__}"](tables, (), kwargs)


def storable(cls: C) -> C:
    """Mark a dataclass a kept function returns (or holds in what it returns): decoding a
    stored value makes again only classes marked so, never one a file names."""
    _CLASSES[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return cls


@functools.cache
def code_version() -> str:
    """A digest of the analytics source: part of every stored result's key, so a result
    computed by an earlier release is not served by this one (after an upgrade the pages
    compute on request until the next write stores results again)."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _key(signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    bound = signature.bind_partial(None, *args, **kwargs)   # None: the tables, not part of it
    bound.apply_defaults()
    arguments = {k: v for k, v in bound.arguments.items() if k != "tables"}
    return json.dumps({**_plain(arguments), "_code": code_version()}, sort_keys=True)


def _plain(value: Any) -> Any:
    """Arguments as JSON values; numbers as floats, so a weight of 1 from the code and 1.0
    from a page's widget make the same key."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    raise TypeError(f"cannot key a stored result by {type(value).__name__}")


def _lookup(stored: ibis.Table, name: str, key: str, source: Source | None,
            profit: tuple[str, ...]) -> Any:
    """The stored value of ``name`` for ``key``, or None; its per-customer frames read from
    their own tables narrowed as ``source`` is (``_read_rows``)."""
    rows = stored.filter((stored.name == name) & (stored.key == key)).select("value") \
        .to_pandas()
    if not len(rows):
        return None
    return decode(json.loads(rows["value"].iloc[0]),
                  rows=None if source is None else functools.partial(_read_rows, source,
                                                                       profit))


def _read_rows(source: Source, profit: tuple[str, ...], data: dict[str, Any]) -> pd.DataFrame:
    """A kept per-customer frame as narrowed tables would compute it: the database reads only
    their customers' rows (in the stored order) and only the columns they may see — neither
    the hidden ones nor those made of them (``profit``). Narrowing in the query, not after
    decoding the whole book's frame, is what makes a rep's or a manager's first read of a
    kept frame cost their share of it (a manager's card: the year inputs of one customer
    instead of 240,000 rows decoded)."""
    schema = pa.ipc.read_schema(pa.py_buffer(bytes.fromhex(data["schema"])))
    drop = set(source.hidden) | set(profit) if source.hidden else set()
    fields = [f for f in schema if f.name not in drop]
    stored = [f.name for f in fields if f.name in data["columns"]]
    where = "" if source.customers is None else f" WHERE customer_id IN ({_ids_sql(source)})"
    key = (source.version, data["rows"], where, tuple(stored))
    with _READS_LOCK:
        if source.version is not None and key in _READS:
            _READS.move_to_end(key)
            return _READS[key][0].copy()
    got = source.backend.con.sql(   # type: ignore[attr-defined]
        f"SELECT {', '.join(_name(c) for c in stored)} FROM {_qualified(source, data['rows'])}"
        f"{where} ORDER BY {ROW}").fetch_arrow_table()
    # the stored frame's own Arrow types (with pandas' metadata) give back the same frame;
    # all-null columns are not stored (the database has no type for them)
    columns = [got.column(f.name).cast(f.type) if f.name in stored
               else pa.nulls(got.num_rows, f.type) for f in fields]
    arrow = pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=schema.metadata))
    frame = _lists_again(arrow.to_pandas(), arrow)
    frame = frame if source.customers is None else frame.reset_index(drop=True)
    if source.version is not None:
        _remember(key, frame)
    return frame.copy()


# The last kept frames read, per process, by what was read (a version file never changes):
# one page's cached calls read the same kept frame for a scope more than once — the credit
# page's two ageing tables both start from the open invoices, the grading page's coverage,
# grades and value view from the factor inputs (three reads of 23,000 rows at 0.1 s for a
# manager) — and the page cache keys whole results, not the reads under them. Bounded by the
# frames' memory with their text (counted as pointers only, a 128 MB bound let the server
# grow by 260 MB serving the four levels); a larger frame is read again each time.
_READS: collections.OrderedDict[tuple[Any, ...], tuple[pd.DataFrame, float]] = \
    collections.OrderedDict()
_READS_LOCK = threading.Lock()
READS_MB = 64


def _remember(key: tuple[Any, ...], frame: pd.DataFrame) -> None:
    if len(frame) > 200_000:   # not worth sizing: larger than the bound allows
        return
    size = frame.memory_usage(index=True, deep=True).sum() / 2**20
    if size > READS_MB / 2:
        return
    with _READS_LOCK:
        _READS[key] = (frame, size)
        while sum(mb for _, mb in _READS.values()) > READS_MB:
            _READS.popitem(last=False)


# Per narrowed source, the SQL of its customer ids: compiled once (ibis took 25 ms a query to
# compile a scope's narrowing, a dozen times for one page), then each kept frame's read is
# one plain query
_IDS_SQL: weakref.WeakKeyDictionary[Source, str] = weakref.WeakKeyDictionary()


def _ids_sql(source: Source) -> str:
    if source not in _IDS_SQL:
        assert source.customers is not None
        _IDS_SQL[source] = ibis.to_sql(source.customers.select("customer_id"),
                                       dialect="duckdb")
    return _IDS_SQL[source]


def _name(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _qualified(source: Source, table: str) -> str:
    """The qualified name of a derived table of ``source`` in SQL."""
    parts = (*source.derived_in, table) if source.derived_in else (table,)
    return ".".join(_name(p) for p in parts)


def write(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, Any]]) -> None:
    """Store computed results, ``(name, key, value)``, in the version being written."""
    con.execute(f"DROP TABLE IF EXISTS {TABLE}")
    con.execute(f"CREATE TABLE {TABLE} (name VARCHAR, key VARCHAR, value VARCHAR)")
    add(con, rows)


def add(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, Any]]) -> None:
    """Add computed results to the version being written (its table made by ``write``). Their
    frames go to tables of their own (``_put_frame``): a narrowed reader's query reads only
    its customers' rows of a per-customer result (``_read_rows``), and every reader skips
    decoding a frame kept as Parquet text (the churn model's scores: 0.3 s)."""
    for name, key, value in rows:
        kept = KEPT.get(name)
        put = functools.partial(_put_frame, con, f"{name}|{key}",
                                per_customer=kept is not None and kept.rows)
        con.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?)",
                    [name, key, json.dumps(encode(value, rows=put))])


def _put_frame(con: duckdb.DuckDBPyConnection, owner: str, frame: pd.DataFrame, path: str, *,
               per_customer: bool) -> dict[str, Any] | None:
    """Store one frame in a table of its own (named for its result and place in it) with its
    row order; what the stored value holds instead: the table, its columns and the frame's
    Arrow schema. None (the frame is encoded as Parquet text) for a per-customer result's
    frame without customers, or one whose types the database would not give back as they
    were."""
    if (per_customer and "customer_id" not in frame.columns) or ROW in frame.columns:
        return None
    table = ROWS_PREFIX + hashlib.sha256(f"{owner}|{path}".encode()).hexdigest()[:24]
    try:
        arrow = pa.Table.from_pandas(frame)
        kept = arrow.select([f.name for f in arrow.schema if not pa.types.is_null(f.type)])
        con.register("_kept_frame", kept)
        try:
            con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT *, '
                        f"row_number() OVER () AS {ROW} FROM _kept_frame")
        finally:
            con.unregister("_kept_frame")
        back = con.sql(f'SELECT * EXCLUDE ({ROW}) FROM "{table}" LIMIT 0').fetch_arrow_table()
        for field in kept.schema:  # e.g. a duration comes back an interval: keep it as text
            back.column(field.name).cast(field.type)
    except (pa.ArrowException, duckdb.Error, ValueError, TypeError):
        con.execute(f'DROP TABLE IF EXISTS "{table}"')
        return None
    return {"rows": table, "columns": kept.column_names,
            "schema": arrow.schema.serialize().to_pybytes().hex()}


# -- encoding ---------------------------------------------------------------------------------
def encode(value: Any, *, rows: Callable[[pd.DataFrame, str], dict[str, Any] | None]
           | None = None, path: str = "") -> Any:
    """A JSON-able form of ``value`` (frames, dates, dataclasses, lists, dicts, scalars).
    ``rows``: stores a frame elsewhere and says where (``_put_frame``), given the
    frame and its place in ``value``."""
    if isinstance(value, pd.DataFrame):
        if rows is not None and (where := rows(value, path)) is not None:
            return where
        buffer = io.BytesIO()
        value.to_parquet(buffer)
        # Parquet keeps datetimes in ms at least: remember the unit to give the same frame back
        units = {str(c): str(t) for c, t in value.dtypes.items() if str(t).startswith("datetime")}
        return {"frame": buffer.getvalue().hex(), "datetimes": units}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"dataclass": f"{type(value).__module__}.{type(value).__qualname__}",
                "fields": {f.name: encode(getattr(value, f.name), rows=rows,
                                          path=f"{path}.{f.name}")
                           for f in dataclasses.fields(value) if f.init}}
    if isinstance(value, tuple | list):
        return {"list": [encode(v, rows=rows, path=f"{path}[{i}]")
                         for i, v in enumerate(value)], "tuple": isinstance(value, tuple)}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: encode(v, rows=rows, path=f"{path}.{k}")
                         for k, v in value.items()}}
    if value is None or isinstance(value, bool | int | float | str):
        return {"plain": value}
    raise TypeError(f"cannot store a {type(value).__name__}")


def _lists_again(frame: pd.DataFrame, arrow: pa.Table) -> pd.DataFrame:
    """Arrow gives list cells back as arrays: lists again, as they were stored (only list
    columns: looking at every cell of the text columns cost more than reading)."""
    for field in arrow.schema:
        if _is_list(field.type) and field.name in frame \
                and pd.api.types.is_object_dtype(frame[field.name]):
            frame[field.name] = _pylists(arrow.column(field.name))
    return frame


def _is_list(kind: pa.DataType) -> bool:
    return bool(pa.types.is_list(kind) or pa.types.is_large_list(kind))


def _pylists(column: pa.ChunkedArray) -> list[Any]:
    """A list column's cells as Python lists: the values made Python objects once and cut
    at the offsets (a ``tolist`` per cell took 0.15 s for the churn scores' two reason
    columns of 33,000 customers; this takes a tenth of that)."""
    out: list[Any] = []   # a list per cell, None for a null one
    for chunk in column.chunks:
        # the offsets index the whole child array (a null cell may still span values)
        values, offsets = chunk.values.to_pylist(), chunk.offsets.to_pylist()
        valid = chunk.is_valid().to_pylist()
        out.extend(values[offsets[i]:offsets[i + 1]] if valid[i] else None
                   for i in range(len(chunk)))
    return out


def decode(data: dict[str, Any], *, rows: Callable[[dict[str, Any]], pd.DataFrame] | None
           = None) -> Any:
    """The value ``encode`` made; ``rows`` reads a frame stored in a table of its own."""
    if "rows" in data:
        if rows is None:
            raise ValueError("a stored frame's table cannot be read here")
        return rows(data)
    if "frame" in data:
        raw = bytes.fromhex(data["frame"])
        frame = pd.read_parquet(io.BytesIO(raw))
        lists = [f.name for f in pq.read_schema(io.BytesIO(raw)) if _is_list(f.type)]
        if lists:
            frame = _lists_again(frame, pq.read_table(io.BytesIO(raw), columns=lists))
        return frame.astype({c: t for c, t in data["datetimes"].items() if c in frame})
    if "date" in data:
        return date.fromisoformat(data["date"])
    if "dataclass" in data:
        cls = _CLASSES.get(data["dataclass"])
        if cls is None:  # only classes marked storable: a file cannot name any other
            raise ValueError(f"not a stored result class: {data['dataclass']}")
        return cls(**{k: decode(v, rows=rows) for k, v in data["fields"].items()})
    if "dict" in data:
        return {k: decode(v, rows=rows) for k, v in data["dict"].items()}
    if "list" in data:
        items = [decode(v, rows=rows) for v in data["list"]]
        return tuple(items) if data["tuple"] else items
    return data["plain"]
