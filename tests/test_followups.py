"""Follow-ups (issue 24): the store keeps every committed write through failures, concurrent
writers and kill -9; scope decides who sees and does what, every write is audited; the
comparison "did it work?" computes what it says on known data, finds the effect planted in
the demo company and none where none was planted."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import closing
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.display.i18n import Labels
from analytics.domain import followups as fu
from analytics.domain.churn import load_history
from analytics.domain.churn.history import History
from analytics.ops import delivery, sample, users
from analytics.ops.cli import main as cli
from analytics.ops.followup_desk import desk
from analytics.store import followups as store
from analytics.store.access import Scope, scoped
from analytics.store.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
DUE = date(2030, 1, 31)


def _new(customer: str = "C1", assignee: str = "张伟", **kw: object) -> store.New:
    return store.New(customer_id=customer, assignee=assignee, due=DUE, action="call", **kw)


@pytest.fixture
def own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> store.Store:
    """A copy of the demo's follow-ups this test may write to, where the app looks for it."""
    path = tmp_path / "followups.sqlite"
    shutil.copy(os.environ[store.ENV_PATH], path)
    monkeypatch.setenv(store.ENV_PATH, str(path))
    return store.Store(path)


# -- the store -----------------------------------------------------------------------------
def test_add_done_reassign_and_the_history_of_each(tmp_path: Path) -> None:
    s = store.Store(tmp_path / "f.sqlite")
    fid = s.add(_new(note="问近期项目"), by="manager", at=datetime(2026, 3, 2, 9))
    s.reassign(fid, to="李娜", by="manager", at=datetime(2026, 3, 3, 9))
    s.done(fid, outcome="order_promised", note="下周下单", by="李娜",
           at=datetime(2026, 3, 4, 17))
    row = s.get(fid)
    assert row is not None
    assert (row["assignee"], row["status"], row["outcome"], row["done_by"]) == \
        ("李娜", "done", "order_promised", "李娜")
    assert list(s.events(fid)["kind"]) == ["added", "reassigned", "done"]
    with pytest.raises(store.FollowUpError) as err:  # done twice: refused, nothing changes
        s.done(fid, outcome="reached", by="李娜")
    assert err.value.code == "not_open"
    assert s.get(fid)["outcome"] == "order_promised"  # type: ignore[index]
    assert (tmp_path / "f.sqlite").stat().st_mode & 0o077 == 0  # nobody else may read it


def test_the_list_read_once_is_read_again_after_any_write(tmp_path: Path) -> None:
    """The parsed list is kept per process (the page reruns on every tap): each write, and a
    store replaced by another with as many rows (a restored backup), must show at once."""
    s = store.Store(tmp_path / "f.sqlite")
    fid = s.add(_new(note="first"), by="manager")
    assert list(s.frame()["status"]) == ["open"]
    theirs = s.frame()
    theirs.loc[0, "status"] = "changed by a caller"   # a copy: the next read is unharmed
    assert list(s.frame()["status"]) == ["open"]
    s.done(fid, outcome="reached", by="张伟")
    assert list(s.frame()["status"]) == ["done"]
    other = store.Store(tmp_path / "other.sqlite")
    other.add(_new(customer="C9", note="other"), by="manager")
    other.backup(tmp_path / "copy.sqlite")
    (tmp_path / "f.sqlite-wal").unlink(missing_ok=True)
    os.replace(tmp_path / "copy.sqlite", tmp_path / "f.sqlite")
    assert list(s.frame()["customer_id"]) == ["C9"]


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.reset_index(drop=True).astype(object).where(frame.notna().to_numpy(), None)


