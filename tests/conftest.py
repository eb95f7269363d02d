"""Shared fixtures: the demo company (generated once per session) and a warehouse built from it.

The tests use the same generator as the demo (docs/sample-data.md), so what the tests check is
what a user sees on a fresh start.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from analytics.ops import sample
from analytics.store.followups import ENV_PATH as ENV_FOLLOWUPS
from analytics.store.followups import Store
from analytics.store.warehouse import Warehouse, open_warehouse

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_frames() -> dict[str, pd.DataFrame]:
    return sample.generate_frames()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A demo warehouse built once for the session, with its follow-up history in the store
    at $STEELSIGHT_FOLLOWUPS (_point_app_at_demo); tests must not write to either: a test
    that writes follow-ups copies the store (tests/test_followups.py)."""
    path = tmp_path_factory.mktemp("warehouse")
    sample.build(Warehouse(path), followups=Store(DEMO_FOLLOWUPS(tmp_path_factory)))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def DEMO_FOLLOWUPS(factory: pytest.TempPathFactory) -> Path:
    return factory.getbasetemp() / "demo_followups" / "followups.sqlite"


@pytest.fixture(scope="session")
def demo_warehouse(demo_dir: Path) -> Warehouse:
    return open_warehouse(f"duckdb://{demo_dir}")


@pytest.fixture(scope="session", autouse=True)
def _no_users_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Single-user mode unless a test sets up users: a developer's own users file must not
    switch login on in the suite, and the audit log goes to a temporary folder."""
    old = os.environ.get("STEELSIGHT_USERS")
    os.environ["STEELSIGHT_USERS"] = str(tmp_path_factory.mktemp("auth") / "users.yaml")
    yield
    if old is None:
        os.environ.pop("STEELSIGHT_USERS", None)
    else:
        os.environ["STEELSIGHT_USERS"] = old


@pytest.fixture(scope="session", autouse=True)
def _point_app_at_demo(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory
                       ) -> Iterator[None]:
    """Pages, CLI and notebooks run against the session's demo warehouse, never data/."""
    old = os.environ.get("STEELSIGHT_WAREHOUSE")
    os.environ["STEELSIGHT_WAREHOUSE"] = f"duckdb://{demo_dir}"
    os.environ[ENV_FOLLOWUPS] = str(DEMO_FOLLOWUPS(tmp_path_factory))
    yield
    os.environ.pop(ENV_FOLLOWUPS, None)
    if old is None:
        os.environ.pop("STEELSIGHT_WAREHOUSE", None)
    else:
        os.environ["STEELSIGHT_WAREHOUSE"] = old
