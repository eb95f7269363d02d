"""Which column of the file is which field: suggestions from header aliases, and memory.

A suggestion is only a suggestion: the page shows it for the user to correct, and the mapping
the user confirms is remembered for that file layout (target + the file's headers), so next
month's export of the same report maps itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from analytics.ops.ingest.read import normalize_header
from analytics.store import schema


@dataclass(frozen=True)
class Field:
    name: str
    dtype: str
    required: bool
    aliases: tuple[str, ...]


# The minimal transactions file: customer, date, amount; optionally the rest (docs/data-model.md).
TRANSACTION_FIELDS = (
    Field("customer", schema.VARCHAR, True, ("客户", "客户名称", "客户编号", "购货单位",
                                             "单位名称", "往来单位", "customer", "customer name",
                                             "client")),
    Field("date", schema.DATE, True, ("日期", "单据日期", "销售日期", "开票日期", "业务日期",
                                      "出库日期", "制单日期", "date", "order date",
                                      "invoice date", "invoicedate", "document date")),
    Field("amount", schema.DOUBLE, True, ("金额", "含税金额", "价税合计", "销售金额", "销售额",
                                          "amount", "revenue", "sales")),
    Field("product", schema.VARCHAR, False, ("品名", "品种", "商品", "商品名称", "存货名称",
                                             "产品", "product", "category", "item")),
    Field("spec", schema.VARCHAR, False, ("规格", "规格型号", "spec", "specification")),
    # tonnes only from a weight header; 数量 / Quantity count pieces (a wholesaler's log of
    # 541,909 lines showed 4,760,434 "t" when it was read as tonnes)
    Field("volume_t", schema.DOUBLE, False, ("吨位", "重量", "吨数", "净重", "理重", "过磅重量",
                                             "吨", "tonnes", "tons", "weight")),
    Field("quantity", schema.DOUBLE, False, ("数量", "件数", "支数", "张数", "quantity", "qty",
                                             "pcs")),
    Field("unit_price", schema.DOUBLE, False, ("单价", "含税单价", "销售单价", "unit price",
                                               "unitprice", "price")),
    Field("cost_cny", schema.DOUBLE, False, ("成本", "成本金额", "销售成本", "cost")),
    Field("sales_rep", schema.VARCHAR, False, ("业务员", "销售员", "销售代表", "rep",
                                               "salesperson")),
    # an ERP's document or invoice number is the order number: lines of one file and of a
    # later overlapping extract then match, and nothing is counted twice
    Field("order_id", schema.VARCHAR, False, ("单号", "订单号", "单据编号", "单据号", "销售单号",
                                             "出库单号", "发货单号", "发票号", "发票号码",
                                             "order", "order id", "order no", "invoice",
                                             "invoice no", "invoiceno", "document no",
                                             "doc no")),
)
TRANSACTIONS = "transactions"
TARGETS = (TRANSACTIONS, *schema.TABLES)


def fields(target: str) -> tuple[Field, ...]:
    if target == TRANSACTIONS:
        return TRANSACTION_FIELDS
    spec = schema.spec(target)
    return tuple(Field(c.name, c.dtype, c.required, c.aliases) for c in spec.columns)


def suggest_mapping(columns: list[str], target: str) -> dict[str, str | None]:
    """For each file column, the field it most likely holds (None = leave out).

    In order: a canonical name in brackets as the templates write it (客户编号 (customer_id)),
    an exact alias, then an alias contained in the header. Each field is used at most once.
    """
    candidates = fields(target)
    by_alias: dict[str, str] = {}
    for f in candidates:
        for alias in (f.name, *f.aliases):
            by_alias.setdefault(normalize_header(alias), f.name)
    names = {f.name for f in candidates}
    out: dict[str, str | None] = dict.fromkeys(columns)
    used: set[str] = set()

    def take(col: str, name: str | None) -> None:
        if name and name not in used and out[col] is None:
            out[col] = name
            used.add(name)

    for col in columns:
        bracket = re.search(r"[(（]\s*([a-z0-9_]+)\s*[)）]", col)
        if bracket and bracket.group(1) in names:
            take(col, bracket.group(1))
    for col in columns:
        take(col, by_alias.get(normalize_header(col)))
    for col in columns:
        h = normalize_header(col)
        if out[col] is not None or len(h) < 2:
            continue
        for alias, name in sorted(by_alias.items(), key=lambda kv: -len(kv[0])):
            if len(alias) >= 2 and (alias in h or h in alias):
                take(col, name)
                break
    return out


def layout_key(columns: list[str], target: str) -> str:
    headers = "|".join(normalize_header(c) for c in columns)
    return hashlib.sha1(f"{target}|{headers}".encode()).hexdigest()[:16]


class MappingMemory:
    """Confirmed mappings per file layout, in a small JSON file beside the warehouse."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def _load(self) -> dict[str, dict[str, str | None]]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
        except (FileNotFoundError, ValueError):
            return {}

    def recall(self, columns: list[str], target: str) -> dict[str, str | None] | None:
        saved = self._load().get(layout_key(columns, target))
        if saved is None or set(saved) != set(columns):
            return None
        return saved

    def remember(self, columns: list[str], target: str, mapping: dict[str, str | None]) -> None:
        data = self._load()
        data[layout_key(columns, target)] = {c: mapping.get(c) for c in columns}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(self.path)


# Fields a file may leave out and the user names once for every row: a futures file is just
# date + close, and says which product and market only in its file name.
CONSTANT_FIELDS = {"market_prices": ("product", "market", "source"),
                   "inventory": ("product", "warehouse")}
_PRODUCT_WORDS = (("螺纹", "rebar"), ("rebar", "rebar"), ("rb", "rebar"), ("热卷", "hrc"),
                  ("热轧", "hrc"), ("hrc", "hrc"), ("hc", "hrc"), ("冷轧", "crc"), ("crc", "crc"),
                  ("线材", "wire_rod"), ("高线", "wire_rod"), ("盘螺", "wire_rod"),
                  ("wire", "wire_rod"), ("镀锌", "galvanized"), ("中厚板", "plate"),
                  ("plate", "plate"), ("带钢", "strip"), ("strip", "strip"), ("型钢", "sections"),
                  ("型材", "sections"), ("sections", "sections"), ("管", "pipe"),
                  ("pipe", "pipe"))
_FUTURES_WORDS = ("期货", "连续", "主力", "shfe", "futures", "rb", "hc")


def constant_fields(target: str, mapping: dict[str, str | None]) -> tuple[str, ...]:
    """The fields of ``target`` that may be given once for all rows and are not in the file."""
    mapped = {v for v in mapping.values() if v}
    return tuple(f for f in CONSTANT_FIELDS.get(target, ()) if f not in mapped)


def guess_constants(filename: str, target: str) -> dict[str, str]:
    """Product and market read from a file name such as 螺纹连续.csv or rb_main.csv."""
    if target not in CONSTANT_FIELDS:
        return {}
    name = Path(filename).stem.lower()
    tokens = set(re.split(r"[^a-z]+", name))

    def hit(word: str) -> bool:
        return word in tokens if word.isascii() else word in name

    out: dict[str, str] = {}
    product = next((p for w, p in _PRODUCT_WORDS if hit(w)), None)
    if product:
        out["product"] = product
    if target == "market_prices" and any(hit(w) for w in _FUTURES_WORDS):
        out["market"] = "shfe"
    return out
