"""Upload templates: one CSV and one XLSX per table (and for the transactions file), with
bilingual headers such as 客户编号 (customer_id) that the importer maps by themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analytics.display import exports
from analytics.ops import sample
from analytics.ops.ingest.mapping import TARGETS, TRANSACTIONS, fields
from analytics.store.warehouse import ROOT

TEMPLATES_DIR = ROOT / "data" / "templates"   # shipped with the code, offered on the data page


def header(name: str, aliases: tuple[str, ...]) -> str:
    chinese = next((a for a in aliases if re.search(r"[\u4e00-\u9fff]", a)), None)
    return f"{chinese} ({name})" if chinese else name


def template(target: str, examples: dict[str, pd.DataFrame]) -> pd.DataFrame:
    cols = fields(target)
    if target == TRANSACTIONS:
        o = examples["orders"].head(3)
        rows = pd.DataFrame({"customer": o["customer_id"], "date": o["order_date"],
                             "amount": o["amount_cny"], "product": o["category"],
                             "spec": o["spec"], "volume_t": o["volume_t"],
                             "cost_cny": o["cost_cny"], "sales_rep": o["sales_rep"],
                             "order_id": o["order_id"]})
    else:
        rows = examples[target].reindex(columns=[f.name for f in cols])
        # example rows that show every field filled and no zero a validator would flag
        numeric = rows.select_dtypes("number")
        good = rows[(numeric.fillna(1) > 0).all(axis=1)] if len(numeric.columns) else rows
        rows = good if len(good) >= 3 else rows
        filled = rows.notna().sum(axis=1)
        rows = rows.loc[filled.sort_values(ascending=False, kind="stable").index].head(3)
    rows = rows[[f.name for f in cols]]
    rows.columns = [header(f.name, f.aliases) for f in cols]
    return rows


def write_templates(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    examples = sample.generate_frames(sample.SampleConfig(scale=0.05))
    written = []
    for target in TARGETS:
        frame = template(target, examples)
        for suffix, data in (("csv", exports.to_csv(frame)),
                             ("xlsx", exports.to_xlsx(frame, sheet=target))):
            path = folder / f"{target}.{suffix}"
            path.write_bytes(data)
            written.append(path)
    return written
