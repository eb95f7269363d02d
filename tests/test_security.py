"""Security findings (issue 23): scoping fails closed, sessions end when they should, nothing a
user made reaches the next user, data-derived text is shown as text, configuration that would
open the book is refused, and a damaged warehouse is detected and survived."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import ibis
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.display.i18n import Labels
from analytics.ops import ingest, users
from analytics.store import access
from analytics.store.access import Scope, scoped
from analytics.store.warehouse import Tables, Warehouse, tables_from_frames
from tests.test_access import _app, _login
from ui import widgets

ROOT = Path(__file__).resolve().parents[1]
PASSWORDS = {"rep": "rep-password-1", "boss": "boss-password-1", "admin": "admin-password-1",
             "manager": "manager-pass-1"}
REP = Scope(user="li", level="rep", reps=("李娜",), single_user=False)
MANAGER = Scope(user="m", level="manager", provinces=("Guangxi",), single_user=False)


def _orders(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """Order lines from (order_id, date, customer, rep)."""
    return pd.DataFrame([{"order_id": o, "line_no": 1, "order_date": pd.Timestamp(d),
                          "customer_id": c, "category": "rebar", "volume_t": 10.0,
                          "amount_cny": 40_000.0, "cost_cny": 38_000.0, "sales_rep": r}
                         for o, d, c, r in rows])


def _ids(tables: Tables, name: str = "orders") -> set[str]:
    return set(tables.get(name).to_pandas()["customer_id"])


# -- scoping fails closed ---------------------------------------------------------------------
def test_without_a_customer_master_a_rep_sees_the_customers_whose_latest_line_is_theirs() -> None:
    tables = tables_from_frames({"orders": _orders([
        ("A1", "2025-01-05", "C1", "李娜"), ("A2", "2025-03-05", "C1", "李娜"),
        ("B1", "2025-01-05", "C2", "王强"), ("B2", "2025-04-05", "C2", "王强"),
        # C3 moved from 李娜 to 王强: its old lines leave her view
        ("A3", "2025-01-07", "C3", "李娜"), ("B3", "2025-05-07", "C3", "王强")])})
    assert access.unresolved(tables, REP) is None
    seen = scoped(tables, REP)
    assert _ids(seen) == {"C1"}
    assert "cost_cny" not in seen.get("orders").columns


def test_without_a_customer_master_a_province_manager_sees_nothing_and_is_told_why() -> None:
    tables = tables_from_frames({"orders": _orders([("A1", "2025-01-05", "C1", "李娜")])})
    assert access.unresolved(tables, MANAGER) == "scope_no_master"
    seen = scoped(tables, MANAGER)
    assert seen.get("orders").count().to_pandas() == 0
    for lang in ("zh", "en"):
        assert Labels(lang)("scope_no_master")  # the sentence exists in both languages


def test_orders_without_a_rep_column_and_no_master_show_a_rep_nothing() -> None:
    orders = _orders([("A1", "2025-01-05", "C1", "李娜")]).drop(columns="sales_rep")
    tables = Tables(orders=ibis.memtable(orders))
    assert access.unresolved(tables, REP) == "scope_no_master"
    assert scoped(tables, REP).get("orders").count().to_pandas() == 0


def test_a_master_without_the_scope_column_shows_nothing() -> None:
    customers = pd.DataFrame({"customer_id": ["C1"], "name": ["x"]})
    tables = Tables(customers=ibis.memtable(customers),
                    orders=ibis.memtable(_orders([("A1", "2025-01-05", "C1", "李娜")])))
    assert access.unresolved(tables, REP) == "scope_no_column"
    assert scoped(tables, REP).get("orders").count().to_pandas() == 0
    assert access.unresolved(tables, Scope(level="executive")) is None


def test_the_master_decides_whose_customer_it_is() -> None:
    customers = pd.DataFrame({"customer_id": ["C1", "C3"], "name": ["one", "three"],
                              "province": ["Guangdong", "Guangdong"],
                              "sales_rep": ["李娜", "王强"]})
    tables = tables_from_frames({"customers": customers, "orders": _orders([
        ("A1", "2025-01-05", "C1", "李娜"), ("A3", "2025-01-07", "C3", "李娜"),
        ("B3", "2025-05-07", "C3", "王强")])})
    seen = scoped(tables, REP)
    assert _ids(seen) == {"C1"}  # C3's old 李娜 lines went with the customer to 王强


def test_a_province_manager_sees_only_the_targets_of_reps_wholly_in_the_province() -> None:
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "name": list("abc"),
                              "province": ["Guangxi", "Guangxi", "Hunan"],
                              "sales_rep": ["李娜", "王强", "王强"]})
    targets = pd.DataFrame({"rep": ["李娜", "王强"], "month": pd.to_datetime(["2025-01-01"] * 2),
                            "revenue_cny": [1e6, 2e6], "gross_profit_cny": [1e5, 2e5]})
    tables = tables_from_frames({"customers": customers, "targets": targets,
                                 "orders": _orders([("A1", "2025-01-05", "C1", "李娜")])})
    seen = scoped(tables, MANAGER).get("targets").to_pandas()
    # 王强 sells in Hunan too: his company-wide target is not the Guangxi manager's to see
    assert seen["rep"].tolist() == ["李娜"]
    rep_targets = scoped(tables, Scope(user="w", level="rep", reps=("王强",),
                                       single_user=False)).get("targets").to_pandas()
    assert rep_targets["rep"].tolist() == ["王强"] and "gross_profit_cny" not in rep_targets


def test_scope_and_filters_both_mark_the_tables_narrowed() -> None:
    from analytics.domain import overview
    from analytics.store import filters
    from analytics.store.period import Period

    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": list("ab"),
                              "province": ["Guangxi", "Hunan"], "sales_rep": ["李娜", "王强"],
                              "type": ["trader", "trader"]})
    inventory = pd.DataFrame({"date": pd.to_datetime(["2025-01-31"]), "product": ["rebar"],
                              "warehouse": ["w"], "on_hand_t": [100.0]})
    tables = tables_from_frames({"customers": customers, "inventory": inventory,
                                 "orders": _orders([("A1", "2025-01-05", "C1", "李娜")])})
    day = date(2025, 1, 31)
    assert overview.inventory_days(tables, day) > 0  # the whole book: stock against sales
    narrowed = [scoped(tables, REP), scoped(tables, MANAGER),
                filters.apply(tables, filters.Filters(period=Period(day, day),
                                                      provinces=("Guangxi",)))]
    for t in narrowed:
        assert t.customer_filtered
        assert pd.isna(overview.inventory_days(t, day))


# -- users: configuration that would open the book is refused -------------------------------
@pytest.fixture
def users_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "users.yaml"
    monkeypatch.setenv("STEELSIGHT_USERS", str(path))
    users.add_user("rep", PASSWORDS["rep"], level="rep", name="张伟")
    users.add_user("boss", PASSWORDS["boss"], level="executive")
    users.add_user("admin", PASSWORDS["admin"], level="admin")
    users.add_user("manager", PASSWORDS["manager"], level="manager", provinces=("Guangxi",))
    yield path


def test_a_manager_without_a_scope_is_refused_unless_said(users_file: Path) -> None:
    with pytest.raises(ValueError, match="--provinces or --reps"):
        users.add_user("wide", "long-enough-pw", level="manager")
    assert users.add_user("gm", "long-enough-pw", level="manager", all_customers=True) == []
    assert users.scope_of("gm").provinces == () and users.scope_of("gm").reps == ()


def test_two_reps_with_one_name_are_refused(users_file: Path) -> None:
    with pytest.raises(ValueError, match="share customers"):
        users.add_user("zhang2", "long-enough-pw", level="rep", name="张伟")


def test_a_misspelt_province_is_warned_about(users_file: Path) -> None:
    warnings = users.add_user("m2", "long-enough-pw", level="manager",
                              provinces=("Guangdogn",), known_provinces=("Guangdong", "Guangxi"))
    assert len(warnings) == 1 and "Guangdogn" in warnings[0]


def test_users_cli_refuses_an_unscoped_manager(tmp_path: Path) -> None:
    env = {"STEELSIGHT_USERS": str(tmp_path / "u.yaml"), "PATH": "/usr/bin:/bin",
           "STEELSIGHT_WAREHOUSE": os.environ["STEELSIGHT_WAREHOUSE"]}
    done = subprocess.run([sys.executable, "-m", "analytics", "users", "add", "wide", "--level",
                           "manager"], cwd=ROOT, input="long-enough-pw\n", capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 2 and "--provinces or --reps" in done.stderr
    assert "Traceback" not in done.stderr
    typo = subprocess.run([sys.executable, "-m", "analytics", "users", "add", "m", "--level",
                           "manager", "--provinces", "Guangdogn"], cwd=ROOT,
                          input="long-enough-pw\n", capture_output=True, text=True, timeout=60,
                          env=env)
    assert typo.returncode == 0 and "warning: province 'Guangdogn'" in typo.stderr


def test_lockout_is_per_client_and_unknown_names_lock_alike(users_file: Path) -> None:
    for _ in range(users.MAX_FAILURES - 1):
        with pytest.raises(users.AuthError, match="invalid"):
            users.verify("boss", "wrong-password", client="10.0.0.9")
    with pytest.raises(users.AuthError, match="locked"):
        users.verify("boss", "wrong-password", client="10.0.0.9")
    # the attacker's client is locked out, the owner elsewhere is not
    assert users.verify("boss", PASSWORDS["boss"], client="10.0.0.7").level == "executive"
    for _ in range(users.MAX_FAILURES - 1):
        with pytest.raises(users.AuthError, match="invalid"):
            users.verify("nobody-here", "wrong-password", client="10.0.0.9")
    with pytest.raises(users.AuthError, match="locked"):  # no hint that the name is unknown
        users.verify("nobody-here", "wrong-password", client="10.0.0.9")


def test_the_audit_log_is_private_and_survives_a_cut_line(users_file: Path) -> None:
    users.audit("probe", user="x")
    path = users.audit_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"time": "2026-')  # a crash mid-write
    users.audit("after", user="x")
    assert [e["event"] for e in users.read_audit()][:2] == ["after", "probe"]


def test_a_damaged_users_file_is_one_sentence_and_keeps_login_on(users_file: Path) -> None:
    users_file.write_text("credentials: [unclosed\n", encoding="utf-8")
    with pytest.raises(users.UsersFileError):
        users.login_required()
    at = _app("zh")
    assert not at.exception
    assert at.error[0].value == Labels("zh")("users_file_broken")
    assert not at.dataframe and not at.metric


def test_single_user_mode_is_for_this_machine_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import auth

    monkeypatch.delenv(users.ENV_ALLOW_OPEN, raising=False)
    monkeypatch.setattr(auth, "_client", lambda: "")
    assert auth._single_user_allowed()
    monkeypatch.setattr(auth, "_client", lambda: "192.0.2.10")
    assert not auth._single_user_allowed()
    monkeypatch.setenv(users.ENV_ALLOW_OPEN, "1")
    assert auth._single_user_allowed()


# -- sessions ---------------------------------------------------------------------------------
def _logout(at: AppTest) -> AppTest:
    return at.sidebar.button(key="logout_button").click().run()


def test_a_report_made_by_one_user_is_gone_when_the_next_signs_in(users_file: Path) -> None:
    at = _login(_app("en"), "boss", PASSWORDS["boss"])
    at.button(key="report_make").click().run()
    assert not at.exception
    assert at.get("download_button"), "the executive's report downloads"
    at = _logout(at)
    assert "report_files" not in at.session_state
    at = _login(at, "rep", PASSWORDS["rep"])
    assert not at.exception and at.metric
    assert not at.get("download_button") or all(
        "report" not in str(b.proto.label).lower() for b in at.get("download_button"))
    assert "report_files" not in at.session_state


def test_a_password_reset_ends_a_running_session_on_its_next_click(users_file: Path) -> None:
    at = _login(_app("en"), "rep", PASSWORDS["rep"])
    assert at.metric
    users.reset_password("rep", "a-brand-new-password")
    at.run()
    assert not at.exception
    assert at.title[0].value == Labels("en")("login_title") and not at.metric
    other = _login(_app("en"), "boss", PASSWORDS["boss"])
    users.remove_user("boss")
    other.run()
    assert other.title[0].value == Labels("en")("login_title") and not other.metric


def test_a_forged_cookie_is_no_session_and_no_traceback(users_file: Path) -> None:
    import jwt

    from ui import auth

    settings = users.cookie_settings()

    class Cookie:
        cookie_name, cookie_key = settings["name"], settings["key"]
        cookie_expiry_days = settings["expiry_days"]

    unsigned = jwt.encode({"username": "boss", "exp_date": 4e9}, key=None, algorithm="none")
    wrong_key = jwt.encode({"username": "boss", "exp_date": 4e9},
                           "not-the-key-but-long-enough-for-hs256-32b", algorithm="HS256")
    no_claims = jwt.encode({"user": "boss"}, settings["key"], algorithm="HS256")
    good = jwt.encode({"username": "boss", "exp_date": 4e9}, settings["key"],
                      algorithm="HS256")
    for token, expected in ((unsigned, None), (wrong_key, None), (no_claims, None),
                            ("garbage", None), (good, "boss")):
        state: dict[str, object] = {}
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(auth.st, "session_state", state)
            mp.setattr(auth.st, "context", type("C", (), {"cookies": {
                settings["name"]: token}})())
            assert auth._session_from_cookie(Cookie()) == expected


# -- data-derived text is text ----------------------------------------------------------------
def test_markdown_in_data_is_escaped() -> None:
    hostile = "![b](http://host/beacon.png) **x** :red[y] <img src=z>"
    shown = widgets.plain(hostile)
    unescaped = re.sub(r"\\.", "", shown)  # what markdown would still read as syntax
    for char in "![]()*:<>":
        assert char not in unescaped
    assert shown.replace("\\", "") == hostile


def test_the_customer_card_shows_a_hostile_name_as_text(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       demo_frames: dict[str, pd.DataFrame]
                                                       ) -> None:
    frames = {k: v.copy() for k, v in demo_frames.items()}
    first = frames["customers"]["customer_id"].iloc[0]
    hostile = "![b](http://host/beacon.png)"
    frames["customers"].loc[frames["customers"]["customer_id"] == first, "name"] = hostile
    wh = Warehouse(tmp_path / "wh")
    wh.replace_tables(frames, action="demo")
    monkeypatch.setenv("STEELSIGHT_WAREHOUSE", f"duckdb://{wh.root}")
    at = _app("en")
    at.session_state["card_customer"] = first
    at.switch_page("pages/4_customer.py").run()
    assert not at.exception
    texts = [h.value for h in at.header] + [c.value for c in at.caption]
    assert any("beacon" in t for t in texts)
    assert not any("![" in t or "](" in t for t in texts)


def test_reps_do_not_see_the_version_history(users_file: Path) -> None:
    at = _login(_app("en"), "rep", PASSWORDS["rep"])
    at.switch_page("pages/9_data.py").run()
    assert not at.exception
    assert Labels("en")("versions_admin_only", version="x").split(":")[0] in " ".join(
        i.value for i in at.info)
    for frame in at.dataframe:
        assert Labels("en").column("user") not in frame.value.columns


# -- a damaged warehouse ----------------------------------------------------------------------
@pytest.fixture
def two_versions(tmp_path: Path, demo_frames: dict[str, pd.DataFrame]) -> Warehouse:
    wh = Warehouse(tmp_path / "wh")
    small = {"customers": demo_frames["customers"], "orders": demo_frames["orders"].head(500)}
    wh.replace_tables(small, action="demo")
    wh.append_rows({"orders": demo_frames["orders"].iloc[500:600]}, action="import")
    return wh


def test_a_missing_pointer_falls_back_to_the_newest_version(two_versions: Warehouse) -> None:
    wh = two_versions
    newest = wh.current_path()
    wh.pointer.unlink()
    assert wh.current_path() == newest and wh.problem == "pointer_missing"
    assert wh.row_counts()["orders"] == 600
    # the next write starts from it, not from an empty database, and repairs the pointer
    wh.append_rows({"targets": pd.DataFrame({"rep": ["x"], "month": [pd.Timestamp(
        "2025-01-01")]})}, action="import")
    assert wh.problem is None and wh.row_counts()["orders"] == 600


def test_a_damaged_current_version_falls_back_and_is_reported(two_versions: Warehouse) -> None:
    wh = two_versions
    current = wh.current_path()
    assert current is not None
    current.write_bytes(current.read_bytes()[:4096])  # truncated
    assert wh.problem == "version_damaged" and wh.version == "v000001"
    assert wh.row_counts()["orders"] == 500
    checked = {e["version"]: e["readable"] for e in wh.check()}
    assert checked == {"v000001": True, "v000002": False}
    with pytest.raises(ValueError, match="damaged"):
        wh.rollback("v000002")


def test_a_garbled_pointer_is_reported(two_versions: Warehouse) -> None:
    two_versions.pointer.write_bytes(b"\x00\xff garbage")
    assert two_versions.problem == "pointer_damaged" and two_versions.version == "v000002"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, **env})


def test_versions_cli_lists_checks_and_rolls_back(two_versions: Warehouse,
                                                  tmp_path: Path) -> None:
    env = {"STEELSIGHT_WAREHOUSE": f"duckdb://{two_versions.root}",
           "STEELSIGHT_USERS": str(tmp_path / "none.yaml")}
    listed = _cli("versions", "list", env=env)
    assert listed.returncode == 0 and "* v000002" in listed.stdout
    assert _cli("versions", "check", env=env).returncode == 0
    back = _cli("versions", "rollback", "1", env=env)
    assert back.returncode == 0 and two_versions.version == "v000001"
    assert _cli("versions", "rollback", "9", env=env).returncode == 2
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "rollback" and events[-1]["version"] == "v000001"
    current = two_versions.current_path()
    assert current is not None
    two_versions.rollback("v000002")
    current = two_versions.current_path()
    assert current is not None
    current.write_bytes(b"not a database")
    checked = _cli("versions", "check", env=env)
    assert checked.returncode == 1 and "DAMAGED" in checked.stdout


def test_the_demo_is_never_built_over_a_users_versions(two_versions: Warehouse,
                                                       tmp_path: Path) -> None:
    two_versions.pointer.unlink()
    env = {"STEELSIGHT_WAREHOUSE": f"duckdb://{two_versions.root}",
           "STEELSIGHT_USERS": str(tmp_path / "none.yaml")}
    done = _cli("demo", "--if-missing", env=env)
    assert done.returncode == 0 and "nothing to do" in done.stdout
    assert len(two_versions.version_files()) == 2


def test_pages_survive_a_damaged_current_version(two_versions: Warehouse,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    current = two_versions.current_path()
    assert current is not None
    current.write_bytes(b"\x00" * 1000)
    monkeypatch.setenv("STEELSIGHT_WAREHOUSE", f"duckdb://{two_versions.root}")
    for lang in ("zh", "en"):
        at = _app(lang)
        assert not at.exception
        assert Labels(lang)("warehouse_problem_version_damaged", version="v000001") in [
            w.value for w in at.warning]


def test_cli_commands_answer_bad_state_in_a_sentence(tmp_path: Path,
                                                     two_versions: Warehouse) -> None:
    env = {"STEELSIGHT_WAREHOUSE": f"duckdb://{two_versions.root}",
           "STEELSIGHT_USERS": str(tmp_path / "none.yaml")}
    missing = _cli("import", str(tmp_path / "no-such-file.csv"), "--table", "orders", env=env)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "no-such-file.csv" in missing.stderr
    (tmp_path / "broken.yaml").write_text("credentials: [unclosed\n", encoding="utf-8")
    broken = _cli("--as-user", "rep", "export", "orders",
                  env={**env, "STEELSIGHT_USERS": str(tmp_path / "broken.yaml")})
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    assert "users file" in broken.stderr


def test_cli_imports_and_exports_are_audited(tmp_path: Path, two_versions: Warehouse,
                                             demo_frames: dict[str, pd.DataFrame]) -> None:
    env = {"STEELSIGHT_WAREHOUSE": f"duckdb://{two_versions.root}",
           "STEELSIGHT_USERS": str(tmp_path / "none.yaml")}
    path = tmp_path / "more.csv"
    demo_frames["orders"].iloc[600:650].to_csv(path, index=False)
    done = _cli("import", str(path), "--table", "orders", env=env)
    assert done.returncode == 0, done.stderr
    exported = _cli("export", "customers", "-o", str(tmp_path / "c.csv"), env=env)
    assert exported.returncode == 0, exported.stderr
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    kinds = [(e["event"], e.get("via")) for e in events]
    assert ("import", "cli") in kinds and ("export", "cli") in kinds
    assert all(e["user"].startswith("cli") for e in events)



# -- imports that damaged data silently ---------------------------------------------------------
def _plan(data: bytes, name: str, target: str, wh: Warehouse, **options: object
          ) -> ingest.ImportPlan:
    raw = ingest.read_file(data, name)
    mapping = ingest.suggest_mapping(list(raw.frame.columns), target)
    return ingest.plan_import(raw, target, mapping, data=data, mode=str(options.pop(
        "mode", "append")), existing=wh.tables() if wh.exists() else None,
        **options)  # type: ignore[arg-type]


TX = ("客户名称,单据日期,含税金额,吨位,品名\n佛山华盛钢材,2025-01-05,38000,10,螺纹钢\n"
      "顺德五金店,2025-01-06,4200,1.1,盘螺\n顺德五金店,2025-01-06,4200,1.1,盘螺\n")


def test_a_re_saved_file_is_recognised_line_by_line(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    first = TX.encode()
    ingest.apply_import(wh, _plan(first, "a.csv", "transactions", wh))
    assert wh.row_counts()["orders"] == 3  # two equal purchases on one day are both sales
    # the same data re-saved by Excel: GBK, a BOM-less title line, one more row
    again = ("销售明细 2025年1月\n" + TX + "江门建工,2025-01-07,125000,32.5,螺纹钢\n").encode("gbk")
    plan = _plan(again, "a (2).csv", "transactions", wh)
    assert plan.left_out == {"already_imported": 3} and plan.rows_good == 1
    assert plan.rows_bad == 0
    ingest.apply_import(wh, plan)
    assert wh.row_counts()["orders"] == 4
    # the user can say the look-alikes are new purchases
    more = ("客户名称,单据日期,含税金额,吨位,品名\n顺德五金店,2025-01-06,4200,1.1,盘螺\n").encode()
    plan = _plan(more, "b.csv", "transactions", wh, import_again=True)
    assert plan.left_out == {} and plan.rows_good == 1
    ingest.apply_import(wh, plan)
    assert wh.row_counts()["orders"] == 5


def test_an_overlapping_extract_with_invoice_numbers_is_not_counted_twice(tmp_path: Path
                                                                          ) -> None:
    wh = Warehouse(tmp_path / "wh")
    year = ("单据号,客户,日期,金额\n" + "".join(
        f"INV{i:04d},客户{i % 7},2025-{1 + i % 12:02d}-05,{100 + i}\n" for i in range(60)))
    ingest.apply_import(wh, _plan(year.encode(), "year.csv", "transactions", wh))
    extract = year.splitlines()[0] + "\n" + "\n".join(year.splitlines()[41:]) + \
        "\nINV9999,客户1,2025-12-20,500\n"
    plan = _plan(extract.encode("gbk"), "extract.csv", "transactions", wh)
    assert plan.left_out == {"already_imported": 20} and plan.rows_good == 1
    ingest.apply_import(wh, plan)
    assert wh.row_counts()["orders"] == 61


def test_orders_without_line_numbers_import_into_an_empty_warehouse_and_again(tmp_path: Path
                                                                              ) -> None:
    wh = Warehouse(tmp_path / "wh")
    data = ("订单号,日期,客户编号,吨位,金额\nSO1,2025-01-05,C1,10,100\nSO1,2025-01-05,C1,5,50\n"
            ).encode()
    ingest.apply_import(wh, _plan(data, "o.csv", "orders", wh))
    assert wh.row_counts()["orders"] == 2
    plan = _plan(data, "o.csv", "orders", wh)  # the same file again: found, not refused late
    assert plan.left_out == {"already_imported": 2}
    assert set(plan.problems["problem"]) == {"already_imported"}


def test_a_customer_master_replace_that_orphans_orders_asks_first(
        tmp_path: Path, demo_frames: dict[str, pd.DataFrame],
        monkeypatch: pytest.MonkeyPatch) -> None:
    wh = Warehouse(tmp_path / "wh")
    wh.replace_tables({"customers": demo_frames["customers"],
                       "orders": demo_frames["orders"]}, action="demo")
    two = demo_frames["customers"].head(2)[["customer_id", "name", "province", "sales_rep"]]
    data = two.to_csv(index=False).encode()
    plan = _plan(data, "c.csv", "customers", wh, mode="replace")
    assert [code for code, _ in plan.blocking] == ["would_orphan"]
    with pytest.raises(ingest.IngestError, match="would_orphan"):
        ingest.apply_import(wh, plan)
    assert wh.version == "v000001"  # nothing written
    plan = _plan(data, "c.csv", "customers", wh, mode="replace", allow_orphans=True)
    ingest.apply_import(wh, plan)
    # the views of a rep and a manager still work on what is left
    monkeypatch.setenv("STEELSIGHT_WAREHOUSE", f"duckdb://{wh.root}")
    rep = str(two["sales_rep"].iloc[0])
    tables = scoped(wh.tables(), Scope(user="r", level="rep", reps=(rep,), single_user=False))
    assert set(tables.get("orders").to_pandas()["customer_id"]) <= set(two["customer_id"])


def test_a_province_manager_sees_no_other_provinces_customers_on_any_page(
        users_file: Path, demo_warehouse: Warehouse) -> None:
    """Pages × the manager level: every table on every page holds only the manager's
    customers (the rep level has the same walk in test_access)."""
    import duckdb

    from ui.nav import PAGES

    con = duckdb.connect(str(demo_warehouse.current_path()), read_only=True)
    outside = {r[0] for r in con.execute(
        "select name from customers where province <> 'Guangxi'").fetchall()} - {
        r[0] for r in con.execute("select name from customers where province = 'Guangxi'")
        .fetchall()}
    con.close()
    at = _login(_app("en"), "manager", PASSWORDS["manager"])
    for page in PAGES:
        if page.path != "app.py":
            at.switch_page(page.path).run()
        assert not at.exception, page.path
        for frame in at.dataframe:
            cells = {str(v) for v in frame.value.to_numpy().ravel()}
            assert not cells & outside, (page.path, sorted(cells & outside)[:3])
    at.switch_page("pages/9_data.py").run()
    assert not at.get("file_uploader")  # managers do not import


def test_equal_totals_tie_and_break_by_id_whatever_the_float_noise() -> None:
    """Two customers with equal totals summed in another order (issue 20, 'Ties')."""
    from analytics.domain.abc import abc_classes
    from analytics.domain.customers import assign_tiers

    noisy = 0.1 + 0.2  # 0.30000000000000004
    values = pd.DataFrame({"customer_id": ["B", "A", "C"], "revenue_cny": [noisy, 0.3, 0.1]})
    tiers = assign_tiers(values, metric="revenue_cny")
    assert tiers["customer_id"].tolist() == ["A", "B", "C"]
    classes = abc_classes(values.rename(columns={"revenue_cny": "value"}), id_col="customer_id")
    assert classes["customer_id"].tolist() == ["A", "B", "C"]


@pytest.mark.parametrize("n", [10, 4_296, 100_000])
def test_a_pareto_chart_stays_readable_from_ten_to_a_hundred_thousand_items(n: int) -> None:
    from analytics.display import charts
    from analytics.domain.abc import abc_classes

    values = pd.DataFrame({"customer_id": [f"C{i:06d}" for i in range(n)],
                           "name": [f"客户{i}" for i in range(n)],
                           "value": 1e6 / (pd.Series(range(n)) + 1)})
    ranked = abc_classes(values, id_col="customer_id")
    binned = charts.pareto_bins(ranked, name_col="name")
    assert len(binned) == min(n, charts.PARETO_BARS)
    assert binned["value"].sum() == pytest.approx(ranked["value"].sum())
    assert binned["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    fig = charts.pareto(ranked, Labels("zh"), name_col="name", value_label="毛利",
                        thresholds=(0.75, 0.95))
    bars = sum(len(t.x) for t in fig.data if t.type == "bar")
    assert bars == len(binned)
    # the thresholds are lines labelled by the share axis's ticks, not text in the plot
    assert not fig.layout.annotations and len(fig.layout.shapes) == 2
    assert {75, 95} <= set(fig.layout.yaxis2.tickvals)


def test_a_new_customers_card_draws_no_months_before_its_first_order() -> None:
    from analytics.domain import card

    lines = pd.DataFrame({"order_date": pd.to_datetime(["2025-08-10", "2025-11-03"]),
                          "amount_cny": [100.0, 50.0]})
    months = card._monthly(lines, date(2025, 12, 31))
    assert months["month"].dt.strftime("%Y-%m").tolist() == [
        "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]
    assert months["revenue_cny"].tolist() == [100.0, 0.0, 0.0, 50.0, 0.0]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_import_mapping_speaks_the_users_language_with_units(lang: str) -> None:
    from analytics.ops.ingest.mapping import fields

    labels = Labels(lang)
    for target in ("transactions", "orders"):
        shown = [labels.field(f.name) for f in fields(target)]
        assert len(set(shown)) == len(shown), shown  # each choice tells one field
        assert not [s for s, f in zip(shown, fields(target), strict=True) if s == f.name], shown
    units = {"zh": ("（吨）", "（元）"), "en": ("(t)", "(¥)")}[lang]
    assert units[0] in labels.field("volume_t") and units[1] in labels.field("amount")
    assert labels.field("quantity") != labels.field("volume_t")


def test_a_re_imported_orders_file_with_line_numbers_is_recognised(tmp_path: Path) -> None:
    """Line numbers parse as 1.0 from a file and come back as 1 from the warehouse: the check
    must still see them as the same lines (it did not, found by timing a 500,000-line file)."""
    wh = Warehouse(tmp_path / "wh")
    data = ("订单号,行号,日期,客户编号,吨位,金额\nSO1,1,2025-01-05,C1,10,100\n"
            "SO1,2,2025-01-05,C1,5,50\nSO2,1,2025-01-06,C2,5,50\n").encode()
    ingest.apply_import(wh, _plan(data, "o.csv", "orders", wh, mode="replace"))
    again = _plan(data, "o.csv", "orders", wh)
    assert again.left_out == {"already_imported": 3} and again.rows_good == 0


def _churn_page(user: str) -> AppTest:
    at = _login(_app("en"), user, PASSWORDS[user])
    at.switch_page("pages/5_churn.py").run()
    assert not at.exception
    return at


def _risk_list(at: AppTest) -> pd.DataFrame:
    frames = [d.value for d in at.dataframe if d.proto.id and "risk_list" in d.proto.id] or [
        d.value for d in at.dataframe if Labels("en").column("raising") in d.value]
    assert frames, "the risk list is on the page"
    return frames[0]


def test_a_rep_reads_the_whole_books_model_without_its_margin(users_file: Path) -> None:
    """The churn page of a rep (张伟) and of the executive read one model: a customer has
    the same probability for both; the rep's feature list and reasons never name margin,
    the executive's do (the demo has costs)."""
    labels = Labels("en")
    margin = labels.value("feature", "margin_pct_365")
    boss, rep = _churn_page("boss"), _churn_page("rep")
    features = {who: next(c.value for c in at.caption if c.value.startswith(
        labels("model_features", features="").strip()[:-1])) for who, at in
        (("boss", boss), ("rep", rep))}
    assert margin in features["boss"].split(": ", 1)[1].split(", ")
    assert margin not in features["rep"].split(": ", 1)[1].split(", ")
    theirs, mine = _risk_list(boss), _risk_list(rep)
    why = [labels.column("raising"), labels.column("lowering")]
    assert not mine[why].apply(lambda col: col.str.contains("margin")).any().any()
    name, p = labels.column("name"), labels.column("probability")
    both = mine[[name, p]].merge(theirs[[name, p]], on=name, suffixes=("_rep", "_boss"))
    assert len(both) and len(mine) < len(theirs)
    assert (both[f"{p}_rep"] == both[f"{p}_boss"]).all()
