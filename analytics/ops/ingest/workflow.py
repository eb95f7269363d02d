"""The import as the data page and ``python -m analytics import`` both run it: recall or
suggest the mapping, then write the plan, remember the mapping and record the audit entry —
one function, so a CLI import is remembered and audited exactly like one from the page."""

from __future__ import annotations

from collections.abc import Callable

from analytics.ops import users
from analytics.ops.ingest.load import ImportPlan, apply_import
from analytics.ops.ingest.mapping import MappingMemory, suggest_mapping
from analytics.store.warehouse import Warehouse

MAPPINGS_FILE = "mappings.json"   # beside the versions: a company's files keep their headers


def memory(warehouse: Warehouse) -> MappingMemory:
    """The mappings this warehouse's imports confirmed, per set of file headers."""
    return MappingMemory(warehouse.root / MAPPINGS_FILE)


def mapping_for(warehouse: Warehouse, columns: list[str], target: str
                ) -> dict[str, str | None]:
    """The mapping confirmed last time for these headers, else the suggested one."""
    return memory(warehouse).recall(columns, target) or suggest_mapping(columns, target)


def run_import(warehouse: Warehouse, plan: ImportPlan, *, columns: list[str], user: str,
               via: str, skip_bad: bool = False,
               progress: Callable[[float, str], None] | None = None,
               background: bool = False) -> str:
    """Write ``plan`` as one new version (raises IngestError and writes nothing when it
    cannot), then remember its mapping for these headers and audit the import. Returns the
    version written."""
    version = apply_import(warehouse, plan, skip_bad=skip_bad, user=user, progress=progress,
                           background=background)
    memory(warehouse).remember(columns, plan.target, plan.mapping)
    users.audit("import", user=user, file=plan.source, target=plan.target, mode=plan.mode,
                rows=plan.rows_good, version=version, via=via)
    return version
