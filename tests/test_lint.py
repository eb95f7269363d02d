"""Code quality gates that run with the suite: ruff (including "no Streamlit in analytics/")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_analytics_never_imports_streamlit() -> None:
    """The ruff rule catches it: prove the rule is live by showing it fire on a bad module,
    given on stdin under a name inside analytics/ (nothing is written into the source tree)."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--stdin-filename",
                             str(ROOT / "analytics" / "_lint_probe.py"), "-"], cwd=ROOT,
                            input="import streamlit\n", capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0 and "TID251" in result.stdout
