"""This code against an earlier commit, page by page: ``python -m bench.versus REV --scale 15``.

A refactor must not make a page slower. Both sides get a demo warehouse built by their own code
(the stored results are keyed by the code that wrote them), then every page renders in a fresh
AppTest process, cold and warm, the two sides taking turns page by page so that a busy moment
of the machine falls on both. Prints each page's times and the ratio new ÷ old. Not part of
``make bench``: it compares two versions of the code, not the code with a hand-written floor.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _render(root: Path, warehouse: Path, page: str) -> dict[str, float]:
    env = {**os.environ, "STEELSIGHT_WAREHOUSE": f"duckdb://{warehouse}",
           "STEELSIGHT_USERS": str(warehouse / "no-users.yaml"), "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-m", "bench.pages", "--page", page],
                         capture_output=True, text=True, cwd=root, env=env, timeout=3600)
    if out.returncode != 0:
        return {"cold": float("nan"), "warm": float("nan")}
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.versus")
    parser.add_argument("rev", help="the earlier commit")
    parser.add_argument("--scale", type=float, default=15)
    parser.add_argument("--repeat", type=int, default=1, help="renders per page and side")
    args = parser.parse_args()
    from ui.nav import PAGES

    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(old), args.rev],
                       cwd=ROOT, check=True)
        try:
            sides = {"old": old, "new": ROOT}
            for name, root in sides.items():
                subprocess.run([sys.executable, "-m", "analytics", "demo", "--scale",
                                f"{args.scale:g}", "--out", str(Path(tmp) / f"wh-{name}")],
                               cwd=root, check=True, env={**os.environ, "PYTHONPATH": str(root)},
                               stderr=subprocess.DEVNULL)
            print("| page | old cold s | new cold s | new/old | old warm s | new warm s |")
            print("|---|---|---|---|---|---|")
            ratios = []
            for page in PAGES:
                runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
                for _ in range(args.repeat):
                    for name, root in sides.items():
                        runs[name].append(_render(root, Path(tmp) / f"wh-{name}", page.path))
                cold = {n: statistics.median(r["cold"] for r in rs) for n, rs in runs.items()}
                warm = {n: statistics.median(r["warm"] for r in rs) for n, rs in runs.items()}
                ratio = cold["new"] / cold["old"]
                ratios.append(ratio)
                print(f"| {page.key} | {cold['old']:.2f} | {cold['new']:.2f} | {ratio:.2f} | "
                      f"{warm['old']:.2f} | {warm['new']:.2f} |", flush=True)
            print(f"\nmedian new/old (cold): {statistics.median(ratios):.2f}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT,
                           check=False)


if __name__ == "__main__":
    main()
