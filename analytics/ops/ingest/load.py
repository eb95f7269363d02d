"""From a read file to warehouse rows: parse each mapped column, validate, plan, write.

``plan_import`` never writes; ``apply_import`` writes the plan's good rows as one new version
(or nothing at all). The problems table is what the user sees: one row per problem with the
file line, the column, the value and a reason code (translated on the page).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from ibis.common.exceptions import IbisError

from analytics.domain import derive
from analytics.ops.background import derive_later
from analytics.ops.ingest import parse
from analytics.ops.ingest.errors import IngestError
from analytics.ops.ingest.mapping import TRANSACTIONS, Field, constant_fields, fields
from analytics.ops.ingest.read import RawTable
from analytics.store import schema
from analytics.store.warehouse import Tables, Warehouse, insert_frame

MODES = ("append", "replace")
ERROR, WARNING = "error", "warning"
PROBLEM_COLUMNS = ["line", "column", "field", "value", "problem", "severity"]
# Problems found while parsing that leave the value usable: reported, the line kept.
WARNING_CODES = {"too_long", "ambiguous_day_month"}
# A subtotal or total line of an ERP report: the rows above it summed, not a sale.
SUBTOTAL = re.compile(r"^\s*(合\s*计|小\s*计|总\s*计|共\s*计|累\s*计|本[日月页年]合计|"
                      r"(sub[-\s]?|grand\s*)?totals?|sum)\b[\s:：]*", re.IGNORECASE)
# how a subtotal cell begins, spaces out and lower-cased (sub/sum, grand, total): a cheap
# vectorised test before the exact expression
_SUBTOTAL_STARTS = ("合计", "小计", "总计", "共计", "累计", "本日", "本月", "本页", "本年", "su",
                    "gr", "to")
# Excel writes a long numeric id as 4.40604E+14: the digits past the sixth are gone.
SCIENTIFIC_ID = re.compile(r"^[-+]?\d(\.\d+)?[eE][+]?\d+$")
# Fields that name a customer, an order or a product: matched exactly, so written one way.
KEY_FIELDS = ("customer", "customer_id", "order_id", "invoice_id", "product_id", "name")
ID_FIELDS = ("customer", "customer_id", "order_id", "invoice_id", "product_id", "payment_id",
             "complaint_id")
# What makes a line without an order number the same line in another file.
CONTENT_FIELDS = ("customer", "date", "product", "spec", "volume_t", "amount")
ORDER_TARGETS = (TRANSACTIONS, "orders")  # lines already in the warehouse are skipped
ORPHAN_SHARE = 0.05  # a customer-master replace leaving more orders without a customer asks
# a space beside a Chinese character or a bracket means nothing in a name: 华盛 钢材 = 华盛钢材
_CJK_SPACE = re.compile(r"(?<=[\u3000-\u9fff()\[\]]) | (?=[\u3000-\u9fff()\[\]])")
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")


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
    # lines left out on purpose (a reason code → count): subtotal lines, exact repeats
    left_out: dict[str, int] = field(default_factory=dict)
    # what the import worked out for itself, said in the report (code, params)
    notes: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    @property
    def rows_left_out(self) -> int:
        return sum(self.left_out.values())

    @property
    def rows_good(self) -> int:
        return self.rows_total - self.rows_bad - self.rows_left_out

    def summary(self) -> dict[str, int]:
        counts = {str(k): int(v) for k, v in
                  self.problems["severity"].value_counts().items()} if len(self.problems) else {}
        return {"rows": self.rows_total, "good": self.rows_good, "bad": self.rows_bad,
                "left_out": self.rows_left_out,
                "errors": int(counts.get(ERROR, 0)), "warnings": int(counts.get(WARNING, 0))}


def problem_summary(problems: pd.DataFrame, *, examples: int = 3) -> pd.DataFrame:
    """The report as a reader needs it first: one row per severity, reason and column, with
    the count and the first ``examples`` lines and values; errors (what blocks) before
    warnings, the most frequent first."""
    columns = ["severity", "problem", "column", "problem_lines", "example_lines",
               "example_values"]
    if problems.empty:
        return pd.DataFrame(columns=columns)
    groups = problems.groupby(["severity", "problem", "column"], sort=False, dropna=False)
    out = groups.agg(problem_lines=("line", "size"),
                     example_lines=("line", lambda s: ", ".join(
                         str(v) for v in s.head(examples))),
                     example_values=("value", lambda s: " · ".join(
                         str(v) for v in s.head(examples) if str(v)))).reset_index()
    out["_order"] = (out["severity"] != ERROR).astype(int)
    return out.sort_values(["_order", "problem_lines", "problem"],
                           ascending=[True, False, True],
                           kind="mergesort").drop(columns="_order").reset_index(drop=True)[
        columns]


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _parse_column(raw: pd.Series, f: Field, header: str, decimal: str = "."
                  ) -> tuple[pd.Series, pd.Series]:
    if f.dtype == schema.DATE:
        return parse.parse_dates(raw)
    if f.dtype in (schema.DOUBLE, schema.BIGINT):
        values, problems = parse.parse_numbers(raw, scale=parse.header_scale(header),
                                               decimal=decimal)
        if f.dtype == schema.BIGINT:
            whole = values.isna() | (values == values.round())
            problems = problems.where(whole, "bad_number")
            values = values.where(whole)
        return values, problems
    if f.dtype == schema.BOOLEAN:
        return parse.parse_bools(raw)
    values, problems = parse.parse_text(raw)
    if f.name in KEY_FIELDS:
        # most ids are printable ASCII without spaces, which normalising leaves as they are
        as_is = values.astype(str).str.fullmatch("[!-~]+").fillna(True).to_numpy(bool)
        if not as_is.all():
            keyed, _ = parse.by_value(values[~as_is], lambda v: (
                None if v is None or v != v else normalize_key(str(v)), None))
            values = values.copy()
            values[~as_is] = keyed
    return values, problems


def normalize_key(value: str) -> str:
    """A name or id as it is matched: NFKC (full-width brackets and digits → ASCII), no
    invisible characters, single spaces and none beside a Chinese character. 佛山（华盛）,
    佛山(华盛), 佛山\u200b(华盛) and 佛山  (华盛) are one customer."""
    text = " ".join(_INVISIBLE.sub("", unicodedata.normalize("NFKC", value)).split())
    return _CJK_SPACE.sub("", text)


def _content_ids(parsed: pd.DataFrame) -> list[str]:
    """Order numbers for lines without one, from what the line says (customer, date, product,
    quantity, amount …) and how many identical lines came before it in the file: the same
    data re-saved, re-exported with a title line, or with one more row gets the same ids, so
    an append of it is recognised line by line."""
    # column by column (a row-wise join took seconds at 500,000 lines); the text must stay
    # exactly what it was, or ids kept in warehouses would no longer match
    parts = [parsed[c].astype(object).map(str) for c in CONTENT_FIELDS if c in parsed]
    text = parts[0]
    for part in parts[1:]:
        text = text + "\x1f" + part
    nth = text.groupby(text).cumcount()
    return ["TX" + hashlib.sha256(f"{t}\x1e{n}".encode()).hexdigest()[:16]
            for t, n in zip(text, nth, strict=True)]


def plan_import(raw: RawTable, target: str, mapping: dict[str, str | None], *,
                data: bytes = b"", mode: str = "append", existing: Tables | None = None,
                constants: dict[str, str] | None = None, decimal: str | None = None,
                allow_orphans: bool = False, keep_repeats: bool = False,
                import_again: bool = False) -> ImportPlan:
    """Parse and validate ``raw`` for ``target`` (a table, or "transactions").

    ``constants`` give a value for every row of a field the file leaves out (only the fields
    in CONSTANT_FIELDS, e.g. the product of a date + close price file). ``decimal`` overrides
    the decimal mark read from the file (needed when it could be either). Subtotal lines and
    lines repeated exactly under one order number are left out and counted (``left_out``),
    unless ``keep_repeats``. Lines the warehouse already holds are left out too (by order
    number, else by content), unless ``import_again`` for lines without order numbers (new
    purchases that look like old ones). A customer-master replace that would leave more than
    ORPHAN_SHARE of the orders without their customer is blocked unless ``allow_orphans``."""
    return decide(parse_upload(raw, target, mapping, data=data, constants=constants,
                               decimal=decimal),
                  mode=mode, existing=existing, allow_orphans=allow_orphans,
                  keep_repeats=keep_repeats, import_again=import_again)


@dataclass
class ParsedUpload:
    """An upload read into typed columns under a mapping: what every later decision (the
    mode, keeping repeats, importing look-alikes again, the warehouse it is checked
    against) starts from, so a decision on a large file does not parse it again."""
    raw: RawTable
    target: str
    plan: ImportPlan                 # blocking, notes, the parsing problems so far
    parsed: pd.DataFrame | None      # None when blocked
    lines: pd.Series | None
    subtotal: pd.Series | None
    problems: list[pd.DataFrame]
    numbered: bool = False           # the file carries order numbers
    repeated: pd.Series | None = None  # a line exactly like an earlier one
    # checks against the warehouse already made for this upload, by what they looked at (see
    # _remembered): a decision that leaves the probed lines as they were does not ask again
    checked: dict[tuple[object, ...], pd.Series] = field(default_factory=dict, repr=False,
                                                          compare=False)


def parse_upload(raw: RawTable, target: str, mapping: dict[str, str | None], *,
                 data: bytes = b"", constants: dict[str, str] | None = None,
                 decimal: str | None = None) -> ParsedUpload:
    """The parsing half of ``plan_import``: every cell read into its field's type, with a
    reason for each that does not read, subtotal lines found, amounts derived."""
    wanted = {f.name: f for f in fields(target)}
    chosen = {src: dst for src, dst in mapping.items() if dst and src in raw.frame}
    plan = ImportPlan(target=target, source=raw.source, checksum=checksum(data), mode="append",
                      mapping=dict(mapping), frames={},
                      problems=pd.DataFrame(columns=PROBLEM_COLUMNS),
                      rows_total=len(raw.frame), rows_bad=0)
    doubled = [d for d in set(chosen.values()) if list(chosen.values()).count(d) > 1]
    if doubled:
        plan.blocking.append(("mapped_twice", {"fields": ", ".join(sorted(doubled))}))
    allowed = set(constant_fields(target, mapping))
    fixed = {k: v.strip() for k, v in (constants or {}).items()
             if k in allowed and v and v.strip()}
    derived = _derivable(target, set(chosen.values()))
    missing = [n for n, f in wanted.items()
               if f.required and n not in chosen.values() and n not in fixed
               and n not in derived]
    if missing:
        plan.blocking.append(("missing_required", {"fields": ", ".join(missing)}))
    if raw.frame.empty:
        plan.blocking.append(("no_rows", {}))
    mark = decimal or raw.decimal
    if mark == "?" and any(wanted[d].dtype in (schema.DOUBLE, schema.BIGINT)
                           for d in chosen.values()):
        plan.blocking.append(("ambiguous_decimal",
                              {"examples": ", ".join(raw.decimal_examples)}))
    for src, dst in chosen.items():
        if dst in ID_FIELDS:
            cells = pd.Series(pd.unique(raw.frame[src].astype(str).str.strip()))
            sci = cells[cells.str.fullmatch(SCIENTIFIC_ID.pattern)]
            if len(sci):
                plan.blocking.append(("scientific_ids", {"column": src,
                                                         "example": str(sci.iloc[0])}))
    if plan.blocking:
        return ParsedUpload(raw, target, plan, None, None, None, [])

    lines = raw.line_numbers()
    parsed = pd.DataFrame(index=raw.frame.index)
    problems: list[pd.DataFrame] = []
    if raw.row_problems:
        rows = list(raw.row_problems)
        problems.append(pd.DataFrame({"line": lines[rows], "column": "", "field": "",
                                      "value": "", "problem": [raw.row_problems[r] for r in rows],
                                      "severity": ERROR}))
    codes_of: dict[str, pd.Series] = {}
    for src, dst in chosen.items():
        values, codes_of[src] = _parse_column(raw.frame[src], wanted[dst], src,
                                              "," if mark == "," else ".")
        parsed[dst] = values
    # a cell read as a number or a date is no subtotal's label: only the others are looked at
    subtotal = _subtotal_lines(raw.frame, only={
        src: codes.notna() for src, codes in codes_of.items()
        if wanted[chosen[src]].dtype in (schema.DATE, schema.DOUBLE, schema.BIGINT)})
    for src, dst in chosen.items():
        f = wanted[dst]
        codes = codes_of[src]
        bad = codes.notna() & ~((codes == "missing") & (not f.required)) & ~subtotal
        if bad.any():
            severity = pd.Series(ERROR if f.required else WARNING, index=codes.index)
            severity = severity.where(~codes.isin(WARNING_CODES), WARNING)
            problems.append(pd.DataFrame({
                "line": lines[bad], "column": src, "field": dst,
                "value": raw.frame.loc[bad, src].astype(str).str.slice(0, 80),
                "problem": codes[bad], "severity": severity[bad]}))
    for name, (price, amounts) in derived.items():
        # amount = quantity × unit price (an ERP line often carries no amount); a line
        # without either is missing its amount, reported on the price column
        price_src = next(s for s, d in chosen.items() if d == price)
        parsed[name] = parsed[price] * parsed[amounts]
        gap = parsed[name].isna() & ~subtotal
        if gap.any():
            problems.append(pd.DataFrame({
                "line": lines[gap], "column": price_src, "field": name,
                "value": raw.frame.loc[gap, price_src].astype(str).str.slice(0, 80),
                "problem": "missing", "severity": ERROR}))
        plan.notes.append(("amount_computed", {"amount": name, "price": price_src,
                                               "quantity": next(s for s, d in chosen.items()
                                                                if d == amounts)}))
    for name, value in fixed.items():
        text, codes = parse.parse_text(pd.Series([value]))
        if codes.notna().any() and codes.iloc[0] != "missing":
            plan.blocking.append(("bad_constant", {"field": name}))
            return ParsedUpload(raw, target, plan, None, None, None, [])
        parsed[name] = text.iloc[0]
    numbered = "order_id" in parsed
    repeated = parsed.duplicated(keep="first") if numbered else None
    if target == TRANSACTIONS and not numbered:
        # no order numbers: ids from each line's content, so the same data imported again —
        # re-saved, re-exported, with a BOM, a title line or one more row — is caught
        parsed["order_id"] = _content_ids(parsed)
    return ParsedUpload(raw, target, plan, parsed, lines, subtotal, problems, numbered,
                        repeated)


def decide(upload: ParsedUpload, *, mode: str = "append", existing: Tables | None = None,
           allow_orphans: bool = False, keep_repeats: bool = False,
           import_again: bool = False) -> ImportPlan:
    """The deciding half of ``plan_import``: what is left out (subtotals, repeats, lines the
    warehouse holds), the checks against the warehouse, and the rows to write. Leaves
    ``upload`` as it was, so the next decision starts from the same parse."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    plan = dataclasses.replace(upload.plan, mode=mode, blocking=list(upload.plan.blocking),
                               notes=list(upload.plan.notes))
    if upload.parsed is None or upload.lines is None or upload.subtotal is None:
        return plan
    raw, target, lines, subtotal = upload.raw, upload.target, upload.lines, upload.subtotal
    parsed = upload.parsed.copy(deep=False)  # copy-on-write: the upload's frame stays as it is
    problems = list(upload.problems)
    left_out = subtotal.copy()
    if subtotal.any():
        subtotal_cells = raw.frame[subtotal].astype(object).map(str)
        row_text = pd.Series([" | ".join(v for v in row if v)
                              for row in subtotal_cells.to_numpy()], index=subtotal_cells.index)
        problems.append(_report(subtotal, lines, row_text.reindex(raw.frame.index, fill_value=""),
                                "", "subtotal_line"))
    numbered = upload.numbered
    if upload.repeated is not None and not keep_repeats:
        # a line repeated exactly under one order number is the same line twice (a re-run
        # export, a copy-paste), never two sales: left out and counted
        repeat = upload.repeated & ~left_out & parsed["order_id"].notna()
        if repeat.any():
            problems.append(_report(repeat, lines, parsed["order_id"], "order_id",
                                    "exact_repeat"))
            left_out |= repeat
    if target == "orders" and "line_no" not in parsed:
        # no line numbers: the lines of an order in file order (the same file again gets the
        # same numbers, so it is recognised)
        kept = ~left_out & parsed["order_id"].notna()
        parsed["line_no"] = pd.Series(pd.NA, index=parsed.index, dtype="Int64")
        parsed.loc[kept, "line_no"] = parsed[kept].groupby("order_id").cumcount() + 1
    parsed_kept = parsed[~left_out]
    checks = _value_checks(parsed_kept, lines[~left_out], target, existing, mode,
                           numbered=numbered, memo=upload.checked)
    there = pd.concat([c for c in checks if (c["problem"] == "already_imported").all()
                       and target in ORDER_TARGETS] or [pd.DataFrame(columns=PROBLEM_COLUMNS)])
    already = pd.Series(False, index=lines.index)
    if len(there) and import_again and not numbered:
        # the user says these are new purchases that look like old ones: new ids for them
        again = lines.isin(there["line"].to_numpy()) & ~left_out
        parsed.loc[again, "order_id"] = [f"{i}-{plan.checksum[:8]}"
                                         for i in parsed.loc[again, "order_id"]]
        checks = [c for c in checks if not (c["problem"] == "already_imported").all()]
    elif len(there):
        # lines the warehouse already holds are skipped and counted, never counted twice
        already = lines.isin(there["line"].to_numpy()) & ~left_out
        left_out |= already
    problems += checks
    if target == "customers" and mode == "replace" and not allow_orphans:
        orphaned = _orphaned_orders(existing, parsed_kept)
        if orphaned is not None:
            plan.blocking.append(("would_orphan", orphaned))
            return plan
    plan.problems = (pd.concat(problems, ignore_index=True) if problems
                     else pd.DataFrame(columns=PROBLEM_COLUMNS))
    # a line left out is not also an error: its reason is that it was left out
    # (arrays, not Python sets: half a million lines made into sets took a third of a decision)
    plan.problems = plan.problems[~((plan.problems["severity"] == ERROR)
                                    & plan.problems["line"].isin(lines[left_out].to_numpy()))]
    # by line, then column; sorted as integers (a two-column sort with text took 0.2 s for
    # half a million already-imported lines on each decision)
    column_rank = pd.factorize(plan.problems["column"], sort=True)[0]
    plan.problems = plan.problems.iloc[np.lexsort((column_rank, plan.problems["line"]))
                                       ].reset_index(drop=True)
    bad_lines = pd.unique(plan.problems.loc[plan.problems["severity"] == ERROR, "line"])
    good = parsed[~lines.isin(bad_lines) & ~left_out]
    plan.rows_bad = len(bad_lines)
    plan.left_out = {code: int(n) for code, n in (
        ("subtotal_line", subtotal.sum()), ("already_imported", already.sum()),
        ("exact_repeat", (left_out & ~subtotal & ~already).sum())) if n}
    plan.frames = _to_tables(good, target, existing, mode)
    return plan


