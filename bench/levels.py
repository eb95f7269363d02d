"""Page render times by access level: ``python -m bench.levels --scale 150``.

Issue 21: most users arrive signed in as a rep or a province manager, or add a sidebar filter;
the executive's default view is the baseline. For every page and level, a fresh process signs
in through the login form in AppTest (the users file is the bench's own), renders the page
(cold: empty caches, as the first visitor after an import) and renders it again (warm). The
Overview is rendered first on every page but its own, as a visitor arrives; only the page is
timed. Appends a section to bench/RESULTS.md with each level's ratio to the executive's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from analytics.store import followups
from analytics.store.warehouse import Warehouse
from bench.results import replace_section

HERE = Path(__file__).resolve().parent
PAGES = ("app.py", "pages/4_customer.py", "pages/5_churn.py", "pages/8_credit.py",
         "pages/3_grading.py", "pages/12_inventory.py", "pages/14_team.py",
         "pages/15_followups.py", "pages/15_followups.py: comparison")
# a section a page computes only when opened (a lazy expander): the page is rendered first,
# untimed, then the section is opened (cold) and the page rendered again (warm)
OPENED = {"pages/15_followups.py: comparison": ("pages/15_followups.py", "fu_effect_open")}
LEVELS = ("executive", "executive + filter", "manager", "rep")
PASSWORD = "bench-password-1"
USER = {"executive": "boss", "executive + filter": "boss", "manager": "manager", "rep": "rep"}


def _signed_in(level: str, province: str) -> tuple[Any, float]:
    """A fresh app signed in through the form as ``level`` (with the province filter for the
    filtered executive), and the clock at the start of its last step."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(HERE.parent / "app.py"), default_timeout=3600)
    at.session_state["lang"] = "en"
    at.run()
    at.text_input(key="login_user").input(USER[level])
    at.text_input(key="login_password").input(PASSWORD)
    t = time.perf_counter()
    at.button[0].click().run()
    if level == "executive + filter":
        t = time.perf_counter()
        at.sidebar.multiselect(key="w_provinces_en").select(province).run()
    return at, t


def _one(page: str, level: str, province: str) -> None:
    """In the child process: sign in, render ``page`` cold and warm, print the seconds."""
    at, t = _signed_in(level, province)
    if page in OPENED:
        page, key = OPENED[page]
        at.switch_page(page).run()
        at.session_state[key] = True
        t = time.perf_counter()
        at.run()
    elif page != "app.py":
        t = time.perf_counter()
        at.switch_page(page).run()
    cold = time.perf_counter() - t
    t = time.perf_counter()
    at.run()
    warm = time.perf_counter() - t
    print(json.dumps({"cold": cold, "warm": warm, "errors": len(at.exception),
                      "rss_mb": _hwm_mb()}))


def _memory(province: str) -> None:
    """In the child process: sign in as each level in turn and render every page, printing
    the process's memory high-water mark after each level (one server serving the four)."""
    for level in LEVELS:
        at, _ = _signed_in(level, province)
        for page in PAGES[1:]:
            if page in OPENED:   # what a manager reads there too
                at.session_state[OPENED[page][1]] = True
                at.run()
            else:
                at.switch_page(page).run()
        print(json.dumps({"level": level, "errors": len(at.exception), "hwm_mb": _hwm_mb()}),
              flush=True)


def _hwm_mb() -> float:
    # the high-water mark of this process's own memory: getrusage's ru_maxrss survives
    # fork and exec, so a child of a parent that once held 2 GB reports 2 GB
    status = Path("/proc/self/status").read_text()
    return float(next(line.split()[1] for line in status.splitlines()
                      if line.startswith("VmHWM:"))) / 1024


def _users(path: Path, warehouse: Path) -> tuple[str, str]:
    """Write the bench's users (the busiest rep; a manager of that rep's province)."""
    import duckdb

    from analytics.ops import users
    from analytics.store.warehouse import Warehouse

    con = duckdb.connect(str(Warehouse(warehouse).current_path()), read_only=True)
    rep, province = con.execute(
        "SELECT sales_rep, province FROM customers WHERE sales_rep IS NOT NULL "
        "GROUP BY ALL ORDER BY count(*) DESC, sales_rep LIMIT 1").fetchone()  # type: ignore[misc]
    con.close()
    os.environ["STEELSIGHT_USERS"] = str(path)
    users.add_user("boss", PASSWORD, level="executive")
    users.add_user("manager", PASSWORD, level="manager", provinces=(province,))
    users.add_user("rep", PASSWORD, level="rep", name=rep)
    return rep, province


def _current_results(wh: Warehouse) -> None:
    """Results kept by this code: a stored result's key holds the code's digest, so a cache
    written by an earlier commit would make every level compute on request. Such a cache is
    written again (a new version of the same data) before anything is timed."""
    from analytics.store import derived, results
    from analytics.store.warehouse import STORED_TABLE
    from bench.__main__ import _stored_write_s

    stored = derived.table(wh.tables(), STORED_TABLE)  # inside the version, or beside it
    found = 0 if stored is None else int(
        stored.filter(stored.key.contains(results.code_version())).count().execute())
    if not found:
        print(f"results kept again by this code: {_stored_write_s(wh):.0f} s", flush=True)


