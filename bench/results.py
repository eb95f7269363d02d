"""What the bench scripts share: timing a call, and writing their section of RESULTS.md."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def first_and_median(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Seconds of the first call, and the median of the next ``repeat`` (the first again when
    ``repeat`` is 0)."""
    t = time.perf_counter()
    call()
    first = time.perf_counter() - t
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        call()
        runs.append(time.perf_counter() - t)
    return first, statistics.median(runs) if runs else first


def replace_section(heading: str, section: str) -> None:
    """Put ``section`` (starting with "## <heading>…") in RESULTS.md in place of the section
    whose heading starts the same way, or at the end; the other sections stay."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    marker = f"\n## {heading}"
    head, found, tail = text.partition(marker)
    rest = tail.partition("\n## ")[2] if found else ""
    RESULTS.write_text(head.rstrip("\n") + "\n" + section + (("\n## " + rest) if rest else ""))