# field → (price field, quantity fields in order of preference) for an amount a file may leave
# out: tonnes first (steel is priced per tonne), else the count (a price per piece)
_AMOUNT_FROM = {TRANSACTIONS: ("amount", "unit_price", ("volume_t", "quantity")),
                "orders": ("amount_cny", "unit_price_cny_per_t", ("volume_t",))}


def _derivable(target: str, mapped: set[str]) -> dict[str, tuple[str, str]]:
    """The amount field → (price, quantity) when the file has no amount but both of these."""
    rule = _AMOUNT_FROM.get(target)
    if rule is None or rule[0] in mapped or rule[1] not in mapped:
        return {}
    amounts = next((q for q in rule[2] if q in mapped), None)
    return {rule[0]: (rule[1], amounts)} if amounts else {}


def _report(mask: pd.Series, lines: pd.Series, values: pd.Series, column: str, problem: str
            ) -> pd.DataFrame:
    return pd.DataFrame({"line": lines[mask], "column": column, "field": column,
                         "value": values[mask].astype(str).str.slice(0, 80),
                         "problem": problem, "severity": WARNING})


def _subtotal_lines(frame: pd.DataFrame, only: dict[str, pd.Series] | None = None
                    ) -> pd.Series:
    """Lines that are a report's subtotal or total (合计 / 小计 / 总计 / Total in any text
    cell): left out, or the file's total would be counted as one more customer's sale.
    ``only`` limits a column to the cells its mask marks."""
    hit = pd.Series(False, index=frame.index)
    for col in frame.columns:
        values = frame[col].astype(str)
        if only and col in only:
            values = values[only[col]]
            if values.empty:
                continue
        # a vectorised test over the column (how it begins, or a character NFKC may change)
        # leaves the exact regular expression a handful of cells: it ran per distinct cell,
        # and a column of order numbers has as many as lines
        head = values.str.slice(0, 12).str.strip().str.replace(" ", "", regex=False) \
            .str.slice(0, 2).str.lower()
        odd = (head >= "\uff00") & (head < "\ufff0") | head.str.startswith("\u3000")
        maybe = ((head.isin(_SUBTOTAL_STARTS) | odd) & (values.str.len() <= 20)).fillna(False)
        if not maybe.any():
            continue
        distinct = pd.unique(values[maybe])
        flagged = [v for v in distinct
                   if SUBTOTAL.match(unicodedata.normalize("NFKC", str(v)))]
        if flagged:
            hit |= (maybe & values.isin(flagged)).reindex(frame.index, fill_value=False)
    return hit


