"""Who may see what: a user's scope, enforced on the tables themselves (docs/architecture.md,
"Narrowing and access").

Every page, export and CLI command reads through ``scoped(tables, scope)``, so hiding a widget is
never the protection. Without a users file the app runs in single-user mode (the local operator,
who may also import) and says so on every page; analytics.ops.users holds the users and the login.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from analytics.store import narrowing
from analytics.store.frames import present
from analytics.store.warehouse import Tables

LEVELS = ("rep", "manager", "executive", "admin")

# Columns a rep must not see anywhere (cost, margin, profit; key contacts and their dates are
# the manager's level in the method's three levels), per table.
HIDDEN_FROM_REPS = {
    "orders": ("cost_cny",),
    "inventory": ("avg_cost_cny_per_t",),
    "complaints": ("compensation_cny",),
    "customers": ("key_contact", "key_dates"),
    "targets": ("gross_profit_cny",),
}


@dataclass(frozen=True)
class Scope:
    """Rows and columns one user may see. Empty reps/provinces at manager level or above = all."""

    user: str = "local"
    level: str = "admin"
    reps: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    single_user: bool = True

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown access level {self.level!r}")
        if self.level == "rep" and not self.reps:
            raise ValueError("a rep scope needs the rep's name")

    @property
    def sees_profit(self) -> bool:
        return self.level != "rep"

    @property
    def can_import(self) -> bool:
        return self.level == "admin"

    @property
    def key(self) -> str:
        """Part of every cache key, so one user's results never reach another."""
        return f"{self.level}|{','.join(sorted(self.reps))}|{','.join(sorted(self.provinces))}"


SINGLE_USER = Scope()


def _scope_columns(scope: Scope) -> tuple[str, ...]:
    return (("sales_rep",) if scope.reps else ()) + (("province",) if scope.provinces else ())


def unresolved(tables: Tables, scope: Scope) -> str | None:
    """Why the scope's rows cannot be determined from these tables (a text key), or None.
    ``scoped`` then shows such a user nothing: scoping fails closed."""
    if not (scope.reps or scope.provinces):
        return None
    need = _scope_columns(scope)
    if tables.customers is not None:
        return None if all(c in tables.customers.columns for c in need) else "scope_no_column"
    if not scope.provinces and tables.has("orders", "sales_rep"):
        return None  # a rep's customers from the order lines' sales_rep (see scoped)
    return "scope_no_master"


def _latest_rep_customers(orders: ibis.Table, reps: tuple[str, ...]) -> ibis.Table:
    """Without a customer master, a customer belongs to the rep of its latest order line (the
    greatest rep name breaks a tie on that day): a customer moved to another rep leaves the
    old one's view, as it does with a master."""
    last = orders.group_by("customer_id").aggregate(last_date=orders.order_date.max())
    at_last = orders.join(last, [orders.customer_id == last.customer_id,
                                 orders.order_date == last.last_date])
    owner = at_last.group_by(orders.customer_id).aggregate(owner=at_last.sales_rep.max())
    return owner.filter(owner.owner.isin(reps)).select("customer_id")


def _scope_targets(tables: Tables, scope: Scope, customers: ibis.Table
                   ) -> ibis.Column | list[str] | None:
    """Whose targets the scope sees: a rep their own; a manager the reps whose whole book lies
    in the scope (a rep's target is for all their customers, so a manager who sees part of
    that book would compare part of the sales with all of the target, and see a target that
    is not theirs)."""
    if tables.targets is None:
        return None
    if scope.level == "rep":
        return list(scope.reps)
    if tables.customers is None or "sales_rep" not in tables.customers.columns:
        return []
    base = tables.customers
    inside = customers.select("customer_id")
    outside_reps = base.filter(~base.customer_id.isin(inside.customer_id)).sales_rep
    theirs = customers.filter(customers.sales_rep.notnull()).select("sales_rep").distinct()
    whole = theirs.filter(~theirs.sales_rep.isin(outside_reps))
    return whole.sales_rep


def scoped(tables: Tables, scope: Scope) -> Tables:
    """The tables narrowed to the scope's rows, with hidden columns dropped. A scope whose
    rows the data cannot determine sees no customer rows at all (``unresolved`` says why)."""
    out = tables
    if scope.reps or scope.provinces:
        if unresolved(tables, scope) is not None:
            out = narrowing.to_nothing(tables)
        elif tables.customers is not None:
            customers = tables.customers
            if scope.reps:
                customers = customers.filter(customers.sales_rep.isin(scope.reps))
            if scope.provinces:
                customers = customers.filter(customers.province.isin(scope.provinces))
            # the master decides whose customer it is: a rep no longer sees the old order lines
            # of a customer moved to another rep
            out = narrowing.to_customers(tables, customers,
                                         target_reps=_scope_targets(tables, scope, customers))
        else:
            ids = _latest_rep_customers(tables.get("orders"), scope.reps)
            out = narrowing.to_customers(tables, ids, master=False,
                                         target_reps=list(scope.reps))
    if not scope.sees_profit:
        masked = {}
        for name, cols in HIDDEN_FROM_REPS.items():
            t = getattr(out, name)
            if t is not None:
                drop = present(t, cols)
                masked[name] = t.drop(*drop) if drop else t
        if out.contacts is not None and "kind" in out.contacts.columns:
            # gifts are the manager's business (the method's second level)
            masked["contacts"] = out.contacts.filter(out.contacts.kind != "gift")
        # what was derived per customer serves a rep only without these and whatever came of
        # them (analytics.store.results drops a kept function's profit columns too)
        hidden = frozenset(c for cols in HIDDEN_FROM_REPS.values() for c in cols)
        out = out.narrowed(hidden=hidden, customer_filtered=out.customer_filtered, **masked)
    return out


def visible_customers(tables: Tables, scope: Scope) -> list[str] | None:
    """The customers ``scope`` may see in its narrowed ``tables`` (scoped), or None when the
    scope narrows no rows (every customer): what a result computed once for the whole book
    is narrowed to."""
    if not (scope.reps or scope.provinces):
        return None
    table = tables.customers if tables.customers is not None else tables.get("orders")
    return sorted(table.select("customer_id").distinct().to_pandas()["customer_id"].dropna())
