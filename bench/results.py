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


def update_results(report: str) -> None:
    """Put ``report`` (a header, then "## " sections) in RESULTS.md: the header replaces the
    file's header and each section its namesake, so a run of some scales keeps the others'
    sections and those of the Spark, page and load benches."""
    header, *sections = report.split("\n## ")
    text = RESULTS.read_text() if RESULTS.exists() else ""
    RESULTS.write_text(header.rstrip("\n") + "\n" + ("\n## " + text.split("\n## ", 1)[1]
                                                     if "\n## " in text else ""))
    for section in sections:
        heading = section.splitlines()[0]
        replace_section(heading, "\n## " + section.rstrip("\n") + "\n")
