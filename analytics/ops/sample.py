"""A realistic demo steel trader, generated deterministically from a seed (docs/sample-data.md).

The targets it must meet are in docs/sample-data.md; a constant that departs from a published
number says why. The company sells from Lecong (乐从, Foshan) to ≈300 active customers (≈430
ever) from 2019 to 2025. Churn is driven by complaints, low satisfaction and long-overdue
payments, and a customer drifts (orders thin out) for a few months before it stops — the
signal the churn pages look for. Nothing observed after a customer's churn decision feeds
back into it.

``generate(config)`` yields (table, DataFrame) chunks, so ``scale`` reaches ten million order
lines without holding them in memory; ``generate_frames`` concatenates them for tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from analytics.domain import derive
from analytics.store import schema
from analytics.store.followups import Store
from analytics.store.warehouse import Warehouse
from analytics.store.warehouse import insert_frame as insert

START, END = date(2019, 1, 1), date(2025, 12, 31)
FOLLOWUPS = "followups"   # not a warehouse table: the follow-up store's (store.followups)

CNY = {2019: "2019-02-05", 2020: "2020-01-25", 2021: "2021-02-12", 2022: "2022-02-01",
       2023: "2023-01-22", 2024: "2024-02-10", 2025: "2025-01-29", 2026: "2026-02-17"}

# DOMAIN §7.1 multipliers, except Jan/Feb: there the Spring Festival shutdown (CNY−7 … CNY+10,
# then a three-week ramp) is applied day by day, so the table's Jan/Feb dip is not counted twice.
MONTH_MULT = np.array([0.95, 0.95, 1.15, 1.20, 1.10, 0.95, 0.85, 0.85, 1.10, 1.10, 1.05, 0.90])

# Rebar spot anchors (DOMAIN §7.2: futures + ≈80 basis), and yearly means the path is tuned to.
REBAR_ANCHORS = [("2019-01-02", 3700), ("2019-07-01", 4200), ("2019-08-29", 3450),
                 ("2020-01-02", 3750), ("2020-04-01", 3250), ("2020-12-21", 4450),
                 ("2021-05-12", 6250), ("2021-11-26", 4250), ("2022-04-01", 5250),
                 ("2022-10-31", 3500), ("2023-03-14", 4450), ("2023-05-25", 3500),
                 ("2024-01-03", 4150), ("2024-09-06", 3150), ("2025-01-27", 3450),
                 ("2025-06-03", 3000), ("2025-12-31", 3150)]
REBAR_YEAR_MEAN = {2019: 3750, 2020: 3700, 2021: 5000, 2022: 4350, 2023: 3950, 2024: 3600,
                   2025: 3230}
FUTURES_DAILY_VOL = {2019: 0.014, 2020: 0.012, 2021: 0.022, 2022: 0.017, 2023: 0.011,
                     2024: 0.012, 2025: 0.009}
SPOT_DAMPING = 0.7  # spot quotes move less than futures (DOMAIN §2.1)
HRC_REBAR_SPREAD = {2019: -40, 2020: 50, 2021: 260, 2022: 80, 2023: 100, 2024: 140, 2025: 160}

CATEGORIES = ("rebar", "wire_rod", "hrc", "crc", "galvanized", "plate", "strip", "sections",
              "pipe")
LONG = {"rebar", "wire_rod", "sections"}

# (spec, grade, extra RMB/t over the category benchmark, relative demand weight)
SPECS: dict[str, list[tuple[str, str, int, float]]] = {
    "rebar": [("Φ12", "HRB400E", 100, 1.0), ("Φ14", "HRB400E", 30, 1.0),
              ("Φ16", "HRB400E", 0, 1.5), ("Φ18", "HRB400E", 0, 1.5),
              ("Φ20", "HRB400E", 0, 1.5), ("Φ22", "HRB400E", 0, 1.2),
              ("Φ25", "HRB400E", 30, 1.0), ("Φ28", "HRB400E", 80, 0.6),
              ("Φ32", "HRB400E", 80, 0.4)],
    "wire_rod": [("Φ6.5", "HPB300", 0, 1.0), ("盘螺Φ8", "HRB400E", 100, 1.0),
                 ("盘螺Φ10", "HRB400E", 80, 1.0), ("盘螺Φ12", "HRB400E", 60, 0.6)],
    "hrc": [("2.75mm", "Q235B", 150, 0.6), ("3.0mm", "Q235B", 100, 1.0),
            ("4.75mm", "Q235B", 0, 1.2), ("6.0mm", "Q355B", 30, 0.8),
            ("10mm", "Q235B", 0, 0.5)],
    "crc": [("0.5mm", "SPCC", 200, 0.6), ("0.8mm", "SPCC", 80, 0.8), ("1.0mm", "SPCC", 0, 1.2),
            ("1.5mm", "SPCC", -30, 0.8), ("2.0mm", "DC01", -50, 0.5)],
    "galvanized": [("0.5mm", "DX51D+Z", 250, 0.8), ("1.0mm", "DX51D+Z", 0, 1.0),
                   ("1.5mm", "DX51D+Z", -40, 0.6)],
    "plate": [("8mm", "Q235B", 60, 0.8), ("12mm", "Q235B", 20, 1.0), ("20mm", "Q235B", 0, 1.2),
              ("30mm", "Q355B", 30, 0.6)],
    "strip": [("2.5×232", "Q235B", 0, 1.0), ("3.0×355", "Q195", 0, 1.0)],
    "sections": [("H型钢200×200", "Q235B", 0, 1.0), ("槽钢14#", "Q235B", 50, 0.8),
                 ("角钢5#", "Q235B", 50, 0.8), ("工字钢14#", "Q235B", 60, 0.6)],
    "pipe": [("焊管DN50", "Q235B", 0, 1.0), ("焊管DN100", "Q235B", 40, 0.8),
             ("无缝219×10", "20#", 450, 0.4)],
}

TYPES = ("contractor", "fabricator", "processor", "trader", "retail")
TYPE_SHARE = np.array([0.30, 0.25, 0.12, 0.23, 0.10])
TYPE_TONNAGE_MULT = np.array([2.0, 1.2, 1.8, 0.8, 0.1])
TYPE_ORDER_SIZE_T = np.array([60.0, 25.0, 32.0, 45.0, 3.0])
# DOMAIN §7.4 annual hazards, scaled by 0.5: with the full rates and ≈300 active customers the
# company would see ≈700 customers over seven years, not the ≈430 DOMAIN and DESIGN describe.
TYPE_HAZARD = np.array([0.20, 0.10, 0.12, 0.30, 0.45]) * 0.5
# Median 80 t and σ = 1.8 rather than DOMAIN's 150 t and 1.6: per-order noise and churn flatten
# the spread, and DOMAIN's own targets (top 20 % ≈ 75–85 % of tonnes, 80–150 kt/yr) need these.
TONNAGE_MEDIAN_T, TONNAGE_SIGMA = 80.0, 1.8

PRODUCT_MIX = {  # DOMAIN §7.4, per type, over CATEGORIES
    "contractor": [0.65, 0.25, 0, 0, 0, 0, 0, 0.10, 0],
    "fabricator": [0, 0, 0.30, 0.075, 0.075, 0.25, 0, 0.20, 0.10],
    "processor": [0, 0, 0.50, 0.25, 0, 0, 0.25, 0, 0],
    "trader": [0.35, 0.12, 0.18, 0.07, 0.05, 0.10, 0.04, 0.06, 0.03],
    "retail": [0.30, 0.20, 0, 0, 0.10, 0, 0, 0.20, 0.20],
}
TERMS = {  # (days, share) per type, DOMAIN §7.6; 180 = six-month acceptance bill
    "contractor": ([0, 30, 60, 90, 180], [0.10, 0.20, 0.35, 0.20, 0.15]),
    "fabricator": ([0, 30, 60, 180], [0.25, 0.40, 0.20, 0.15]),
    "processor": ([0, 30, 180], [0.40, 0.40, 0.20]),
    "trader": ([0, 7], [0.85, 0.15]),
    "retail": ([0], [1.0]),
}
LATENESS_SHARE = np.array([0.62, 0.23, 0.10, 0.03, 0.02])  # on time, 1–30, 31–90, 91–180, >180
COMPLAINT_RATE = 0.015  # per delivery (order)
COMPLAINT_TYPES = [("weight", 0.25, "logistics", "delivery"), ("late_delivery", 0.20,
                   "logistics", "delivery"), ("rust", 0.15, "quality", "quality"),
                   ("wrong_spec", 0.12, "sales", "quality"), ("thickness", 0.10, "quality",
                   "quality"), ("certificate", 0.06, "quality", "quality"),
                   ("billing", 0.08, "finance", "billing"), ("service", 0.04, "sales",
                   "service")]
REMEDIES = ("discount", "compensation", "return", "exchange", "explain")
SURVEY_MEANS = {"quality": (4.2, 0.6), "delivery": (3.8, 0.8), "price": (3.5, 0.8),
                "service": (4.1, 0.6), "responsiveness": (3.9, 0.7), "billing": (4.0, 0.6),
                "logistics": (3.8, 0.7)}
SATISFACTION_EFFECT_SD = 0.45  # customer random effect; DOMAIN's 0.3 makes "≤ 3" vanishingly rare
DISSATISFIED_BELOW = 3.4       # latent 1–5 score below which the churn hazard rises (×1.4)
PROVINCES = [("Guangdong", 0.70, ["佛山", "广州", "东莞", "中山", "江门", "肇庆", "清远"]),
             ("Guangxi", 0.10, ["梧州", "南宁", "玉林"]), ("Hunan", 0.07, ["郴州", "长沙"]),
             ("Jiangxi", 0.05, ["赣州"]), ("Fujian", 0.04, ["龙岩", "厦门"]),
             ("Hainan", 0.04, ["海口"])]
REPS = {"south": ["张伟", "李娜", "王强", "陈静"], "north": ["刘洋", "黄磊", "周敏", "吴刚"]}
WAREHOUSES = ("lecong_a", "lecong_b", "foshan_port")
# Follow-ups (docs/sample-data.md, "Follow-ups"): how often each rep works a customer that is
# overdue against its own cycle (some reps diligent, some not), and how often a follow-up turns
# a drifting customer back (a visit works better than a call, a senior visit to a big account
# best; a customer already gone is won back at half that rate).
REP_DILIGENCE = {"张伟": 0.8, "李娜": 0.6, "王强": 0.35, "陈静": 0.15,
                 "刘洋": 0.7, "黄磊": 0.45, "周敏": 0.25, "吴刚": 0.1}
RESCUE = {"call": 0.2, "visit": 0.5, "senior_visit": 0.6}
# ... and a follow-up brings an order forward: a customer who would not have ordered in the
# month of the follow-up orders once with this chance (one order, not more of them: a
# reminder does not make a customer buy more steel)
NUDGE = {"call": 0.15, "visit": 0.4, "senior_visit": 0.5}
FOLLOW_UP_GAP_DAYS = 60          # a customer is not worked again within two months
ROUTINE_FOLLOW_UPS = 0.004       # monthly chance of a courtesy call on a customer doing fine
FOLLOW_UP_NOTES = {"call": ["电话了解近期需求", "电话报价", "询问是否有新项目"],
                   "visit": ["上门拜访，了解停单原因", "走访工地，沟通价格", "拜访采购负责人"],
                   "senior_visit": ["总经理拜访客户老板", "高层走访，商谈年度合作"],
                   "credit_review": ["复核信用额度，催收逾期款", "暂停赊销，约谈付款计划"]}
NAME_WORDS = list("华盛鑫隆泰达恒通宏远金鼎顺丰永建联信润海佳和瑞东兴利合成安正")
NAME_SUFFIX = {"contractor": ["建设工程有限公司", "建筑工程有限公司", "建工集团项目部"],
               "fabricator": ["钢结构有限公司", "机械制造有限公司", "五金制品有限公司"],
               "processor": ["金属加工有限公司", "钢材剪切配送中心", "管业有限公司"],
               "trader": ["物资贸易有限公司", "钢铁贸易有限公司", "金属材料商行"],
               "retail": ["五金店", "建材经营部", "钢材门市部"]}
CONTACT_NOTES = {"visit": ["拜访，了解项目进度", "走访工地", "年度合作洽谈", "上门对账"],
                 "call": ["电话跟进报价", "催收回款", "确认交货时间", "回访满意度"],
                 "gift": ["中秋礼品", "春节礼品"]}


@dataclass(frozen=True)
class SampleConfig:
    seed: int = 2019
    scale: float = 1.0          # multiplies the customer count; ≈65k order lines per unit
    initial_customers: int = 300
    new_per_year: int = 24
    chunk_customers: int = 1500  # customers simulated together; bounds memory at any scale
    start: date = START
    end: date = END

    @property
    def n_initial(self) -> int:
        return max(5, round(self.initial_customers * self.scale))

    @property
    def n_new_per_year(self) -> int:
        return max(1, round(self.new_per_year * self.scale))


# --------------------------------------------------------------------------------------------
# Calendar and prices
# --------------------------------------------------------------------------------------------
def calendar(config: SampleConfig) -> pd.DataFrame:
    """One row per calendar day with the demand weight of that day (0 on Sundays, at CNY)."""
    days = pd.date_range(config.start, config.end, freq="D")
    weight = MONTH_MULT[days.month - 1] * (days.day_of_week < 6)
    for cny in CNY.values():
        offset = (days - pd.Timestamp(cny)).days.to_numpy()
        weight = np.where((offset >= -21) & (offset < -7), weight * 0.6, weight)
        weight = np.where((offset >= -7) & (offset <= 10), 0.0, weight)
        ramp = (offset > 10) & (offset <= 31)
        weight = np.where(ramp, weight * (0.3 + 0.7 * (offset - 10) / 21), weight)
    golden = (days.month == 10) & (days.day <= 7)
    weight = np.where(golden, weight * 0.2, weight)
    return pd.DataFrame({"date": days, "weight": weight, "month": days.to_period("M")})


def _ar1(rng: np.random.Generator, n: int, sd: float, phi: float = 0.98) -> np.ndarray:
    """A mean-zero AR(1) path with stationary standard deviation ``sd``."""
    eps = rng.normal(0, sd * np.sqrt(1 - phi**2), n)
    out = np.empty(n)
    out[0] = rng.normal(0, sd)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + eps[i]
    return out


def price_paths(config: SampleConfig, rng: np.random.Generator) -> pd.DataFrame:
    """Daily spot prices per category (index: every calendar day), RMB/t incl. VAT."""
    days = pd.date_range(config.start, config.end, freq="D")
    n = len(days)
    t = np.arange(n)
    anchor_idx = np.array([(pd.Timestamp(d) - days[0]).days for d, _ in REBAR_ANCHORS])
    anchor_log = np.log([v for _, v in REBAR_ANCHORS])
    base = np.interp(t, anchor_idx, anchor_log)
    vol = np.array([FUTURES_DAILY_VOL.get(d.year, 0.012) for d in days]) * SPOT_DAMPING
    walk = np.cumsum(rng.standard_t(5, n) / np.sqrt(5 / 3) * vol)
    bridge = walk - np.interp(t, anchor_idx, walk[np.clip(anchor_idx, 0, n - 1)])
    log_price = base + bridge
    years = days.year.to_numpy()
    mids = np.array([(pd.Timestamp(f"{y}-07-01") - days[0]).days for y in REBAR_YEAR_MEAN])
    for _ in range(4):  # pull each year's mean onto its target, smoothly across year ends
        ratios = [np.log(REBAR_YEAR_MEAN[y]) - np.log(np.exp(log_price[years == y]).mean())
                  for y in REBAR_YEAR_MEAN]
        log_price = log_price + np.interp(t, mids, ratios)
    rebar = np.exp(log_price)
    hr_spread = np.array([HRC_REBAR_SPREAD.get(y, 100) for y in years], dtype=float)
    hr_spread = pd.Series(hr_spread).rolling(60, min_periods=1, center=True).mean().to_numpy()
    hrc = rebar + hr_spread + _ar1(rng, n, 80)
    crc = hrc + np.clip(620 + _ar1(rng, n, 100), 400, 850)
    strip = hrc + _ar1(rng, n, 40)
    paths = {
        "rebar": rebar, "hrc": hrc, "crc": crc,
        "galvanized": crc + 450 + _ar1(rng, n, 120),
        "plate": hrc - 60 + _ar1(rng, n, 80),
        "strip": strip,
        "pipe": strip + 350 + _ar1(rng, n, 60),
        "wire_rod": rebar + 180 + _ar1(rng, n, 70),
        "sections": rebar + 120 + _ar1(rng, n, 80),
    }
    frame = pd.DataFrame({k: np.round(v / 10) * 10 for k, v in paths.items()}, index=days)
    frame["rb_futures"] = np.round(rebar - 80 - _ar1(rng, n, 80))
    frame["hc_futures"] = np.round(hrc - _ar1(rng, n, 80))
    return frame


def market_prices(prices: pd.DataFrame) -> pd.DataFrame:
    """Long table: Lecong spot quotes (Mon–Sat) and SHFE rb/hc futures closes (Mon–Fri)."""
    weekday = pd.DatetimeIndex(prices.index).day_of_week
    spot = prices.loc[weekday < 6, list(CATEGORIES)]  # spot markets quote Monday to Saturday
    fut = prices.loc[weekday < 5, ["rb_futures", "hc_futures"]].set_axis(["rebar", "hrc"],
                                                                         axis=1)
    parts = []
    for frame, market in ((spot, "lecong"), (fut, "shfe")):
        long = frame.rename_axis("date").reset_index().melt(
            id_vars="date", var_name="product", value_name="price_cny_per_t")
        long["market"], long["source"] = market, "demo"
        parts.append(long)
    out = pd.concat(parts, ignore_index=True)
    out["date"] = out["date"].dt.date
    return out[["date", "product", "market", "price_cny_per_t", "source"]]


def average_cost(prices: pd.DataFrame, age_days: float = 15.0) -> pd.DataFrame:
    """Weighted-average cost of stock bought at market.

    With ≈30 days of cover the average unit sold has been in stock ≈15 days, so the cost trails
    the market by about that much: margins shrink, and turn negative, when prices fall fast.
    """
    return prices[list(CATEGORIES)].ewm(alpha=1 / age_days, adjust=False).mean()


# --------------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------------
def customers_master(config: SampleConfig, rng: np.random.Generator) -> pd.DataFrame:
    n0, per_year = config.n_initial, config.n_new_per_year
    years = range(config.start.year, config.end.year + 1)
    arrivals = [pd.Timestamp(config.start)] * n0
    for y in years:
        days = rng.integers(0, 365, per_year)
        arrivals += list(pd.Timestamp(f"{y}-01-01") + pd.to_timedelta(days, unit="D"))
    n = len(arrivals)
    type_idx = rng.choice(len(TYPES), n, p=TYPE_SHARE)
    annual_t = np.minimum(
        rng.lognormal(np.log(TONNAGE_MEDIAN_T), TONNAGE_SIGMA, n) * TYPE_TONNAGE_MULT[type_idx],
        30_000)
    prov_idx = rng.choice(len(PROVINCES), n, p=[p[1] for p in PROVINCES])
    cities = [PROVINCES[i][2][rng.integers(len(PROVINCES[i][2]))] for i in prov_idx]
    team = np.where(prov_idx == 0, "south", "north")
    reps = [REPS[tm][rng.integers(4)] for tm in team]
    tenure_years = np.where(np.arange(n) < n0, rng.uniform(0, 12, n), 0)
    first_order = pd.to_datetime(arrivals) - pd.to_timedelta(tenure_years * 365, unit="D")
    payer = rng.normal(0, 1, n)  # payment behaviour: positive = pays later
    grade = np.select([payer < -1, payer < 0, payer < 0.8, payer < 1.6],
                      ["AAA", "AA", "A", "B"], "C")
    terms = np.array([rng.choice(TERMS[TYPES[t]][0], p=TERMS[TYPES[t]][1]) for t in type_idx])
    factor = pd.Series(grade).map({"AAA": 2.0, "AA": 1.0, "A": 0.8, "B": 0.6, "C": 0.0})
    monthly_sales = annual_t * 4000 / 12
    limit = np.round(monthly_sales * terms / 30 * factor.to_numpy() / 10_000) * 10_000
    names = [f"{city}{''.join(rng.choice(NAME_WORDS, 2))}"
             f"{NAME_SUFFIX[TYPES[t]][rng.integers(3)]}" for city, t in zip(cities, type_idx,
                                                                             strict=True)]
    rank = pd.Series(annual_t).rank(pct=True).to_numpy()
    relationship = np.select([rank > 0.97, rank > 0.8, rank > 0.4],
                             ["strategic_alliance", "partner", "preferred_supplier"],
                             "transactional")
    founded = [f"{int(y)}-{int(m):02d}-{int(d):02d}" for y, m, d in zip(
        rng.integers(1995, 2016, n), rng.integers(1, 13, n), rng.integers(1, 29, n),
        strict=True)]
    birthday = [f"{int(m):02d}-{int(d):02d}" for m, d in zip(rng.integers(1, 13, n),
                                                             rng.integers(1, 29, n), strict=True)]
    surname = rng.choice(list("陈李张黄何林罗梁郑谢"), n)
    given = rng.choice(["总", "经理", "工", "老板"], n)
    return pd.DataFrame({
        "customer_id": [f"C{i + 1:05d}" for i in range(n)],
        "name": names,
        "type": np.array(TYPES)[type_idx],
        "industry": np.array(["construction", "manufacturing", "steel_processing",
                              "steel_trading", "retail"])[type_idx],
        "province": [PROVINCES[i][0] for i in prov_idx],
        "city": cities,
        "sales_rep": reps,
        "relationship_level": relationship,
        # development stage 潜在 → 准 → 目标 → 大 → 重点, a master field kept by the sales team
        "stage": np.select([rank > 0.9, rank > 0.6, rank > 0.2, rank > 0.07],
                           ["focus", "key", "target", "qualified"], "potential"),
        "first_order_date": first_order.date,
        "credit_grade": grade,
        "credit_limit_cny": limit,
        "payment_terms_days": terms,
        "guarantee": np.where(terms >= 60, rng.choice(["mortgage", "guarantor", "none"], n),
                              "none"),
        "registered_capital_cny": np.round(rng.lognormal(np.log(5e6), 1.0, n), -4),
        "industry_influence": np.clip(np.ceil(rank * 4 + rng.normal(0, 0.6, n)), 1, 4).astype(int),
        "strategic_fit": rng.integers(1, 5, n),
        # our share of the customer's steel purchases: traders and contractors shop around
        "estimated_purchases_cny": np.round(annual_t * 4000 / np.clip(
            rng.beta(*np.array([(4, 2), (5, 2), (5, 2), (2, 4), (2, 3)])[type_idx].T), 0.05, 1),
            -4),
        "product_importance": None,  # not kept by the demo company: graded as "no data"
        "relationship_depth": np.clip(np.ceil(rank * 4 + rng.normal(0, 0.7, n)), 1, 4).astype(int),
        "prospects": None,
        "impact_if_lost": None,
        "key_contact": [f"{s}{g}" for s, g in zip(surname, given, strict=True)],
        "key_dates": [json.dumps({"founded": f, "contact_birthday": b}) for f, b in
                      zip(founded, birthday, strict=True)],
        # hidden simulation state, dropped before writing
        "_arrival": pd.to_datetime(arrivals), "_type_idx": type_idx, "_annual_t": annual_t,
        "_payer": payer, "_rank": rank,
    })


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------
@dataclass
class _Chunk:
    orders: pd.DataFrame
    lines: pd.DataFrame
    invoices: pd.DataFrame
    payments: pd.DataFrame
    complaints: pd.DataFrame
    surveys: pd.DataFrame
    contacts: pd.DataFrame
    followups: pd.DataFrame


class _FollowUps:
    """The follow-up side of the simulation: who is worked each month, with what action, and
    what it does (turns a drifting customer back, brings orders forward). Its own random
    stream: who is followed up does not depend on the company's draws (the orders drawn after
    a follow-up that changed something are, of course, drawn anew)."""

    def __init__(self, cust: pd.DataFrame, rng: np.random.Generator):
        n = len(cust)
        self.rng = rng
        self.reps = cust["sales_rep"].to_numpy()
        self.diligence = np.array([REP_DILIGENCE.get(r, 0.3) for r in self.reps])
        self.rank = cust["_rank"].to_numpy()
        self.first_day = np.full(n, 10 ** 9)    # what the company sees of each customer's
        self.last_day = np.full(n, -(10 ** 9))  # orders: first and latest day, and how many
        self.n_orders = np.zeros(n, dtype=np.int64)
        self.last_fu = np.full(n, -(10 ** 9))
        self.nudge = np.zeros(n)   # this month's chance of an order brought forward
        # customers a follow-up kept: they buy at their full rate, whatever the company's own
        # draws say, until they leave again (kept_until: the day they do; max = never)
        self.kept = np.zeros(n, dtype=bool)
        self.kept_until = np.full(n, np.iinfo(np.int64).max)
        self.ever_kept = np.zeros(n, dtype=bool)
        self.records: list[tuple[int, int, str, bool, bool, bool]] = []

    def month(self, m_start: int, present: np.ndarray, alive: np.ndarray,
              fading_left: np.ndarray, churn_day: np.ndarray, overdue: np.ndarray) -> None:
        """Work this month's list (before its orders) and note what the follow-ups do; the
        company's own state (``present`` … ``overdue``) is read, never changed."""
        rng, n = self.rng, len(self.reps)
        # who is worked depends only on what the company can see (the days since the last
        # order against the usual gap) and on the rep: never on whether the customer has in
        # fact decided to leave, which nobody sees. The comparison on the follow-up page can
        # then recover the effect below (tests/test_followups.py).
        since = m_start - self.last_day
        bought = self.last_day >= 0
        # its usual gap as seen so far (the mean of its gaps; a one-order customer: 90 days)
        gap = np.where(self.n_orders >= 2, (self.last_day - self.first_day)
                       / np.maximum(self.n_orders - 1, 1), 90.0)
        flagged = bought & (since > np.maximum(2 * gap, 30)) & (since < 400)
        free = m_start - self.last_fu >= FOLLOW_UP_GAP_DAYS
        u = rng.random(n)
        picked = flagged & free & (u < self.diligence)
        routine = bought & ~flagged & free & (rng.random(n) < ROUTINE_FOLLOW_UPS)
        gone_lately = ~alive & (churn_day > m_start - 180)
        v = rng.random(n)
        action = np.where(self.rank > 0.95, np.where(v < 0.6, "senior_visit", "visit"),
                          np.where(self.rank > 0.7, np.where(v < 0.5, "visit", "call"),
                                   np.where(v < 0.8, "call", "visit")))
        action = np.where(routine, "call", action)
        # a customer long overdue on its payments gets a credit review, not a sales call:
        # nobody wants more of its orders until it pays
        action = np.where(picked & overdue, "credit_review", action)
        rescue = np.vectorize(lambda a: RESCUE.get(a, 0.0), otypes=[float])(action)
        w = rng.random(n)
        drifting = picked & present & (fading_left > 0) & ~self.kept
        turned = drifting & (w < rescue)
        won_back = picked & gone_lately & ~self.kept & (w < rescue / 2)
        newly = turned | won_back
        self.kept |= newly
        self.ever_kept |= newly
        self.kept_until[newly] = np.iinfo(np.int64).max
        worked = picked & (present | self.kept)
        self.nudge = np.where(worked, np.vectorize(lambda a: NUDGE.get(a, 0.0),
                                                   otypes=[float])(action), 0.0)
        for c in np.flatnonzero(picked | routine):
            self.records.append((int(c), m_start, str(action[c]), bool(picked[c]),
                                 bool(turned[c] or won_back[c]), bool(drifting[c]
                                                                      or gone_lately[c])))
        self.last_fu[picked | routine] = m_start

    def extra_orders(self, full: np.ndarray, drawn_rate: np.ndarray, counts: np.ndarray,
                     m_start: int, hazard: np.ndarray) -> np.ndarray:
        """This month's orders the follow-ups added, per customer: a kept customer's orders
        beyond what the company's draws gave it (its full rate less the drifting or stopped
        rate drawn), and one order brought forward where a follow-up met no order. A kept
        customer leaves again at its own monthly hazard."""
        rng = self.rng
        leaving = self.kept & (rng.random(len(full)) < hazard)
        self.kept_until[leaving] = m_start
        self.kept &= ~leaving
        missing = np.where(self.kept, np.clip(full - drawn_rate, 0, None), 0.0)
        extra = rng.poisson(missing)
        brought = (counts + extra == 0) & (rng.random(len(full)) < self.nudge)
        self.nudge[:] = 0.0
        return extra + brought

    def ordered(self, cust_idx: np.ndarray, day: np.ndarray) -> None:
        np.maximum.at(self.last_day, cust_idx, day)
        np.minimum.at(self.first_day, cust_idx, day)
        np.add.at(self.n_orders, cust_idx, 1)

    def frame(self, cust: pd.DataFrame, day0: pd.Timestamp, n_days: int) -> pd.DataFrame:
        """The follow-ups as the store holds them: done with an outcome, or still open when
        the data ends before the rep got to it."""
        rng = self.rng
        rows = []
        ids, names = cust["customer_id"].to_numpy(), cust["name"].to_numpy()
        for c, m_start, action, listed, turned, at_risk in self.records:
            on = m_start + int(rng.integers(0, 10))
            due = on + (14 if action in ("visit", "senior_visit") else 7)
            # a diligent rep gets to it within days, a careless one weeks after it was due
            finished = on + 2 + int(rng.exponential(10 / self.diligence[c]))
            by = "executive" if action == "senior_visit" else str(self.reps[c])
            if turned:
                outcome = str(rng.choice(["order_promised", "order_placed"]))
            elif at_risk:
                outcome = str(rng.choice(["lost_competitor", "lost_price", "no_answer",
                                          "reached", "lost_credit"],
                                         p=[0.3, 0.25, 0.2, 0.15, 0.1]))
            else:
                outcome = str(rng.choice(["reached", "order_promised"], p=[0.7, 0.3]))
            is_done = finished < n_days
            rows.append({
                "customer_id": ids[c], "customer_name": names[c], "assignee": by,
                "assigned_by": "manager" if listed and action != "call" else by,
                "created_at": (day0 + pd.Timedelta(days=on, hours=9)).isoformat(),
                "due": (day0 + pd.Timedelta(days=due)).date().isoformat(),
                "action": action,
                "note": str(rng.choice(FOLLOW_UP_NOTES[action])),
                "source": "churn" if listed else None,
                "reason": "status_overdue" if listed else None,
                "status": "done" if is_done else "open",
                "done_at": (day0 + pd.Timedelta(days=finished, hours=17)).isoformat()
                if is_done else None,
                "done_by": by if is_done else None,
                "outcome": outcome if is_done else None,
            })
        return pd.DataFrame(rows, columns=["customer_id", "customer_name", "assignee",
                                           "assigned_by", "created_at", "due", "action",
                                           "note", "source", "reason", "status", "done_at",
                                           "done_by", "outcome"])


