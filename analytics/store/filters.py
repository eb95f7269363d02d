"""The global filters every page reads, applied to the tables in the engine."""

from __future__ import annotations

from dataclasses import dataclass

from ibis import _

from analytics.store import narrowing
from analytics.store.period import Period
from analytics.store.warehouse import Tables


@dataclass(frozen=True)
class Filters:
    """Date range plus dimension filters; empty tuples mean "all"."""

    period: Period
    provinces: tuple[str, ...] = ()
    reps: tuple[str, ...] = ()
    customer_types: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def narrows_customers(self) -> bool:
        return bool(self.provinces or self.reps or self.customer_types)


def apply(tables: Tables, filters: Filters) -> Tables:
    """Tables narrowed by the dimension filters. The period is applied by each analysis,
    because most compare it with earlier periods."""
    out = tables
    if filters.narrows_customers and tables.customers is not None:
        customers = tables.customers
        if filters.provinces:
            customers = customers.filter(customers.province.isin(filters.provinces))
        if filters.reps:
            customers = customers.filter(customers.sales_rep.isin(filters.reps))
        if filters.customer_types:
            customers = customers.filter(customers.type.isin(filters.customer_types))
        out = narrowing.to_customers(tables, customers,
                                     target_reps=list(filters.reps) if filters.reps else None)
    if filters.categories:
        cats = filters.categories
        changes = {}
        if out.has("orders", "category"):
            changes["orders"] = out.get("orders").filter(_.category.isin(cats))
        for name in ("market_prices", "inventory"):
            if out.has(name, "product"):
                changes[name] = out.get(name).filter(_.product.isin(cats))
        if out.has("products", "category"):
            changes["products"] = out.get("products").filter(_.category.isin(cats))
        out = out.with_(customer_filtered=out.customer_filtered, **changes)
    return out



def options(tables: Tables) -> dict[str, list[str]]:
    """Values each customer filter offers (provinces, reps, customer types), from the
    (scoped) customers themselves."""
    out: dict[str, list[str]] = {"provinces": [], "reps": [], "customer_types": []}
    if tables.customers is not None:
        c = tables.customers
        for key, col in (("provinces", "province"), ("reps", "sales_rep"),
                         ("customer_types", "type")):
            if col in c.columns:
                values = c.select(col).distinct().to_pandas()[col].dropna()
                out[key] = sorted(str(v) for v in values)
    return out


def categories(tables: Tables) -> list[str]:
    """The product categories the category filter offers: those of the order lines of
    ``tables`` — the pages pass the whole book's. The company's catalogue, not a customer's
    data: read from a scope's own lines it cost a manager 0.3 s of every first page at ten
    million lines (a join of every line with the region's customers) to hide a category
    whose pages would then say there is nothing to show."""
    if not tables.has("orders", "category"):
        return []
    values = tables.get("orders").select("category").distinct().to_pandas()["category"]
    return sorted(str(v) for v in values.dropna())