def _orphaned_orders(existing: Tables | None, customers: pd.DataFrame
                     ) -> dict[str, object] | None:
    """How many existing order lines a new customer master would leave without their
    customer, when that is more than ORPHAN_SHARE of them (else None)."""
    if existing is None or existing.orders is None or "customer_id" not in customers:
        return None
    orders = existing.orders
    total = int(orders.count().to_pandas())
    if not total:
        return None
    ids = ibis.memtable(customers[["customer_id"]].dropna().drop_duplicates(),
                        schema={"customer_id": "string"})
    orphaned = int(orders.anti_join(ids, "customer_id").count().to_pandas())
    if orphaned <= ORPHAN_SHARE * total:
        return None
    return {"orders": f"{orphaned:,}", "share": f"{orphaned / total:.0%}",
            "customers": f"{customers['customer_id'].nunique():,}"}


def _keys(target: str) -> tuple[str, ...]:
    return ("order_id",) if target == TRANSACTIONS else schema.spec(target).key


_MEMO_SIZE = 16  # kept checks per upload: a decision makes three, a page session a handful


def _remembered(memo: dict[tuple[object, ...], pd.Series] | None, what: tuple[object, ...],
                frame: pd.DataFrame, compute: Callable[[], pd.Series]) -> pd.Series:
    """``compute()`` (a mask over ``frame``'s rows), kept in ``memo`` under ``what`` and a
    digest of ``frame`` (index included). Toggling "keep repeats" or the mode on a 500,000-line
    upload asked the warehouse again each time (1.0 s of a 1.5 s decision) although the lines
    it looked at had not changed. ``what`` holds the version it asked (see _version), so
    another version is asked afresh."""
    if memo is None:
        return compute()
    key = (*what, tuple(frame.columns), _digest(frame))
    if key not in memo:
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[key] = compute()
    return memo[key]


