"""From a read file to warehouse rows: parse each mapped column, validate, plan, write.

``plan_import`` never writes; ``apply_import`` writes the plan's good rows as one new version
(or nothing at all). The problems table is what the user sees: one row per problem with the
file line, the column, the value and a reason code (translated on the page).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import pandas as pd

from analytics import schema
from analytics.ingest import parse
from analytics.ingest.errors import IngestError
from analytics.ingest.mapping import TRANSACTIONS, Field, constant_fields, fields
from analytics.ingest.read import RawTable
from analytics.warehouse import Tables, Warehouse, insert_frame

MODES = ("append", "replace")
ERROR, WARNING = "error", "warning"
PROBLEM_COLUMNS = ["line", "column", "field", "value", "problem", "severity"]


@dataclass
class ImportPlan:
    target: str
    source: str
    checksum: str
    mode: str
    mapping: dict[str, str | None]
    frames: dict[str, pd.DataFrame]          # table → rows to write (rows without errors)
    problems: pd.DataFrame                   # PROBLEM_COLUMNS
    rows_total: int
    rows_bad: int
    blocking: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    @property
    def rows_good(self) -> int:
        return self.rows_total - self.rows_bad

    def summary(self) -> dict[str, int]:
        counts = {str(k): int(v) for k, v in
                  self.problems["severity"].value_counts().items()} if len(self.problems) else {}
        return {"rows": self.rows_total, "good": self.rows_good, "bad": self.rows_bad,
                "errors": int(counts.get(ERROR, 0)), "warnings": int(counts.get(WARNING, 0))}


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _parse_column(raw: pd.Series, f: Field, header: str) -> tuple[pd.Series, pd.Series]:
    if f.dtype == schema.DATE:
        return parse.parse_dates(raw)
    if f.dtype in (schema.DOUBLE, schema.BIGINT):
        values, problems = parse.parse_numbers(raw, scale=parse.header_scale(header))
        if f.dtype == schema.BIGINT:
            whole = values.isna() | (values == values.round())
            problems = problems.where(whole, "bad_number")
            values = values.where(whole)
        return values, problems
    if f.dtype == schema.BOOLEAN:
        return parse.parse_bools(raw)
    return parse.parse_text(raw)


def plan_import(raw: RawTable, target: str, mapping: dict[str, str | None], *,
                data: bytes = b"", mode: str = "append", existing: Tables | None = None,
                constants: dict[str, str] | None = None) -> ImportPlan:
    """Parse and validate ``raw`` for ``target`` (a table, or "transactions").

    ``constants`` give a value for every row of a field the file leaves out (only the fields
    in CONSTANT_FIELDS, e.g. the product of a date + close price file)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    wanted = {f.name: f for f in fields(target)}
    chosen = {src: dst for src, dst in mapping.items() if dst and src in raw.frame}
    plan = ImportPlan(target=target, source=raw.source, checksum=checksum(data), mode=mode,
                      mapping=dict(mapping), frames={},
                      problems=pd.DataFrame(columns=PROBLEM_COLUMNS),
                      rows_total=len(raw.frame), rows_bad=0)
    doubled = [d for d in set(chosen.values()) if list(chosen.values()).count(d) > 1]
    if doubled:
        plan.blocking.append(("mapped_twice", {"fields": ", ".join(sorted(doubled))}))
    allowed = set(constant_fields(target, mapping))
    fixed = {k: v.strip() for k, v in (constants or {}).items()
             if k in allowed and v and v.strip()}
    missing = [n for n, f in wanted.items()
               if f.required and n not in chosen.values() and n not in fixed]
    if missing:
        plan.blocking.append(("missing_required", {"fields": ", ".join(missing)}))
    if raw.frame.empty:
        plan.blocking.append(("no_rows", {}))
    if plan.blocking:
        return plan

    lines = raw.line_numbers()
    parsed = pd.DataFrame(index=raw.frame.index)
    problems: list[pd.DataFrame] = []
    if raw.row_problems:
        rows = list(raw.row_problems)
        problems.append(pd.DataFrame({"line": lines[rows], "column": "", "field": "",
                                      "value": "", "problem": [raw.row_problems[r] for r in rows],
                                      "severity": ERROR}))
    for src, dst in chosen.items():
        f = wanted[dst]
        values, codes = _parse_column(raw.frame[src], f, src)
        parsed[dst] = values
        bad = codes.notna() & ~((codes == "missing") & (not f.required))
        if bad.any():
            severity = pd.Series(ERROR if f.required else WARNING, index=codes.index)
            severity = severity.where(codes != "too_long", WARNING)
            problems.append(pd.DataFrame({
                "line": lines[bad], "column": src, "field": dst,
                "value": raw.frame.loc[bad, src].astype(str).str.slice(0, 80),
                "problem": codes[bad], "severity": severity[bad]}))
    for name, value in fixed.items():
        text, codes = parse.parse_text(pd.Series([value]))
        if codes.notna().any() and codes.iloc[0] != "missing":
            plan.blocking.append(("bad_constant", {"field": name}))
            return plan
        parsed[name] = text.iloc[0]
    if target == TRANSACTIONS and "order_id" not in parsed:
        # no order numbers: one order per line, named by the file's checksum and line, so the
        # same file imported twice is caught as a duplicate below
        parsed["order_id"] = [f"TX{plan.checksum[:10]}-{n:07d}" for n in lines]
    problems += _value_checks(parsed, lines, target, existing, mode)
    plan.problems = (pd.concat(problems, ignore_index=True) if problems
                     else pd.DataFrame(columns=PROBLEM_COLUMNS))
    plan.problems = plan.problems.sort_values(["line", "column"], kind="mergesort").reset_index(
        drop=True)
    bad_lines = set(plan.problems.loc[plan.problems["severity"] == ERROR, "line"])
    good = parsed[~lines.isin(bad_lines)]
    plan.rows_bad = len(bad_lines)
    plan.frames = _to_tables(good, target, existing, mode)
    return plan