def test_the_open_ones_some_columns_or_one_customer_are_read_alone(tmp_path: Path) -> None:
    """The Overview reads the open follow-ups, the comparison three columns, a card one
    customer's: each what the whole list holds of it, and each read again after a write."""
    s = store.Store(tmp_path / "f.sqlite")
    first = s.add(_new("C1", note="一"), by="manager", at=datetime(2026, 3, 2, 9))
    s.add(_new("C2", note="二"), by="manager", at=datetime(2026, 3, 3, 9))
    s.add(_new("C1", note="三"), by="manager", at=datetime(2026, 3, 4, 9))
    s.done(first, outcome="reached", by="张伟")
    every = s.frame()
    opened = s.frame(status="open")
    # the same values (a column all empty in the rows read is typed otherwise: missing is
    # missing)
    pd.testing.assert_frame_equal(_plain(opened), _plain(every[every["status"] == "open"]))
    assert list(s.frame(status="done")["id"]) == [first]
    few = s.frame(columns=fu.JUDGED)
    assert list(few.columns) == ["id", "created_at", *fu.JUDGED]
    pd.testing.assert_frame_equal(few, every[list(few.columns)])
    assert list(s.frame(["C2"], status="open")["note"]) == ["二"]
    pd.testing.assert_frame_equal(_plain(s.of_customer("C1")),
                                  _plain(every[every["customer_id"] == "C1"]))
    assert s.of_customer("nobody").empty
    s.done(int(opened["id"].iloc[0]), outcome="reached", by="张伟")
    assert len(s.frame(status="open")) == 1 and len(s.frame(status="done")) == 2
    with pytest.raises(ValueError):   # a column is a name the store has, never SQL
        s.frame(columns=("customer_id; DROP TABLE followups",))
    with pytest.raises(ValueError):
        s.frame(status="lost")


def test_a_column_that_mixes_types_is_read_as_sqlite_holds_it(tmp_path: Path) -> None:
    """SQLite lets a column hold a number in one row and text in another (an old release, a
    hand edit): the list is read all the same, each value as stored."""
    import sqlite3

    s = store.Store(tmp_path / "f.sqlite")
    s.add(_new(customer="C1", note="first"), by="manager")
    s.add(_new(customer="C2", note="second"), by="manager")
    with closing(sqlite3.connect(tmp_path / "f.sqlite")) as con, con:
        con.execute("UPDATE followups SET probability = 0.4 WHERE customer_id = 'C1'")
        con.execute("UPDATE followups SET probability = 'high' WHERE customer_id = 'C2'")
    rows = s.frame().set_index("customer_id")
    assert (rows.at["C1", "probability"], rows.at["C2", "probability"]) == (0.4, "high")
    assert list(rows["note"]) == ["second", "first"]   # newest first, as always


def test_an_empty_store_reads_as_an_empty_list_in_any_scope(tmp_path: Path) -> None:
    s = store.Store(tmp_path / "f.sqlite")
    for customers in (None, [], ["C1"]):
        rows = s.frame(customers)
        assert rows.empty and set(store.COLUMNS) <= set(rows.columns)
    assert fu.work_list(s.frame(["C1"]), today=DUE, mine=("张伟",)).empty
    assert fu.open_by_rep(s.frame(["C1"]), today=DUE).empty


@pytest.mark.parametrize(("bad", "code"), [
    ({"action": "fax"}, "action"), ({"customer_id": " "}, "customer"),
    ({"assignee": ""}, "assignee"), ({"note": "x" * 501}, "note")])
def test_a_bad_follow_up_is_refused_and_writes_nothing(tmp_path: Path, bad: dict[str, str],
                                                       code: str) -> None:
    s = store.Store(tmp_path / "f.sqlite")
    s.add(_new(), by="manager")
    fields = {"customer_id": "C1", "assignee": "张伟", "due": DUE, "action": "call", **bad}
    with pytest.raises(store.FollowUpError) as err:
        s.add(store.New(**fields), by="manager")  # type: ignore[arg-type]
    assert err.value.code == code
    assert len(s.frame()) == 1 and s.check() == "ok"