def measure(scale: float, repeat: int, pages: tuple[str, ...] = PAGES
            ) -> tuple[dict[tuple[str, str], dict[str, float]], str]:
    from bench.__main__ import _warehouse

    # built as the main bench builds it, with the demo's follow-ups: built here without
    # them, the follow-up page timed an empty store on a machine where this bench ran first
    folder = _warehouse(scale)[0].root
    _current_results(Warehouse(folder))
    with tempfile.TemporaryDirectory() as tmp:
        rep, province = _users(Path(tmp) / "users.yaml", folder)
        env = {**os.environ, "STEELSIGHT_WAREHOUSE": f"duckdb://{folder}",
               "STEELSIGHT_USERS": str(Path(tmp) / "users.yaml"),
               # the demo's follow-ups, kept inside its folder (bench.__main__._warehouse):
               # the default beside the folder is an empty store, and the follow-up page
               # then never reached its "did it work" section
               followups.ENV_PATH: str(folder / followups.FILE_NAME)}
        out: dict[tuple[str, str], dict[str, float]] = {}
        for page in pages:
            for level in LEVELS:
                runs = []
                for _ in range(repeat):
                    done = subprocess.run(
                        [sys.executable, "-m", "bench.levels", "--one", page, level, province],
                        cwd=HERE.parent, env=env, capture_output=True, text=True, check=True)
                    runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
                runs.sort(key=lambda r: r["cold"])
                out[(page, level)] = runs[len(runs) // 2]  # the median by the cold time
                print(page, level, out[(page, level)], flush=True)
    return out, f"rep {rep}, manager of {province}, filter province {province}"


def memory(scale: float) -> None:
    """Print one fresh process's memory high-water mark after serving each level."""
    from bench.__main__ import _warehouse

    folder = _warehouse(scale)[0].root
    _current_results(Warehouse(folder))
    with tempfile.TemporaryDirectory() as tmp:
        _rep, province = _users(Path(tmp) / "users.yaml", folder)
        env = {**os.environ, "STEELSIGHT_WAREHOUSE": f"duckdb://{folder}",
               "STEELSIGHT_USERS": str(Path(tmp) / "users.yaml"),
               # the demo's follow-ups, kept inside its folder (bench.__main__._warehouse):
               # the default beside the folder is an empty store, and the follow-up page
               # then never reached its "did it work" section
               followups.ENV_PATH: str(folder / followups.FILE_NAME)}
        done = subprocess.run([sys.executable, "-m", "bench.levels", "--memory-child",
                               province], cwd=HERE.parent, env=env, capture_output=True,
                              text=True, check=True)
        for line in done.stdout.strip().splitlines():
            if line.startswith("{"):
                print(line)


def report(results: dict[tuple[str, str], dict[str, float]], scale: float, who: str,
           repeat: int) -> str:
    lines = [f"## Page render by access level, demo scale {scale:g} (issue 21)", "",
             f"`python -m bench.levels --scale {scale:g} --repeat {repeat}`: AppTest, signed "
             f"in through the form, a fresh process per page and level, median of {repeat}; "
             f"{who}. Seconds cold / warm, and the cold time's ratio to the executive's.", "",
             "| page | " + " | ".join(LEVELS) + " | slowest ÷ executive | peak RSS MB |",
             "|---|" + "---|" * (len(LEVELS) + 2)]
    for page in PAGES:
        base = results[(page, "executive")]["cold"]
        cells = []
        for level in LEVELS:
            r = results[(page, level)]
            cells.append(f"{r['cold']:.1f} / {r['warm']:.2f}" + (" ⚠" if r["errors"] else ""))
        slowest = max(results[(page, level)]["cold"] for level in LEVELS)
        rss = max(results[(page, level)].get("rss_mb", float("nan")) for level in LEVELS)
        lines.append(f"| {page} | " + " | ".join(cells)
                     + f" | {slowest / base:.1f}× | {rss:.0f} |".replace("nan", "—"))
    lines += ["", "Peak RSS: the largest of the four levels' processes (one process signs in, "
              "renders the Overview and the page twice)."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.levels")
    parser.add_argument("--scale", type=float, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pages", nargs="*", default=list(PAGES),
                        help="only these pages (default: all; the report needs all)")
    parser.add_argument("--memory", action="store_true",
                        help="one process serving the four levels every page: its peak memory")
    parser.add_argument("--one", nargs=3, metavar=("PAGE", "LEVEL", "PROVINCE"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", metavar="PROVINCE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(*args.one)
        return
    if args.memory_child:
        _memory(args.memory_child)
        return
    if args.memory:
        memory(args.scale)
        return
    results, who = measure(args.scale, args.repeat, tuple(args.pages))
    if set(args.pages) != set(PAGES):
        for (page, level), r in results.items():
            print(page, level, r)
        return
    text = report(results, args.scale, who, args.repeat)
    replace_section(f"Page render by access level, demo scale {args.scale:g}",
                    "\n" + text + "\n")
    print(text)


if __name__ == "__main__":
    main()
