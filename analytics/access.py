"""Who may see what (DESIGN.md §6): a user's scope, enforced on the tables themselves.

Every page, export and CLI command reads through ``scoped(tables, scope)``, so hiding a widget is
never the protection. Without a users file the app runs in single-user mode (the local operator,
who may also import) and says so on every page; analytics.users holds the users and the login.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.warehouse import Tables

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


def scoped(tables: Tables, scope: Scope) -> Tables:
    """The tables narrowed to the scope's rows, with hidden columns dropped."""
    out = tables
    if (scope.reps or scope.provinces) and tables.customers is not None:
        customers = tables.customers
        if scope.reps:
            customers = customers.filter(customers.sales_rep.isin(scope.reps))
        if scope.provinces:
            customers = customers.filter(customers.province.isin(scope.provinces))
        ids = customers.customer_id
        changes = {"customers": customers}
        for name in ("orders", "invoices", "surveys", "complaints", "contacts",
                     "reseller_reviews"):
            t = getattr(tables, name)
            if t is not None:
                keep = t.customer_id.isin(ids)
                if name == "orders" and scope.reps and "sales_rep" in t.columns:
                    keep = keep | t.sales_rep.isin(scope.reps)
                changes[name] = t.filter(keep)
        if tables.payments is not None and "invoices" in changes:
            changes["payments"] = tables.payments.filter(
                tables.payments.invoice_id.isin(changes["invoices"].invoice_id))
        if tables.targets is not None:  # a rep sees their own targets, a manager the team's
            reps = list(scope.reps) if scope.reps else customers.sales_rep
            changes["targets"] = tables.targets.filter(tables.targets.rep.isin(reps))
        out = out.with_(**changes)
    if not scope.sees_profit:
        masked = {}
        for name, cols in HIDDEN_FROM_REPS.items():
            t = getattr(out, name)
            if t is not None:
                drop = [c for c in cols if c in t.columns]
                masked[name] = t.drop(*drop) if drop else t
        if out.contacts is not None and "kind" in out.contacts.columns:
            # gifts are the manager's business (the method's second level)
            masked["contacts"] = out.contacts.filter(out.contacts.kind != "gift")
        out = out.with_(**masked)
    return out
