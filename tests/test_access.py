"""Access: login, lockout, the three levels enforced at the data, and the audit log."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from analytics.display.i18n import Labels
from analytics.ops import users
from analytics.store.warehouse import Warehouse
from ui.nav import PAGES

ROOT = Path(__file__).resolve().parents[1]
PASSWORDS = {"rep": "rep-password-1", "manager": "manager-pass-1", "boss": "boss-password-1",
             "admin": "admin-password-1"}
PROFIT_WORDS = ("cost", "profit", "margin", "compensation", "毛利", "成本", "赔偿", "key_contact")


@pytest.fixture
def users_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "users.yaml"
    monkeypatch.setenv("STEELSIGHT_USERS", str(path))
    users.add_user("rep", PASSWORDS["rep"], level="rep", name="张伟")
    users.add_user("manager", PASSWORDS["manager"], level="manager", provinces=("Guangxi",))
    users.add_user("boss", PASSWORDS["boss"], level="executive")
    users.add_user("admin", PASSWORDS["admin"], level="admin")
    yield path


def test_passwords_are_hashed_and_checked(users_file: Path) -> None:
    text = users_file.read_text(encoding="utf-8")
    assert PASSWORDS["rep"] not in text and text.count("$2b$") == 4
    assert users.verify("rep", PASSWORDS["rep"]).reps == ("张伟",)
    with pytest.raises(users.AuthError, match="invalid"):
        users.verify("rep", "wrong-password")
    with pytest.raises(users.AuthError, match="invalid"):
        users.verify("nobody", PASSWORDS["rep"])  # same answer: no hint who exists
    with pytest.raises(ValueError, match="8 characters"):
        users.add_user("short", "abc", level="rep")
    assert all("password" not in u for u in users.list_users())


def test_lockout_after_five_failures_for_fifteen_minutes(users_file: Path) -> None:
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    for _ in range(4):
        with pytest.raises(users.AuthError, match="invalid"):
            users.verify("boss", "nope-nope-nope", now=t0)
    with pytest.raises(users.AuthError, match="locked") as locked:
        users.verify("boss", "nope-nope-nope", now=t0)
    assert locked.value.until == t0 + timedelta(minutes=15)
    with pytest.raises(users.AuthError, match="locked"):  # the right password waits too
        users.verify("boss", PASSWORDS["boss"], now=t0 + timedelta(minutes=14))
    assert users.verify("boss", PASSWORDS["boss"], now=t0 + timedelta(minutes=16)).level == \
        "executive"
    events = [e["event"] for e in users.read_audit()]
    assert {"lockout", "login_failed", "login_refused_locked", "login"} <= set(events)


def test_reset_lifts_a_lockout_and_remove_deletes(users_file: Path) -> None:
    for _ in range(5):
        with pytest.raises(users.AuthError):
            users.verify("rep", "wrong-password")
    users.reset_password("rep", "brand-new-pass")
    assert users.verify("rep", "brand-new-pass").level == "rep"
    users.remove_user("rep")
    with pytest.raises(users.AuthError):
        users.verify("rep", "brand-new-pass")


def test_signing_out_or_a_new_password_ends_the_sessions_before_it(users_file: Path) -> None:
    t0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert users.session_valid("boss", t0)
    users.end_sessions("boss", now=t0 + timedelta(hours=1))
    assert not users.session_valid("boss", t0)                         # the cookie from before
    assert users.session_valid("boss", t0 + timedelta(hours=2))        # signed in again later
    assert users.session_valid("rep", t0)                              # others untouched
    users.reset_password("rep", "brand-new-pass")
    assert not users.session_valid("rep", datetime.now(UTC) - timedelta(seconds=1))
    assert not users.session_valid("nobody", t0)


def _app(lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["lang"] = lang
    return at.run()


def _login(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_user").input(username)
    at.text_input(key="login_password").input(password)
    return at.button[0].click().run()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_anonymous_sees_only_the_login_form_on_every_page(users_file: Path, lang: str) -> None:
    at = _app(lang)
    labels = Labels(lang)
    for page in PAGES:
        if page.path != "app.py":
            at.switch_page(page.path).run()
        assert not at.exception, page.path
        assert at.title[0].value == labels("login_title"), page.path
        assert not at.metric and not at.dataframe and not at.get("plotly_chart"), page.path
        assert not at.sidebar.info  # no single-user banner: login is on


def test_rep_sees_own_customers_and_no_profit_anywhere(users_file: Path,
                                                       demo_warehouse: Warehouse) -> None:
    at = _login(_app("en"), "rep", PASSWORDS["rep"])
    assert not at.exception
    labels = Labels("en")
    kpis = {m.label for m in at.metric}
    assert labels("kpi_gross_profit_cny") not in kpis and labels("kpi_revenue_cny") in kpis
    con = duckdb.connect(str(demo_warehouse.current_path()), read_only=True)
    own = {r[0] for r in con.execute("select name from customers where sales_rep = '张伟'")
           .fetchall()}
    con.close()
    con = duckdb.connect(str(demo_warehouse.current_path()), read_only=True)
    others = {r[0] for r in con.execute(
        "select name from customers where sales_rep <> '张伟'").fetchall()} - own
    con.close()
    top = at.dataframe[0].value
    assert set(top[labels.column("name")]) <= own and len(top) > 0
    for page in PAGES[1:]:
        at.switch_page(page.path).run()
        assert not at.exception, page.path
        for frame in at.dataframe:
            cells = {str(v) for v in frame.value.to_numpy().ravel()}
            assert not cells & others, (page.path, sorted(cells & others)[:3])
            columns = " ".join(map(str, frame.value.columns)).lower()
            assert not any(word in columns for word in PROFIT_WORDS), (page.path, columns)
        for metric in at.metric:
            assert not any(word in metric.label.lower() for word in ("profit", "margin")), \
                (page.path, metric.label)


def test_manager_sees_only_the_configured_provinces(users_file: Path) -> None:
    at = _login(_app("en"), "manager", PASSWORDS["manager"])
    assert not at.exception
    provinces = set(at.dataframe[0].value["Province"])
    assert provinces == {"Guangxi"}
    assert "Gross profit" in {m.label for m in at.metric}  # managers see profit


def test_results_are_cached_per_scope(users_file: Path) -> None:
    boss = _login(_app("en"), "boss", PASSWORDS["boss"])
    rep = _login(_app("en"), "rep", PASSWORDS["rep"])
    revenue = {at: next(m.value for m in at.metric if m.label == "Revenue")
               for at in (boss, rep)}
    assert revenue[boss] != revenue[rep]


def test_wrong_passwords_in_the_form_lock_and_say_so(users_file: Path) -> None:
    at = _app("zh")
    for _ in range(5):
        at = _login(at, "boss", "not-the-password")
    assert Labels("zh")("login_locked", minutes=15) == at.error[0].value
    assert at.title[0].value == "登录"


def test_only_admins_import(users_file: Path) -> None:
    at = _login(_app("en"), "boss", PASSWORDS["boss"])
    at.switch_page("pages/9_data.py").run()
    assert not at.exception and not at.get("file_uploader")
    assert any("Only admins" in i.value for i in at.info)
    at = _login(_app("en"), "admin", PASSWORDS["admin"])
    at.switch_page("pages/9_data.py").run()
    assert at.get("file_uploader")
    at.switch_page("pages/10_audit.py").run()
    assert not at.exception
    events = set(at.dataframe[0].value["Event"])
    assert "login" in events


def test_users_cli(tmp_path: Path) -> None:
    env = {"STEELSIGHT_USERS": str(tmp_path / "u.yaml"), "PATH": "/usr/bin:/bin"}

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "analytics", "users", *args], cwd=ROOT,
                              input=stdin, capture_output=True, text=True, timeout=60,
                              env=env)

    assert cli("add", "li", "--level", "manager", "--provinces", "Hunan",
               stdin="long-enough-pw\n").returncode == 0
    assert "li              manager    Hunan" in cli("list").stdout
    assert cli("add", "li", stdin="long-enough-pw\n").returncode == 2  # exists
    demo = cli("demo")
    assert demo.returncode == 0 and demo.stdout.count("\n  ") == 4
    assert cli("remove", "li").returncode == 0 and "li " not in cli("list").stdout


def test_cli_and_exports_obey_the_users_scope(users_file: Path, demo_warehouse: Warehouse,
                                              tmp_path: Path) -> None:
    import os

    import pandas as pd

    out = tmp_path / "orders.csv"
    env = {**os.environ, "STEELSIGHT_USERS": str(users_file)}
    done = subprocess.run([sys.executable, "-m", "analytics", "--as-user", "rep", "export",
                           "orders", "-o", str(out)], cwd=ROOT, env=env, capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    orders = pd.read_csv(out, encoding="utf-8-sig")
    assert "cost_cny" not in orders.columns and set(orders["sales_rep"]) == {"张伟"}
    customers = tmp_path / "customers.csv"
    subprocess.run([sys.executable, "-m", "analytics", "--as-user", "rep", "export",
                    "customers", "-o", str(customers)], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    master = pd.read_csv(customers, encoding="utf-8-sig")
    assert "key_contact" not in master.columns and set(master["sales_rep"]) == {"张伟"}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rep_sees_only_their_own_scorecard_row(users_file: Path, lang: str) -> None:
    at = _login(_app(lang), "rep", PASSWORDS["rep"])
    at.switch_page("pages/14_team.py").run()
    assert not at.exception
    labels = Labels(lang)
    reps = at.dataframe[0].value
    assert reps[labels.column("rep")].tolist() == ["张伟"]
    assert labels.column("gross_profit_cny") not in reps.columns
    assert labels.column("target_gross_profit_cny") not in reps.columns


def test_manager_sees_the_reps_of_their_provinces(users_file: Path,
                                                  demo_warehouse: Warehouse) -> None:
    at = _login(_app("en"), "manager", PASSWORDS["manager"])
    at.switch_page("pages/14_team.py").run()
    assert not at.exception
    con = duckdb.connect(str(demo_warehouse.current_path()), read_only=True)
    expected = {r[0] for r in con.execute(
        "select distinct sales_rep from customers where province = 'Guangxi'").fetchall()}
    con.close()
    shown = set(at.dataframe[0].value[Labels("en").column("rep")])
    assert shown <= expected and shown
    assert Labels("en").column("gross_profit_cny") in at.dataframe[0].value.columns


def test_the_sidebar_offers_a_manager_their_customers_and_the_companys_categories(
        users_file: Path, demo_warehouse: Warehouse) -> None:
    """Provinces, reps and customer types come from the manager's own customers; product
    categories are the company's catalogue, the same for everyone."""
    at = _login(_app("en"), "manager", PASSWORDS["manager"])
    assert not at.exception
    con = duckdb.connect(str(demo_warehouse.current_path()), read_only=True)
    reps = sorted(r[0] for r in con.execute(
        "select distinct sales_rep from customers where province = 'Guangxi'"
        " and sales_rep is not null").fetchall())
    every = sorted(r[0] for r in con.execute(
        "select distinct category from orders where category is not null").fetchall())
    con.close()
    assert at.sidebar.multiselect(key="w_provinces_en").options == ["Guangxi"]
    assert at.sidebar.multiselect(key="w_reps_en").options == reps
    categories = at.sidebar.multiselect(key="w_categories_en")
    assert len(every) >= 3 and len(categories.options) == len(every)


@pytest.mark.parametrize("who,province", [("rep", None), ("manager", None),
                                          ("boss", "Guangxi"), ("boss", None)],
                         ids=["rep", "province-manager", "executive-filtered", "executive"])
def test_inventory_days_say_company_wide_whichever_narrowed_the_customers(
        users_file: Path, demo_warehouse: Warehouse, who: str, province: str | None) -> None:
    """Company stock cannot be divided by one rep's, one province's or one filter's sales:
    the Overview's inventory days show "—" and say why for each of them, and a number for
    the whole book."""
    labels = Labels("en")
    at = _login(_app("en"), who, PASSWORDS[who])
    if province:
        at.multiselect(key="w_provinces_en").select(province).run()
    assert not at.exception
    card = next(m for m in at.metric if m.label == labels("kpi_inventory_days"))
    said = labels("company_wide_only") in [c.value for c in at.caption]
    if who == "boss" and not province:
        assert card.value != "—" and not said
    else:
        assert card.value == "—" and said
        assert labels("company_wide_only") in card.help