def _month_orders(cust_idx: np.ndarray, in_month: np.ndarray, m: int, m_start: int,
                  m_end: int, rng: np.random.Generator, *, weight: np.ndarray,
                  arrival_day: np.ndarray, type_idx: np.ndarray, terms: np.ndarray,
                  late_cum: np.ndarray, cal: pd.DataFrame, cal_year: np.ndarray, n_days: int,
                  ovd: tuple[np.ndarray, np.ndarray] | None, complaints_m: np.ndarray | None,
                  fu: _FollowUps) -> tuple[np.ndarray, ...]:
    """The month's orders of ``cust_idx`` (one entry per order): day, tonnes, delivery, due,
    payment and complaint. ``ovd`` and ``complaints_m`` (the history the churn decisions
    read) are updated when given."""
    p = weight[in_month] / weight[in_month].sum()
    day = in_month[np.searchsorted(np.cumsum(p), rng.random(len(cust_idx)) * 0.999999)]
    day = np.maximum(day, np.minimum(arrival_day[cust_idx], m_end))
    fu.ordered(cust_idx, day)
    size = TYPE_ORDER_SIZE_T[type_idx[cust_idx]]
    tonnes = rng.lognormal(np.log(size) - 0.245, 0.7)  # mean = size
    trucks = np.maximum(1, np.round(tonnes / 32))
    tonnes = np.where(tonnes >= 28, trucks * rng.uniform(30, 34, len(tonnes)), tonnes)
    tonnes = np.round(np.maximum(tonnes, 0.5), 3)
    delivery = np.minimum(day + rng.integers(0, 4, len(day)), n_days + 400)
    t_days = terms[cust_idx]
    due = delivery + t_days
    u = rng.random(len(day))
    late_cls = (u[:, None] > late_cum[cust_idx]).sum(1)
    late_cls = np.where(t_days == 0, 0, late_cls)  # cash customers pay before delivery
    lo = np.array([-10, 1, 31, 91, 181])[late_cls]
    hi = np.array([0, 30, 90, 180, 400])[late_cls]
    late = rng.integers(lo, hi + 1)
    year = cal_year[np.minimum(day, n_days - 1)]
    contractor = type_idx[cust_idx] == 0
    late = np.where(contractor & (late > 0),
                    np.round(late * np.where(year >= 2022, 1.6, 0.8)), late).astype(int)
    paid = np.maximum(due + late, delivery)
    paid = np.where((late_cls == 4) & (rng.random(len(day)) < 0.05), -1, paid)  # bad debt
    long_late = late > 60
    if ovd is not None and long_late.any():
        ovd_start, ovd_end = ovd
        s = due[long_late] + 60
        e = np.where(paid[long_late] < 0, np.inf, paid[long_late]).astype(float)
        ci = cust_idx[long_late]
        for c, s_, e_ in zip(ci, s, e, strict=True):
            if e_ > ovd_end[c]:
                ovd_start[c] = s_ if ovd_end[c] < s_ else ovd_start[c]
                ovd_end[c] = e_
    mo = cal["date"].iloc[m_start].month
    season = 1.5 if mo in (3, 4, 9, 10) else 1.3 if mo in (5, 6, 7, 8) else 1.0
    complained = rng.random(len(day)) < COMPLAINT_RATE * season
    if complaints_m is not None:
        np.add.at(complaints_m[:, m], cust_idx[complained], 1)
    return (cust_idx, day, tonnes, delivery, due, paid, late_cls, complained)


