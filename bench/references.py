"""Two references for the main five entry points, computing the same result another way:

- ``sql:*`` — one hand-written DuckDB query on the warehouse file (the floor: no layers);
- ``pandas:*`` — load the tables the result needs into pandas, then compute (what a notebook
  without a database would do).

Each takes (warehouse folder, period) and returns a DataFrame keyed like ours, so the bench
checks they agree before it times anything. Churn features: all of them at the period end
(the pandas one is bench/churn_reference.py, also the test suite's second opinion).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.domain.customers import PYRAMID_SHARES, TIERS, tier_cutoffs
from analytics.store.period import Period
from analytics.store.schema import SURVEY_DIMENSIONS
from analytics.store.warehouse import Warehouse
from bench import churn_reference


def _con(folder: Path) -> duckdb.DuckDBPyConnection:
    path = Warehouse(folder).current_path()
    assert path is not None
    return duckdb.connect(str(path), read_only=True)


def _q(folder: Path, sql: str) -> pd.DataFrame:
    con = _con(folder)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def _load(folder: Path, table: str, columns: str = "*") -> pd.DataFrame:
    return _q(folder, f"select {columns} from {table}")


# -- overview KPIs ----------------------------------------------------------------------------
def sql_kpis(folder: Path, p: Period) -> pd.DataFrame:
    prev = p.previous()
    return _q(folder, f"""
        with cur as (select * from orders where order_date between '{p.start}' and '{p.end}'),
        totals as (select sum(amount_cny) rev, sum(volume_t) t, sum(cost_cny) cogs,
                          count(distinct customer_id) active from cur),
        firsts as (select customer_id, min(order_date) f from orders group by 1),
        new as (select count(*) n from firsts where f between '{p.start}' and '{p.end}'),
        prev as (select distinct customer_id from orders
                 where order_date between '{prev.start}' and '{prev.end}'),
        lost as (select count(*) n from prev anti join (select distinct customer_id from cur)
                 using (customer_id)),
        paid as (select invoice_id, sum(paid_cny) s from payments where paid_date <= '{p.end}'
                 group by 1),
        overdue as (select sum(amount_cny - coalesce(s, 0)) v from invoices
                    left join paid using (invoice_id)
                    where invoice_date <= '{p.end}' and due_date < '{p.end}'
                      and amount_cny - coalesce(s, 0) > 0.01),
        stock as (select sum(on_hand_t) t from inventory where date = (
                    select max(date) from inventory where date <= '{p.end}')),
        sold90 as (select sum(volume_t) t from orders
                   where order_date between date '{p.end}' - interval 89 day and '{p.end}')
        select rev as revenue_cny, totals.t as volume_t, rev - cogs as gross_profit_cny,
               (rev - cogs) / rev * 100 as margin_pct, active as active_customers,
               new.n as new_customers, lost.n as lost_customers,
               overdue.v as overdue_receivables_cny, stock.t / (sold90.t / 90) as inventory_days
        from totals, new, lost, overdue, stock, sold90""")


def pandas_kpis(folder: Path, p: Period) -> pd.DataFrame:
    o = _load(folder, "orders", "order_date, customer_id, amount_cny, volume_t, cost_cny")
    inv = _load(folder, "invoices", "invoice_id, invoice_date, due_date, amount_cny")
    pay = _load(folder, "payments", "invoice_id, paid_date, paid_cny")
    stock = _load(folder, "inventory", "date, on_hand_t")
    d = pd.to_datetime(o["order_date"])
    start, end = pd.Timestamp(p.start), pd.Timestamp(p.end)
    prev = p.previous()
    cur = o[(d >= start) & (d <= end)]
    before = o[(d >= pd.Timestamp(prev.start)) & (d <= pd.Timestamp(prev.end))]
    firsts = d.groupby(o["customer_id"]).min()
    paid = pay[pd.to_datetime(pay["paid_date"]) <= end].groupby("invoice_id")["paid_cny"].sum()
    inv = inv[(pd.to_datetime(inv["invoice_date"]) <= end) & (pd.to_datetime(inv["due_date"])
                                                              < end)]
    open_ = inv["amount_cny"] - inv["invoice_id"].map(paid).fillna(0.0)
    sd = pd.to_datetime(stock["date"])
    last = sd[sd <= end].max()
    sold90 = o.loc[(d > end - pd.Timedelta(days=90)) & (d <= end), "volume_t"].sum()
    rev, cogs = cur["amount_cny"].sum(), cur["cost_cny"].sum()
    return pd.DataFrame([{
        "revenue_cny": rev, "volume_t": cur["volume_t"].sum(), "gross_profit_cny": rev - cogs,
        "margin_pct": (rev - cogs) / rev * 100, "active_customers": cur["customer_id"].nunique(),
        "new_customers": int(((firsts >= start) & (firsts <= end)).sum()),
        "lost_customers": len(set(before["customer_id"]) - set(cur["customer_id"])),
        "overdue_receivables_cny": open_[open_ > 0.01].sum(),
        "inventory_days": stock.loc[sd == last, "on_hand_t"].sum() / (sold90 / 90)}])


# -- pyramid ----------------------------------------------------------------------------------
def _tiers(values: pd.DataFrame) -> pd.DataFrame:
    values = values.sort_values(["value", "customer_id"], ascending=[False, True],
                                kind="mergesort").reset_index(drop=True)
    cuts = np.array(tier_cutoffs(len(values), PYRAMID_SHARES))
    rank = np.arange(1, len(values) + 1)
    values["tier"] = np.array(TIERS)[np.searchsorted(cuts, rank, side="left")]
    return values[["customer_id", "value", "tier"]]


def sql_pyramid(folder: Path, p: Period) -> pd.DataFrame:
    n = int(_q(folder, f"select count(distinct customer_id) n from orders where order_date "
                       f"between '{p.start}' and '{p.end}'")["n"].iloc[0])
    cuts = tier_cutoffs(n, PYRAMID_SHARES)
    case = " ".join(f"when rk <= {c} then '{t}'" for c, t in zip(cuts, TIERS, strict=True))
    return _q(folder, f"""
        select customer_id, value, case {case} end as tier from (
          select customer_id, sum(amount_cny - cost_cny) as value,
                 row_number() over (order by sum(amount_cny - cost_cny) desc, customer_id) rk
          from orders where order_date between '{p.start}' and '{p.end}' group by 1)
        order by rk""")


def pandas_pyramid(folder: Path, p: Period) -> pd.DataFrame:
    o = _load(folder, "orders", "order_date, customer_id, amount_cny, cost_cny")
    d = pd.to_datetime(o["order_date"])
    cur = o[(d >= pd.Timestamp(p.start)) & (d <= pd.Timestamp(p.end))]
    values = (cur["amount_cny"] - cur["cost_cny"]).groupby(cur["customer_id"]).sum()
    return _tiers(values.rename("value").reset_index())


# -- ABC customers ----------------------------------------------------------------------------
def sql_abc(folder: Path, p: Period) -> pd.DataFrame:
    return _q(folder, f"""
        with v as (select customer_id, sum(amount_cny - cost_cny) as value from orders
                   where order_date between '{p.start}' and '{p.end}' group by 1),
        s as (select *, greatest(value, 0) / sum(greatest(value, 0)) over () as share from v),
        c as (select *, sum(share) over (order by value desc, customer_id
                                         rows unbounded preceding) - share as before from s)
        select customer_id, value,
               case when before < 0.75 - 1e-9 and value > 0 then 'A'
                    when before < 0.95 - 1e-9 and value > 0 then 'B' else 'C' end as abc_class
        from c order by value desc, customer_id""")


def pandas_abc(folder: Path, p: Period) -> pd.DataFrame:
    o = _load(folder, "orders", "order_date, customer_id, amount_cny, cost_cny")
    d = pd.to_datetime(o["order_date"])
    cur = o[(d >= pd.Timestamp(p.start)) & (d <= pd.Timestamp(p.end))]
    v = (cur["amount_cny"] - cur["cost_cny"]).groupby(cur["customer_id"]).sum().rename(
        "value").reset_index().sort_values(["value", "customer_id"], ascending=[False, True],
                                           kind="mergesort").reset_index(drop=True)
    share = v["value"].clip(lower=0) / v["value"].clip(lower=0).sum()
    before = share.cumsum() - share
    v["abc_class"] = np.select([(before < 0.75 - 1e-9) & (v["value"] > 0),
                                (before < 0.95 - 1e-9) & (v["value"] > 0)], ["A", "B"], "C")
    return v


# -- churn features (all of them, at the period end) -----------------------------------------
_SCORE = " + ".join(f"coalesce({d}, 0)" for d in SURVEY_DIMENSIONS)
_ANSWERED = " + ".join(f"({d} is not null)::int" for d in SURVEY_DIMENSIONS)


def _capped(x: str) -> str:
    # not least(x, 5): DuckDB's least skips NULLs, and a missing ratio must stay missing
    return f"case when {x} > 5 then 5 else {x} end"


def sql_churn_features(folder: Path, p: Period) -> pd.DataFrame:
    c = f"date '{p.end}'"
    return _q(folder, f"""
        with days as (select customer_id, order_date d, sum(amount_cny) rev,
                             sum(volume_t) vol, sum(amount_cny - cost_cny) gp
                      from orders where order_date < {c} group by 1, 2),
        pop as (select distinct customer_id from days where d >= {c} - interval 365 day),
        g as (select *, date_diff('day', lag(d) over (partition by customer_id order by d), d)
                        gap
              from days semi join pop using (customer_id)),
        buy as (select customer_id, max(d) last_d, min(d) first_d, count(*) n,
                       median(gap) cyc, stddev_samp(gap) spread,
                       count(*) filter (where d >= {c} - interval 365 day) o365,
                       count(*) filter (where d >= {c} - interval 90 day) o90,
                       coalesce(sum(rev) filter (where d >= {c} - interval 365 day), 0) r365,
                       coalesce(sum(vol) filter (where d >= {c} - interval 365 day), 0) v365,
                       coalesce(sum(vol) filter (where d >= {c} - interval 90 day), 0) v90,
                       coalesce(sum(gp) filter (where d >= {c} - interval 365 day), 0) g365,
                       sum(rev) rall
                from g group by 1),
        breadth as (select customer_id, count(distinct category) b from orders
                    where order_date < {c} and order_date >= {c} - interval 365 day group by 1),
        comp as (select customer_id, count(*) k from complaints
                 where opened_date < {c} and opened_date >= {c} - interval 180 day group by 1),
        sat as (select customer_id, avg(score) s, avg(recommend) r from (
                    select customer_id, recommend, ({_SCORE}) / nullif({_ANSWERED}, 0) score,
                           row_number() over (partition by customer_id
                                              order by survey_date desc, survey_id desc) k
                    from surveys where survey_date < {c}) where k <= 3 group by 1),
        paid as (select invoice_id, sum(paid_cny) s from payments where paid_date < {c}
                 group by 1),
        items as (select customer_id, due_date, amount_cny - coalesce(s, 0) open_cny
                  from invoices left join paid using (invoice_id) where invoice_date < {c}),
        recv as (select customer_id, sum(open_cny) open_total,
                        coalesce(sum(open_cny) filter (where due_date < {c}), 0) overdue,
                        coalesce(max(date_diff('day', due_date, {c}))
                                 filter (where due_date < {c}), 0) max_days
                 from items where open_cny > 0.01 group by 1)
        select buy.customer_id,
               date_diff('day', last_d, {c}) recency_days, date_diff('day', first_d, {c})
               tenure_days, cyc cycle_days, spread cycle_spread,
               date_diff('day', last_d, {c}) / cyc recency_over_cycle,
               (n = 1)::double one_time_buyer, o365 orders_365, o90 orders_90,
               ln(1 + greatest(r365, 0)) log_revenue_365,
               v90 / (case when v365 > 0 then v365 / 4 end) volume_trend,
               g365 / (case when r365 > 0 then r365 end) * 100 margin_pct_365,
               case when n = 1 then ln(1 + greatest(rall, 0)) else 0 end
               only_purchase_log_value,
               coalesce(breadth.b, 0) product_breadth, coalesce(comp.k, 0) complaints_180,
               sat.s satisfaction, sat.r recommend,
               {_capped("coalesce(recv.overdue, 0) / (case when r365 > 0 then r365 end)")}
               overdue_share, coalesce(recv.max_days, 0) max_days_overdue,
               {_capped("coalesce(recv.open_total, 0) / (case when cu.credit_limit_cny > 0 "
                        "then cu.credit_limit_cny end)")} credit_use,
               coalesce(cu.type, 'unknown') "type", coalesce(cu.province, 'unknown') province
        from buy left join breadth using (customer_id) left join comp using (customer_id)
             left join sat using (customer_id) left join recv using (customer_id)
             left join customers cu using (customer_id)
        order by 1""")


def pandas_churn_features(folder: Path, p: Period) -> pd.DataFrame:
    frames = churn_reference.load(folder)
    return churn_reference.features(frames, p.end).reset_index()


# -- receivables ageing by customer -----------------------------------------------------------
_BUCKET_SQL = """case when days <= 0 then 'not_due' when days <= 30 then '1_30'
                 when days <= 60 then '31_60' when days <= 90 then '61_90'
                 when days <= 180 then '91_180' else 'over_180' end"""


def sql_ageing(folder: Path, p: Period) -> pd.DataFrame:
    return _q(folder, f"""
        with paid as (select invoice_id, sum(paid_cny) s from payments
                      where paid_date <= '{p.end}' group by 1),
        items as (select customer_id, amount_cny - coalesce(s, 0) as open_cny,
                         date_diff('day', due_date, date '{p.end}') as days
                  from invoices left join paid using (invoice_id)
                  where invoice_date <= '{p.end}')
        select customer_id, {_BUCKET_SQL} as bucket, sum(open_cny) open_cny
        from items where open_cny > 0.01 group by 1, 2 order by 1, 2""")


def pandas_ageing(folder: Path, p: Period) -> pd.DataFrame:
    inv = _load(folder, "invoices", "invoice_id, customer_id, invoice_date, due_date, amount_cny")
    pay = _load(folder, "payments", "invoice_id, paid_date, paid_cny")
    end = pd.Timestamp(p.end)
    inv = inv[pd.to_datetime(inv["invoice_date"]) <= end]
    paid = pay[pd.to_datetime(pay["paid_date"]) <= end].groupby("invoice_id")["paid_cny"].sum()
    inv = inv.assign(open_cny=inv["amount_cny"] - inv["invoice_id"].map(paid).fillna(0.0))
    inv = inv[inv["open_cny"] > 0.01]
    days = (end - pd.to_datetime(inv["due_date"])).dt.days
    inv["bucket"] = np.select([days <= 0, days <= 30, days <= 60, days <= 90, days <= 180],
                              ["not_due", "1_30", "31_60", "61_90", "91_180"], "over_180")
    return inv.groupby(["customer_id", "bucket"], as_index=False)["open_cny"].sum()


REFERENCES: dict[str, Callable[[Path, Period], pd.DataFrame]] = {
    "sql:overview KPIs": sql_kpis, "pandas:overview KPIs": pandas_kpis,
    "sql:pyramid": sql_pyramid, "pandas:pyramid": pandas_pyramid,
    "sql:ABC customers": sql_abc, "pandas:ABC customers": pandas_abc,
    "sql:churn features": sql_churn_features, "pandas:churn features": pandas_churn_features,
    "sql:ageing": sql_ageing, "pandas:ageing": pandas_ageing,
}
MAIN_FIVE = ("overview KPIs", "pyramid", "ABC customers", "churn features", "ageing")


# -- ours, shaped like the references (for the agreement check and the ratio) ---------------
def _ours_kpis(t, p):  # type: ignore[no-untyped-def]
    from analytics.domain import overview
    return pd.DataFrame([overview.kpis(t, p)])


def _ours_pyramid(t, p):  # type: ignore[no-untyped-def]
    from analytics.domain import customers
    return customers.pyramid(t, period=p)[["customer_id", "value", "tier"]]


def _ours_abc(t, p):  # type: ignore[no-untyped-def]
    from analytics.domain import abc
    return abc.abc_customers(t, period=p)[["customer_id", "value", "abc_class"]]


def _ours_churn(t, p):  # type: ignore[no-untyped-def]
    from analytics.domain import churn
    return churn.features(t, p.end).reset_index()


def _ours_ageing(t, p):  # type: ignore[no-untyped-def]
    from analytics.domain import credit
    wide = credit.ageing_summary(t, as_of=p.end, by="customer_id")
    from analytics.domain.credit import BUCKETS
    long = wide.melt(id_vars="customer_id", value_vars=list(BUCKETS), var_name="bucket",
                     value_name="open_cny")
    return long[long["open_cny"] != 0]


OURS: dict[str, Callable] = {  # type: ignore[type-arg]
    "overview KPIs": _ours_kpis, "pyramid": _ours_pyramid, "ABC customers": _ours_abc,
    "churn features": _ours_churn, "ageing": _ours_ageing}
KEYS = {"overview KPIs": [], "pyramid": ["customer_id"], "ABC customers": ["customer_id"],
        "churn features": ["customer_id"], "ageing": ["customer_id", "bucket"]}


def agree(name: str, ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Raise unless ``ref`` holds the same result as ``ours`` (floats to 1e-6 relative)."""
    keys = KEYS[name]
    cols = [c for c in ref.columns if c not in keys]
    a = ours[keys + cols].sort_values(keys).reset_index(drop=True) if keys else ours[cols]
    b = ref[keys + cols].sort_values(keys).reset_index(drop=True) if keys else ref[cols]
    assert len(a) == len(b), (name, len(a), len(b))
    for col in keys + cols:
        x, y = a[col], b[col]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            same = np.isclose(x.astype(float), y.astype(float), rtol=1e-6, atol=1e-6,
                              equal_nan=True)
        else:
            same = (x.astype(str) == y.astype(str)).to_numpy()
        assert same.all(), (name, col, a.loc[~same, [*keys, col]].head(),
                             b.loc[~same, col].head())
