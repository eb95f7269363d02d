"""Page render times: ``python -m bench.pages --scale 150``.

For every page, a fresh process renders it in AppTest against the cached demo warehouse at
``scale`` (cold: empty caches) and renders it again (warm: Streamlit's caches filled), the
way a first and a second visitor see it. Appends a section to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.results import replace_section

HERE = Path(__file__).resolve().parent


def _one(path: str) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(HERE.parent / "app.py"), default_timeout=3600)
    t = time.perf_counter()
    at.run()
    if path != "app.py":  # the Overview first (as a visitor arrives), then time the page
        t = time.perf_counter()
        at.switch_page(path).run()
    cold = time.perf_counter() - t
    t = time.perf_counter()
    at.run()
    warm = time.perf_counter() - t
    print(json.dumps({"cold": cold, "warm": warm, "errors": len(at.exception)}))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pages")
    parser.add_argument("--scale", type=float, default=150)
    parser.add_argument("--page", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.page:
        _one(args.page)
        return
    from ui.nav import PAGES

    folder = HERE / "cache" / f"scale-{args.scale:g}"
    env = {**os.environ, "STEELSIGHT_WAREHOUSE": f"duckdb://{folder}",
           "STEELSIGHT_USERS": str(folder / "no-users.yaml"), "PYTHONPATH": str(HERE.parent)}
    rows = []
    for page in PAGES:
        out = subprocess.run([sys.executable, "-m", "bench.pages", "--page", page.path],
                             capture_output=True, text=True, cwd=HERE.parent, env=env,
                             timeout=3600)
        r = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else \
            {"cold": float("nan"), "warm": float("nan"), "errors": -1}
        miss = " ✗" if r["cold"] > 3.0 else ""
        rows.append(f"| {page.key} | {r['cold']:.1f}{miss} | {r['warm']:.1f} | "
                    f"{r['errors'] if r['errors'] >= 0 else 'crashed'} |")
    report = "\n".join([
        "", f"## Page render in AppTest (demo scale {args.scale:g})", "",
        "Each page in a fresh process: the Overview renders first (as a visitor arrives), "
        "then cold = the page's first render (its own results not yet cached; shared ones "
        "such as the date range are), warm = its next render. Target: cold ≤ 3 s at 10 M "
        "lines. "
        f"`python -m bench.pages --scale {args.scale:g}`.", "",
        "| page | cold s | warm s | exceptions |", "|---|---|---|---|", *rows]) + "\n"
    print(report)
    replace_section("Page render in AppTest", report)

if __name__ == "__main__":
    main()