def _keys(target: str) -> tuple[str, ...]:
    return ("order_id",) if target == TRANSACTIONS else schema.spec(target).key


def _value_checks(parsed: pd.DataFrame, lines: pd.Series, target: str,
                  existing: Tables | None, mode: str) -> list[pd.DataFrame]:
    out = []

    def flag(mask: pd.Series, column: str, problem: str, severity: str) -> None:
        if mask.any():
            out.append(pd.DataFrame({"line": lines[mask], "column": column, "field": column,
                                     "value": parsed.loc[mask, column].astype(str),
                                     "problem": problem, "severity": severity}))

    for col in ("volume_t", "amount_cny", "amount", "paid_cny", "on_hand_t"):
        if col in parsed:
            flag(parsed[col].notna() & (parsed[col] <= 0), col, "not_positive", WARNING)
    keys = [k for k in _keys(target) if k in parsed]
    if keys and len(keys) == len(_keys(target)) and parsed[keys].notna().all(axis=1).any():
        if target == TRANSACTIONS:
            # a log without order numbers can hold two identical purchases on one day (CDNOW
            # does): say so, keep them; the same file twice is caught by its checksum ids
            same = parsed.drop(columns="order_id").duplicated(keep="first")
            flag(same, keys[0], "possible_duplicate", WARNING)
            dup = pd.Series(False, index=parsed.index)
        else:
            dup = parsed.duplicated(keys, keep="first") & parsed[keys].notna().all(axis=1)
            flag(dup, keys[0], "duplicate_key", ERROR)
        if existing is not None and mode == "append":
            table_name = "orders" if target == TRANSACTIONS else target
            table = getattr(existing, table_name, None)
            if table is not None and all(k in table.columns for k in keys):
                there = _already_there(table, parsed, keys)
                hit = parsed[keys].astype(str).apply(tuple, axis=1).isin(
                    set(there.astype(str).apply(tuple, axis=1)))
                flag(hit & ~dup, keys[0], "already_imported", ERROR)
    customer_col = "customer" if target == TRANSACTIONS else "customer_id"
    if target in ("orders", "invoices", "complaints", "surveys") and customer_col in parsed \
            and existing is not None and existing.customers is not None:
        known = set(existing.customers.select("customer_id").to_pandas()["customer_id"])
        flag(parsed[customer_col].notna() & ~parsed[customer_col].isin(known), customer_col,
             "unknown_customer", WARNING)
    return out


