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
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.store import derived
from analytics.store.frames import member
from analytics.store.period import preset
from analytics.store.warehouse import STORED_TABLE as TABLE
from analytics.store.warehouse import Source, Tables

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)
Defaults = Callable[[date, date], list[dict[str, Any]]]   # (first, latest data date)


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
         late: bool = False) -> Callable[[F], F]:
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
    (which would train a model of their own); its callers read it with ``stored_only``."""
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
                return _lookup(stored, name, key)
            if rows and (narrowed := derived.stored_for_rows(tables)) is not None:
                stored, source = narrowed
                found = _cached_lookup(stored, source, name, key)
                return None if found is None else _narrow(found, source, profit)
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


def _narrow(found: Any, source: Source, profit: tuple[str, ...]) -> Any:
    """A stored per-customer frame (or a stored dataclass of them, each narrowed) as narrowed
    tables would compute it: their customers' rows (in the stored order), without the hidden
    columns and those made of them."""
    if not isinstance(found, pd.DataFrame):
        return dataclasses.replace(found, **{name: _narrow(frame, source, profit)
                                             for name, frame in _frames(found).items()})
    frame = found
    if source.customers is not None:
        frame = frame[member(frame["customer_id"], _ids(source))].reset_index(drop=True)
    if source.hidden:
        frame = frame.drop(columns=[c for c in frame.columns
                                    if c in source.hidden or c in profit])
    return frame


def _frames(found: Any) -> dict[str, pd.DataFrame]:
    """The frames of a stored value: itself, or a dataclass's frame fields by name."""
    if isinstance(found, pd.DataFrame):
        return {"": found}
    if dataclasses.is_dataclass(found) and not isinstance(found, type):
        return {f.name: v for f in dataclasses.fields(found)
                if isinstance(v := getattr(found, f.name), pd.DataFrame)}
    return {}


_IDS: weakref.WeakKeyDictionary[Source, pd.Series] = weakref.WeakKeyDictionary()
# Whole-book frames decoded for narrowed readers, per process: every rep and manager after the
# first reads them cut to their own customers (decoding one takes 10–60 ms at 70,000
# customers; the card's standing reads twenty). Bounded by their memory, least recently read
# out first: a server's memory is the scopes' cached pages, not this.
_DECODED: collections.OrderedDict[tuple[str, str, str], tuple[pd.DataFrame, int]] = \
    collections.OrderedDict()
_DECODED_BYTES = 256 * 2**20
_DECODED_LOCK = threading.Lock()


def _cached_lookup(stored: ibis.Table, source: Source, name: str, key: str) -> Any:
    """``_lookup`` through the per-process cache when the source names its version. The
    frames are only ever narrowed (copied) before they leave here, so no caller holds one."""
    if source.version is None:
        return _lookup(stored, name, key)
    slot = (source.version, name, key)
    with _DECODED_LOCK:
        if slot in _DECODED:
            _DECODED.move_to_end(slot)
            return _DECODED[slot][0]
    found = _lookup(stored, name, key)
    frames = _frames(found)
    if frames:
        size = sum(_size(f) for f in frames.values())
        with _DECODED_LOCK:
            _DECODED[slot] = (found, size)
            while sum(s for _, s in _DECODED.values()) > _DECODED_BYTES and len(_DECODED) > 1:
                _DECODED.popitem(last=False)
    return found


def _size(frame: pd.DataFrame) -> int:
    """Bytes a frame holds: Arrow columns know theirs (pandas' deep count walks them, 80 ms
    for a stacked year frame); only Python objects are counted one by one."""
    shallow = frame.memory_usage(deep=False, index=False)
    objects = [c for c in frame.columns if frame[c].dtype == object]
    return int(shallow.sum()) + int(frame[objects].memory_usage(deep=True, index=False).sum()
                                    if objects else 0)


def _ids(source: Source) -> pd.Series:
    """The customer ids a narrowed source kept, read once per source (a page's tables ask
    for a dozen kept frames)."""
    if source not in _IDS:
        assert source.customers is not None
        _IDS[source] = source.customers.customer_id.to_pandas()
    return _IDS[source]


def _lookup(stored: ibis.Table, name: str, key: str) -> Any:
    rows = stored.filter((stored.name == name) & (stored.key == key)).select("value") \
        .to_pandas()
    return decode(json.loads(rows["value"].iloc[0])) if len(rows) else None


def write(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, Any]]) -> None:
    """Store computed results, ``(name, key, value)``, in the version being written."""
    con.execute(f"DROP TABLE IF EXISTS {TABLE}")
    con.execute(f"CREATE TABLE {TABLE} (name VARCHAR, key VARCHAR, value VARCHAR)")
    add(con, rows)


def add(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, Any]]) -> None:
    """Add computed results to the version being written (its table made by ``write``)."""
    if rows:
        con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?)",
                        [(name, key, json.dumps(encode(value))) for name, key, value in rows])


# -- encoding ---------------------------------------------------------------------------------
def encode(value: Any) -> Any:
    """A JSON-able form of ``value`` (frames, dates, dataclasses, lists, dicts, scalars)."""
    if isinstance(value, pd.DataFrame):
        buffer = io.BytesIO()
        value.to_parquet(buffer)
        # Parquet keeps datetimes in ms at least: remember the unit to give the same frame back
        units = {str(c): str(t) for c, t in value.dtypes.items() if str(t).startswith("datetime")}
        return {"frame": buffer.getvalue().hex(), "datetimes": units}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"dataclass": f"{type(value).__module__}.{type(value).__qualname__}",
                "fields": {f.name: encode(getattr(value, f.name))
                           for f in dataclasses.fields(value) if f.init}}
    if isinstance(value, tuple | list):
        return {"list": [encode(v) for v in value], "tuple": isinstance(value, tuple)}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: encode(v) for k, v in value.items()}}
    if value is None or isinstance(value, bool | int | float | str):
        return {"plain": value}
    raise TypeError(f"cannot store a {type(value).__name__}")


def decode(data: dict[str, Any]) -> Any:
    if "frame" in data:
        raw = bytes.fromhex(data["frame"])
        frame = pd.read_parquet(io.BytesIO(raw))
        schema = pq.read_schema(io.BytesIO(raw))
        lists = [f.name for f in schema if pa.types.is_list(f.type)
                 or pa.types.is_large_list(f.type)]
        for col in [c for c in lists if c in frame and pd.api.types.is_object_dtype(frame[c])]:
            # Parquet gives list cells back as arrays: lists again, as they were stored (only
            # list columns: looking at every cell of the text columns cost more than reading)
            frame[col] = [v.tolist() if isinstance(v, np.ndarray) else v for v in frame[col]]
        return frame.astype({c: t for c, t in data["datetimes"].items() if c in frame})
    if "date" in data:
        return date.fromisoformat(data["date"])
    if "dataclass" in data:
        cls = _CLASSES.get(data["dataclass"])
        if cls is None:  # only classes marked storable: a file cannot name any other
            raise ValueError(f"not a stored result class: {data['dataclass']}")
        return cls(**{k: decode(v) for k, v in data["fields"].items()})
    if "dict" in data:
        return {k: decode(v) for k, v in data["dict"].items()}
    if "list" in data:
        items = [decode(v) for v in data["list"]]
        return tuple(items) if data["tuple"] else items
    return data["plain"]
