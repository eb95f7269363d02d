"""Table downloads: CSV that Excel opens with Chinese intact, and formatted XLSX."""

from __future__ import annotations

import io

import pandas as pd


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark: without it Excel on Chinese Windows reads GBK and garbles."""
    return frame.to_csv(index=False).encode("utf-8-sig")


def to_xlsx(frame: pd.DataFrame, *, sheet: str = "data") -> bytes:
    """Bold, frozen header row; numbers stay numbers; columns sized to their content."""
    from openpyxl.styles import Font

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=sheet[:31])
        ws = writer.sheets[sheet[:31]]
        ws.freeze_panes = "A2"
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for i, col in enumerate(frame.columns, start=1):
            # pandas 3 keeps NaN through astype(str): format each cell ourselves
            sample = [("" if pd.isna(v) else str(v)) for v in frame[col].head(200)]
            width = max([len(str(col)) * 2, *(len(s) for s in sample)], default=8)
            ws.column_dimensions[ws.cell(1, i).column_letter].width = min(max(width, 8), 50)
    return buffer.getvalue()
