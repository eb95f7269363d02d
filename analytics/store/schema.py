"""The canonical tables (docs/data-model.md): names, column types, required columns, aliases.

Everything that reads or writes the warehouse takes table and column names from here, so a
column is renamed in one place. Types are DuckDB SQL types; the ingest coerces uploads to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VARCHAR, DATE, DOUBLE, BIGINT, BOOLEAN = "VARCHAR", "DATE", "DOUBLE", "BIGINT", "BOOLEAN"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    required: bool = False
    aliases: tuple[str, ...] = ()  # Chinese and English headers seen in ERP exports


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    doc: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    def ddl(self, columns: list[str] | None = None, *, force_required: bool = True) -> str:
        """CREATE TABLE with every column, or only ``columns`` (plus the required ones unless
        ``force_required`` is off): a file without costs must not produce an all-empty cost
        column that reads as zero cost."""
        keep = [c for c in self.columns if columns is None or c.name in columns
                or (c.required and force_required)]
        cols = ", ".join(f'"{c.name}" {c.dtype}' for c in keep)
        return f'CREATE TABLE "{self.name}" ({cols})'


def _c(name: str, dtype: str, *aliases: str, required: bool = False) -> Column:
    return Column(name, dtype, required, aliases)


CUSTOMERS = TableSpec(
    "customers",
    (
        _c("customer_id", VARCHAR, "客户编号", "客户编码", "客户代码", "customer id", "cust_id",
           required=True),
        _c("name", VARCHAR, "客户名称", "客户", "单位名称", "customer", "customer name"),
        _c("type", VARCHAR, "客户类型", "类型", "customer type"),
        _c("industry", VARCHAR, "行业", "所属行业"),
        _c("province", VARCHAR, "省份", "省", "地区"),
        _c("city", VARCHAR, "城市", "市"),
        _c("sales_rep", VARCHAR, "业务员", "销售代表", "客户经理", "rep", "salesperson"),
        _c("relationship_level", VARCHAR, "关系层级", "relationship"),
        _c("stage", VARCHAR, "开发阶段", "客户阶段"),
        _c("first_order_date", DATE, "首次下单日期", "首单日期", "建档日期"),
        _c("credit_grade", VARCHAR, "信用等级", "credit rating"),
        _c("credit_limit_cny", DOUBLE, "信用额度", "授信额度", "credit limit"),
        _c("payment_terms_days", BIGINT, "账期", "账期天数", "付款期限", "payment terms"),
        _c("guarantee", VARCHAR, "担保", "担保方式"),
        _c("registered_capital_cny", DOUBLE, "注册资本", "registered capital"),
        _c("industry_influence", BIGINT, "行业影响力"),
        _c("strategic_fit", BIGINT, "战略匹配", "战略符合度"),
        _c("estimated_purchases_cny", DOUBLE, "年采购额估计", "采购总额", "estimated purchases"),
        # 1–4 (4 = best) judgements from the grading table; absent = no data
        _c("product_importance", BIGINT, "产品重要性"),
        _c("relationship_depth", BIGINT, "关系深度"),
        _c("prospects", BIGINT, "发展前景"),
        _c("impact_if_lost", BIGINT, "流失影响"),
        _c("key_contact", VARCHAR, "关键联系人", "联系人", "contact"),
        _c("key_dates", VARCHAR, "重要日期"),
    ),
    key=("customer_id",),
    doc="One row per customer (客户资料).",
)

ORDERS = TableSpec(
    "orders",
    (
        _c("order_id", VARCHAR, "订单号", "单据编号", "单据号", "单号", "销售单号", "出库单号",
           "发货单号", "order no", "invoice no", "invoiceno", "document no", required=True),
        _c("line_no", BIGINT, "行号", "序号", "line"),
        _c("order_date", DATE, "日期", "单据日期", "订单日期", "销售日期", "出库日期", "date",
           "order date", "invoice date", "invoicedate", required=True),
        _c("customer_id", VARCHAR, "客户编号", "客户编码", "客户名称", "客户", "customer",
           required=True),
        _c("product_id", VARCHAR, "商品编号", "物料编码", "存货编码", "product id"),
        _c("category", VARCHAR, "品名", "品种", "商品类别", "category", "product"),
        _c("spec", VARCHAR, "规格", "规格型号", "specification"),
        # tonnes only from a weight header: 数量 / Quantity count pieces (below)
        _c("volume_t", DOUBLE, "吨位", "重量", "吨数", "净重", "理重", "过磅重量", "吨",
           "tonnes", "tons", "weight", required=True),
        _c("quantity", DOUBLE, "数量", "件数", "支数", "张数", "quantity", "qty", "pcs"),
        _c("unit_price_cny_per_t", DOUBLE, "单价", "含税单价", "price", "unit price"),
        _c("amount_cny", DOUBLE, "金额", "含税金额", "价税合计", "销售金额", "amount",
           required=True),
        _c("cost_cny", DOUBLE, "成本", "成本金额", "销售成本", "cost"),
        _c("delivery_date", DATE, "发货日期", "交货日期", "delivery date"),
        _c("warehouse", VARCHAR, "仓库", "发货仓库", "warehouse"),
        _c("weighing", VARCHAR, "计重方式", "过磅/理计", "weighing"),
        _c("sales_rep", VARCHAR, "业务员", "销售代表", "rep"),
    ),
    key=("order_id", "line_no"),
    doc="One row per order line (销售明细).",
)

PRODUCTS = TableSpec(
    "products",
    (
        _c("product_id", VARCHAR, "商品编号", "物料编码", "存货编码", required=True),
        _c("category", VARCHAR, "品名", "品种", "类别"),
        _c("spec", VARCHAR, "规格", "规格型号"),
        _c("grade", VARCHAR, "材质", "牌号", "钢种"),
        _c("unit", VARCHAR, "单位"),
    ),
    key=("product_id",),
    doc="One row per product (category + spec + grade).",
)

INVOICES = TableSpec(
    "invoices",
    (
        _c("invoice_id", VARCHAR, "发票号", "发票号码", "单据编号", required=True),
        _c("customer_id", VARCHAR, "客户编号", "客户名称", "客户", required=True),
        _c("order_id", VARCHAR, "订单号", "销售单号"),
        _c("invoice_date", DATE, "开票日期", "发票日期", "日期"),
        _c("due_date", DATE, "到期日", "到期日期", "应收日期", required=True),
        _c("amount_cny", DOUBLE, "金额", "发票金额", "应收金额", "价税合计", required=True),
    ),
    key=("invoice_id",),
    doc="One row per invoice (应收).",
)

PAYMENTS = TableSpec(
    "payments",
    (
        _c("payment_id", VARCHAR, "收款单号", "单据编号"),
        _c("invoice_id", VARCHAR, "发票号", "发票号码", required=True),
        _c("paid_date", DATE, "收款日期", "回款日期", "日期", required=True),
        _c("paid_cny", DOUBLE, "收款金额", "回款金额", "金额", required=True),
    ),
    key=("payment_id",),
    doc="One row per payment; an invoice may be paid in instalments.",
)

SURVEY_DIMENSIONS = ("quality", "delivery", "price", "service", "responsiveness", "billing",
                     "logistics")

SURVEYS = TableSpec(
    "surveys",
    (
        _c("survey_id", VARCHAR, "问卷编号"),
        _c("customer_id", VARCHAR, "客户编号", "客户名称", "客户", required=True),
        _c("survey_date", DATE, "调查日期", "日期", required=True),
        _c("survey_type", VARCHAR, "调查类型"),
        _c("quality", DOUBLE, "产品质量", "质量"),
        _c("delivery", DOUBLE, "交付及时", "交货"),
        _c("price", DOUBLE, "价格竞争力", "价格"),
        _c("service", DOUBLE, "服务态度", "服务"),
        _c("responsiveness", DOUBLE, "响应速度"),
        _c("billing", DOUBLE, "结算/票据", "结算"),
        _c("logistics", DOUBLE, "物流/装卸", "物流"),
        _c("recommend", DOUBLE, "推荐意愿", "NPS"),
    ),
    key=("survey_id",),
    doc="One row per survey response; dimensions 1–5, recommend 0–10, blanks allowed.",
)

COMPLAINTS = TableSpec(
    "complaints",
    (
        _c("complaint_id", VARCHAR, "投诉编号", "单据编号", required=True),
        _c("customer_id", VARCHAR, "客户编号", "客户名称", "客户", required=True),
        _c("order_id", VARCHAR, "订单号"),
        _c("opened_date", DATE, "投诉日期", "登记日期", "日期", required=True),
        _c("type", VARCHAR, "投诉类型", "类型"),
        _c("severity", VARCHAR, "严重程度", "等级"),
        _c("valid", BOOLEAN, "是否成立", "成立"),
        _c("department", VARCHAR, "责任部门"),
        _c("cause", VARCHAR, "原因", "原因分析"),
        _c("remedy", VARCHAR, "处理方式", "处理措施"),
        _c("approved_date", DATE, "批准日期", "审批日期"),
        _c("closed_date", DATE, "结案日期", "关闭日期"),
        _c("compensation_cny", DOUBLE, "赔偿金额", "补偿金额"),
        _c("volume_t", DOUBLE, "涉及吨位", "吨位"),
    ),
    key=("complaint_id",),
    doc="One row per complaint (客户投诉).",
)

MARKET_PRICES = TableSpec(
    "market_prices",
    (
        _c("date", DATE, "日期", "交易日期", "date", required=True),
        _c("product", VARCHAR, "品种", "品名", "product", "category", required=True),
        _c("market", VARCHAR, "市场", "城市", "market"),
        _c("price_cny_per_t", DOUBLE, "价格", "收盘价", "收盘", "close", "price", required=True),
        _c("source", VARCHAR, "来源", "source"),
    ),
    key=("date", "product", "market"),
    doc="One row per day, product (category) and market; RMB/t including VAT.",
)

INVENTORY = TableSpec(
    "inventory",
    (
        _c("date", DATE, "日期", required=True),
        _c("product", VARCHAR, "品种", "品名", "商品", required=True),
        _c("warehouse", VARCHAR, "仓库"),
        _c("on_hand_t", DOUBLE, "库存", "库存吨位", "结存数量", "结存", required=True),
        _c("avg_cost_cny_per_t", DOUBLE, "平均成本", "库存单价", "成本单价"),
    ),
    key=("date", "product", "warehouse"),
    doc="One row per day, product (category) and warehouse: end-of-day stock.",
)

CONTACTS = TableSpec(
    "contacts",
    (
        _c("customer_id", VARCHAR, "客户编号", "客户名称", "客户", required=True),
        _c("date", DATE, "日期", "拜访日期", required=True),
        _c("rep", VARCHAR, "业务员", "拜访人"),
        _c("kind", VARCHAR, "方式", "类型"),
        _c("note", VARCHAR, "备注", "内容"),
    ),
    doc="One row per contact with a customer (visit, call, gift).",
)

TARGETS = TableSpec(
    "targets",
    (
        _c("rep", VARCHAR, "业务员", "销售代表", "客户经理", "sales rep", required=True),
        _c("month", DATE, "月份", "目标月份", "期间", "month", required=True),
        _c("team", VARCHAR, "团队", "小组", "部门", "team"),
        _c("revenue_cny", DOUBLE, "销售额目标", "销售目标", "目标金额", "revenue target"),
        _c("volume_t", DOUBLE, "销量目标", "吨位目标", "目标吨位", "volume target"),
        _c("gross_profit_cny", DOUBLE, "毛利目标", "gross profit target"),
    ),
    key=("rep", "month"),
    doc="One row per rep and month: sales targets (any day of the month stands for the month).",
)

RESELLER_REVIEWS = TableSpec(
    "reseller_reviews",
    (
        _c("customer_id", VARCHAR, "客户编号", "客户名称", "经销商", "客户", required=True),
        _c("month", DATE, "月份", "考核月份", "期间", required=True),
        _c("quota_t", DOUBLE, "配额", "销售配额", "任务量", "quota"),
        _c("avg_stock_t", DOUBLE, "平均库存", "平均存货", "库存", "average stock"),
        _c("delivery_days", DOUBLE, "交货天数", "交货时间", "delivery days"),
        _c("damage_handling", DOUBLE, "损坏处理", "损坏和遗失处理", "damage handling"),
        _c("cooperation", DOUBLE, "合作评分", "合作", "配合度", "cooperation"),
    ),
    key=("customer_id", "month"),
    doc="One row per reseller (a trader customer) and month: quota in tonnes, the stock it "
        "reports, its delivery time to its own customers (days), and the 1–4 scores the "
        "sales team enters for damage handling and cooperation.",
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (CUSTOMERS, ORDERS, PRODUCTS, INVOICES, PAYMENTS, SURVEYS, COMPLAINTS,
              MARKET_PRICES, INVENTORY, CONTACTS, TARGETS, RESELLER_REVIEWS)
}

# Domain values stored in the data (English keys; display labels live in analytics.display.i18n).
CUSTOMER_TYPES = ("contractor", "fabricator", "processor", "trader", "retail", "other")
CATEGORIES = ("rebar", "wire_rod", "hrc", "crc", "galvanized", "plate", "strip", "sections",
              "pipe")


def spec(table: str) -> TableSpec:
    try:
        return TABLES[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; known: {', '.join(TABLES)}") from None


def markdown() -> str:
    """The data model as a page (docs/data-model.md is this text; a test keeps them equal)."""
    lines = ["# Data model", "",
             "The canonical tables of the warehouse, from `analytics/store/schema.py` (this page "
             "is generated from it: `python -c \"from analytics.store import schema; "
             "print(schema.markdown(), end='')\" > docs/data-model.md`). Only the **required** "
             "columns must be present; every other column is optional, and a page that needs "
             "one says so. Imports recognise the header aliases (ERP exports, Chinese and "
             "English).", ""]
    for table in TABLES.values():
        key = f" Key: `{', '.join(table.key)}`." if table.key else ""
        lines += [f"## `{table.name}`", "", table.doc + key, "",
                  "| column | type | required | headers recognised |", "|---|---|---|---|"]
        for c in table.columns:
            lines.append(f"| `{c.name}` | {c.dtype} | {'yes' if c.required else ''} | "
                         f"{', '.join(c.aliases)} |")
        lines.append("")
    lines += ["## Values", "",
              f"- customer `type`: {', '.join(f'`{t}`' for t in CUSTOMER_TYPES)}",
              f"- product `category`: {', '.join(f'`{c}`' for c in CATEGORIES)}",
              f"- survey dimensions: {', '.join(f'`{d}`' for d in SURVEY_DIMENSIONS)}",
              "",
              "Each version also keeps tables derived at its write (`stored_results` and one "
              "`stored_rows_…` table per frame of a stored result, `summary_purchase_days`, "
              "`summary_invoice_settlement`, `summary_month_ends`; see "
              "[architecture.md](architecture.md)): not data, never counted or exported."]
    return "\n".join(lines) + "\n"