@dataclass(frozen=True, eq=False)
class _Same:
    """An object compared by identity (see _version)."""
    obj: object

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj


def _version(table: ibis.Table) -> object:
    """What identifies the data ``table`` reads, for a memo. Ibis tables compare by structure,
    and two versions' ``orders`` are equal that way (same name, same schema, backends equal by
    class), so a memo keyed by the table found a newer version's answer in an older one's; and
    the page opens a new cursor, hence a new table object, on every rerun. A version is a file
    written once: its path and modification time identify it. An in-memory table (tests,
    notebooks) is identified by the object itself, kept alive by the memo."""
    try:
        backend = table._find_backend()
        row = backend.con.execute("SELECT path FROM duckdb_databases() "  # type: ignore[attr-defined]
                                  "WHERE database_name = current_database()").fetchone()
        path = row[0] if row else None
        if path:
            return (path, os.stat(path).st_mtime_ns, table.get_name())
    except (AttributeError, OSError, duckdb.Error, IbisError):
        pass  # another engine, or a table without a file: the object itself
    return _Same(table)


def _digest(frame: pd.DataFrame) -> str:
    """A digest of ``frame``'s index and cells, from their Arrow buffers: pandas' row hashing
    took 0.5 s for 500,000 keys, as long as the check it was to spare. Equal digests mean equal
    frames; a frame equal in content but laid out otherwise only misses the memo."""
    digest = hashlib.blake2b(frame.index.to_numpy().tobytes())
    for col in frame.columns:
        cells = pa.array(frame[col])
        digest.update(f"{col}|{cells.type}|{cells.offset}|{len(cells)}".encode())
        for buffer in cells.buffers():
            digest.update(b"-" if buffer is None else memoryview(buffer))
    return digest.hexdigest()


