"""Table downloads: CSV that Excel opens with Chinese intact, and formatted XLSX."""

from __future__ import annotations

import io

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defuse(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that Excel would run as formulas (=HYPERLINK(...), +cmd, @SUM) get a leading
    apostrophe, so an exported file never executes what someone typed into an ERP field.
    Numbers, including negative ones, stay numbers."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(_defuse_cell)
    return out


def _defuse_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark: without it Excel on Chinese Windows reads GBK and garbles."""
    return defuse(frame).to_csv(index=False).encode("utf-8-sig")


def to_xlsx(frame: pd.DataFrame, *, sheet: str = "data") -> bytes:
    """Bold, frozen header row; numbers stay numbers; columns sized to their content."""
    return to_xlsx_sheets({sheet: frame})


def to_xlsx_sheets(sheets: dict[str, pd.DataFrame]) -> bytes:
    """Several tables in one workbook, each formatted like ``to_xlsx``."""
    from openpyxl.styles import Font

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame = defuse(frame)
            sheet = name[:31]
            frame.to_excel(writer, index=False, sheet_name=sheet)
            ws = writer.sheets[sheet]
            ws.freeze_panes = "A2"
            for cell in ws[1]:
                cell.font = Font(bold=True)
            for i, col in enumerate(frame.columns, start=1):
                # pandas 3 keeps NaN through astype(str): format each cell ourselves
                sample = [("" if pd.isna(v) else str(v)) for v in frame[col].head(200)]
                width = max([len(str(col)) * 2, *(len(s) for s in sample)], default=8)
                ws.column_dimensions[ws.cell(1, i).column_letter].width = min(max(width, 8), 50)
    return buffer.getvalue()
