"""Import managers' own files: read (any encoding), map headers, parse types, validate, load.

``plan_import`` turns uploaded bytes into an ``ImportPlan`` (clean rows, bad rows with reasons,
the mapping used); ``apply_import`` writes it as one new warehouse version. Nothing here touches
the warehouse until ``apply_import``, and that write is atomic.
"""

from analytics.ops.ingest.errors import IngestError
from analytics.ops.ingest.load import (
    MODES,
    STORING,
    ImportPlan,
    ParsedUpload,
    apply_import,
    decide,
    parse_upload,
    plan_import,
    problem_summary,
)
from analytics.ops.ingest.mapping import TARGETS, constant_fields, guess_constants, suggest_mapping
from analytics.ops.ingest.read import RawTable, read_file
from analytics.ops.ingest.workflow import mapping_for, run_import

__all__ = ["MODES", "STORING", "TARGETS", "ImportPlan", "IngestError", "ParsedUpload", "RawTable",
           "apply_import", "constant_fields", "decide", "guess_constants", "mapping_for",
           "parse_upload", "plan_import", "problem_summary", "read_file", "run_import",
           "suggest_mapping"]
