"""Both languages complete; formatting as each language's readers expect."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analytics.display.i18n import LANGS, TEXT, VALUES, Labels
from analytics.domain.overview import KPIS
from analytics.store.period import PRESETS
from ui.nav import PAGES

ROOT = Path(__file__).resolve().parents[1]


def test_both_languages_have_the_same_keys() -> None:
    assert set(TEXT["zh"]) == set(TEXT["en"])
    for field in VALUES["zh"]:
        if field == "province":  # English shows the stored (pinyin) names
            continue
        assert set(VALUES["zh"][field]) == set(VALUES["en"][field]), field


def test_every_key_used_in_code_exists() -> None:
    used: set[str] = set()
    for path in [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py"),
                 *ROOT.glob("analytics/**/*.py")]:
        used |= set(re.findall(r"labels\(\"([a-z0-9_]+)\"[,)]", path.read_text()))
    used |= {p.label for p in PAGES}
    used |= {f"kpi_{k}" for k in KPIS} | {f"help_{k}" for k in KPIS}
    used |= {f"period_{p}" for p in PRESETS}
    missing = sorted(k for k in used if k not in TEXT["zh"])
    assert not missing, missing


@pytest.mark.parametrize("lang", LANGS)
def test_no_empty_text(lang: str) -> None:
    assert all(v.strip() for v in TEXT[lang].values())


@pytest.mark.parametrize("value,zh,en", [
    (352_044_987.0, "3.52亿元", "¥352.0M"),
    (20_142_140.0, "2014万元", "¥20.1M"),
    (634_000.0, "63.4万元", "¥634k"),
    (9_876.0, "9,876元", "¥9,876"),
    (-1_500_000.0, "-150万元", "¥-1.5M"),
    (2_500_000_000.0, "25.00亿元", "¥2.50bn"),
    (float("nan"), "—", "—"),
], ids=["hundred-million", "ten-million", "ten-thousand", "small", "negative", "billion", "nan"])
def test_money(value: float, zh: str, en: str) -> None:
    assert Labels("zh").money(value) == zh
    assert Labels("en").money(value) == en


def test_tonnes_dates_changes() -> None:
    zh, en = Labels("zh"), Labels("en")
    assert zh.tonnes(99_529.4) == "99,529吨" and zh.tonnes(123_456) == "12.35万吨"
    assert en.tonnes(99_529.4) == "99,529 t"
    assert zh.month(date(2025, 3, 5)) == "2025年3月" and en.month(date(2025, 3, 5)) == "Mar 2025"
    assert zh.date(date(2025, 3, 5)) == "2025年3月5日"
    assert zh.change("margin_pct", 0.634) == "+0.63个点" and en.change("revenue_cny", -17.7) \
        == "-17.7%"
    assert en.change("revenue_cny", float("nan")) is None


def test_values_are_mapped_and_unknown_values_pass_through() -> None:
    zh = Labels("zh")
    assert zh.value("type", "contractor") == "施工单位"
    assert zh.value("category", "hrc") == "热轧板卷"
    assert zh.value("type", "shipyard") == "shipyard"


def test_both_texts_of_a_key_take_the_same_placeholders() -> None:
    """A {placeholder} in one language only is either never filled or raises a KeyError in
    the other; the catalogue keeps both texts of a key side by side so this is seen."""
    import string

    from analytics.display import text

    def fields(s: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(s) if name}

    differ = sorted(k for k, (zh, en) in text.TEXT.items() if fields(zh) != fields(en))
    assert not differ, differ


def test_every_coded_value_has_its_words() -> None:
    """Enum values are put into words one way, through VALUES (``labels.value``): each field
    a code translates covers every value the code can produce, in both languages."""
    from analytics.display import text
    from analytics.domain import abc, credit, grading
    from analytics.domain.churn.features import AT_STAKE, PROCESS_INPUTS, feature_table
    from analytics.domain.churn.model import BAND_NAMES, MODELS, SCORERS
    from analytics.domain.churn.settings import SPACINGS
    from analytics.ops import ingest
    from analytics.store.warehouse import tables_from_frames

    tables = tables_from_frames({"orders": pd.DataFrame({
        "order_id": ["1", "2"], "order_date": ["2024-01-05", "2024-03-05"],
        "customer_id": ["C1", "C1"], "amount_cny": [1e5, 2e5]})})
    produced = {"band": BAND_NAMES, "scorer": SCORERS, "model": MODELS, "spacing": SPACINGS,
                "grade": grading.GRADES, "band_mode": grading.MODES,
                "value_factor": [k for k, _ in grading.VALUE_WEIGHTS],
                "quadrant": ("invest", "maintain", "develop", "reduce"),
                "abc_name": abc.CLASSES, "xyz_name": abc.XYZ,
                "product_level": abc.PRODUCT_LEVELS, "ageing_by": credit.AGEING_BY,
                "import_mode": ingest.MODES,
                "setting": ("horizon", "warmup", "tests", "cutoff", "spacing"),
                # every feature a minimal transaction log gives the model
                "feature": [c for c in feature_table(tables, [date(2024, 6, 30)]).columns
                            if c not in ("customer_id", "cutoff", *AT_STAKE, *PROCESS_INPUTS)]}
    for field, values in produced.items():
        missing = [v for v in values if v not in text.VALUES[field]]
        assert not missing, (field, missing)
        assert all(zh and en for zh, en in (text.VALUES[field][v] for v in values)), field


def test_a_language_change_reported_after_the_state_was_cleared_changes_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A sign-in clears the widgets' state while the browser may still report the language
    radio's change (seen as a KeyError page on a rep's and a manager's first click): the
    language stays as it was; a change that is there is taken."""
    from ui import frame

    state: dict[str, str] = {"lang": "zh"}
    monkeypatch.setattr(frame.st, "session_state", state)
    frame._take_language()
    assert state == {"lang": "zh"}
    state["w_lang"] = "en"
    frame._take_language()
    assert state["lang"] == "en"