def _value_checks(parsed: pd.DataFrame, lines: pd.Series, target: str,
                  existing: Tables | None, mode: str, *, numbered: bool = True,
                  memo: dict[tuple[object, ...], pd.Series] | None = None
                  ) -> list[pd.DataFrame]:
    out = []

    def flag(mask: pd.Series, column: str, problem: str, severity: str) -> None:
        if mask.any():
            out.append(pd.DataFrame({"line": lines[mask], "column": column, "field": column,
                                     "value": parsed.loc[mask, column].astype(str),
                                     "problem": problem, "severity": severity}))

    # a negative line is a return or a cancellation (a C-prefixed invoice): kept, it lowers
    # the customer's sales, and said once per line; zero is the odd one
    returns = pd.Series(False, index=parsed.index)
    for col in ("amount_cny", "amount", "volume_t", "quantity"):
        if col in parsed and target in (TRANSACTIONS, "orders"):
            returns |= parsed[col].notna() & (parsed[col] < 0)
    if returns.any():
        money = "amount" if "amount" in parsed else "amount_cny"
        flag(returns, money if money in parsed else "order_id", "return_line", WARNING)
    for col in ("volume_t", "amount_cny", "amount", "paid_cny", "on_hand_t"):
        if col in parsed:
            flag(parsed[col].notna() & (parsed[col] <= 0) & ~returns, col, "not_positive",
                 WARNING)
    keys = [k for k in _keys(target) if k in parsed]
    if keys and len(keys) == len(_keys(target)) and parsed[keys].notna().all(axis=1).any():
        if target == TRANSACTIONS:
            if not numbered:
                # a log without order numbers can hold two identical purchases on one day
                # (CDNOW does): say so, keep them; the same data twice is caught by its ids
                same = parsed.drop(columns="order_id").duplicated(keep="first")
                flag(same, keys[0], "possible_duplicate", WARNING)
            dup = pd.Series(False, index=parsed.index)
        else:
            dup = _remembered(memo, ("duplicate",), parsed[keys], lambda: parsed.duplicated(
                keys, keep="first") & parsed[keys].notna().all(axis=1))
            flag(dup, keys[0], "duplicate_key", ERROR)
        if existing is not None and mode == "append":
            table_name = "orders" if target == TRANSACTIONS else target
            table = getattr(existing, table_name, None)
            if table is not None and all(k in table.columns for k in keys):
                hit = _remembered(memo, ("held", _version(table)), parsed[keys],
                                  lambda: _held(table, parsed, keys))
                # an order line already there is the same sale: skipped (a warning); a keyed
                # row of another table may carry a correction, so the user decides (an error)
                flag(hit & ~dup, keys[0], "already_imported",
                     WARNING if target in ORDER_TARGETS else ERROR)
    customer_col = "customer" if target == TRANSACTIONS else "customer_id"
    if target in ("orders", "invoices", "complaints", "surveys") and customer_col in parsed \
            and existing is not None and existing.customers is not None:
        customers = existing.customers

        def unknown() -> pd.Series:
            known = customers.select("customer_id").to_pandas()["customer_id"]
            return (parsed[customer_col].notna()
                    & ~parsed[customer_col].astype(object).isin(known.astype(object).to_numpy()))

        flag(_remembered(memo, ("unknown", _version(customers)), parsed[[customer_col]], unknown),
             customer_col, "unknown_customer", WARNING)
    return out


