"""The design documents live in the repository and stay true to the code: the data model page
is the schema's own text, every document a docstring or comment names exists here, and every
``analytics.…`` name a document mentions can be imported."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from analytics.store import schema

ROOT = Path(__file__).resolve().parents[1]
CODE = [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py"),
        *ROOT.glob("analytics/**/*.py"), *ROOT.glob("bench/*.py"), *ROOT.glob("tests/*.py"),
        *ROOT.glob("notebooks/*.py")]
DOCS = [ROOT / "README.md", *ROOT.glob("docs/*.md")]
MD_REF = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.md)\b")


def test_the_data_model_page_is_the_schemas_text() -> None:
    page = (ROOT / "docs" / "data-model.md").read_text()
    assert page == schema.markdown(), "regenerate docs/data-model.md (see its first paragraph)"


def _resolves(name: str, near: Path) -> bool:
    return any((base / name).is_file() for base in (ROOT, ROOT / "docs", near.parent))


@pytest.mark.parametrize("path", CODE + DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_document_named_is_in_the_repository(path: Path) -> None:
    text = path.read_text()
    if path.name == "test_docs.py":
        return
    missing = sorted({m for m in MD_REF.findall(text) if not _resolves(m, path)})
    assert not missing, missing


def _importable(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_a_document_names_exists(path: Path) -> None:
    names = set(re.findall(r"\banalytics(?:\.[A-Za-z_]\w*)+", path.read_text()))
    missing = sorted(n for n in names if not _importable(n))
    assert not missing, missing


def test_the_documents_name_the_floors_as_they_are() -> None:
    """The architecture page lists every module of each floor (a new module is placed)."""
    page = (ROOT / "docs" / "architecture.md").read_text()
    for floor in ("store", "domain", "display", "ops"):
        for module in (ROOT / "analytics" / floor).iterdir():
            name = module.stem if module.suffix == ".py" else module.name
            if name.startswith("_") or not (module.suffix == ".py" or module.is_dir()):
                continue
            assert re.search(rf"\b{name}\b", page), f"{floor}/{name} not in architecture.md"
