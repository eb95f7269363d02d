"""Two pandas helpers every floor uses: the columns of a list that a frame has, in the list's
order. Optional columns (cost, tonnes, a rep's hidden profit) come and go with the data and the
user, so a page or a function names what it would show and keeps what is there."""

from __future__ import annotations

from collections.abc import Iterable

import ibis
import pandas as pd


def present(frame: pd.DataFrame | pd.Series | ibis.Table, names: Iterable[str]) -> list[str]:
    """``names`` that are columns of ``frame`` (a frame, an Ibis table, or the keys of a
    row), in the order given."""
    have = set(frame.index if isinstance(frame, pd.Series) else frame.columns)
    return [n for n in names if n in have]


def select(frame: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """``frame`` with only those of ``names`` it has, in the order given."""
    return frame[present(frame, names)]
