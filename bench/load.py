"""Load: ``python -m bench.load --scale 150 --sessions 20``.

Copies the cached demo warehouse at ``scale`` to a temporary folder, starts a real Streamlit
server on it and opens ``sessions`` browser contexts (headless chromium), each a visitor
opening the Overview and then the pyramid and credit pages, while a thread imports a
transactions file into the same warehouse; half the visitors arrive after it has landed.
Checks that no page failed and that every Overview a visitor saw shows the revenue of either
the version before the import or the one after — never a mix — and reports page times
(median, p95, max). Appends a section to bench/RESULTS.md. (AppTest sessions in threads were
tried first: each AppTest run ends by clearing Streamlit's one Runtime instance, which breaks
the runs beside it.)
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from bench.results import replace_section
from bench.server import CHROMIUM, CHROMIUM_ARGS, serve

HERE = Path(__file__).resolve().parent
PAGES = ("", "pyramid", "credit")   # the Overview, then two pages, by URL
TIMEOUT_MS = 600_000


def _import(wh: Any, csv: Path) -> dict[str, float]:
    """Import ``csv`` as the data page does; seconds to check it (read, map, validate, look
    for rows already in), until the version is visible to readers, and until what is derived
    from it (summaries, kept results) is there, computed meanwhile by a child process."""
    from analytics.ops import ingest

    t = time.perf_counter()
    data = csv.read_bytes()
    raw = ingest.read_file(data, csv.name)
    plan = ingest.plan_import(raw, "transactions", ingest.suggest_mapping(
        list(raw.frame.columns), "transactions"), data=data, existing=wh.tables())
    planned = time.perf_counter()
    ingest.apply_import(wh, plan, user="load-test", background=True)
    visible = time.perf_counter()
    while wh.derive_state() != "ready":
        if time.perf_counter() - visible > TIMEOUT_MS / 1000:
            raise TimeoutError(f"derive still {wh.derive_state()}")
        time.sleep(0.25)
    return {"check": planned - t, "visible": visible - planned,
            "derived": time.perf_counter() - visible}


def _lines(prefix: str, day: object) -> pd.DataFrame:
    """500 order lines for 50 new customers on ``day`` (the last day of the period)."""
    return pd.DataFrame({"客户": [f"{prefix}{i % 50:03d}" for i in range(500)],
                         "日期": str(day), "金额": 100_000.0, "品名": "rebar", "吨位": 30.0})


async def _visit(url: str, sessions: int, times: list[tuple[str, float]], seen: list[str],
                 errors: list[str], do_import: Callable[[], object]) -> None:
    """``sessions`` visitors in one browser; the import runs in a thread meanwhile."""
    from playwright.async_api import async_playwright, expect

    landed = asyncio.Event()

    async def importer() -> None:
        await asyncio.sleep(sessions * 0.1)
        try:
            await asyncio.to_thread(do_import)
        except Exception as err:  # a failed import is a finding too
            errors.append(f"import: {type(err).__name__}: {err}")
        finally:
            landed.set()

    async def session(i: int, browser: Any) -> None:
        if i % 2:  # half the visitors arrive once the import has landed
            await landed.wait()
        await asyncio.sleep(i * 0.2)  # arrivals spread over a few seconds
        context = await browser.new_context(viewport={"width": 1400, "height": 2300})
        try:
            page = await context.new_page()
            for path in PAGES:
                t = time.perf_counter()
                await page.goto(f"{url}/{path}?lang=zh", timeout=TIMEOUT_MS)
                # the frame has drawn, then the script has stopped running
                await page.locator('[data-testid="stSidebar"]').get_by_text(
                    "客户金字塔").wait_for(timeout=TIMEOUT_MS)
                await expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(
                    0, timeout=TIMEOUT_MS)
                if path == "":
                    value = page.locator('[data-testid="stMetricValue"]').first
                    await value.wait_for(timeout=TIMEOUT_MS)
                    seen.append((await value.inner_text()).strip())
                times.append((path or "overview", time.perf_counter() - t))
                if await page.locator('[data-testid="stException"]').count():
                    errors.append(f"session {i} {path or 'overview'}: exception shown")
        except Exception as err:  # every failure is a finding of the run
            errors.append(f"session {i}: {type(err).__name__}: {str(err)[:200]}")
        finally:
            await context.close()

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                          args=CHROMIUM_ARGS)
        await asyncio.gather(importer(), *(session(i, browser) for i in range(sessions)))
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--scale", type=float, default=150)
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    source = HERE / "cache" / f"scale-{args.scale:g}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "warehouse"
        _copy_current(source, folder)
        report = run(folder, args.sessions, Path(tmp), args.scale)
    print(report)
    replace_section("Load:", report)


def _copy_current(source: Path, folder: Path) -> None:
    """The cached warehouse's current version, with what was derived from it, as a warehouse
    of its own (its rollback history is ten times as large and not needed here)."""
    from analytics.store.warehouse import Warehouse, derived_path

    current = Warehouse(source).current_path()
    assert current is not None, f"no warehouse at {source}"
    folder.mkdir(parents=True)
    for path in (current, current.with_suffix(".json"), derived_path(current)):
        if path.exists():
            shutil.copy2(path, folder / path.name)  # copy2: the write time stamps the pair
    (folder / "CURRENT").write_text(current.name)


def run(folder: Path, sessions: int, tmp: Path, scale: float) -> str:
    from analytics.display.i18n import Labels
    from analytics.domain import overview
    from analytics.store.period import preset
    from analytics.store.warehouse import Warehouse

    wh = Warehouse(folder)
    rows = wh.row_counts()["orders"]  # before the imports add their lines
    labels = Labels("zh")
    span = overview.data_range(wh.tables())
    assert span is not None
    period = preset("last_12_months", as_of=span[1])
    # first an import alone, on a quiet machine: what an administrator waits for
    quiet = tmp / "quiet.csv"
    _lines("QUIET", period.end).to_csv(quiet, index=False, encoding="utf-8-sig")
    alone = _import(wh, quiet)
    before = labels.money(overview.kpis(wh.tables(), period)["revenue_cny"])
    # the file the import under load brings: 500 lines for other new customers
    csv = tmp / "load.csv"
    _lines("LOAD", period.end).to_csv(csv, index=False, encoding="utf-8-sig")

    times: list[tuple[str, float]] = []
    seen: list[str] = []
    errors: list[str] = []
    with serve(tmp, STEELSIGHT_WAREHOUSE=f"duckdb://{folder}",
               STEELSIGHT_USERS=str(tmp / "users.yaml")) as url:  # single-user mode
        wall = time.perf_counter()
        under_load: dict[str, float] = {}
        asyncio.run(_visit(url, sessions, times, seen, errors,
                           lambda: under_load.update(_import(wh, csv))))
        wall = time.perf_counter() - wall
    after = labels.money(overview.kpis(Warehouse(folder).tables(), period)["revenue_cny"])
    mixed = [v for v in seen if v not in (before, after)]
    durations = sorted(d for _, d in times)
    p95 = durations[max(0, round(0.95 * len(durations)) - 1)] if durations else float("nan")
    return "\n".join([
        "", f"## Load: {sessions} sessions on {rows:,} order lines while an import lands", "",
        f"Each session is a browser context (headless chromium) on one real Streamlit server: "
        f"it opens the Overview, then the pyramid and credit pages, each timed until the page "
        f"has finished running; an import of 500 lines starts while the first half of the "
        f"sessions render, the second half arrive after it has landed. "
        f"`python -m bench.load --scale {scale:g} --sessions {sessions}`.", "",
        "| measure | value |", "|---|---|",
        f"| page loads | {len(durations)} |",
        f"| errors | {len(errors)}{' — ' + '; '.join(errors[:3]) if errors else ''} |",
        f"| Overview revenue seen: before / after the import / neither | "
        f"{seen.count(before)} / {seen.count(after)} / {len(mixed)} |",
        f"| page time median / p95 / max s | {statistics.median(durations):.1f} / {p95:.1f} / "
        f"{durations[-1]:.1f} |",
        f"| wall time s | {wall:.0f} |",
        f"| before the sessions, an import of 500 lines alone: check / from the click until "
        f"visible to readers / then until its results and summaries are derived (in the "
        f"background) s | {alone['check']:.1f} / {alone['visible']:.1f} / "
        f"{alone['derived']:.1f} |",
        f"| the import under load: visible / derived s | "
        f"{under_load.get('visible', float('nan')):.1f} / "
        f"{under_load.get('derived', float('nan')):.1f} |"]) + "\n"


if __name__ == "__main__":
    main()
