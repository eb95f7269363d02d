"""Display text in Simplified Chinese and English, and number/date formatting per language.

All user-facing text lives here (one place per language); code, columns and data values stay
English snake_case. ``tests/test_i18n.py`` fails when a key exists in one language only.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "app_title": "钢贸客户分析",
        "app_tagline": "谁创造利润、谁在流失、谁欠款——钢贸客户经营看板",
        "language": "语言",
        "nav_heading": "导航",
        "page_overview": "总览",
        "page_data": "数据管理",
        "filters": "筛选",
        "period": "期间",
        "period_last_12_months": "近12个月",
        "period_this_year": "今年",
        "period_last_year": "去年",
        "period_last_quarter": "上季度",
        "period_ytd_prev": "去年同期",
        "period_all": "全部",
        "period_custom": "自定义",
        "date_range": "日期范围",
        "province": "省份",
        "sales_rep": "业务员",
        "customer_type": "客户类型",
        "category": "品种",
        "all": "全部",
        "data_through": "数据截至 {date}",
        "single_user": "单用户模式：未配置用户文件，无需登录，可查看全部数据。",
        "warehouse_version": "数据版本 {version}",
        "no_warehouse": "还没有数据。运行 `make run`（首次启动会生成演示数据），或在命令行执行 "
                        "`python -m analytics demo`。",
        "no_orders": "所选范围内没有销售明细。请放宽筛选条件，或导入销售明细（orders）。",
        "missing_table": "缺少数据表：{table}。导入该表后即可查看本部分。",
        # KPIs
        "kpi_revenue_cny": "销售额",
        "kpi_volume_t": "销量",
        "kpi_gross_profit_cny": "毛利",
        "kpi_margin_pct": "毛利率",
        "kpi_active_customers": "活跃客户",
        "kpi_new_customers": "新客户",
        "kpi_lost_customers": "流失客户",
        "kpi_overdue_receivables_cny": "逾期应收",
        "kpi_inventory_days": "库存天数",
        "help_revenue_cny": "期间内销售明细的含税金额合计。",
        "help_volume_t": "期间内销售吨位合计。",
        "help_gross_profit_cny": "销售额减销售成本。",
        "help_margin_pct": "毛利 ÷ 销售额；变化以百分点表示。",
        "help_active_customers": "期间内至少有一笔订单的客户数。",
        "help_new_customers": "首次下单日期落在期间内的客户数。",
        "help_lost_customers": "上一个等长期间有订单、本期间没有订单的客户数。",
        "help_overdue_receivables_cny": "期末已过到期日、尚未收回的发票余额"
                                        "（分期付款按未付部分计）。",
        "help_inventory_days": "期末库存吨位 ÷ 近90天日均销量（全公司口径；按客户筛选时不显示）。",
        "vs_previous": "环比",
        "vs_year_ago": "同比",
        "previous_period": "上期",
        "year_ago_period": "去年同期",
        "pp": "个点",
        "company_wide_only": "全公司口径，按客户筛选时不适用",
        # overview sections
        "monthly_title": "月度销量与毛利",
        "monthly_title_no_profit": "月度销量与销售额",
        "month": "月份",
        "top_customers": "重点客户（按毛利排名）",
        "top_customers_revenue": "重点客户（按销售额排名）",
        "download_csv": "下载 CSV",
        "download_xlsx": "下载 Excel",
        # columns
        "col_rank": "排名",
        "col_customer_id": "客户编号",
        "col_name": "客户名称",
        "col_type": "类型",
        "col_province": "省份",
        "col_sales_rep": "业务员",
        "col_revenue_cny": "销售额（元）",
        "col_volume_t": "销量（吨）",
        "col_gross_profit_cny": "毛利（元）",
        "col_margin_pct": "毛利率 %",
        "col_share": "占比 %",
        "col_orders": "订单数",
        "col_table": "数据表",
        "col_rows": "行数",
        "col_required": "必填列",
        "col_version": "版本",
        "col_created": "创建时间",
        "col_action": "操作",
        "col_note": "说明",
        "col_current": "当前",
        # data page
        "data_tables": "数据表",
        "data_versions": "版本历史",
        "data_export": "导出数据表",
        "data_export_pick": "选择数据表",
        "data_intro": "仓库中的数据表与行数。每次写入都会生成新版本，旧版本可回滚。",
        "absent": "未导入",
    },
    "en": {
        "app_title": "SteelSight",
        "app_tagline": "Who makes the profit, who is drifting away, who owes what — customer "
                       "analytics for steel traders",
        "language": "Language",
        "nav_heading": "Navigation",
        "page_overview": "Overview",
        "page_data": "Data",
        "filters": "Filters",
        "period": "Period",
        "period_last_12_months": "Last 12 months",
        "period_this_year": "This year",
        "period_last_year": "Last year",
        "period_last_quarter": "Last quarter",
        "period_ytd_prev": "Same period last year",
        "period_all": "All",
        "period_custom": "Custom",
        "date_range": "Date range",
        "province": "Province",
        "sales_rep": "Sales rep",
        "customer_type": "Customer type",
        "category": "Product",
        "all": "All",
        "data_through": "Data through {date}",
        "single_user": "Single-user mode: no users file is configured, so there is no login and "
                       "everything is visible.",
        "warehouse_version": "Data version {version}",
        "no_warehouse": "No data yet. Run `make run` (the first start builds the demo company) "
                        "or `python -m analytics demo`.",
        "no_orders": "No order lines in this selection. Widen the filters, or import order "
                     "lines (orders).",
        "missing_table": "Missing table: {table}. Import it to see this section.",
        "kpi_revenue_cny": "Revenue",
        "kpi_volume_t": "Tonnes sold",
        "kpi_gross_profit_cny": "Gross profit",
        "kpi_margin_pct": "Gross margin",
        "kpi_active_customers": "Active customers",
        "kpi_new_customers": "New customers",
        "kpi_lost_customers": "Lost customers",
        "kpi_overdue_receivables_cny": "Overdue receivables",
        "kpi_inventory_days": "Inventory days",
        "help_revenue_cny": "Sum of order-line amounts (incl. VAT) in the period.",
        "help_volume_t": "Sum of tonnes sold in the period.",
        "help_gross_profit_cny": "Revenue minus cost of sales.",
        "help_margin_pct": "Gross profit ÷ revenue; changes in percentage points.",
        "help_active_customers": "Customers with at least one order in the period.",
        "help_new_customers": "Customers whose first order falls in the period.",
        "help_lost_customers": "Customers who bought in the previous period of equal length "
                               "but not in this one.",
        "help_overdue_receivables_cny": "Unpaid remainder of invoices past their due date at "
                                        "the period end (instalments count by what is unpaid).",
        "help_inventory_days": "Stock at the period end ÷ average daily tonnes sold over the "
                               "last 90 days (company-wide; hidden under customer filters).",
        "vs_previous": "vs prior",
        "vs_year_ago": "YoY",
        "previous_period": "previous period",
        "year_ago_period": "a year ago",
        "pp": "pp",
        "company_wide_only": "company-wide; not shown under customer filters",
        "monthly_title": "Tonnes and gross profit by month",
        "monthly_title_no_profit": "Tonnes and revenue by month",
        "month": "Month",
        "top_customers": "Top customers by gross profit",
        "top_customers_revenue": "Top customers by revenue",
        "download_csv": "Download CSV",
        "download_xlsx": "Download Excel",
        "col_rank": "Rank",
        "col_customer_id": "Customer ID",
        "col_name": "Customer",
        "col_type": "Type",
        "col_province": "Province",
        "col_sales_rep": "Sales rep",
        "col_revenue_cny": "Revenue (CNY)",
        "col_volume_t": "Tonnes",
        "col_gross_profit_cny": "Gross profit (CNY)",
        "col_margin_pct": "Margin %",
        "col_share": "Share %",
        "col_orders": "Orders",
        "col_table": "Table",
        "col_rows": "Rows",
        "col_required": "Required columns",
        "col_version": "Version",
        "col_created": "Created",
        "col_action": "Action",
        "col_note": "Note",
        "col_current": "Current",
        "data_tables": "Tables",
        "data_versions": "Version history",
        "data_export": "Export a table",
        "data_export_pick": "Table",
        "data_intro": "Tables in the warehouse and their row counts. Every write makes a new "
                      "version; earlier versions can be rolled back.",
        "absent": "not imported",
    },
}

# Data values → display labels. Values not listed are shown as they are (names, ids).
VALUES: dict[str, dict[str, dict[str, str]]] = {
    "zh": {
        "type": {"contractor": "施工单位", "fabricator": "制造/钢结构", "processor": "加工厂",
                 "trader": "贸易商", "retail": "零售", "other": "其他"},
        "category": {"rebar": "螺纹钢", "wire_rod": "线材/盘螺", "hrc": "热轧板卷",
                     "crc": "冷轧板卷", "galvanized": "镀锌板卷", "plate": "中厚板",
                     "strip": "带钢", "sections": "型材", "pipe": "钢管"},
        "province": {"Guangdong": "广东", "Guangxi": "广西", "Hunan": "湖南", "Jiangxi": "江西",
                     "Fujian": "福建", "Hainan": "海南"},
        "table": {"customers": "客户", "orders": "销售明细", "products": "商品",
                  "invoices": "发票/应收", "payments": "收款", "surveys": "满意度调查",
                  "complaints": "投诉", "market_prices": "市场价格", "inventory": "库存",
                  "contacts": "联系记录"},
        "action": {"demo": "生成演示数据", "import": "导入", "rollback": "回滚"},
    },
    "en": {
        "type": {"contractor": "Contractor", "fabricator": "Fabricator", "processor": "Processor",
                 "trader": "Trader", "retail": "Retail", "other": "Other"},
        "category": {"rebar": "Rebar", "wire_rod": "Wire rod", "hrc": "HRC", "crc": "CRC",
                     "galvanized": "Galvanized", "plate": "Plate", "strip": "Strip",
                     "sections": "Sections", "pipe": "Pipe"},
        "province": {},
        "table": {"customers": "Customers", "orders": "Order lines", "products": "Products",
                  "invoices": "Invoices", "payments": "Payments", "surveys": "Surveys",
                  "complaints": "Complaints", "market_prices": "Market prices",
                  "inventory": "Inventory", "contacts": "Contacts"},
        "action": {"demo": "Demo build", "import": "Import", "rollback": "Rollback"},
    },
}


class Labels:
    """Text and formatting for one language; pass it to charts and tables."""

    def __init__(self, lang: str = DEFAULT_LANG):
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}")
        self.lang = lang
        self._text = TEXT[lang]

    def __call__(self, key: str, **kwargs: object) -> str:
        text = self._text[key]
        return text.format(**kwargs) if kwargs else text

    def value(self, field: str, value: object) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return VALUES[self.lang].get(field, {}).get(str(value), str(value))

    def values(self, field: str, series: pd.Series) -> pd.Series:
        mapping = VALUES[self.lang].get(field, {})
        return series.map(lambda v: mapping.get(str(v), v) if v is not None else v)

    def column(self, name: str) -> str:
        return self._text.get(f"col_{name}", name)

    # -- formatting -------------------------------------------------------------------------
    def money(self, value: float) -> str:
        """Chinese: 万元 / 亿元 where large; English: ¥ with k / M / bn. Short enough for a card."""
        if value is None or math.isnan(value):
            return "—"
        a = abs(value)
        if self.lang == "zh":
            if a >= 1e8:
                return f"{value / 1e8:,.2f}亿元"
            if a >= 1e6:  # no thousands separator with 万: 2014万元, as Chinese reports write it
                return f"{value / 1e4:.0f}万元"
            if a >= 1e4:
                return f"{value / 1e4:.1f}万元"
            return f"{value:,.0f}元"
        if a >= 1e9:
            return f"¥{value / 1e9:,.2f}bn"
        if a >= 1e6:
            return f"¥{value / 1e6:,.1f}M"
        if a >= 1e4:
            return f"¥{value / 1e3:,.0f}k"
        return f"¥{value:,.0f}"

    def tonnes(self, value: float) -> str:
        if value is None or math.isnan(value):
            return "—"
        if self.lang == "zh":
            return f"{value / 1e4:,.2f}万吨" if abs(value) >= 1e5 else f"{value:,.0f}吨"
        return f"{value:,.0f} t"

    def number(self, value: float, digits: int = 0) -> str:
        if value is None or math.isnan(value):
            return "—"
        return f"{value:,.{digits}f}"

    def percent(self, value: float, digits: int = 1) -> str:
        if value is None or math.isnan(value):
            return "—"
        return f"{value:.{digits}f}%"

    def days(self, value: float) -> str:
        if value is None or math.isnan(value):
            return "—"
        return f"{value:,.0f}天" if self.lang == "zh" else f"{value:,.0f} days"

    def month(self, d: date | pd.Timestamp) -> str:
        return f"{d.year}年{d.month}月" if self.lang == "zh" else pd.Timestamp(d).strftime("%b %Y")

    def date(self, d: date | pd.Timestamp) -> str:
        return f"{d.year}年{d.month}月{d.day}日" if self.lang == "zh" else \
            pd.Timestamp(d).strftime("%d %b %Y")

    def kpi(self, name: str, value: float) -> str:
        if name.endswith("_cny"):
            return self.money(value)
        if name == "volume_t":
            return self.tonnes(value)
        if name.endswith("_pct"):
            return self.percent(value)
        if name.endswith("_days"):
            return self.days(value)
        return self.number(value)

    def change(self, name: str, value: float) -> str | None:
        """A change for st.metric's delta; None when it cannot be computed."""
        if value is None or math.isnan(value):
            return None
        if name.endswith("_pct"):
            return f"{value:+.2f}{self('pp')}" if self.lang == "zh" else f"{value:+.2f}pp"
        return f"{value:+.1f}%"
