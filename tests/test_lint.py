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


def test_analytics_never_imports_streamlit(tmp_path: Path) -> None:
    """The ruff rule catches it: prove the rule is live by showing it fire on a bad module."""
    bad = ROOT / "analytics" / "_lint_probe.py"
    bad.write_text("import streamlit\n")
    try:
        result = subprocess.run([sys.executable, "-m", "ruff", "check", str(bad)], cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
    finally:
        bad.unlink()
    assert result.returncode != 0 and "TID251" in result.stdout
