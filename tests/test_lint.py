"""Code quality gates that run with the suite: ruff (including "no Streamlit in analytics/")
and the floors of analytics/ (import-linter)."""

from __future__ import annotations

import shutil
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


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    run = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run([sys.executable, "-c", run, "--no-cache"], cwd=root,
                          capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})


def test_the_floors_import_only_downwards() -> None:
    """ops > display > domain > store (pyproject.toml, [tool.importlinter])."""
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_inside_a_function_breaks_the_floors(tmp_path: Path) -> None:
    """The contract is live, and sees an import written inside a function (the warehouse's
    old way back up to the results): shown on a copy of the package, not the source tree."""
    shutil.copytree(ROOT / "analytics", tmp_path / "analytics",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "analytics" / "store" / "probe.py").write_text(
        "def later() -> None:\n    from analytics.domain import derive  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "analytics.store.probe -> analytics.domain.derive" in result.stdout