def _simulate_chunk(cust: pd.DataFrame, cal: pd.DataFrame, prices: pd.DataFrame,
                    avg_cost: pd.DataFrame, rng: np.random.Generator, first_order_no: int,
                    end: date, fu_rng: np.random.Generator | None = None) -> _Chunk:
    n = len(cust)
    type_idx = cust["_type_idx"].to_numpy()
    months = cal["month"].unique()
    day0 = cal["date"].iloc[0]
    n_days = len(cal)
    weight = cal["weight"].to_numpy()
    month_of_day = cal["month"].to_numpy()
    cal_year = cal["date"].dt.year.to_numpy()
    year_weight = pd.Series(weight).groupby(cal_year).transform("sum").to_numpy()
    annual_orders = cust["_annual_t"].to_numpy() / TYPE_ORDER_SIZE_T[type_idx]
    arrival_day = (cust["_arrival"] - day0).dt.days.to_numpy()
    terms = cust["payment_terms_days"].to_numpy()
    payer = cust["_payer"].to_numpy()
    satisfaction = 3.9 + rng.normal(0, SATISFACTION_EFFECT_SD, n)
    monthly_hazard = 1 - (1 - TYPE_HAZARD[type_idx]) ** (1 / 12)
    lumpiness = np.where(type_idx == 0, 1.5, 4.0)  # contractors order in project bursts

    alive = np.ones(n, dtype=bool)
    fading_left = np.full(n, -1)        # months of drifting left before the customer stops
    churn_day = np.full(n, np.iinfo(np.int64).max)
    complaints_m = np.zeros((n, len(months)), dtype=np.int16)
    ovd_start = np.full(n, np.inf)
    ovd_end = np.full(n, -np.inf)
    recs: list[tuple[np.ndarray, ...]] = []
    fu = _FollowUps(cust, fu_rng or np.random.default_rng(0))

    tilt = np.exp(np.outer(0.25 * payer, np.arange(5)))  # later classes likelier for bad payers
    late_p = LATENESS_SHARE * tilt
    late_cum = np.cumsum(late_p / late_p.sum(1, keepdims=True), axis=1)

    for m, month in enumerate(months):
        in_month = np.flatnonzero(month_of_day == month)
        m_start, m_end = in_month[0], in_month[-1]
        share = weight[in_month].sum() / year_weight[m_start]
        # --- follow-ups of the customers overdue against their cycle, then the churn
        # decision for this month, both from what happened before it -------------------------
        present = alive & (arrival_day <= m_end)
        overdue = (ovd_start <= m_start) & (ovd_end > m_start)
        fu.month(m_start, present, alive, fading_left, churn_day, overdue)
        present = alive & (arrival_day <= m_end)
        recent_complaints = complaints_m[:, max(0, m - 6):m].sum(1)
        hazard = monthly_hazard * np.where(recent_complaints >= 2, 1.5, 1.0) \
            * np.where(satisfaction - 0.09 * recent_complaints < DISSATISFIED_BELOW, 1.4, 1.0) \
            * np.where(overdue, 1.3, 1.0)
        decide = present & (fading_left < 0) & (rng.random(n) < hazard)
        fading_left = np.where(decide, rng.integers(1, 4, n), fading_left)
        stopping = present & (fading_left == 0)
        alive &= ~stopping
        churn_day = np.where(stopping, m_start, churn_day)
        present &= ~stopping
        # --- orders this month --------------------------------------------------------------
        full = annual_orders * share * rng.gamma(lumpiness, 1 / lumpiness)
        if m_start < arrival_day.max():  # a customer arriving mid-month buys from its arrival
            full = full * np.clip((m_end - arrival_day + 1) / len(in_month), 0, 1)
        rate = np.where(fading_left > 0, full * 0.35, full)
        counts = np.where(present, rng.poisson(rate), 0)
        fading_left = np.where(fading_left > 0, fading_left - 1, fading_left)
        # the follow-ups' orders: what the customers they kept would have bought, and an order
        # brought forward; drawn from their own stream, and left out of the overdue and
        # complaint history the churn decisions read, so the rest of the company's life is
        # drawn exactly as it would be without follow-ups
        extra = fu.extra_orders(full, np.where(present, rate, 0.0), counts, m_start,
                                monthly_hazard)
        for n_orders_each, gen, feeds_back in ((counts, rng, True), (extra, fu.rng, False)):
            if n_orders_each.sum() == 0:
                continue
            recs.append(_month_orders(
                np.repeat(np.arange(n), n_orders_each), in_month, m, m_start, m_end, gen,
                weight=weight, arrival_day=arrival_day, type_idx=type_idx, terms=terms,
                late_cum=late_cum, cal=cal, cal_year=cal_year, n_days=n_days,
                ovd=(ovd_start, ovd_end) if feeds_back else None,
                complaints_m=complaints_m if feeds_back else None, fu=fu))

    # a customer a follow-up kept leaves when it leaves again, not when the draws said
    churn_day = np.where(fu.ever_kept, np.maximum(churn_day, fu.kept_until), churn_day)
    cols = [np.concatenate(x) for x in zip(*recs, strict=True)] if recs else \
        [np.array([], dtype=int)] * 8
    order_sort = np.lexsort((cols[0], cols[1]))  # by day, then customer
    cols = [c[order_sort] for c in cols]
    cust_idx, day, tonnes, delivery, due, paid, _late_cls, complained = cols
    cust_idx = cust_idx.astype(int)
    complained = complained.astype(bool)
    n_orders = len(day)
    order_no = first_order_no + np.arange(n_orders)
    order_ids = np.char.add("SO", np.char.zfill(order_no.astype(str), 8))
    ids = cust["customer_id"].to_numpy()
    dates = (day0 + pd.to_timedelta(day, unit="D"))
    end_ts = pd.Timestamp(end)

    # --- order lines ---------------------------------------------------------------------
    # 1 + Poisson(1.2) products per order (DOMAIN §7.5), each delivered in truckloads of ≤ 34 t:
    # one order line per product and truck, as steel ERPs book them.
    n_items = np.minimum(1 + rng.poisson(1.2, n_orders), 5)
    item_order = np.repeat(np.arange(n_orders), n_items)
    split = rng.gamma(2.0, 1.0, len(item_order))
    item_t = tonnes[item_order] * split / np.bincount(item_order, split)[item_order]
    trucks = np.maximum(1, np.ceil(item_t / 34)).astype(int)
    item_of_line = np.repeat(np.arange(len(item_order)), trucks)
    line_order = item_order[item_of_line]
    counts_per_order = np.bincount(line_order, minlength=n_orders)
    line_no = np.arange(len(line_order)) - np.repeat(np.cumsum(counts_per_order)
                                                      - counts_per_order, counts_per_order) + 1
    line_t = np.round(np.maximum(item_t[item_of_line] / trucks[item_of_line], 0.2), 3)
    mix = np.array([PRODUCT_MIX[TYPES[t]] for t in range(len(TYPES))]) + 0.004
    prefs = np.vstack([rng.dirichlet(5 * mix[t] / mix[t].sum()) for t in type_idx])
    lc = cust_idx[line_order]
    ic = cust_idx[item_order]
    item_cat = (rng.random(len(item_order))[:, None] > np.cumsum(prefs[ic], 1)).sum(1)
    item_cat = np.minimum(item_cat, len(CATEGORIES) - 1)
    item_spec = np.empty(len(item_cat), dtype=int)
    for k, name in enumerate(CATEGORIES):
        sel = item_cat == k
        w = np.array([s[3] for s in SPECS[name]])
        item_spec[sel] = rng.choice(len(w), sel.sum(), p=w / w.sum())
    cat, spec_idx = item_cat[item_of_line], item_spec[item_of_line]
    extras = {k: np.array([s[2] for s in SPECS[name]]) for k, name in enumerate(CATEGORIES)}
    extra = np.empty(len(cat))
    for k in extras:
        sel = cat == k
        extra[sel] = extras[k][spec_idx[sel]]
    cat_names = np.array(CATEGORIES)[cat]
    line_day = day[line_order]
    market = prices[list(CATEGORIES)].to_numpy()[line_day, cat]
    cost_pt = avg_cost.to_numpy()[line_day, cat] + extra
    is_long = np.isin(cat_names, list(LONG))
    rank = cust["_rank"].to_numpy()[lc]
    margin = np.where(is_long, 55.0, 100.0) + rng.normal(0, 30, len(lc)) \
        + np.where(rank > 0.8, -20, np.where(rank < 0.5, 20, 0)) \
        + np.where(type_idx[lc] == 3, -25, 0) + 4.5 * terms[lc] / 30
    price = np.round((market + extra + margin) / 10) * 10
    amount = np.round(price * line_t, 2)
    weighing = np.where(is_long & (rng.random(len(lc)) < 0.75), "theoretical", "weighbridge")
    wh = np.where(is_long, np.where(rng.random(len(lc)) < 0.6, "lecong_a", "foshan_port"),
                  np.where(rng.random(len(lc)) < 0.7, "lecong_b", "foshan_port"))
    spec_names = np.array([SPECS[c][s][0] for c, s in zip(cat_names, spec_idx, strict=True)])
    product_ids = np.array([f"{c}-{s + 1:02d}" for c, s in zip(cat_names, spec_idx,
                                                                strict=True)])
    line_dates = dates[line_order]
    delivery_dates = day0 + pd.to_timedelta(delivery[line_order], unit="D")
    lines = pd.DataFrame({
        "order_id": order_ids[line_order], "line_no": line_no,
        "order_date": line_dates.date, "customer_id": ids[lc],
        "product_id": product_ids, "category": cat_names, "spec": spec_names,
        "volume_t": line_t, "unit_price_cny_per_t": price, "amount_cny": amount,
        "cost_cny": np.round(cost_pt * line_t, 2),
        "delivery_date": np.where(delivery_dates <= end_ts, delivery_dates.date, None),
        "warehouse": wh, "weighing": weighing,
        "sales_rep": cust["sales_rep"].to_numpy()[lc],
    })

    # --- invoices and payments -------------------------------------------------------------
    order_amount = np.bincount(line_order, amount, minlength=n_orders)
    inv_date = day0 + pd.to_timedelta(delivery, unit="D")
    invoiced = inv_date <= end_ts
    invoices = pd.DataFrame({
        "invoice_id": np.char.replace(order_ids, "SO", "IV"),
        "customer_id": ids[cust_idx], "order_id": order_ids,
        "invoice_date": inv_date.date,
        "due_date": (day0 + pd.to_timedelta(due, unit="D")).date,
        "amount_cny": np.round(order_amount, 2),
    })[invoiced]
    parts = np.where((terms[cust_idx] > 0) & (rng.random(n_orders) < 0.3),
                     rng.integers(2, 5, n_orders), 1)
    parts = np.where(paid < 0, 0, parts)[invoiced]
    inv_idx = np.repeat(np.flatnonzero(invoiced), parts)
    k = np.arange(len(inv_idx)) - np.repeat(np.cumsum(parts) - parts, parts)
    n_parts = parts.repeat(parts)
    start_pay = np.minimum(delivery[inv_idx] + 15, paid[inv_idx])
    pay_day = np.where(n_parts == 1, paid[inv_idx],
                       start_pay + (paid[inv_idx] - start_pay) * (k + 1) // n_parts)
    share_w = rng.uniform(0.5, 1.5, len(inv_idx))
    share_w = share_w / np.bincount(np.searchsorted(np.flatnonzero(invoiced), inv_idx),
                                    share_w)[np.searchsorted(np.flatnonzero(invoiced), inv_idx)]
    paid_cny = np.round(order_amount[inv_idx] * share_w, 2)
    # the last instalment takes the rounding remainder so an invoice is paid exactly
    last = k == n_parts - 1
    sums = pd.Series(paid_cny).groupby(inv_idx).transform("sum").to_numpy()
    paid_cny = np.where(last, np.round(paid_cny + order_amount[inv_idx] - sums, 2), paid_cny)
    pay_dates = day0 + pd.to_timedelta(pay_day, unit="D")
    payments = pd.DataFrame({
        "payment_id": [f"PM{o[2:]}-{j + 1}" for o, j in zip(order_ids[inv_idx], k, strict=True)],
        "invoice_id": np.char.replace(order_ids[inv_idx], "SO", "IV"),
        "paid_date": pay_dates.date, "paid_cny": paid_cny,
    })[pay_dates <= end_ts]

    # --- complaints ----------------------------------------------------------------------
    ci = np.flatnonzero(complained)
    kinds = rng.choice(len(COMPLAINT_TYPES), len(ci), p=[c[1] for c in COMPLAINT_TYPES])
    severity = rng.choice(["minor", "moderate", "major"], len(ci), p=[0.70, 0.25, 0.05])
    valid = rng.random(len(ci)) < 0.85
    close_days = np.ceil(rng.gamma(2, 3, len(ci)) * np.where(severity == "major", 3, 1))
    opened = dates[ci] + pd.to_timedelta(rng.integers(1, 10, len(ci)), unit="D")
    closed = opened + pd.to_timedelta(close_days, unit="D")
    affected = np.round(tonnes[ci] * rng.uniform(0.1, 1.0, len(ci)), 3)
    remedy = np.where(valid, rng.choice(REMEDIES[:4], len(ci), p=[0.4, 0.3, 0.15, 0.15]),
                      "explain")
    comp = np.where(np.isin(remedy, ["discount", "compensation"]),
                    np.round(affected * rng.uniform(20, 200, len(ci)), 2), 0.0)
    # the handling steps happen in order over the days to close; a complaint still open at the
    # end of the data stops at the step it had reached
    progress = np.clip((end_ts - opened).days.to_numpy() / np.maximum(close_days, 1), 0, 1)
    causes = {"weight": "weighing", "late_delivery": "transport", "rust": "storage",
              "wrong_spec": "order_entry", "thickness": "mill", "certificate": "mill",
              "billing": "billing_error", "service": "staff"}
    kind_names = [COMPLAINT_TYPES[k][0] for k in kinds]
    approved = opened + pd.to_timedelta(np.floor(close_days * 0.7), unit="D")
    complaints = pd.DataFrame({
        "complaint_id": [f"CP{o[2:]}" for o in order_ids[ci]],
        "customer_id": ids[cust_idx[ci]], "order_id": order_ids[ci],
        "opened_date": opened.date,
        "type": kind_names, "severity": severity,
        "valid": _reached(progress >= 0.1, valid),
        "department": _reached(progress >= 0.2, [COMPLAINT_TYPES[k][2] for k in kinds]),
        "cause": _reached(progress >= 0.35, [causes[k] for k in kind_names]),
        "remedy": _reached(progress >= 0.5, remedy),
        "approved_date": _reached((progress >= 0.7) & (approved <= end_ts), approved.date),
        "closed_date": np.where(closed <= end_ts, closed.date, None),
        "compensation_cny": np.where(progress >= 1, comp, 0.0), "volume_t": affected,
    })[opened <= end_ts]

    # --- surveys: an annual relationship survey in November, and pulses after deliveries ---
    surveys = _surveys(cust, ids, cust_idx, day, complained, kinds, ci, dates, satisfaction,
                       churn_day, arrival_day, day0, end, rng)
    surveys.insert(0, "survey_id", [f"SV{first_order_no:08d}-{i + 1:06d}"
                                    for i in range(len(surveys))])
    contacts = _contacts(cust, ids, cust_idx, day, churn_day, arrival_day, day0, end, rng)
    return _Chunk(orders=pd.DataFrame(), lines=lines, invoices=invoices, payments=payments,
                  complaints=complaints, surveys=surveys, contacts=contacts,
                  followups=fu.frame(cust, day0, n_days))


def _reached(done: np.ndarray, values: object) -> np.ndarray:
    """The values where a handling step was reached, None (not done yet) elsewhere."""
    out = np.array(values, dtype=object)
    out[~np.asarray(done)] = None
    return out


def _surveys(cust: pd.DataFrame, ids: np.ndarray, cust_idx: np.ndarray, day: np.ndarray,
             complained: np.ndarray, kinds: np.ndarray, ci: np.ndarray, dates: pd.DatetimeIndex,
             satisfaction: np.ndarray, churn_day: np.ndarray, arrival_day: np.ndarray,
             day0: pd.Timestamp, end: date, rng: np.random.Generator) -> pd.DataFrame:
    n = len(ids)
    rank = cust["_rank"].to_numpy()
    response = np.where(rank > 0.8, 0.70, np.where(rank < 0.5, 0.20, 0.35))
    dims = list(SURVEY_MEANS)
    complaint_day = day[ci]
    complaint_cust = cust_idx[ci]
    complaint_dim = np.array([dims.index(COMPLAINT_TYPES[k][3]) for k in kinds], dtype=int)
    rows = []
    for year in range(day0.year, end.year + 1):
        sday = (pd.Timestamp(f"{year}-11-15") - day0).days
        active = (arrival_day <= sday) & (churn_day > sday)
        responds = active & (rng.random(n) < response)
        for c in np.flatnonzero(responds):
            penalty = np.zeros(len(dims))
            recent = (complaint_cust == c) & (complaint_day <= sday) & (complaint_day > sday - 365)
            np.add.at(penalty, complaint_dim[recent], rng.uniform(0.4, 0.8, recent.sum()))
            rows.append((c, sday, "annual", penalty))
    pulse = rng.random(len(day)) < 0.05
    for j in np.flatnonzero(pulse):
        c = cust_idx[j]
        penalty = np.zeros(len(dims))
        if complained[j]:
            penalty[complaint_dim[np.searchsorted(ci, j)]] = rng.uniform(0.4, 0.8)
        rows.append((c, int(day[j]) + 7, "pulse", penalty))
    if not rows:
        return pd.DataFrame(columns=["survey_id", "customer_id", "survey_date", "survey_type",
                                     *dims, "recommend"])
    c_arr = np.array([r[0] for r in rows])
    penalty = np.vstack([r[3] for r in rows])
    means = np.array([SURVEY_MEANS[d][0] for d in dims])
    sds = np.array([SURVEY_MEANS[d][1] for d in dims])
    latent = means + (satisfaction[c_arr] - 3.9)[:, None] - penalty
    scores = np.clip(np.round(latent + rng.normal(0, 1, latent.shape) * sds * 0.8), 1, 5)
    overall = latent.mean(1)
    recommend = np.clip(np.round(8.4 + 3.2 * (overall - 3.9) + rng.normal(0, 1.4, len(rows))),
                        0, 10)
    kind = np.array([r[2] for r in rows])
    frame = pd.DataFrame(scores, columns=dims)
    # a pulse asks three questions only, so the other dimensions are blank, not zero
    frame.loc[kind == "pulse", ["price", "service", "responsiveness", "billing", "logistics"]] \
        = np.nan
    sdates = day0 + pd.to_timedelta([r[1] for r in rows], unit="D")
    frame.insert(0, "survey_type", kind)
    frame.insert(0, "survey_date", sdates.date)
    frame.insert(0, "customer_id", ids[c_arr])
    frame["recommend"] = recommend
    frame = frame[sdates <= pd.Timestamp(end)].sort_values(["survey_date", "customer_id"])
    return frame.reset_index(drop=True)


def _contacts(cust: pd.DataFrame, ids: np.ndarray, cust_idx: np.ndarray, day: np.ndarray,
              churn_day: np.ndarray, arrival_day: np.ndarray, day0: pd.Timestamp, end: date,
              rng: np.random.Generator) -> pd.DataFrame:
    n_days = (pd.Timestamp(end) - day0).days + 1
    last = np.minimum(churn_day, n_days - 1)
    span_months = np.maximum((last - np.maximum(arrival_day, 0)) / 30.4, 0)
    rank = cust["_rank"].to_numpy()
    rate = np.where(rank > 0.8, 2.0, np.where(rank > 0.5, 0.7, 0.25))  # contacts per month
    counts = rng.poisson(rate * span_months)
    c = np.repeat(np.arange(len(ids)), counts)
    d = (np.maximum(arrival_day[c], 0)
         + rng.random(len(c)) * (last[c] - np.maximum(arrival_day[c], 0))).astype(int)
    kind = np.where(rng.random(len(c)) < 0.4, "visit", "call")
    gifts_c, gifts_d = [], []
    for year in range(day0.year, pd.Timestamp(end).year + 1):
        for when in (f"{year}-09-10", CNY.get(year + 1, f"{year + 1}-02-01")):
            gd = (pd.Timestamp(when) - day0).days - 14
            if 0 <= gd < n_days:
                sel = np.flatnonzero((rank > 0.8) & (arrival_day <= gd) & (churn_day > gd))
                gifts_c.append(sel)
                gifts_d.append(np.full(len(sel), gd))
    if gifts_c:
        c = np.concatenate([c, *gifts_c])
        d = np.concatenate([d, *gifts_d])
        kind = np.concatenate([kind, np.full(len(c) - len(kind), "gift")])
    notes = np.array([CONTACT_NOTES[k][rng.integers(len(CONTACT_NOTES[k]))] for k in kind])
    if kind.size:
        notes = np.where((kind == "gift") & (pd.DatetimeIndex(day0 + pd.to_timedelta(
            d, unit="D")).month == 9), "中秋礼品", np.where(kind == "gift", "春节礼品", notes))
    frame = pd.DataFrame({"customer_id": ids[c], "date": (day0 + pd.to_timedelta(d, unit="D")).date,
                          "rep": cust["sales_rep"].to_numpy()[c], "kind": kind, "note": notes})
    return frame.sort_values(["date", "customer_id"]).reset_index(drop=True)


INVENTORY_COVER_DAYS = 50.0  # DOMAIN §7.3 says 20–45; 50 sits around DESIGN's safety stock
#                              (1.5 × 30 days of sales), so the alerts fire now and then, not daily
INVENTORY_REVIEW_DAYS = 4     # stock is topped up every few days, in 50 t lots
PRICE_PILE_UP = 2.5           # a 10 % fall in a month lifts the stock target ≈ 28 %


def _stock_target_days(days: pd.DatetimeIndex, ret30: np.ndarray) -> np.ndarray:
    """Days of cover the trader aims for: higher into the spring peak (CNY − 8 weeks to + 4
    weeks, then easing), during 冬储 in Nov–Jan, and when prices have been falling."""
    cover = np.full(len(days), INVENTORY_COVER_DAYS)
    for cny in CNY.values():
        off = (days - pd.Timestamp(cny)).days.to_numpy()
        build = np.clip((off + 56) / 84, 0, 1) * (off <= 28)
        ease = np.clip(1 - (off - 28) / 84, 0, 1) * (off > 28)
        cover += 25 * (build + ease)
    cover += 8 * np.isin(days.month, [11, 12, 1])
    return cover * np.exp(-PRICE_PILE_UP * np.clip(ret30, -0.2, 0.2))


def _inventory(sold_t: pd.DataFrame, prices: pd.DataFrame, avg_cost: pd.DataFrame,
               rng: np.random.Generator) -> pd.DataFrame:
    """End-of-day stock per category and warehouse, simulated as a flow: sales leave every
    day, receipts arrive every few days to bring the stock back to a target cover (so the
    stock has a saw-tooth, receipt dates and an age)."""
    days = pd.DatetimeIndex(sold_t.index)
    dates = days.date
    rows = []
    for cat in CATEGORIES:
        sold = sold_t[cat].to_numpy()
        # the trader plans on the coming two months' sales (known demand, seasonal)
        rate = pd.Series(sold).rolling(60, min_periods=1).mean().shift(-59).ffill().to_numpy()
        ret30 = (prices[cat] / prices[cat].shift(30) - 1).fillna(0.0).to_numpy()
        target = rate * _stock_target_days(days, ret30) * np.exp(_ar1(rng, len(days), 0.10))
        stock = np.empty(len(days))
        level = target[0]
        review = rng.integers(0, INVENTORY_REVIEW_DAYS)
        for i in range(len(days)):
            level -= sold[i]
            if i % INVENTORY_REVIEW_DAYS == review or level < 0:
                level += max(0.0, np.ceil((target[i] - level) / 50) * 50)
            stock[i] = level
        shares = ({"lecong_a": 0.6, "foshan_port": 0.4} if cat in LONG else
                  {"lecong_b": 0.7, "foshan_port": 0.3})
        for wh, s in shares.items():
            rows.append(pd.DataFrame({"date": dates, "product": cat, "warehouse": wh,
                                      "on_hand_t": np.round(stock * s, 1),
                                      "avg_cost_cny_per_t": np.round(avg_cost[cat].to_numpy())}))
    return pd.concat(rows, ignore_index=True)


TARGET_GROWTH = 1.05  # a target: last twelve months' average month × season × 1.05


def _targets(book: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Monthly targets per rep, set the way sales plans are: the average month of the last
    twelve (the first year: of the year itself) × that month's seasonal weight × 1.05, with a
    little negotiation noise, rounded."""
    team_of = {rep: team for team, reps in REPS.items() for rep in reps}
    actual = book.groupby(["sales_rep", "month"])[["amount_cny", "volume_t", "cost_cny"]].sum()
    actual["gp"] = actual["amount_cny"] - actual["cost_cny"]
    season = MONTH_MULT / MONTH_MULT.mean()
    rows = []
    for rep, g in actual.groupby(level=0):
        g = g.droplevel(0)
        g = g.reindex(pd.period_range(g.index.min(), g.index.max(), freq="M"), fill_value=0.0)
        for i, month in enumerate(g.index):
            past = g.iloc[max(0, i - 12):i] if i >= 12 else g.iloc[:12]
            base = past.mean() * season[month.month - 1] * TARGET_GROWTH * rng.uniform(0.95, 1.05)
            rows.append({"rep": rep, "month": month.start_time.date(),
                         "team": team_of.get(str(rep), ""),
                         "revenue_cny": round(float(base["amount_cny"]), -4),
                         "volume_t": round(float(base["volume_t"]), -1),
                         "gross_profit_cny": round(max(float(base["gp"]), 0.0), -3)})
    return pd.DataFrame(rows)


def _reseller_reviews(book: pd.DataFrame, cust: pd.DataFrame, rng: np.random.Generator
                      ) -> pd.DataFrame:
    """Monthly reviews of the trader customers: a quota from their last year's tonnes × 1.1,
    the stock 60 % of them report, their delivery days, and quarterly 1–4 scores."""
    traders = cust.loc[cust["type"] == "trader", "customer_id"]
    tonnes = book[book["customer_id"].isin(traders)].groupby(["customer_id", "month"])[
        "volume_t"].sum()
    rows = []
    for cid, series in tonnes.groupby(level=0):
        s = series.droplevel(0)
        months = pd.period_range(s.index.min(), s.index.max(), freq="M")
        s = s.reindex(months, fill_value=0.0)
        reports_stock = rng.random() < 0.6
        delivery = rng.uniform(1.0, 5.0) if rng.random() < 0.7 else None
        damage, coop = rng.choice([1, 2, 3, 4], 2, p=[0.1, 0.3, 0.4, 0.2])
        for i, month in enumerate(months):
            past = s.iloc[max(0, i - 12):i] if i else s.iloc[:3]
            quarter_end = month.month % 3 == 0
            rows.append({
                "customer_id": cid, "month": month.start_time.date(),
                "quota_t": max(10.0, round(float(past.mean()) * 1.1, -1)),
                "avg_stock_t": round(float(past.mean()) * rng.uniform(0.3, 1.5), 1)
                if reports_stock else None,
                "delivery_days": round(delivery + rng.normal(0, 0.5), 1) if delivery else None,
                "damage_handling": float(np.clip(damage + rng.integers(-1, 2), 1, 4))
                if quarter_end else None,
                "cooperation": float(np.clip(coop + rng.integers(-1, 2), 1, 4))
                if quarter_end else None})
    return pd.DataFrame(rows)


def products() -> pd.DataFrame:
    rows = [(f"{cat}-{i + 1:02d}", cat, spec, grade, "t")
            for cat in CATEGORIES for i, (spec, grade, _, _) in enumerate(SPECS[cat])]
    return pd.DataFrame(rows, columns=["product_id", "category", "spec", "grade", "unit"])


def generate(config: SampleConfig | None = None) -> Iterator[tuple[str, pd.DataFrame]]:
    """Yield (table, rows) chunks of the whole demo company; the same seed gives the same data."""
    config = config or SampleConfig()
    seeds = np.random.SeedSequence(config.seed).spawn(3)
    rng_prices, rng_cust, rng_inv = (np.random.default_rng(s) for s in seeds)
    cal = calendar(config)
    prices = price_paths(config, rng_prices)
    cost = average_cost(prices)
    yield "market_prices", market_prices(prices)
    yield "products", products()
    cust = customers_master(config, rng_cust)
    yield "customers", cust[[c for c in cust.columns if not c.startswith("_")]]
    sold = pd.DataFrame(0.0, index=prices.index, columns=list(CATEGORIES))
    next_order = 1
    monthly: list[pd.DataFrame] = []
    chunk_seeds = np.random.SeedSequence([config.seed, 1]).spawn(
        (len(cust) + config.chunk_customers - 1) // config.chunk_customers)
    for i, seed in enumerate(chunk_seeds):
        part = cust.iloc[i * config.chunk_customers:(i + 1) * config.chunk_customers]
        chunk = _simulate_chunk(part.reset_index(drop=True), cal, prices, cost,
                                np.random.default_rng(seed), next_order, config.end,
                                np.random.default_rng(np.random.SeedSequence(
                                    [config.seed, 3, i])))
        next_order += chunk.lines["order_id"].nunique()
        by_day = chunk.lines.groupby(["order_date", "category"])["volume_t"].sum().unstack(
            fill_value=0)
        by_day.index = pd.to_datetime(by_day.index)
        sold = sold.add(by_day.reindex(index=sold.index, columns=sold.columns, fill_value=0.0))
        monthly.append(chunk.lines.assign(month=pd.to_datetime(chunk.lines["order_date"])
                                          .dt.to_period("M"))
                       .groupby(["customer_id", "sales_rep", "month"], as_index=False)
                       [["amount_cny", "volume_t", "cost_cny"]].sum())
        yield "orders", chunk.lines
        yield "invoices", chunk.invoices
        yield "payments", chunk.payments
        yield "complaints", chunk.complaints
        yield "surveys", chunk.surveys
        yield "contacts", chunk.contacts
        yield FOLLOWUPS, chunk.followups
    yield "inventory", _inventory(sold, prices, cost, rng_inv)
    rng_team = np.random.default_rng(np.random.SeedSequence([config.seed, 2]))
    book = pd.concat(monthly, ignore_index=True)
    yield "targets", _targets(book, rng_team)
    yield "reseller_reviews", _reseller_reviews(book, cust, rng_team)


def generate_frames(config: SampleConfig | None = None, *, followups: bool = False
                    ) -> dict[str, pd.DataFrame]:
    """The warehouse tables of the demo company as whole frames (and, with ``followups``,
    its follow-up history under ``FOLLOWUPS``: that is the follow-up store's, not a table)."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for name, frame in generate(config):
        if name == FOLLOWUPS and not followups:
            continue
        parts.setdefault(name, []).append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}


def build(warehouse: Warehouse, config: SampleConfig | None = None,
          progress: Callable[[float, str], None] | None = None,
          followups: Store | None = None) -> str:
    """Write the demo company as a new warehouse version (replacing all tables), and its
    follow-up history into ``followups`` (replacing the earlier demo's, keeping the users')."""
    config = config or SampleConfig()
    total = 3 + 6 * ((round(config.n_initial + config.n_new_per_year * 7)
                      + config.chunk_customers - 1) // config.chunk_customers) + 1
    done = 0
    history: list[pd.DataFrame] = []
    with warehouse.writing(action="demo", note=f"seed={config.seed} scale={config.scale}",
                           fresh=True, derive=derive.write) as con:
        for spec in schema.TABLES.values():
            con.execute(spec.ddl())
        for name, frame in generate(config):
            if name == FOLLOWUPS:
                history.append(frame)
                continue
            insert(con, name, frame)
            done += 1
            if progress:
                progress(min(done / total, 1.0), name)
    if followups is not None:
        followups.seed_demo(pd.concat(history, ignore_index=True))
    return warehouse.version