def test_a_write_that_fails_half_way_leaves_nothing(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The follow-up row is written, then its history entry fails: the row goes too."""
    s = store.Store(tmp_path / "f.sqlite")
    s.add(_new(), by="manager")

    def broken(*_: object) -> None:
        raise OSError("disk full")
    monkeypatch.setattr(store, "_event", broken)
    with pytest.raises(OSError):
        s.add(_new("C2"), by="manager")
    with pytest.raises(OSError):
        s.done(1, outcome="reached", by="张伟")
    monkeypatch.undo()
    rows = s.frame()
    assert list(rows["customer_id"]) == ["C1"] and rows["status"].tolist() == ["open"]


_WRITER = textwrap.dedent("""
    import sys
    from datetime import date
    from analytics.store.followups import New, Store
    s = Store(sys.argv[1])
    for i in range(int(sys.argv[3])):
        fid = s.add(New(customer_id=f"{sys.argv[2]}{i}", assignee="张伟",
                        due=date(2030, 1, 1), action="visit"), by=sys.argv[2])
        print(fid, flush=True)
""")


def _writer(path: Path, who: str, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _WRITER, str(path), who, str(n)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_two_users_writing_at_once_both_succeed(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite"
    store.Store(path).frame()  # the file exists before both start
    a, b = _writer(path, "a", 150), _writer(path, "b", 150)
    out_a, _ = a.communicate(timeout=300)
    out_b, _ = b.communicate(timeout=300)
    assert a.returncode == 0 and b.returncode == 0
    ids = [int(x) for x in (out_a + out_b).split()]
    rows = store.Store(path).frame()
    assert len(rows) == 300 == len(set(ids)) and set(rows["id"]) == set(ids)
    assert rows["customer_id"].str[0].value_counts().to_dict() == {"a": 150, "b": 150}


def test_nothing_committed_is_lost_to_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite"
    w = _writer(path, "k", 100_000)
    assert w.stdout is not None
    acknowledged = [int(w.stdout.readline()) for _ in range(60)]
    os.kill(w.pid, signal.SIGKILL)
    w.wait(timeout=30)
    s = store.Store(path)
    assert s.check() == "ok"
    kept = set(s.frame()["id"])
    assert set(acknowledged) <= kept  # every write the writer was told was committed


def test_backup_is_a_consistent_copy_while_others_write(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite"
    w = _writer(path, "w", 400)
    assert w.stdout is not None
    for _ in range(20):
        w.stdout.readline()
    n = store.Store(path).backup(tmp_path / "backup" / "copy.sqlite")
    w.communicate(timeout=300)
    copy = store.Store(tmp_path / "backup" / "copy.sqlite")
    assert copy.check() == "ok" and n == len(copy.frame()) and 20 <= n <= 400


def test_a_damaged_store_says_so_and_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(store.FollowUpError) as err:
        store.Store(path).add(_new(), by="manager")
    assert err.value.code == "store" and path.read_bytes() == before
    assert Labels("zh")("fu_error_store") and Labels("en")("fu_error_store")


# -- scope and audit -------------------------------------------------------------------------
@pytest.fixture
def audit_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STEELSIGHT_USERS", str(tmp_path / "auth" / "users.yaml"))
    return users.audit_path()


def test_a_rep_works_only_their_own_customers_and_every_write_is_audited(
        demo_warehouse: Warehouse, own_store: store.Store, audit_log: Path) -> None:
    tables = demo_warehouse.tables()
    master = tables.customers.to_pandas()  # type: ignore[union-attr]
    mine = master.loc[master["sales_rep"] == "张伟", "customer_id"].tolist()
    other = master.loc[master["sales_rep"] == "李娜", "customer_id"].iloc[0]
    rep = Scope(user="rep", level="rep", reps=("张伟",), single_user=False)
    d = desk(own_store, scoped(tables, rep), rep)
    seen = d.frame()
    assert len(seen) and set(seen["customer_id"]) <= set(mine)
    everyone = own_store.frame()
    assert set(everyone["customer_id"]) - set(mine)  # the store holds others' too
    fid = d.add(_new(mine[0]))
    for attempt, code in ((lambda: d.add(_new(other)), "not_visible"),
                          (lambda: d.add(_new(mine[0], assignee="李娜")), "not_allowed"),
                          (lambda: d.reassign(fid, to="李娜"), "not_allowed")):
        with pytest.raises(store.FollowUpError) as err:
            attempt()
        assert err.value.code == code
    theirs = int(everyone.loc[everyone["customer_id"] == other, "id"].iloc[0])
    with pytest.raises(store.FollowUpError) as err:  # another rep's: as if it did not exist
        d.done(theirs, outcome="reached")
    assert err.value.code == "not_found"
    d.done(fid, outcome="order_placed")
    assert len(own_store.frame()) == len(everyone) + 1
    events = [(e["event"], e["user"], e.get("followup")) for e in users.read_audit()]
    assert ("followup_added", "rep", fid) in events and ("followup_done", "rep", fid) in events


def test_a_manager_sees_the_region_and_assigns_to_its_reps(
        demo_warehouse: Warehouse, own_store: store.Store, audit_log: Path) -> None:
    tables = demo_warehouse.tables()
    master = tables.customers.to_pandas()  # type: ignore[union-attr]
    region = master[master["province"] == "Guangxi"]
    scope = Scope(user="manager", level="manager", provinces=("Guangxi",), single_user=False)
    d = desk(own_store, scoped(tables, scope), scope)
    assert set(d.frame()["customer_id"]) <= set(region["customer_id"])
    assert set(d.assignable()) == {"manager", *region["sales_rep"].dropna()}
    fid = d.add(_new(region["customer_id"].iloc[0], assignee=region["sales_rep"].iloc[0]))
    d.reassign(fid, to="manager")
    assert own_store.get(fid)["assignee"] == "manager"  # type: ignore[index]
    with pytest.raises(store.FollowUpError):  # a customer outside the region
        d.add(_new(master.loc[master["province"] == "Guangdong", "customer_id"].iloc[0],
                   assignee="manager"))
    assert ("followup_reassigned", "manager") in [(e["event"], e["user"])
                                                  for e in users.read_audit()]


def test_the_cli_works_under_the_users_scope(demo_warehouse: Warehouse,
                                             own_store: store.Store, audit_log: Path,
                                             tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    users.add_user("rep", "rep-password-1", level="rep", name="张伟")
    master = demo_warehouse.tables().customers.to_pandas()  # type: ignore[union-attr]
    mine = master.loc[master["sales_rep"] == "张伟", "customer_id"].iloc[0]
    other = master.loc[master["sales_rep"] == "李娜", "customer_id"].iloc[0]
    assert cli(["--as-user", "rep", "followups", "add", mine, "--action", "visit",
                "--due", "2030-01-31"]) == 0
    fid = int(own_store.frame()["id"].max())
    assert own_store.get(fid)["assignee"] == "张伟"  # type: ignore[index]
    assert cli(["--as-user", "rep", "followups", "add", other, "--action", "call",
                "--due", "2030-01-31"]) == 2
    assert "not in your scope" in capsys.readouterr().err
    assert cli(["--as-user", "rep", "followups", "list", "--open", "-o",
                str(tmp_path / "open.csv")]) == 0
    listed = pd.read_csv(tmp_path / "open.csv", encoding="utf-8-sig")
    assert fid in set(listed["id"]) and set(listed["customer_id"]) <= set(
        master.loc[master["sales_rep"] == "张伟", "customer_id"])
    assert cli(["--as-user", "rep", "followups", "done", str(fid), "--outcome",
                "order_promised"]) == 0
    assert own_store.get(fid)["status"] == "done"  # type: ignore[index]
    assert cli(["followups", "backup", str(tmp_path / "b.sqlite")]) == 0
    assert len(store.Store(tmp_path / "b.sqlite").frame()) == len(own_store.frame())
    events = {(e["event"], e["user"]) for e in users.read_audit()}
    assert {("followup_added", "rep"), ("followup_done", "rep")} <= events


def test_a_due_date_that_is_not_one_gets_one_sentence(own_store: store.Store,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    with pytest.raises(SystemExit) as stop:
        cli(["followups", "add", "C1", "--action", "call", "--due", "2030-02-30"])
    assert "is not a date" in str(stop.value.code)


def test_the_digest_lists_each_persons_overdue_follow_ups() -> None:
    from analytics.domain.warning import Digest

    rows = pd.DataFrame({"id": [1, 2, 3], "customer_id": ["A", "B", "C"],
                         "customer_name": ["甲公司", "乙公司", "丙公司"],
                         "assignee": ["张伟", "张伟", "李娜"], "status": ["open", "open", "done"],
                         "due": [date(2026, 3, 1), date(2026, 3, 20), date(2026, 3, 1)]})
    late = fu.with_lateness(rows, today=date(2026, 3, 10))
    digest = Digest(pd.DataFrame(columns=["name", "money_at_stake_cny", "reasons"]),
                    pd.DataFrame(columns=["name", "exposure_cny", "credit_limit_cny"]),
                    overdue_followups=late[late["overdue"]])
    text = delivery.digest_markdown(Labels("zh"), digest)
    assert "逾期的跟进" in text and "张伟：1 项（甲公司）" in text and "乙公司" not in text
    assert "丙公司" not in text  # done, however late


# -- did it work? ---------------------------------------------------------------------------
def _history(n_each: int) -> tuple[History, pd.DataFrame]:
    """2 × n_each customers who ordered three times a month apart in early 2021 and then
    stopped; on 10 June 2022 the first n_each are followed up. 60 % of them order 10 days
    later, 30 % of the others on the same day: a difference of 30 points in every window."""
    rows = []
    ids = [f"F{i:03d}" for i in range(n_each)] + [f"N{i:03d}" for i in range(n_each)]
    for c in ids:
        for d in ("2021-01-01", "2021-01-31", "2021-03-02"):
            rows.append((c, d))
    for c in ids[:round(n_each * 0.6)] + ids[n_each:n_each + round(n_each * 0.3)]:
        rows.append((c, "2022-06-20"))
    rows.append((ids[-1], "2023-01-31"))  # the data run to here: every window can be judged
    days = pd.DataFrame(rows, columns=["customer_id", "date"]).assign(
        date=lambda f: pd.to_datetime(f["date"]), revenue_cny=1000.0, volume_t=10.0)
    history = History(days=days, customers=pd.DataFrame({"customer_id": ids}),
                      end=date(2023, 1, 31))
    followed = pd.DataFrame({"id": range(n_each), "customer_id": ids[:n_each],
                             "action": "visit", "assignee": "张伟",
                             "created_at": pd.Timestamp("2022-06-10 09:00")})
    return history, followed


def test_the_comparison_computes_what_it_says_on_known_data() -> None:
    history, followed = _history(40)
    rows = fu.matched(history, followed)
    assert len(rows) == 40 and set(rows["status"]) == {"lost"} and set(rows["tier"]) == {"none"}
    assert (rows["comparable_n"] == 40).all()  # the 40 not followed up, nobody else
    out = fu.effect(rows).set_index("window_days")
    for w in fu.WINDOWS:
        assert out.at[w, "followed"] == 40
        assert out.at[w, "followed_pct"] == pytest.approx(60.0)
        assert out.at[w, "comparable_pct"] == pytest.approx(30.0)
        assert out.at[w, "difference_pts"] == pytest.approx(30.0)
    # the interval by hand: one comparison group of 40, its share pulled half a customer to ½
    p_c = (0.3 * 40 + 0.5) / 41
    se = 100 * (0.6 * 0.4 / 40 + p_c * (1 - p_c) / 40) ** 0.5
    assert out.at[90, "low_pts"] == pytest.approx(30 - 1.96 * se)
    assert out.at[90, "conclusion"] == "better"
    few = fu.effect(fu.matched(*_history(10)))
    assert set(few["conclusion"]) == {"too_few"}


def test_a_window_that_ends_after_the_data_is_not_judged() -> None:
    history, followed = _history(40)
    history = History(days=history.days[history.days["date"] < "2022-12-01"],
                      customers=history.customers, end=date(2022, 11, 30))
    out = fu.effect(fu.matched(history, followed)).set_index("window_days")
    assert out.at[90, "followed"] == 40 and out.at[180, "followed"] == 0
    assert out.at[180, "conclusion"] == "too_few"


def test_the_demo_shows_the_effect_planted_in_it(demo_warehouse: Warehouse) -> None:
    """The demo's reps turn some drifting customers back and bring orders forward, visits
    more than calls (analytics.ops.sample, RESCUE and NUDGE): the page must find it."""
    rows = fu.matched(load_history(demo_warehouse.tables()),
                      store.Store(Path(os.environ[store.ENV_PATH])).frame())
    overall = fu.effect(rows).set_index("window_days")
    assert overall.at[90, "conclusion"] == "better", overall
    assert overall.at[90, "followed"] >= 500
    by_action = fu.effect(rows, by="action").set_index(["action", "window_days"])
    assert by_action.at[("visit", 30), "difference_pts"] > \
        by_action.at[("call", 30), "difference_pts"] > 0


def test_follow_ups_after_the_data_change_nothing_judged_nor_the_mark(
        demo_warehouse: Warehouse) -> None:
    """The page keeps "did it work?" under judged_mark: a follow-up added after the data's
    last order (today's, on a book imported last week) must leave the comparison as it was,
    even one in the same month as the last order (it joins that month's comparison groups);
    one dated before must renew it."""
    history = load_history(demo_warehouse.tables())
    before = store.Store(Path(os.environ[store.ENV_PATH])).frame()
    end = history.end
    month_end = (pd.Timestamp(end) + pd.offsets.MonthEnd(0)).date()
    later = pd.date_range(end + timedelta(days=1), max(month_end, end + timedelta(days=5)))
    assert len(later) >= 5
    followed = set(before["customer_id"])
    others = sorted(set(history.customers["customer_id"]) - followed)[:len(later)]
    added = pd.DataFrame({"id": range(10**6, 10**6 + len(others)), "customer_id": others,
                          "action": "visit", "assignee": "张伟",
                          "created_at": later[:len(others)] + pd.Timedelta(hours=9)})
    after = pd.concat([before, added], ignore_index=True)
    assert fu.judged_mark(after, end=end) == fu.judged_mark(before, end=end)
    for by in (None, "action", "assignee"):
        pd.testing.assert_frame_equal(fu.effect(fu.matched(history, after), by=by),
                                      fu.effect(fu.matched(history, before), by=by))
    earlier = added.assign(created_at=pd.Timestamp(end) - pd.Timedelta(days=45))
    assert fu.judged_mark(pd.concat([before, earlier.iloc[:1]]), end=end) != \
        fu.judged_mark(before, end=end)
    moved = before.assign(assignee=before["assignee"].where(before.index != 0, "someone else"))
    assert fu.judged_mark(moved, end=end) != fu.judged_mark(before, end=end)


def test_where_nothing_was_planted_nothing_is_found(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The same reps follow up the same way, but their follow-ups do nothing: the comparison
    must not find an effect (its matching leaves no bias of its own to mistake for one)."""
    monkeypatch.setattr(sample, "RESCUE", dict.fromkeys(sample.RESCUE, 0.0))
    monkeypatch.setattr(sample, "NUDGE", dict.fromkeys(sample.NUDGE, 0.0))
    s = store.Store(tmp_path / "placebo.sqlite")
    sample.build(Warehouse(tmp_path / "wh"), followups=s)
    out = fu.effect(fu.matched(load_history(Warehouse(tmp_path / "wh").tables()), s.frame()))
    assert set(out["conclusion"]) == {"unclear"}, out
    assert out["difference_pts"].abs().max() < 3


def test_the_demo_has_a_history_of_diligent_and_careless_reps(
        demo_frames: dict[str, pd.DataFrame]) -> None:
    frames = sample.generate_frames(followups=True)
    history = frames[sample.FOLLOWUPS]
    assert set(history["action"]) <= set(store.ACTIONS)
    assert set(history["outcome"].dropna()) <= set(store.OUTCOMES)
    per_rep = history.groupby("assignee").size()
    assert per_rep["张伟"] > 3 * per_rep["吴刚"]   # diligence 0.8 against 0.1
    late = (pd.to_datetime(history["done_at"]) - pd.to_datetime(history["due"]))
    by_rep = late.dt.days.groupby(history["assignee"]).median()
    assert by_rep["吴刚"] > by_rep["张伟"]          # the careless one is done later, too
    assert set(frames) - {sample.FOLLOWUPS} == set(demo_frames)


# -- the pages -----------------------------------------------------------------------------
@pytest.fixture
def signed_in_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("STEELSIGHT_USERS", str(tmp_path / "auth" / "users.yaml"))
    users.add_user("rep", "rep-password-1", level="rep", name="张伟")
    users.add_user("manager", "manager-pass-1", level="manager", provinces=("Guangdong",))
    yield


def _page(user: str, password: str, lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["lang"] = lang
    at.run()
    at.text_input(key="login_user").input(user)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    return at.switch_page("pages/15_followups.py").run()


def test_a_rep_records_an_outcome_on_the_page(own_store: store.Store,
                                              signed_in_users: None,
                                              demo_warehouse: Warehouse) -> None:
    master = demo_warehouse.tables().customers.to_pandas()  # type: ignore[union-attr]
    mine = master.loc[master["sales_rep"] == "张伟", "customer_id"].iloc[0]
    fid = own_store.add(_new(mine), by="manager", at=datetime.now() - timedelta(days=9))
    at = _page("rep", "rep-password-1")
    assert not at.exception
    labels = Labels("en")
    everyone = fu.with_lateness(own_store.frame(), today=date.today())
    theirs = everyone[(everyone["status"] == "open") & everyone["assignee"].isin(["rep", "张伟"])]
    assert len(theirs) >= 1
    counts = [m.value for m in at.markdown if "open" in m.value]
    assert counts and counts[0].startswith(
        f"**{len(theirs)}** open, **{int(theirs['overdue'].sum())}** of them overdue"), counts
    assert not [s for s in at.subheader if s.value == labels("fu_team")]  # a rep has no team
    at.selectbox(key="fu_done_pick").select(fid)
    at.selectbox(key="fu_done_outcome").select("order_promised")
    at.text_input(key="fu_done_note").input("周五下单")
    at.button[[b.label for b in at.button].index(labels("fu_done_button"))].click().run()
    assert not at.exception
    row = own_store.get(fid)
    assert row is not None and (row["status"], row["outcome"], row["done_by"]) == \
        ("done", "order_promised", "rep")
    assert labels("fu_done_saved") in [s.value for s in at.success]


def test_a_rep_adds_a_follow_up_for_one_of_their_own_customers_only(
        own_store: store.Store, signed_in_users: None, demo_warehouse: Warehouse) -> None:
    master = demo_warehouse.tables().customers.to_pandas()  # type: ignore[union-attr]
    theirs = master[master["sales_rep"] == "张伟"]
    at = _page("rep", "rep-password-1")
    assert not at.exception
    picker = at.selectbox(key="fu_new_customer")
    # the rep's customers, by name, each shown with its id, and nobody else's
    assert set(picker.options) == {f"{n} ({c})" for c, n in
                                   zip(theirs["customer_id"], theirs["name"], strict=True)}
    shown = [o.rsplit(" (", 1)[0] for o in picker.options]
    assert shown == sorted(shown)
    customer = theirs["customer_id"].iloc[0]
    picker.select(customer)
    at.text_input(key="fu_new_note").input("问下月计划")
    labels = Labels("en")
    at.button[[b.label for b in at.button].index(labels("fu_add_button"))].click().run()
    assert not at.exception
    added = own_store.frame().iloc[0]
    assert (added["customer_id"], added["assignee"], added["note"]) == \
        (customer, "张伟", "问下月计划")
    assert labels("fu_added", name=theirs["name"].iloc[0]) in [m.value for m in at.success]


def test_without_follow_ups_the_page_says_so_without_a_click(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signed_in_users: None) -> None:
    empty = store.Store(tmp_path / "none.sqlite")
    assert empty.empty()
    monkeypatch.setenv(store.ENV_PATH, str(empty.path))
    at = _page("manager", "manager-pass-1", "zh")
    assert not at.exception
    labels = Labels("zh")
    assert labels("fu_effect_empty") in [i.value for i in at.info]
    assert labels("fu_effect_open") not in [e.label for e in at.expander]
    empty.add(_new(), by="manager")
    assert not empty.empty()


def test_a_manager_sees_the_team_and_the_effect(own_store: store.Store,
                                                signed_in_users: None,
                                                demo_warehouse: Warehouse) -> None:
    at = _page("manager", "manager-pass-1", "zh")
    assert not at.exception
    labels = Labels("zh")
    assert labels("fu_team") in [s.value for s in at.subheader]
    assert labels("fu_effect_title") in [h.value for h in at.header]
    # the comparison waits until it is opened: the lists come first
    assert labels("fu_effect_open") in [e.label for e in at.expander]
    verdicts = {labels.value("fu_conclusion", c) for c in fu.CONCLUSIONS}
    assert not verdicts & {i.value for i in at.info}
    at.session_state["fu_effect_open"] = True
    at.session_state["fu_done_open"] = True
    at.run()
    assert not at.exception
    assert verdicts & {i.value for i in at.info}
    # the done list, opened: the region's done follow-ups, not the company's
    scope = Scope(user="manager", level="manager", provinces=("Guangdong",),
                  single_user=False)
    n = len(desk(own_store, scoped(demo_warehouse.tables(), scope), scope)
            .frame(status="done"))
    assert 0 < n < len(own_store.frame(status="done"))
    assert labels("fu_done_count", n=f"{n:,}") in [c.value for c in at.caption]


def test_the_card_assigns_a_follow_up_that_keeps_why(own_store: store.Store,
                                                     demo_warehouse: Warehouse) -> None:
    from ui.widgets import followup_context

    master = demo_warehouse.tables().customers.to_pandas()  # type: ignore[union-attr]
    customer = master["customer_id"].iloc[3]
    came = followup_context("risk_list", pd.Series({"customer_id": customer,
                                                    "probability": 72.5, "band": "高"}),
                            percent=("probability",))
    assert came == {"customer_id": customer, "source": "risk_list", "reason": "risk_list",
                    "probability": 0.725, "risk_band": "高", "tier": None}
    # a probability under one per cent stays under one per cent
    low = followup_context("risk_list", pd.Series({"customer_id": customer,
                                                   "probability": 0.8}), percent=("probability",))
    assert low["probability"] == pytest.approx(0.008)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["lang"] = "en"
    at.run()
    at.session_state["card_customer"] = customer
    at.session_state["card_followup"] = came
    at.switch_page("pages/4_customer.py").run()
    assert not at.exception
    at.selectbox(key="card_fu_action").select("visit")
    at.text_input(key="card_fu_note").input("去工地看看")
    labels = Labels("en")
    at.button[[b.label for b in at.button].index(labels("fu_add_button"))].click().run()
    assert not at.exception
    added = own_store.frame().iloc[0]
    assert (added["customer_id"], added["action"], added["source"], added["probability"]) == \
        (customer, "visit", "risk_list", pytest.approx(0.725))
    assert labels("fu_added", name=added["customer_name"]) in [s.value for s in at.success]


def test_the_monthly_report_has_a_follow_up_section(demo_warehouse: Warehouse) -> None:
    from analytics.display import report

    tables = demo_warehouse.tables()
    rows = store.Store(Path(os.environ[store.ENV_PATH])).frame()
    labels = Labels("zh")
    built = report.build_report(tables, month=report.month_period("2025-10", tables),
                                labels=labels, followups=rows)
    section = next(s for s in built.sections if s.key == "followups")
    done = rows[(rows["status"] == "done") & (rows["done_at"].dt.strftime("%Y-%m") == "2025-10")]
    assert built.numbers["followups_done"] == len(done) > 0
    assert section.tables and set(section.tables[0].frame["outcome"]) == set(done["outcome"])
    assert any("个百分点" in n for n in section.notes)
    html = report.to_html(built, labels)
    assert labels("report_followups") in html and labels("report_followups_done") in html


def test_the_store_path_comes_from_the_environment_the_settings_or_the_warehouse(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(store.ENV_PATH, raising=False)
    monkeypatch.setattr(store, "ROOT", tmp_path)
    assert store.default_path(tmp_path / "wh" / "warehouse") == tmp_path / "wh" / store.FILE_NAME
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[followups]\npath = "kept/f.sqlite"\n')
    assert store.default_path(tmp_path / "wh" / "warehouse") == tmp_path / "kept" / "f.sqlite"
    monkeypatch.setenv(store.ENV_PATH, str(tmp_path / "env.sqlite"))
    assert store.default_path() == tmp_path / "env.sqlite"