def _already_there(table: ibis.Table, parsed: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The upload's keys that ``table`` already holds. The upload's keys go to the engine as a
    small table and only the matches come back: bringing every existing key out (ten million
    order numbers) took a minute before a 500-line file could be checked."""
    mine = parsed.loc[parsed[keys].notna().all(axis=1), keys].drop_duplicates()
    probe = ibis.memtable(mine, schema=table.select(*keys).schema())
    return table.select(*keys).semi_join(probe, keys).distinct().to_pandas()


def _to_tables(good: pd.DataFrame, target: str, existing: Tables | None, mode: str
               ) -> dict[str, pd.DataFrame]:
    if target != TRANSACTIONS:
        return {target: good.reset_index(drop=True)}
    orders = pd.DataFrame({
        "order_date": good["date"], "customer_id": good["customer"],
        "amount_cny": good["amount"],
        **{dst: good[src] for src, dst in (("product", "category"), ("spec", "spec"),
                                           ("volume_t", "volume_t"), ("cost_cny", "cost_cny"),
                                           ("sales_rep", "sales_rep")) if src in good}})
    orders["order_id"] = good["order_id"].astype(str)
    orders["line_no"] = orders.groupby("order_id").cumcount() + 1
    known: set[str] = set()
    if mode == "append" and existing is not None and existing.customers is not None:
        known = set(existing.customers.select("customer_id").to_pandas()["customer_id"])
    names = pd.unique(orders["customer_id"].dropna())
    new = [c for c in names if c not in known]
    customers = pd.DataFrame({"customer_id": new, "name": new})
    if "sales_rep" in orders:
        rep = orders.dropna(subset=["sales_rep"]).groupby("customer_id")["sales_rep"].first()
        customers["sales_rep"] = customers["customer_id"].map(rep)
    first = orders.groupby("customer_id")["order_date"].min()
    customers["first_order_date"] = customers["customer_id"].map(first)
    return {"orders": orders.reset_index(drop=True), "customers": customers}


STORING = "stored_results"  # the progress step computing the results kept with the version


def apply_import(warehouse: Warehouse, plan: ImportPlan, *, skip_bad: bool = False,
                 user: str = "local", progress: Callable[[float, str], None] | None = None
                 ) -> str:
    """Write the plan as one new version and return it; raises IngestError and writes nothing
    when the plan is blocked, has errors the user did not choose to skip, or has no rows."""
    if plan.blocking:
        code, params = plan.blocking[0]
        raise IngestError(code, **params)
    if plan.rows_bad and not skip_bad:
        raise IngestError("has_errors", rows=plan.rows_bad)
    if sum(len(f) for f in plan.frames.values()) == 0:
        raise IngestError("no_rows")
    meta = {"user": user, "file": plan.source, "sha256": plan.checksum, "target": plan.target,
            "mode": plan.mode, "rows": {t: len(f) for t, f in plan.frames.items()},
            "skipped_rows": plan.rows_bad}
    note = f"{plan.source} → {plan.target} ({plan.mode}, {plan.rows_good:,} rows)"
    # a transactions file replacing the data starts a warehouse of its own: the demo's
    # invoices or stock would otherwise sit beside customers they do not belong to
    fresh = plan.target == TRANSACTIONS and plan.mode == "replace"
    with warehouse.writing(action="import", note=note, fresh=fresh, meta=meta) as con:
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        for i, (name, frame) in enumerate(plan.frames.items()):
            replace_table = plan.mode == "replace" and name == (
                "orders" if plan.target == TRANSACTIONS else plan.target)
            spec = schema.spec(name)
            if replace_table or name not in present:
                con.execute(f'DROP TABLE IF EXISTS "{name}"')
                # a transactions file may lack tonnes: create only what it has
                con.execute(spec.ddl(columns=list(frame.columns),
                                     force_required=plan.target != TRANSACTIONS))
            else:  # appending columns the table has not had yet (e.g. costs arrive later)
                have = {r[0] for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                    [name]).fetchall()}
                for col in spec.columns:
                    if col.name in frame.columns and col.name not in have:
                        con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{col.name}" {col.dtype}')
            insert_frame(con, name, frame)
            if progress:
                progress((i + 1) / len(plan.frames), name)
        if plan.mode == "append":
            _check_keys_unique(con, plan)
        if progress:  # what remains of the write (seconds on a large book)
            progress(1.0, STORING)
    return warehouse.version


def _check_keys_unique(con, plan: ImportPlan) -> None:  # type: ignore[no-untyped-def]
    """Last line of defence: another import may have landed since the plan was made."""
    table = "orders" if plan.target == TRANSACTIONS else plan.target
    keys = schema.spec(table).key
    if not keys:
        return
    cols = ", ".join(f'"{k}"' for k in keys)
    dupes = con.execute(f'SELECT count(*) FROM (SELECT {cols} FROM "{table}" GROUP BY {cols} '
                        "HAVING count(*) > 1)").fetchone()[0]
    if dupes:
        raise IngestError("already_imported_now", keys=int(dupes))
