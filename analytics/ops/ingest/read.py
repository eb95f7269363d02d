"""Reading uploaded bytes into a table of text cells: encoding, delimiter, header row, sheets.

Nothing is parsed into numbers or dates here (ids such as 00123 must survive); every cell is
text or empty. ERP exports from 用友 / 金蝶 are often GBK with a title line above the header.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from charset_normalizer import from_bytes

from analytics.ops.ingest.errors import IngestError
from analytics.store import schema

# The import limit is ours (translated message); Streamlit's own server.maxUploadSize is set
# higher (.streamlit/config.toml) so that files between the two get our message, not its own.
MAX_UPLOAD_MB = float(os.environ.get("STEELSIGHT_MAX_UPLOAD_MB", "200"))
HEADER_SCAN_ROWS = 15        # a header further down than this is not a header
DELIMITERS = (",", "\t", ";", "|")
FIXED_WIDTH = "fixed"  # the delimiter a fixed-width file is reported with
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"
# An encrypted .xlsx is an OLE file holding this stream (what Excel writes for a password).
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
# Bounds on what a workbook may unpack to: a 2 KB file can declare a million rows, a 0.4 MB
# one unpack to 400 MB of text. The real 541,909-line wholesaler log is 4.3 M cells.
MAX_CELLS = int(os.environ.get("STEELSIGHT_MAX_CELLS", "12000000"))
MAX_COLUMNS = 500
MAX_UNPACKED_MB = float(os.environ.get("STEELSIGHT_MAX_UNPACKED_MB", "1500"))
MAX_RATIO = 150          # unpacked ÷ packed of one part; real sheets stay far below


@dataclass
class RawTable:
    """The file as text cells under its own header row."""

    frame: pd.DataFrame
    source: str
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int = 0             # 0-based line of the header in the file / sheet
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    row_problems: dict[int, str] = field(default_factory=dict)  # row → reason, from reading
    lines: list[int] = field(default_factory=list)  # each row's 1-based line in the file
    # the file's decimal mark: "." or ","; "?" when the numbers could be read either way
    # (38,019 in a ;-separated file), which the user must decide
    decimal: str = "."
    decimal_examples: list[str] = field(default_factory=list)

    def examples(self) -> list[str]:
        """Each column's first non-blank cell ("" for a blank column), found without walking
        half a million blank cells one by one on every rerun of the data page."""
        out = []
        for col in self.frame.columns:
            for cells in (self.frame[col].head(1000), self.frame[col]):  # the head mostly has one
                filled = cells[cells.astype(str).str.len() > 0]
                if len(filled):
                    out.append(str(filled.iloc[0]))
                    break
            else:
                out.append("")
        return out

    def line_numbers(self) -> pd.Series:
        """The file line of each row (blank lines skipped, so not simply index + offset)."""
        if len(self.lines) == len(self.frame):
            return pd.Series(self.lines, index=self.frame.index)
        return pd.Series(range(self.header_row + 2, self.header_row + 2 + len(self.frame)),
                         index=self.frame.index)


def _known_headers() -> set[str]:
    out: set[str] = set()
    for spec in schema.TABLES.values():
        for col in spec.columns:
            out |= {normalize_header(a) for a in (col.name, *col.aliases)}
    out |= {normalize_header(a) for a in ("客户", "金额", "日期", "数量", "产品", "商品", "业务员",
                                          "customer", "amount", "date", "product", "cost",
                                          "quantity", "tonnes", "rep")}
    return out


# Traditional → simplified for the characters of header words (Big5 exports from Taiwan and
# Hong Kong branches write 客戶名稱, 金額, 數量 …), so one alias list serves both.
_TRAD = str.maketrans("戶稱單據額噸數價訂貨號編業務員銷種規庫倉結開發類稅總計備註鋼鐵間狀態應處聯"
                      "區級責門調訴賠償資項細營實際場況質滿紋廠購來歸帳賬條幣東廣線",
                      "户称单据额吨数价订货号编业务员销种规库仓结开发类税总计备注钢铁间状态应处联"
                      "区级责门调诉赔偿资项细营实际场况质满纹厂购来归帐账条币东广线")


def normalize_header(text: object) -> str:
    """Lower-case, NFKC (full-width → ASCII), simplified characters, no spaces, no unit in
    brackets, no BOM."""
    s = unicodedata.normalize("NFKC", str(text)).strip().lstrip("\ufeff").lower()
    s = s.translate(_TRAD)
    s = re.sub(r"[\(（\[【].*?[\)）\]】]", "", s)
    return re.sub(r"[\s_\-:：/]+", "", s)


# -- decoding ---------------------------------------------------------------------------------
# Common characters in both scripts' forms: decoding Big5 bytes as GB18030 (or the reverse)
# rarely produces them, so they tell the two encodings apart on short files too.
_COMMON = set("客户戶名称稱日期金额額数數量单單价價订訂货貨号號编編业業务務员員公司有限"
              "钢鋼材铁鐵建设設工程市省区區城吨噸元合计計备備注註类類规規格品种種仓倉库庫"
              "销銷售收款票据據的是在了不和")


def _score(text: str) -> float:
    sample = text[:4000]
    cjk = [c for c in sample if "\u4e00" <= c <= "\u9fff"]
    if not cjk:
        return 0.0
    return sum(c in _COMMON for c in cjk) / len(cjk)


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was read with. Order: BOMs, UTF-8, GB18030 or Big5 (whichever
    reads as common Chinese), then charset-normalizer; raises IngestError(encoding), or
    IngestError(mixed_encoding) with the line where a UTF-8 file turns into another one."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict"), "utf-8-sig"
        except UnicodeDecodeError as err:
            raise IngestError("mixed_encoding", line=data[:err.start].count(b"\n") + 1
                              ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise IngestError("encoding") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as err:
        before = data[:err.start].decode("utf-8", errors="ignore")
        if sum(ord(c) > 127 for c in before) >= 20:
            # plenty of valid UTF-8 Chinese before the first byte that is not: two files
            # pasted together (a GBK export appended to a UTF-8 one)
            raise IngestError("mixed_encoding", line=data[:err.start].count(b"\n") + 1
                              ) from None
    candidates: list[tuple[float, str, str]] = []
    for enc in ("gb18030", "big5"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        candidates.append((_score(text), enc, text))
    if candidates:
        candidates.sort(key=lambda c: (-c[0], c[1] != "gb18030"))  # ties go to GB18030
        return candidates[0][2], candidates[0][1]
    guess = from_bytes(data).best()
    if guess is not None and guess.encoding:
        return str(guess), str(guess.encoding)
    raise IngestError("encoding")


def _looks_binary(data: bytes) -> bool:
    """Control bytes other than tab / CR / LF in more than 5 % of the head (UTF-16 aside)."""
    head = data[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    control = sum(b < 32 and b not in (9, 10, 13) for b in head)
    return control > len(head) // 20


def first_lines(text: str, n: int) -> list[str]:
    """The first ``n`` lines, without splitting the whole file (a 500,000-line file split
    three times for its head cost half a second)."""
    end = 0
    for _ in range(n):
        end = text.find("\n", end) + 1
        if not end:
            end = len(text)
            break
    return text[:end].splitlines()[:n]


def sniff_delimiter(text: str) -> str:
    lines = [ln for ln in first_lines(text, HEADER_SCAN_ROWS + 10) if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        counts = {d: [ln.count(d) for ln in lines] for d in DELIMITERS}
        best = max(DELIMITERS, key=lambda d: (sorted(counts[d])[len(lines) // 2], d == ","))
        return best


_COMMA_DECIMAL = re.compile(r"^[-+]?(\d{1,3}(\.\d{3})+|\d+),(\d{1,2}|\d{4,})$|"
                            r"^[-+]?\d{1,3}(\.\d{3})+,\d+$")
_DOT_DECIMAL = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)\.(\d{1,2}|\d{4,})$|"
                          r"^[-+]?\d{1,3}(,\d{3})+\.\d+$")
_EITHER = re.compile(r"^[-+]?\d{1,3}([.,]\d{3})$")  # 38,019 or 38.019: a mark or a separator


def decimal_mark(cells: pd.DataFrame, delimiter: str | None) -> tuple[str, list[str]]:
    """The file's decimal mark from its number-like cells: "," when some cell can only be a
    decimal comma (68013,17 or 1.234,5) and none only a decimal point, "." the other way
    round; in a ;-separated file with only 38,019-like cells, "?" (ask, never guess). A
    comma-separated file keeps "." unless its cells say otherwise."""
    sample = pd.unique(cells.head(20_000).to_numpy().ravel())
    comma, dot, either = [], [], []
    for v in sample:
        s = str(v).strip().replace(" ", "")
        if not s or len(s) > 24:
            continue
        if _COMMA_DECIMAL.match(s):
            comma.append(s)
        elif _DOT_DECIMAL.match(s):
            dot.append(s)
        elif "," in s and _EITHER.match(s):
            either.append(s)
    if comma and not dot:
        return ",", comma[:3]
    if comma and dot:
        return "?", (comma[:2] + dot[:1])
    if either and not dot and delimiter in (";", "\t", "|", " ", FIXED_WIDTH):
        return "?", either[:3]
    return ".", []


def _spaced(text: str) -> bool:
    """Whether a text file is separated by runs of spaces (no comma, tab, ; or | anywhere in
    its first lines, and most lines split into the same number of fields on whitespace)."""
    lines = [ln for ln in first_lines(text, HEADER_SCAN_ROWS + 30) if ln.strip()]
    if len(lines) < 2 or any(d in ln for ln in lines for d in DELIMITERS):
        return False
    widths = [len(ln.split()) for ln in lines]
    common = max(set(widths), key=widths.count)
    return common >= 2 and widths.count(common) >= len(widths) * 0.6


def _splits_evenly(text: str, fields: int) -> bool:
    """Whether every line of the head splits on spaces into ``fields`` fields (then splitting
    on spaces and cutting by position give the same cells)."""
    lines = [ln for ln in first_lines(text, HEADER_SCAN_ROWS + 200) if ln.strip()]
    return all(len(ln.split()) == fields for ln in lines)


def _spaces_to_tabs(text: str) -> str:
    return "\n".join("\t".join(ln.split()) for ln in text.splitlines())


def _display_width(ch: str, wide: str = "WF") -> int:
    # a Chinese character takes two columns in a fixed-width export (two bytes in GBK); so
    # do Φ, × and № in a GBK file ("A", ambiguous width), though not in a UTF-8 one
    return 2 if unicodedata.east_asian_width(ch) in wide else 1


def _columns_of(line: str, wide: str = "WF") -> list[int]:
    """The display column at which each character of ``line`` starts."""
    if line.isascii():
        return list(range(len(line)))
    out, col = [], 0
    for ch in line:
        out.append(col)
        col += _display_width(ch, wide)
    return out


def fixed_width_starts(text: str, wide: str = "WF") -> list[int] | None:
    """The display columns where a fixed-width file's fields start, or None when its lines
    do not line up. A column is a gap when every line of the table (lines much narrower
    than the widest, a title, are not the table) has a space or nothing there; the fields
    lie between the gaps. Unlike splitting on spaces, a blank cell or a name with a space in
    it keeps every later field in its column."""
    lines = [ln.rstrip() for ln in first_lines(text, HEADER_SCAN_ROWS + 200) if ln.strip()]
    if len(lines) < 2 or any(d in ln for ln in lines for d in DELIMITERS):
        return None
    filled: list[set[int]] = []
    for ln in lines:
        cols = _columns_of(ln, wide)
        filled.append({c + k for c, ch in zip(cols, ln, strict=True) if ch != " "
                       for k in range(_display_width(ch, wide))})
    width = max(max(f, default=0) for f in filled) + 1
    table = [f for f in filled if f and max(f) + 1 >= 0.6 * width]
    used = set().union(*table)
    starts = [c for c in range(width) if c in used and (c == 0 or c - 1 not in used)]
    return starts if len(starts) >= 2 else None


def _cut_fixed(text: str, starts: list[int], wide: str = "WF") -> str:
    """Each line cut at the field starts (display columns) and joined by tabs."""
    out = []
    for ln in text.splitlines():
        if ln.isascii():
            bounds = [*starts, len(ln) + 1]
            cells = [ln[a:b] for a, b in itertools.pairwise(bounds)]
        else:
            cols = _columns_of(ln, wide)
            cells = ["".join(ch for c, ch in zip(cols, ln, strict=True) if a <= c < b)
                     for a, b in zip(starts, [*starts[1:], 1 << 30], strict=True)]
        out.append("\t".join(c.strip() for c in cells))
    return "\n".join(out)


def find_header_row(cells: pd.DataFrame) -> int:
    """The row (0-based) that looks most like a header: most known column names, else the
    first row as wide as the table whose cells are mostly not numbers."""
    known = _known_headers()
    top = cells.head(HEADER_SCAN_ROWS)
    width = int((top != "").sum(axis=1).max()) if len(top) else 0
    best, best_hits = 0, 0
    for i, row in top.iterrows():
        hits = sum(normalize_header(v) in known for v in row if v)
        if hits > best_hits:
            best, best_hits = int(str(i)), hits
    if best_hits >= 2:
        return best
    for i, row in top.iterrows():
        filled = [v for v in row if v]
        numeric = sum(bool(re.fullmatch(r"[-+¥￥\d.,%()]+", v)) for v in filled)
        if len(filled) >= max(1, width * 0.8) and numeric <= len(filled) // 3:
            return int(str(i))
    return 0


def merge_two_row_header(cells: pd.DataFrame, header_row: int) -> tuple[pd.DataFrame, int]:
    """A header written on two rows (a merged group cell such as 销售 over 数量 | 单价 | 金额,
    with 日期 and 客户 merged down) read as one: the lower row's name where it has one, the
    upper row's elsewhere. Returns the cells with the merged header on the lower row, and
    that row. A title line above (a single cell) is no header row."""
    known = _known_headers()

    def row(i: int) -> list[str]:
        return [str(v).strip() for v in cells.iloc[i]]

    def names(values: list[str]) -> int:
        return sum(normalize_header(v) in known for v in values if v)

    top, bottom = header_row - 1, header_row
    if header_row + 1 < len(cells):
        below = row(header_row + 1)
        numeric = sum(bool(re.fullmatch(r"[-+¥￥\d.,%/:\s]+", v)) for v in below if v)
        if names(below) >= 2 and not numeric:
            top, bottom = header_row, header_row + 1
    if top < 0:
        return cells, header_row
    upper, lower = row(top), row(bottom)
    if sum(bool(v) for v in upper) < 2 or not names(upper) or names(upper) + names(lower) < 3 or \
            not any(u and not w for u, w in zip(upper, lower, strict=True)):
        return cells, header_row
    merged = cells.copy()
    merged.iloc[bottom] = [w or u for u, w in zip(upper, lower, strict=True)]
    return merged, bottom


def _apply_header(cells: pd.DataFrame, header_row: int
                  ) -> tuple[pd.DataFrame, dict[int, str], list[int]]:
    """The body under the header row, and the rows with more cells than the header has
    (usually an unquoted comma inside a value): those are reported, not guessed at."""
    if header_row < len(cells):
        cells, header_row = merge_two_row_header(cells, header_row)
    header = [str(v).strip() for v in cells.iloc[header_row]]
    while header and not header[-1]:
        header.pop()
    body = cells.iloc[header_row + 1:].reset_index(drop=True)
    extra = body.iloc[:, len(header):]
    overflow = (extra != "").any(axis=1) if extra.shape[1] else pd.Series(False,
                                                                          index=body.index)
    body = body.iloc[:, :len(header)]
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        h = h or f"column_{i + 1}"
        seen[h] = seen.get(h, 0) + 1
        names.append(h if seen[h] == 1 else f"{h}_{seen[h]}")
    body.columns = names
    body = body.loc[:, [c for c, h in zip(names, header, strict=True)
                        if h or (body[c] != "").any()]]
    body["_line"] = body.index + header_row + 2   # the file's line (1-based), for messages
    body["_overflow"] = overflow
    body = body[(body.drop(columns=["_line", "_overflow"]) != "").any(axis=1) | overflow]
    body = body.reset_index(drop=True)  # blank lines dropped
    lines = body.pop("_line")
    problems = {int(i): "extra_fields" for i in body.index[body.pop("_overflow")]}
    # not in DataFrame.attrs: pandas deep-copies attrs on every operation (32 s per million)
    return body, problems, lines.tolist()


def read_file(data: bytes, filename: str, *, sheet: str | None = None,
              max_mb: float = MAX_UPLOAD_MB) -> RawTable:
    """Read CSV / TSV / TXT or XLSX bytes into text cells under the detected header row."""
    if len(data) > max_mb * 1024 * 1024:
        raise IngestError("too_large", size_mb=round(len(data) / 1024 / 1024, 1), limit=max_mb)
    if not data.strip():
        raise IngestError("empty")
    if data.startswith(_XLS_MAGIC):
        raise IngestError("encrypted" if _ENCRYPTED in data[:1_000_000] or _ENCRYPTED in data
                          else "old_xls")
    if data.startswith(_XLSX_MAGIC):
        return _read_xlsx(data, filename, sheet)
    if _looks_binary(data):
        raise IngestError("binary")
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text)
    split_on = delimiter
    # padded by bytes (GBK: Chinese and Φ two), by display columns, or by characters (a
    # Western tool's ljust): the reading that finds the most fields lines the file up
    gbk = encoding.lower().replace("-", "").startswith(("gb", "cp936"))
    starts, wide = None, "WF"
    if delimiter == ",":
        for option in (("WFA", "WF", "") if gbk else ("WF", "")):
            found = fixed_width_starts(text, option)
            if found and (starts is None or len(found) > len(starts)):
                starts, wide = found, option
    if starts and not _splits_evenly(text, len(starts)):
        # a fixed-width file whose cells may be blank or hold spaces: cut by column position
        text, delimiter, split_on = _cut_fixed(text, starts, wide), FIXED_WIDTH, "\t"
    elif delimiter == "," and _spaced(text):
        # a whitespace-separated text file (fixed-width or space-delimited): split on runs of
        # spaces; shown as " " in the report
        text, delimiter, split_on = _spaces_to_tabs(text), " ", "\t"
    # a title line above the header is narrower than the table: take the width from the
    # widest of the first lines, so short lines are padded rather than setting the width
    head = list(csv.reader(io.StringIO("\n".join(first_lines(text, HEADER_SCAN_ROWS + 35))),
                           delimiter=split_on))
    width = max((len(r) for r in head), default=1)
    cells = _read_cells(text, split_on, width)
    if cells.empty:
        raise IngestError("empty")
    header = find_header_row(cells)
    frame, problems, lines = _apply_header(cells.fillna(""), header)
    decimal, examples = decimal_mark(frame, delimiter)
    return RawTable(frame=frame, source=filename, encoding=encoding, delimiter=delimiter,
                    header_row=header, row_problems=problems, lines=lines, decimal=decimal,
                    decimal_examples=examples)


def _read_cells(text: str, split_on: str, width: int) -> pd.DataFrame:
    """Every cell as text, ``width`` columns. Arrow's reader (multi-threaded, 6× pandas' C
    reader on 500,000 lines) takes a file whose lines are all as wide as the table; a file
    with a narrower title line or short lines is read again by the C reader, which pads
    them."""
    def read(source: io.BytesIO | io.StringIO, engine: Literal["pyarrow", "c"]) -> pd.DataFrame:
        return pd.read_csv(source, sep=split_on, header=None, dtype=str, engine=engine,
                           names=list(range(width)), keep_default_na=False,
                           skip_blank_lines=True, on_bad_lines="error")
    try:
        return read(io.BytesIO(text.encode("utf-8")), "pyarrow")
    except (pd.errors.ParserError, ValueError, TypeError):
        pass  # a ragged file: the C reader below pads it, or says what is wrong
    try:
        return read(io.StringIO(text), "c")
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise IngestError("malformed", detail=str(exc)[:200]) from exc


def _check_zip(data: bytes) -> None:
    """Refuse a workbook that unpacks to far more than it weighs (a zip bomb) or that is not
    a zip at all (a renamed file), before any of it is unpacked."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise IngestError("not_a_workbook") from None
    total = sum(p.file_size for p in parts)
    if total > MAX_UNPACKED_MB * 1024 * 1024:
        raise IngestError("xlsx_too_big", limit=f"{MAX_CELLS:,}")
    for part in parts:
        if part.file_size > 20 * 1024 * 1024 and \
                part.file_size > MAX_RATIO * max(part.compress_size, 1):
            raise IngestError("xlsx_too_big", limit=f"{MAX_CELLS:,}")