def _held(table: ibis.Table, parsed: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Which of ``parsed``'s rows ``table`` already holds, by ``keys``."""
    there = _already_there(table, parsed, keys)
    # Arrow's hash lookup: pandas' isin on Arrow strings converts the other side one value at
    # a time (4 s for 500,000 keys)
    mine = pa.array(_key_strings(parsed, keys), type=pa.large_string())
    theirs = pa.array(_key_strings(there, keys), type=pa.large_string())
    return pd.Series(pc.is_in(mine, value_set=theirs).to_numpy(zero_copy_only=False),
                     index=parsed.index).fillna(False).astype(bool)


def _key_strings(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Each row's key as one string, written the same way whatever the column's type: a
    line number parsed as 3.0 from the file is the warehouse's 3 (compared as text, the two
    never matched, so a re-imported file with line numbers went unrecognised), a date is
    YYYY-MM-DD. Vectorised: a row-wise apply took a minute for 500,000 lines."""
    out: pd.Series | None = None
    for k in keys:
        col = frame[k]
        if pd.api.types.is_datetime64_any_dtype(col):
            text = col.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            values = col.dropna()
            whole = bool((values == values.round()).all())
            text = col.astype("Int64").astype(str) if whole else col.astype(str)
        elif isinstance(col.dtype, pd.StringDtype):
            text = col
        else:
            text = col.astype(object).map(str, na_action="ignore")
        # Arrow strings joined in one vectorised pass; a missing part leaves the key missing,
        # and a missing key matches nothing
        text = text.astype(str)
        out = text if out is None else out + "\x1f" + text
    assert out is not None
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
                                           ("volume_t", "volume_t"), ("quantity", "quantity"),
                                           ("cost_cny", "cost_cny"),
                                           ("sales_rep", "sales_rep")) if src in good}})
    if "volume_t" in good:
        # with tonnes in the file a unit price is per tonne (see _AMOUNT_FROM); without one it
        # is the amount over the tonnes
        orders["unit_price_cny_per_t"] = good["unit_price"] if "unit_price" in good else (
            good["amount"] / good["volume_t"].where(good["volume_t"] != 0))
    orders["order_id"] = good["order_id"].astype(str)
    orders["line_no"] = orders.groupby("order_id").cumcount() + 1
    known: set[str] = set()
    if mode == "append" and existing is not None and existing.customers is not None:
        known = set(existing.customers.select("customer_id").to_pandas()["customer_id"])
    # each customer as an integer once (file order, -1 when blank): the three per-customer
    # facts below grouped by the names themselves cost a factorising each
    codes, names = pd.factorize(orders["customer_id"])
    facts = pd.DataFrame({"customer_id": names, "name": names})
    if "sales_rep" in orders:
        facts["sales_rep"] = _first_filled(codes, len(names), orders["sales_rep"])
    facts["first_order_date"] = _earliest(codes, len(names), orders["order_date"])
    new = ~facts["customer_id"].isin(list(known)) if known else slice(None)
    return {"orders": orders.reset_index(drop=True),
            "customers": facts[new].reset_index(drop=True)}


def _first_filled(codes: np.ndarray, groups: int, values: pd.Series) -> np.ndarray:
    """Per group (``codes`` 0 … groups-1, -1 for none) its first filled value, else None."""
    out = np.full(groups, None, dtype=object)
    rows = values.notna().to_numpy() & (codes >= 0)
    group, first = np.unique(codes[rows], return_index=True)
    out[group] = values.to_numpy(dtype=object)[rows][first]
    return out


def _earliest(codes: np.ndarray, groups: int, dates: pd.Series) -> np.ndarray:
    """Per group its earliest date, else None. The dates are Python dates (object cells),
    whose group-wise min pandas takes one group at a time in Python (0.5 s for 6,000
    customers); their ranks among the distinct dates are integers numpy takes at once."""
    rank, distinct = pd.factorize(dates, sort=True)  # -1 for a missing date
    rows = (rank >= 0) & (codes >= 0)
    lowest = np.full(groups, len(distinct), dtype=np.int64)
    np.minimum.at(lowest, codes[rows], rank[rows])
    out = np.full(groups, None, dtype=object)
    seen = lowest < len(distinct)
    out[seen] = np.asarray(distinct, dtype=object)[lowest[seen]]
    return out


STORING = "stored_results"  # the progress step computing the results kept with the version


def apply_import(warehouse: Warehouse, plan: ImportPlan, *, skip_bad: bool = False,
                 user: str = "local", progress: Callable[[float, str], None] | None = None,
                 background: bool = False) -> str:
    """Write the plan as one new version and return it; raises IngestError and writes nothing
    when the plan is blocked, has errors the user did not choose to skip, or has no rows.

    What is derived from the version (summaries, kept results) is computed once it is current:
    before returning, or with ``background`` in a child process (analytics.ops.background),
    so the version is visible as soon as its data is written."""
    if plan.blocking:
        code, params = plan.blocking[0]
        raise IngestError(code, **params)
    if plan.rows_bad and not skip_bad:
        raise IngestError("has_errors", rows=plan.rows_bad)
    if sum(len(f) for f in plan.frames.values()) == 0:
        if plan.left_out.get("already_imported"):
            raise IngestError("nothing_new", rows=f"{plan.left_out['already_imported']:,}")
        raise IngestError("no_rows")
    meta = {"user": user, "file": plan.source, "sha256": plan.checksum, "target": plan.target,
            "mode": plan.mode, "rows": {t: len(f) for t, f in plan.frames.items()},
            "skipped_rows": plan.rows_bad}
    note = f"{plan.source} → {plan.target} ({plan.mode}, {plan.rows_good:,} rows)"
    # a transactions file replacing the data starts a warehouse of its own: the demo's
    # invoices or stock would otherwise sit beside customers they do not belong to
    fresh = plan.target == TRANSACTIONS and plan.mode == "replace"
    with warehouse.writing(action="import", note=note, fresh=fresh, meta=meta,
                           derive=derive.write, later=background) as con:
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
        if progress and not background:  # what remains (a minute on a large book)
            progress(1.0, STORING)
    version = warehouse.version
    if background:
        derive_later(warehouse, version)
    return version


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
