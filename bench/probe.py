"""One entry point in a fresh process: ``python -m bench.probe FOLDER NAME REPEAT``.
NAME is an entry (bench/entries.py), ``computed:ENTRY`` (ignoring the results stored with the
version, as for a narrowed scope), or a main-five ``ours:``/``sql:``/``pandas:`` result.

Prints JSON: cold (the first call after opening the warehouse, in a new process, seconds),
warm (median of REPEAT further calls), rss_mb (peak resident memory of the process)."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


def _peak_rss_mb() -> float:
    """This process's own peak (VmHWM). Not getrusage's ru_maxrss: that survives fork and
    exec, so a child started by a parent holding gigabytes reports the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    folder, name, repeat = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    from analytics.domain import overview
    from analytics.store.period import preset
    from analytics.store.warehouse import Warehouse
    from bench.entries import by_name
    from bench.references import OURS, REFERENCES
    from bench.results import first_and_median

    wh = Warehouse(folder)
    if name.startswith(("sql:", "pandas:")):
        call = REFERENCES[name]
        tables = None
    elif name.startswith("ours:"):  # the layers' cost against the floor: computed, not read
        call = OURS[name[5:]]       # from the version's stored results
        tables = wh.tables().with_()
    elif name.startswith("computed:"):  # without the version's stored results
        call = by_name(name.removeprefix("computed:")).call
        tables = wh.tables().with_()
    else:
        call = by_name(name).call
        tables = wh.tables()
    span = overview.data_range(wh.tables())
    assert span is not None
    period = preset("last_12_months", as_of=span[1])
    arg = folder if tables is None else tables
    cold, warm = first_and_median(lambda: call(arg, period), repeat)
    rss = _peak_rss_mb()
    print(json.dumps({"cold": cold, "warm": warm, "rss_mb": rss}))


if __name__ == "__main__":
    main()
