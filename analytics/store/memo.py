"""Helpers several cached functions of one page call with the same tables, memoized per
process.

The inventory page's nine cached calls each rebuilt the stock on every count date and the
daily sales per product (9 × 0.1 s and 5 × 0.2 s at 10 M order lines), and the market
functions read the same price series again for each: the page cache keys whole results, not
the helpers under them. ``by_query`` keys a helper by what it reads instead: the version file
(its path, inode and write time), the SQL of the tables it names — which holds the scope's and
the filters' narrowing and a rep's hidden columns — and its keyword arguments. Tables without a
version (a test's backend, ``Tables.with_()``) are never memoized.
"""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import ibis
import pandas as pd

from analytics.store.warehouse import Tables

F = TypeVar("F", bound=Callable[..., Any])
ENTRIES = 64   # per helper; a page asks a few, each scope and version its own


def by_query(*names: str) -> Callable[[F], F]:
    """Memoize ``fn(tables, **kwargs)`` (a frame or a series, returned as a copy: callers
    add columns) by the version, the SQL of ``tables.<name>`` for each of ``names`` and the
    keyword arguments."""
    def mark(fn: F) -> F:
        kept: collections.OrderedDict[tuple[Any, ...], Any] = collections.OrderedDict()
        lock = threading.Lock()

        @functools.wraps(fn)
        def wrapper(tables: Tables, **kwargs: Any) -> Any:
            key = _key(tables, names, kwargs)
            if key is None:
                return fn(tables, **kwargs)
            with lock:
                if key in kept:
                    kept.move_to_end(key)
                    return kept[key].copy()
            value = fn(tables, **kwargs)
            with lock:
                kept[key] = value
                while len(kept) > ENTRIES:
                    kept.popitem(last=False)
            return value.copy()
        return wrapper  # type: ignore[return-value]
    return mark


def _key(tables: Tables, names: tuple[str, ...], kwargs: dict[str, Any]
         ) -> tuple[Any, ...] | None:
    source = tables.source
    if source is None or source.version is None:
        return None
    read = tuple(None if (t := getattr(tables, n)) is None else ibis.to_sql(t) for n in names)
    args = []
    for k, v in sorted(kwargs.items()):
        if isinstance(v, pd.Index):
            v = (type(v).__name__, tuple(v.astype(str)))
        try:
            hash(v)
        except TypeError:
            return None  # an argument that cannot be a key: computed each time
        args.append((k, v))
    return source.version, read, tuple(args)
