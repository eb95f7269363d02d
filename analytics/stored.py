"""Results computed once when a version is written and kept inside it.

The Overview's KPIs, the churn model (training and backtest), the churn status views, the
yearly standing behind the customer cards, the credit page's exposure, ageing and DSO and the
grading page's three views take one to eight seconds each on a book of ten million order lines
(the KPIs one; the whole Overview is read by every visitor first): computed on request,
the first visitor after every import or server start waited for them, and each process computed
its own. So each write computes them with the arguments the pages pass by default (the latest
data date, the last 12 months, the default rules, weights and model) and stores them in the new
version's ``stored_results`` table, in the same atomic write as the data they come from: a
reader sees the results of the version it reads, never another's.

A stored result is used only on the whole book: ``Tables.with_`` drops the stored table when a
scope or a filter narrows the tables, so a rep's or a filtered view is computed from its own rows.
Any other arguments (another model, period or rule) are computed on request too.

Values are encoded without pickle (a warehouse file must not be able to run code): data frames
as Parquet, dates, lists and numbers as JSON, dataclasses field by field.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import inspect
import io
import json
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import ibis
import numpy as np
import pandas as pd

from analytics.warehouse import STORED_TABLE as TABLE
from analytics.warehouse import MissingData, Tables, tables_from

F = TypeVar("F", bound=Callable[..., Any])
_KEPT: dict[str, Callable[..., Any]] = {}
_log = logging.getLogger(__name__)


def kept(fn: F) -> F:
    """Mark an analytics function ``fn(tables, **kwargs)`` whose default result is stored
    with each version; a call whose arguments match a stored result returns it."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(tables: Tables, *args: Any, **kwargs: Any) -> Any:
        if tables.stored is not None:
            found = _lookup(tables.stored, name, _key(signature, args, kwargs))
            if found is not None:
                return found
        return fn(tables, *args, **kwargs)

    _KEPT[name] = wrapper
    return wrapper  # type: ignore[return-value]


@functools.cache
def code_version() -> str:
    """A digest of the analytics source: part of every stored result's key, so a result
    computed by an earlier release is not served by this one (after an upgrade the pages
    compute on request until the next write stores results again)."""
    digest = hashlib.sha256()
    root = Path(__file__).parent
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


def _lookup(stored: ibis.Table, name: str, key: str) -> Any:
    rows = stored.filter((stored.name == name) & (stored.key == key)).select("value") \
        .to_pandas()
    return decode(json.loads(rows["value"].iloc[0])) if len(rows) else None


# -- what is stored ---------------------------------------------------------------------------
def _defaults(end: date) -> list[tuple[str, dict[str, Any]]]:
    """The pages' default calls at the latest data date (app.py, pages/3_grading.py,
    pages/4_customer.py, pages/5_churn.py, pages/8_credit.py, ui/frame.Context.early_warning):
    the same function paths and arguments; tests/test_stored.py fails if a page stops
    matching them."""
    from analytics.churn.status import DEFAULT_RULES
    from analytics.period import preset

    period = preset("last_12_months", as_of=end)
    return [("analytics.overview.kpi_comparison", {"period": period}),
            ("analytics.churn.views.score_view", {"as_of": end, "kind": "logistic"}),
            ("analytics.churn.views.backtest_view", {"kind": "logistic"}),
            ("analytics.churn.views.status_views", {"period": period, "rules": DEFAULT_RULES}),
            ("analytics.card.standing", {"as_of": end}),
            # the credit page (exposure is also the early warning's first part)
            ("analytics.credit.exposure", {"as_of": end}),
            ("analytics.credit.ageing_summary", {"as_of": end, "by": "customer_id"}),
            ("analytics.credit.ageing_summary", {"as_of": end, "by": None}),
            ("analytics.credit.dso_trend", {"period": period}),
            # the grading page: each reads the factor inputs of the 12 months again
            ("analytics.grading.factor_coverage", {"period": period}),
            ("analytics.grading.grade", {"period": period, "mode": "quantile"}),
            ("analytics.grading.value_view", {"period": period})]


def write(con: duckdb.DuckDBPyConnection) -> int:
    """Compute the default results from the tables in ``con`` (a version being written) and
    store them, replacing any from the version it was copied from. Returns how many."""
    # the frame's own latest date, so the stored keys are the ones the pages ask for; imported
    # here, as the modules holding kept functions: they import the warehouse module
    from analytics import summaries
    from analytics.overview import data_range

    con.execute(f"DROP TABLE IF EXISTS {TABLE}")
    summaries.write(con)  # first: the results below read them
    tables = tables_from(ibis.duckdb.from_connection(con))
    span = data_range(tables)
    if span is None:
        return 0
    rows = []
    for name, kwargs in _defaults(span[1]):
        importlib.import_module(name.rpartition(".")[0])  # registers its kept functions
        fn = _KEPT[name]
        try:
            value = fn(tables, **kwargs)
        except (ValueError, MissingData):  # e.g. too little history to train
            continue
        except Exception:  # a result must never block an import of good data
            # the page asks for it on request and shows the problem where it belongs
            _log.exception("stored result %s not computed", name)
            continue
        rows.append((name, _key(inspect.signature(fn), (), kwargs), json.dumps(encode(value))))
    con.execute(f"CREATE TABLE {TABLE} (name VARCHAR, key VARCHAR, value VARCHAR)")
    if rows:
        con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?)", rows)
    return len(rows)


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
        frame = pd.read_parquet(io.BytesIO(bytes.fromhex(data["frame"])))
        for col in [c for c in frame.columns if pd.api.types.is_object_dtype(frame[c])]:
            # Parquet gives list cells back as arrays: lists again, as they were stored
            frame[col] = [v.tolist() if isinstance(v, np.ndarray) else v for v in frame[col]]
        return frame.astype({c: t for c, t in data["datetimes"].items() if c in frame})
    if "date" in data:
        return date.fromisoformat(data["date"])
    if "dataclass" in data:
        module, _, name = data["dataclass"].rpartition(".")
        if not module.startswith("analytics."):  # checked before importing anything
            raise ValueError(f"not a stored result class: {data['dataclass']}")
        cls = getattr(importlib.import_module(module), name, None)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise ValueError(f"not a stored result class: {data['dataclass']}")
        return cls(**{k: decode(v) for k, v in data["fields"].items()})
    if "dict" in data:
        return {k: decode(v) for k, v in data["dict"].items()}
    if "list" in data:
        items = [decode(v) for v in data["list"]]
        return tuple(items) if data["tuple"] else items
    return data["plain"]
