"""ABC 分析 and XYZ: which customers and products carry the value, and how steady demand is.

Boundary rule (stated on the page and tested): items are sorted by value, best first, ties by
id; an item is A when the cumulative share *before* it is below the A threshold — so the item
that crosses 75 % is still A — B when the share before it is below the B threshold, C otherwise.
Items with zero or negative value are C and do not count towards the shares.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from ibis import _

from analytics.store.period import Period
from analytics.store.warehouse import MissingData, Tables

ABC_THRESHOLDS = (0.75, 0.95)  # the method: A up to 75 % of value, B the next 20 %, C the rest
XYZ_THRESHOLDS = (0.5, 1.0)    # coefficient of variation of monthly tonnes: X steady, Z erratic
RANK_DECIMALS = 2  # cents: below that, a difference in a sum is float noise
CLASSES = ("A", "B", "C")
XYZ = ("X", "Y", "Z")
PRODUCT_LEVELS = ("category", "spec")


def abc_classes(values: pd.DataFrame, *, id_col: str, value_col: str = "value",
                thresholds: tuple[float, float] = ABC_THRESHOLDS) -> pd.DataFrame:
    """Add rank, value_share, cumulative_share, share_before and abc_class.

    One row per item, sorted best first (ties by ``id_col``). Shares are of the positive total.
    """
    a, b = thresholds
    if not 0 < a <= b <= 1:
        raise ValueError(f"ABC thresholds must satisfy 0 < A ≤ B ≤ 1, got {thresholds}")
    # ranked to the cent, so equal totals tie and break by id (float sums differ in the last
    # bit); a value that rounds to no cent is no value for a class either
    key = values[value_col].astype(float).round(RANK_DECIMALS)
    out = values.assign(_rank_key=key).sort_values(
        ["_rank_key", id_col], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    counts = out.pop("_rank_key") > 0
    positive = out[value_col].clip(lower=0)
    total = positive.sum()
    out["rank"] = np.arange(1, len(out) + 1)
    out["value_share"] = positive / total if total else 0.0
    out["cumulative_share"] = out["value_share"].cumsum()
    out["share_before"] = out["cumulative_share"] - out["value_share"]
    # a share that sums to the threshold exactly reaches it, even when float addition lands
    # at 0.7499999999999999: compare against the threshold less a tolerance
    before = out["share_before"]
    out["abc_class"] = np.select([(before < a - 1e-9) & counts, (before < b - 1e-9) & counts],
                                 ["A", "B"], "C")
    return out


def class_summary(classified: pd.DataFrame, *, class_col: str = "abc_class",
                  value_col: str = "value", classes: tuple[str, ...] = CLASSES) -> pd.DataFrame:
    """One row per class: items, item_share, value, value_share."""
    grouped = classified.groupby(class_col)
    out = pd.DataFrame({"items": grouped.size(), "value": grouped[value_col].sum()})
    out = out.reindex(list(classes)).fillna(0).rename_axis(class_col).reset_index()
    out["items"] = out["items"].astype(int)
    out["item_share"] = out["items"] / max(out["items"].sum(), 1)
    total = classified[value_col].clip(lower=0).sum()
    out["value_share"] = out["value"] / total if total else 0.0
    return out


def _metric_expr(tables: Tables, metric: str):  # type: ignore[no-untyped-def]
    orders = tables.get("orders")
    if metric == "gross_profit_cny":
        if "cost_cny" not in orders.columns:
            raise MissingData("orders", "cost_cny")
        return (_.amount_cny - _.cost_cny).sum()
    if metric == "revenue_cny":
        return _.amount_cny.sum()
    if metric == "volume_t":
        return _.volume_t.sum()
    raise ValueError(f"unknown metric {metric!r}")


def abc_customers(tables: Tables, *, period: Period, metric: str = "gross_profit_cny",
                  thresholds: tuple[float, float] = ABC_THRESHOLDS) -> pd.DataFrame:
    """ABC over customers with a purchase in the period (see abc_classes); adds name."""
    orders = tables.get("orders")
    sales = orders.filter(period.contains(orders.order_date))
    per_customer = sales.group_by("customer_id").aggregate(value=_metric_expr(tables, metric))
    if tables.customers is not None and "name" in tables.customers.columns:
        info = tables.customers.select("customer_id", "name")
        per_customer = per_customer.left_join(
            info, per_customer.customer_id == info.customer_id).select(
            per_customer.customer_id, per_customer.value, info.name)
    frame = per_customer.to_pandas()
    if "name" not in frame:
        frame["name"] = frame["customer_id"]
    return abc_classes(frame, id_col="customer_id", thresholds=thresholds)


def _product_key(level: str) -> list[str]:
    if level not in PRODUCT_LEVELS:
        raise ValueError(f"product level must be one of {PRODUCT_LEVELS}")
    return ["category"] if level == "category" else ["category", "spec"]


def abc_products(tables: Tables, *, period: Period, level: str = "category",
                 metric: str = "revenue_cny",
                 thresholds: tuple[float, float] = ABC_THRESHOLDS,
                 xyz_thresholds: tuple[float, float] = XYZ_THRESHOLDS) -> pd.DataFrame:
    """ABC and XYZ over products (category, or category + spec) sold in the period.

    One row per product: product (id), category, spec, value, the abc_class columns, and
    cv (coefficient of variation of monthly tonnes over every month of the period, months
    without sales counting as zero; population standard deviation) with xyz_class.
    """
    orders = tables.get("orders")
    keys = _product_key(level)
    missing = [k for k in keys if k not in orders.columns]
    if missing:
        raise MissingData("orders", missing[0])
    sales = orders.filter(period.contains(orders.order_date))
    per_product = sales.group_by(keys).aggregate(value=_metric_expr(tables, metric)).to_pandas()
    per_product["product"] = per_product[keys].astype(str).agg(" ".join, axis=1)
    classified = abc_classes(per_product, id_col="product", thresholds=thresholds)
    if "volume_t" in orders.columns:
        monthly = (sales.mutate(month=_.order_date.truncate("M")).group_by([*keys, "month"])
                   .aggregate(volume_t=_.volume_t.sum()).to_pandas())
        monthly["product"] = monthly[keys].astype(str).agg(" ".join, axis=1)
        cv = coefficient_of_variation(monthly, months=len(period.months()))
        classified = classified.merge(cv, on="product", how="left")
        classified["xyz_class"] = xyz_classes(classified["cv"], thresholds=xyz_thresholds)
    return classified


def coefficient_of_variation(monthly: pd.DataFrame, *, months: int) -> pd.DataFrame:
    """cv per product from (product, month, volume_t) rows; absent months count as zero."""
    sums = monthly.groupby("product")["volume_t"].agg(["sum"])
    squares = (monthly.assign(sq=monthly["volume_t"] ** 2).groupby("product")["sq"].sum())
    mean = sums["sum"] / months
    var = squares / months - mean**2
    cv = np.sqrt(var.clip(lower=0)) / mean.where(mean > 0)
    return cv.rename("cv").reset_index()


def xyz_classes(cv: pd.Series, *, thresholds: tuple[float, float] = XYZ_THRESHOLDS) -> pd.Series:
    """X when cv < first threshold, Y when cv < second, Z otherwise (also when cv is unknown)."""
    x, y = thresholds
    if not 0 < x <= y:
        raise ValueError(f"XYZ thresholds must satisfy 0 < X ≤ Y, got {thresholds}")
    return pd.Series(np.select([cv < x, cv < y], ["X", "Y"], "Z"), index=cv.index)


def abc_xyz_matrix(products: pd.DataFrame) -> pd.DataFrame:
    """The 3 × 3 ABC-XYZ matrix: one row per (abc_class, xyz_class) cell with items and value;
    empty cells are present with zeros."""
    cells = pd.MultiIndex.from_product([CLASSES, XYZ], names=["abc_class", "xyz_class"])
    grouped = products.groupby(["abc_class", "xyz_class"])
    out = pd.DataFrame({"items": grouped.size(), "value": grouped["value"].sum()})
    out = out.reindex(cells).fillna(0)
    out["items"] = out["items"].astype(int)
    return out.reset_index()
