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
    Page("data", "pages/9_data.py", "page_data", "🗄️"),
)
