"""The shared first call of every page: page setup, login (single-user until the access issue),
language, navigation, global filters, and the user's scoped tables.

Every page calls ``frame(...)`` as its first statement: with a ``pages/`` folder Streamlit can run
a deep-linked page without ``app.py``, so the gate must live in each page (docs/architecture.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from analytics.display.i18n import DEFAULT_LANG, LANGS, Labels
from analytics.domain import churn, overview, warning
from analytics.ops import followup_desk
from analytics.store import filters as flt
from analytics.store.access import Scope
from analytics.store.filters import Filters
from analytics.store.frames import present
from analytics.store.period import PRESETS, Period, preset
from analytics.store.warehouse import MissingData, Tables
from ui import auth, data
from ui.nav import PAGES

LANG_NAMES = {"zh": "简体中文", "en": "English"}


@dataclass
class Context:
    """What a page needs: labels, scope, filters, and cached access to the scoped data."""

    page: str
    labels: Labels
    scope: Scope
    filters: Filters
    version: str
    data_end: date

    @property
    def lang(self) -> str:
        return self.labels.lang

    @property
    def narrowed(self) -> bool:
        """Whether the customers are narrowed (by the user's scope or a sidebar filter):
        company-wide figures such as stock against sales then no longer match. Read from the
        tables, which the one narrowing (analytics.store.narrowing) marks, so the pages and
        the analytics (overview.kpi_gaps) can never disagree."""
        return self.tables().customer_filtered

    @property
    def user_key(self) -> str:
        """Who and what scope: part of the key of anything kept in the session for a user."""
        return f"{self.scope.user}|{self.scope.key}"

    def cached(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """``fn(tables, **kwargs)`` on the user's scoped, filtered tables, cached. When the data
        lacks a table or column the function needs, says which and stops the page there."""
        return self._guarded(lambda: data.cached(fn, self.version, self.scope, self.filters,
                                                 **kwargs))

    def cached_unfiltered(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """Like ``cached`` but ignoring the dimension filters (still scoped)."""
        return self._guarded(lambda: data.cached(fn, self.version, self.scope, None, **kwargs))

    def early_warning(self, as_of: date) -> pd.DataFrame:
        """The early-warning list at ``as_of``. Its churn probabilities are the churn page's
        (one model per data version, trained on the whole book; the scope and the filters
        narrow the list), so every page and every user shows a customer the same
        probability."""
        found = self.cached(warning.kept_warning, as_of=as_of)   # kept, cut to the scope
        if found is not None:
            return found  # type: ignore[no-any-return]
        try:
            # the churn page's call with its default model: one cached model for both
            scores = self.churn_scores(as_of=as_of, kind=churn.MODELS[0]).customers
        except churn.NotEnoughHistory:  # the status rules stand in for the model
            return self.cached(warning.early_warning, as_of=as_of, rules=True)
        keep = present(scores, ("customer_id", "name", "probability", "value_12m"))
        return self.cached(warning.early_warning, as_of=as_of, churn_scores=scores[keep])

    def churn_scores(self, *, as_of: date, kind: str, horizon: int | None = None,
                     warmup: int | None = None) -> churn.Scores:
        """The one churn model's scores for this user (trained on the whole book once per
        data version; narrowed to the scope, profit masked for a rep; filters not applied)."""
        return self._guarded(lambda: data.churn_scores(self.version, self.scope, as_of, kind,
                                                       horizon, warmup))

    def churn_backtest(self, *, kind: str, **given: Any) -> churn.Backtest:
        """The one churn model's backtest, as this user reads it."""
        return self._guarded(lambda: data.churn_backtest(self.version, self.scope, kind,
                                                         tuple(sorted(given.items()))))

    def churn_risk(self, *, as_of: date, kind: str, bands: tuple[float, float],
                   horizon: int | None = None, warmup: int | None = None) -> pd.DataFrame:
        """The churn page's risk list in the user's language, from the same model as
        ``early_warning`` (scoped, unfiltered)."""
        return self._guarded(lambda: data.churn_risk(self.version, self.scope, as_of, kind,
                                                     bands, self.labels.lang, horizon,
                                                     warmup))

    def followup_desk(self) -> followup_desk.Desk:
        """This user's follow-ups (analytics.ops.followup_desk): the scope's customers, the
        sidebar filters narrowing them as they narrow every list."""
        return data.desk(self.version, self.scope, self.filters)

    def _guarded(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except MissingData as missing:
            table = self.labels.value("table", missing.table)
            if missing.column:
                st.info(self.labels("missing_column", table=table, column=missing.column))
            else:
                st.info(self.labels("missing_table", table=table))
            st.stop()

    def tables(self) -> Tables:
        """Scoped, filtered tables for work that cannot be cached (rare)."""
        return data.scoped_tables(self.version, self.scope, self.filters)


def _persisted(key: str, default: Any) -> Any:
    """Widget values survive page switches only when kept under a non-widget key."""
    if key not in st.session_state:
        st.session_state[key] = default
    return st.session_state[key]


def _wkey(key: str, lang: str) -> str:
    # the language is part of the widget key: Streamlit keeps a widget's formatted options
    # while its key is unchanged, so a language switch must make new widgets
    return f"w_{key}_{lang}"


def _keep(key: str, lang: str) -> Callable[[], None]:
    def copy() -> None:
        # a sign-out clears the widgets' state; the browser may still report a change
        if _wkey(key, lang) in st.session_state:
            st.session_state[key] = st.session_state[_wkey(key, lang)]
    return copy


def _take_language() -> None:
    # a sign-in or sign-out clears the widgets' state while the browser may still report the
    # radio's change (as for the filters' copy above): a missing value changes nothing
    if "w_lang" in st.session_state:
        st.session_state["lang"] = st.session_state["w_lang"]


def _language() -> Labels:
    # ?lang=en in the URL wins on a new session, so a reload or a shared link keeps the language
    asked = st.query_params.get("lang")
    if "lang" not in st.session_state and asked in LANGS:
        st.session_state["lang"] = asked
    lang = _persisted("lang", os.environ.get("STEELSIGHT_LANG", DEFAULT_LANG))
    st.sidebar.radio("语言 / Language", LANGS, index=LANGS.index(lang), horizontal=True,
                     format_func=LANG_NAMES.__getitem__, key="w_lang", on_change=_take_language)
    lang = st.session_state["lang"]
    if st.query_params.get("lang") != lang:
        st.query_params["lang"] = lang
    return Labels(lang)


def _login(labels: Labels) -> Scope:
    return auth.current_scope(labels)


def _navigation(labels: Labels) -> None:
    for page in PAGES:
        st.sidebar.page_link(page.path, label=labels(page.label), icon=page.icon)


def _multiselect(labels: Labels, key: str, label: str, options: list[str],
                 field: str | None) -> tuple[str, ...]:
    chosen = [v for v in _persisted(key, []) if v in options]
    st.sidebar.multiselect(label, options, default=chosen, key=_wkey(key, labels.lang),
                           placeholder=labels("all"), on_change=_keep(key, labels.lang),
                           format_func=(lambda v: labels.value(field, v)) if field else str)
    return tuple(v for v in st.session_state[key] if v in options)


def _filters(labels: Labels, version: str, scope: Scope, first: date, last: date) -> Filters:
    st.sidebar.subheader(labels("filters"))
    name = _persisted("period_preset", "last_12_months")
    st.sidebar.selectbox(labels("period"), PRESETS, index=PRESETS.index(name),
                         key=_wkey("period_preset", labels.lang),
                         on_change=_keep("period_preset", labels.lang),
                         format_func=lambda p: labels(f"period_{p}"))
    name = st.session_state["period_preset"]
    if name == "custom":
        default = preset("last_12_months", as_of=last)
        start, end = _persisted("custom_range", (default.start, default.end))
        picked = st.sidebar.date_input(labels("date_range"), value=(start, end),
                                       min_value=first, max_value=last,
                                       key=_wkey("custom_range", labels.lang),
                                       on_change=_keep("custom_range", labels.lang))
        if isinstance(picked, tuple) and len(picked) == 2:
            period = Period(picked[0], picked[1])
        else:  # the user has clicked the first date only
            period = Period(start, end)
    else:
        period = preset(name, as_of=last, first=first)
    opts = data.cached(flt.options, version, scope, None)
    provinces = _multiselect(labels, "provinces", labels("province"), opts["provinces"],
                             "province")
    reps = _multiselect(labels, "reps", labels("sales_rep"), opts["reps"], None)
    types = _multiselect(labels, "customer_types", labels("customer_type"),
                         opts["customer_types"], "type")
    cats = _multiselect(labels, "categories", labels("category"),
                        data.cached(flt.categories, version, data.BOOK, None), "category")
    return Filters(period=period, provinces=provinces, reps=reps, customer_types=types,
                   categories=cats)


def frame(page: str, *, needs_data: bool = True) -> Context:
    """Set up the page and return its context; stops the script when there is nothing to show
    (unless ``needs_data`` is False: the data page must work on an empty warehouse)."""
    title = next(p for p in PAGES if p.key == page)
    st.set_page_config(page_title="SteelSight", page_icon="🏗️", layout="wide")
    # KPI values such as 2014万元 must fit a fifth of a laptop screen
    st.html("<style>[data-testid='stMetricValue']{font-size:1.9rem}</style>")
    labels = _language()
    scope = _login(labels)
    _navigation(labels)
    st.title(f"{title.icon} {labels(title.label)}")
    wh = data.warehouse()
    key = data.version_key(wh)
    if wh.problem:
        st.warning(labels(f"warehouse_problem_{wh.problem}", version=wh.version)
                   if wh.exists() else labels("warehouse_unreadable"))
    problem = data.scope_problem(key, scope) if wh.exists() else None
    if problem:
        st.warning(labels(problem))
    span = data.cached(overview.data_range, key, scope, None) if wh.exists() else None
    if span is None:
        if needs_data:
            st.warning(labels("no_warehouse") if not wh.exists() else labels("no_orders"))
            st.page_link(PAGES[-1].path, label=labels("go_import"), icon="📥")
            st.stop()
        today = date.today()
        return Context(page=page, labels=labels, scope=scope, version=key,
                       filters=Filters(period=preset("last_12_months", as_of=today)),
                       data_end=today)
    version = key
    first, last = span
    filters = _filters(labels, version, scope, first, last)
    st.sidebar.caption(labels("data_through", date=labels.date(last)) + " · "
                       + labels("warehouse_version", version=wh.version))
    period_name = labels("period_" + st.session_state["period_preset"])
    st.caption(f"{period_name}: {labels.date(filters.period.start)} – "
               f"{labels.date(filters.period.end)}")
    return Context(page=page, labels=labels, scope=scope, filters=filters, version=version,
                   data_end=last)
