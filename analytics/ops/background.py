"""Deriving a version's kept results in a process of its own, after an import is visible.

At ten million order lines the summaries and kept results take about a minute (issue 21); the
data page's import makes the version current first and leaves that minute to a child process
(``python -m analytics derive``), so neither the user who clicked nor the server waits, and the
server's memory does not hold what the derive step reads. The child outlives a closed browser
tab; if it dies, the version simply has no derived file yet, the pages compute on request, and
the data page offers to compute it again (``Warehouse.derive_state``).
"""

from __future__ import annotations

import os
import subprocess
import sys

from analytics.store.warehouse import ROOT, Warehouse

LOG_NAME = "derive.log"   # beside the versions: what a background derive printed


def derive_later(warehouse: Warehouse, version: str) -> subprocess.Popen[bytes]:
    """Start deriving ``version`` (a version name, e.g. v000012) of ``warehouse`` in a child
    process and return it (callers need not wait; tests do)."""
    warehouse.starting(warehouse.root / f"{version}.duckdb")  # "running" from now on
    log = open(warehouse.root / LOG_NAME, "ab")  # the child writes to its own copy
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "analytics", "--url", f"duckdb://{warehouse.root.resolve()}",
             "derive", "--version", version],
            cwd=ROOT, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True,  # not stopped with the server's process group
            env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        log.close()