def _unsaved_formulas(data: bytes, part: str) -> bool:
    """Whether a sheet has formulas without a saved result (a workbook written by a program
    and never opened in Excel): read with their values only, those cells would be empty."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        try:
            with archive.open(part) as fh:
                head = fh.read(64 * 1024 * 1024)  # bounded: _check_zip has vetted sizes
        except KeyError:
            return False
    return bool(re.search(rb"(</f>|<f\s*/>)\s*(<v\s*/>|<v>\s*</v>)?\s*</c>", head))


def _sheet_rows(book, name: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    ws = book[name]
    ws.reset_dimensions()  # ignore the declared size: count what is there
    rows: list[list[str]] = []
    cells = 0
    for row in ws.iter_rows(values_only=True):
        values = list(row)
        while values and values[-1] is None:
            values.pop()
        if len(values) > MAX_COLUMNS:
            raise IngestError("xlsx_too_wide", limit=MAX_COLUMNS)
        cells += max(len(values), 1)
        if cells > MAX_CELLS:
            raise IngestError("xlsx_too_big", limit=f"{MAX_CELLS:,}")
        rows.append(["" if v is None else _cell_text(v) for v in values])
    while rows and not any(rows[-1]):
        rows.pop()  # trailing empty rows (a formatted but empty range)
    return rows


def _header_hits(rows: list[list[str]]) -> int:
    known = _known_headers()
    return max((sum(normalize_header(v) in known for v in r if v)
                for r in rows[:HEADER_SCAN_ROWS]), default=0)


def _read_xlsx(data: bytes, filename: str, sheet: str | None) -> RawTable:
    from openpyxl import load_workbook

    _check_zip(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except IngestError:
        raise
    except Exception:  # a zip that is not a workbook, a broken file
        raise IngestError("not_a_workbook") from None
    try:
        sheets = list(book.sheetnames)
        if sheet is not None and sheet not in sheets:
            raise IngestError("unknown_sheet", sheet=sheet, sheets="、".join(sheets))
        if sheet is not None or len(sheets) == 1:
            name = sheet or sheets[0]
            rows = _sheet_rows(book, name)
        else:
            # the data is often not on the first sheet (a cover or notes sheet first): take
            # the first sheet with a recognisable header, and say which was read
            name, rows = sheets[0], _sheet_rows(book, sheets[0])
            if _header_hits(rows) < 2:
                for other in sheets[1:]:
                    candidate = _sheet_rows(book, other)
                    if _header_hits(candidate) >= 2:
                        name, rows = other, candidate
                        break
        index = sheets.index(name) + 1
    finally:
        book.close()
    if not rows:
        raise IngestError("empty_sheet", sheet=name, sheets="、".join(sheets))
    if _unsaved_formulas(data, f"xl/worksheets/sheet{index}.xml"):
        raise IngestError("unsaved_formulas", sheet=name)
    width = max(len(r) for r in rows)
    cells = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)
    header = find_header_row(cells)
    frame, problems, lines = _apply_header(cells, header)
    return RawTable(frame=frame, source=filename, header_row=header, sheet=name, sheets=sheets,
                    row_problems=problems, lines=lines)


def _cell_text(value: object) -> str:
    """Excel cells as text: whole numbers without .0, datetimes as ISO (parsed later)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value)
