"""The churn model's settings, chosen from the data the user has, and said.

A setting is a horizon H (no order in the next H days = churned), a warm-up (history before the
first cutoff, so features such as the own cycle mean something), the spacing of the cutoffs
(quarters, or months when history is short) and how many of the last cutoffs are tested.

Honesty rule: a test cutoff t is scored by a model trained only on cutoffs c whose label window
has closed by t (c + H ≤ t), and t's own label window must be complete (t + H ≤ the day after
the data ends). The search keeps the method's 180 days wherever the data allows it and gives up
the warm-up and the spacing before the horizon: a seven-month log gets a 60-day horizon on
monthly cutoffs, an 18-month log 180 days on monthly cutoffs, a three-year book the method's
quarterly setting with a year of warm-up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import pandas as pd

from analytics.store.results import storable

HORIZON_DAYS = 180                 # the method: "no order in the next 180 days" is churn
HORIZONS = (180, 120, 90, 60, 30)  # tried in this order when the data is short
WARMUPS = (365, 180, 90, 60, 30)   # days of history before the first training cutoff
SPACINGS = ("quarter", "month")
TEST_CUTOFFS = 4                   # the last four cutoffs with a complete label window
_MONTHS = {"quarter": 3, "month": 1}


class NotEnoughHistory(ValueError):
    """Even the shortest honest setting does not fit the data: ``days`` of history against
    ``need_days``. A model is only trained where it can also be backtested: a risk list from
    a model nobody could test would be trusted for no reason."""

    def __init__(self, days: int, *, need_days: int) -> None:
        super().__init__(f"not enough history: {days} days of orders; the churn model needs "
                         f"{need_days}")
        self.days = days
        self.need_days = need_days


class TooFewOutcomes(NotEnoughHistory):
    """Time enough, but too few customers who stayed or who left (a small scope) to learn
    from."""


@storable
@dataclass(frozen=True)
class Settings:
    horizon: int
    warmup: int
    spacing: str                     # "quarter" | "month"
    tests: int
    cutoffs: tuple[date, ...]        # every cutoff of the grid, ascending
    test_cutoffs: tuple[date, ...]   # the last ``tests`` of them that can be tested
    history_days: int
    given: tuple[str, ...] = ()      # what the user set (the rest was chosen)

    def trainable(self, t: date) -> list[date]:
        """The cutoffs whose label window has closed by ``t``."""
        return [c for c in self.cutoffs if c + timedelta(days=self.horizon) <= t]

    @property
    def shortened(self) -> bool:
        """True when the data forced a setting below the method's defaults."""
        return (self.horizon < HORIZON_DAYS and "horizon" not in self.given) or (
            self.spacing != "quarter" and "spacing" not in self.given)


def _grid(first: date, last: date, *, warmup: int, spacing: str, anchor: date | None
          ) -> list[date]:
    """Cutoffs from ``first + warmup`` to ``last``: calendar month or quarter starts, or,
    with an ``anchor`` (a cutoff the user named), steps of one spacing back from it."""
    start = first + timedelta(days=warmup)
    if start > last:
        return []
    if anchor is None:
        freq = "QS" if spacing == "quarter" else "MS"
        return [d.date() for d in pd.date_range(start, last, freq=freq)]
    step, out, k = _MONTHS[spacing], [], 0
    while True:
        c = (pd.Timestamp(anchor) - pd.DateOffset(months=step * k)).date()
        if c < start:
            break
        if c <= last:
            out.append(c)
        k += 1
    return sorted(out)


def _candidate(first: date, end: date, *, horizon: int, warmup: int, spacing: str,
               tests: int | None, cutoff: date | None, min_train: int) -> Settings | None:
    """The setting with these choices, or None when not one cutoff can be tested (or, for
    scoring, trained on)."""
    last = end + timedelta(days=1) - timedelta(days=horizon)   # t + H ≤ end + 1
    if cutoff is not None:
        last = min(last, cutoff)
        if cutoff > last:
            return None
    grid = _grid(first, last, warmup=warmup, spacing=spacing, anchor=cutoff)
    if cutoff is not None and (not grid or grid[-1] != cutoff):
        return None
    probe = Settings(horizon, warmup, spacing, 0, tuple(grid), (), (end - first).days + 1)
    testable = [t for t in grid if len(probe.trainable(t)) >= min_train]
    if not testable:
        return None
    n = len(testable) if tests is None else min(tests, len(testable))
    return replace(probe, tests=n, test_cutoffs=tuple(testable[-n:]))


def choose(first: date | None, end: date | None, *, horizon: int | None = None,
           warmup: int | None = None, spacing: str | None = None, tests: int | None = None,
           cutoff: date | None = None, min_train: int = 1) -> Settings:
    """The longest horizon (HORIZONS, or the one given) at which at least one cutoff can be
    tested honestly; at that horizon the first spacing and warm-up (SPACINGS × WARMUPS, in
    order: quarters before months, a long warm-up before a short one) that tests ``tests``
    cutoffs (default TEST_CUTOFFS), else the one that tests the most. The horizon is what
    "churned" means to the user, so it is kept before the number of tests; what the user
    gave is fixed. Raises NotEnoughHistory."""
    given = tuple(k for k, v in (("horizon", horizon), ("warmup", warmup),
                                 ("spacing", spacing), ("tests", tests),
                                 ("cutoff", cutoff)) if v is not None)
    if first is None or end is None:
        raise NotEnoughHistory(0, need_days=_need(horizon, warmup))
    wanted = tests if tests is not None else TEST_CUTOFFS
    for h in ((horizon,) if horizon else HORIZONS):
        best: Settings | None = None
        for s in ((spacing,) if spacing else SPACINGS):
            for w in ((warmup,) if warmup is not None else WARMUPS):
                found = _candidate(first, end, horizon=h, warmup=w, spacing=s, tests=wanted,
                                   cutoff=cutoff, min_train=min_train)
                if found is not None and (best is None or found.tests > best.tests):
                    best = found
                if best is not None and best.tests >= wanted:
                    return replace(best, given=given)
        if best is not None:
            return replace(best, given=given)
    raise NotEnoughHistory((end - first).days + 1, need_days=_need(horizon, warmup))


def _need(horizon: int | None, warmup: int | None) -> int:
    """Days of history the shortest setting needs: the warm-up, one label window to train on
    and one to test, plus a month for the grid to fall on a month start."""
    return (warmup if warmup is not None else WARMUPS[-1]) + 2 * (
        horizon or HORIZONS[-1]) + 31


def for_scoring(first: date | None, end: date | None, *, as_of: date,
                horizon: int | None = None, warmup: int | None = None,
                spacing: str | None = None) -> Settings:
    """The backtest's choice of horizon, spacing and warm-up (so the score is the setting the
    backtest judged), then every cutoff whose label window closed by ``as_of`` for training.
    Raises NotEnoughHistory where no backtest is possible."""
    chosen = choose(first, end, horizon=horizon, warmup=warmup, spacing=spacing)
    assert first is not None and end is not None   # choose raised otherwise
    last = min(as_of, end + timedelta(days=1)) - timedelta(days=chosen.horizon)
    grid = _grid(first, last, warmup=chosen.warmup, spacing=chosen.spacing, anchor=None)
    if not grid:   # an as_of early in the history
        raise NotEnoughHistory((min(as_of, end) - first).days + 1,
                               need_days=_need(chosen.horizon, chosen.warmup))
    return replace(chosen, tests=0, cutoffs=tuple(grid), test_cutoffs=())
