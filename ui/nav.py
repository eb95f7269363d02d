"""The pages, their files, titles (label keys) and icons — in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    key: str
    path: str
    label: str
    icon: str


PAGES = (
    Page("overview", "app.py", "page_overview", "📊"),
    Page("pyramid", "pages/1_pyramid.py", "page_pyramid", "🔺"),
    Page("abc", "pages/2_abc.py", "page_abc", "🅰️"),
    Page("grading", "pages/3_grading.py", "page_grading", "🏅"),
    Page("customer", "pages/4_customer.py", "page_customer", "🗂️"),
    Page("churn", "pages/5_churn.py", "page_churn", "⚠️"),
    Page("followups", "pages/15_followups.py", "page_followups", "📋"),
    Page("satisfaction", "pages/6_satisfaction.py", "page_satisfaction", "😊"),
    Page("complaints", "pages/7_complaints.py", "page_complaints", "📣"),
    Page("credit", "pages/8_credit.py", "page_credit", "💳"),
    Page("market", "pages/11_market.py", "page_market", "📈"),
    Page("inventory", "pages/12_inventory.py", "page_inventory", "🏗️"),
    Page("products", "pages/13_products.py", "page_products", "🧱"),
    Page("team", "pages/14_team.py", "page_team", "👥"),
    Page("audit", "pages/10_audit.py", "page_audit", "📜"),
    Page("data", "pages/9_data.py", "page_data", "🗄️"),
)
