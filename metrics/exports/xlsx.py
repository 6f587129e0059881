"""The one place the product writes XLSX (and download CSV).

Everything that leaves Gridboard as a spreadsheet goes through here so that no cell can turn into
a formula. Values come from uploaded files (an error report echoes the analyst's cells back), so a
cell such as ``=HYPERLINK(...)`` or ``@SUM(...)`` must be written as the literal text it is:
every string goes through ``worksheet.write_string``, never ``write()`` (which turns "=..." into a
formula), and CSV cells that Excel would evaluate are prefixed with a single quote (OWASP).
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import math
import re
import unicodedata
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from metrics.contract import schema as S
from metrics.contract.validate import reason_kind

# Leading characters that make Excel (or LibreOffice, Google Sheets) evaluate a cell.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_STRING = 32_767
SHEET_NAME_MAX = 31
# Excel stores doubles: larger integers would silently change their last digits.
_MAX_EXACT_INT = 2**53

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
TIME_FORMAT = "hh:mm:ss"
DURATION_FORMAT = "[h]:mm:ss"

# Excel's own "Bad" cell style: light red fill, dark red text.
PROBLEM_FILL = "#FFC7CE"
PROBLEM_FONT = "#9C0006"

MIN_WIDTH, MAX_WIDTH = 8, 60
REASON_COLUMN_WIDTH = 60  # the error report's 原因: wide, and wrapped beyond that
# Widths are estimated from a sample: a million-row export need not be scanned to size columns.
WIDTH_SAMPLE_ROWS = 2000
# Each comment is a VML shape; beyond a few thousand Excel opens the report slowly and the
# highlighted fill already shows where the problems are.
MAX_COMMENTS = 10_000

AUTHOR = "网格治理看板"

# China has had no daylight saving time since 1991, so a fixed offset is exact and needs no tzdata.
_CHINA_TZ = dt.timezone(dt.timedelta(hours=8))

DEFAULT_HEADER = {
    "bold": True, "bg_color": "#DDEBF7", "border": 1, "border_color": "#9BC2E6",
    "valign": "vcenter",
}
NOTE_FORMAT = {"font_color": "#595959", "italic": True}


# --- values -----------------------------------------------------------------------------------


def safe_cell(v: object) -> object:
    """``v`` as a value xlsxwriter can write without surprises.

    Returns ``None`` (blank), ``str``, ``bool``, ``int``, ``float``, or a naive
    ``datetime``/``date``/``time``/``timedelta``. Strings are returned unchanged: it is the
    writer's job (``write_cell``) to store them with ``write_string`` so that "=1+1" stays text.
    """
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    # numpy datetimes first: .item() on a nanosecond datetime64 gives a bare int.
    if isinstance(v, np.datetime64):
        if np.isnat(v):
            return None
        v = pd.Timestamp(v)
    elif isinstance(v, np.timedelta64):
        if np.isnat(v):
            return None
        v = pd.Timedelta(v)
    elif isinstance(v, np.generic):
        v = v.item()
        if isinstance(v, bytes):
            v = v.decode("utf-8", errors="replace")
        if isinstance(v, str):
            return v
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v if abs(v) <= _MAX_EXACT_INT else str(v)
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, decimal.Decimal):
        return float(v) if v.is_finite() else None
    if isinstance(v, pd.Timestamp):
        if v.tzinfo is not None:
            v = v.tz_convert(_CHINA_TZ).tz_localize(None)
        v = v.to_pydatetime(warn=False)
    if isinstance(v, pd.Timedelta):
        return v.to_pytimedelta()
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(_CHINA_TZ).replace(tzinfo=None)
        # Excel has no dates before 1900; as a number such a date would show as ####.
        return v if v.year >= 1900 else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v if v.year >= 1900 else v.isoformat()
    if isinstance(v, dt.time):
        return v.replace(tzinfo=None)
    if isinstance(v, dt.timedelta):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    # Anything else (periods, intervals, lists…) as the text the analyst would read.
    if pd.api.types.is_scalar(v) and pd.isna(v):
        return None
    return str(v)


def needs_quote(text: str) -> bool:
    """Whether a spreadsheet would evaluate this text as a formula."""
    return text[:1] in FORMULA_TRIGGERS if text else False


# --- formats ----------------------------------------------------------------------------------


class _FormatCache:
    """One Format per distinct set of properties: xlsxwriter keeps every add_format call."""

    def __init__(self, wb: Workbook):
        self.wb = wb
        self._by_key: dict[tuple, Format] = {}

    def get(self, props: Mapping[str, object] | None) -> Format | None:
        if not props:
            return None
        key = tuple(sorted(props.items()))
        f = self._by_key.get(key)
        if f is None:
            f = self._by_key[key] = self.wb.add_format(dict(props))
        return f


_CACHES: weakref.WeakKeyDictionary[Workbook, _FormatCache] = weakref.WeakKeyDictionary()


def _cache(wb: Workbook) -> _FormatCache:
    c = _CACHES.get(wb)
    if c is None:
        c = _CACHES[wb] = _FormatCache(wb)
    return c


def cell_format(wb: Workbook, props: Mapping[str, object] | None) -> Format | None:
    """The workbook's Format for these properties, created once however often it is asked for."""
    return _cache(wb).get(props)


def _num_format_of(v: object, date_only: bool) -> str | None:
    if isinstance(v, dt.datetime):
        return DATE_FORMAT if date_only else DATETIME_FORMAT
    if isinstance(v, dt.date):
        return DATE_FORMAT
    if isinstance(v, dt.time):
        return TIME_FORMAT
    if isinstance(v, dt.timedelta):
        return DURATION_FORMAT
    return None


class _CellFormats:
    """The formats of one column: its own properties, plus a number format for date cells."""

    def __init__(self, wb: Workbook, base: Mapping[str, object] | Format | None, *,
                 date_only: bool = False):
        self.cache = _cache(wb)
        self.fixed = base if isinstance(base, Format) else None
        self.props = dict(base) if isinstance(base, Mapping) else {}
        self.date_only = date_only
        self.plain = self.fixed or self.cache.get(self.props)
        self._dated: dict[str, Format] = {}

    def for_value(self, v: object) -> Format | None:
        if self.fixed is not None:
            return self.fixed
        nf = _num_format_of(v, self.date_only)
        if nf is None or "num_format" in self.props:
            return self.plain
        f = self._dated.get(nf)
        if f is None:
            f = self._dated[nf] = self.cache.get({**self.props, "num_format": nf})
        return f


def _put(ws: Worksheet, row: int, col: int, v: object, cell_format: Format | None) -> None:
    """Write a value already passed through ``safe_cell``."""
    t = type(v)
    if t is str or isinstance(v, str):
        if len(v) > EXCEL_MAX_STRING:
            v = v[:EXCEL_MAX_STRING]
        ws.write_string(row, col, v, cell_format)
    elif t is int or t is float:
        ws.write_number(row, col, v, cell_format)
    elif v is None:
        if cell_format is not None:
            ws.write_blank(row, col, None, cell_format)
    elif t is bool:
        ws.write_boolean(row, col, v, cell_format)
    else:  # date, datetime, time, timedelta
        ws.write_datetime(row, col, v, cell_format)


def write_cell(ws: Worksheet, row: int, col: int, value: object,
               cell_format: Format | None = None) -> None:
    """Write one value safely: strings always as text, never as a formula."""
    _put(ws, row, col, safe_cell(value), cell_format)


def _write_formatted(ws: Worksheet, row: int, col: int, value: object, fmts: _CellFormats) -> None:
    v = safe_cell(value)
    _put(ws, row, col, v, fmts.for_value(v))



def _write_column(ws: Worksheet, first_row: int, col: int, values: list,
                  fmts: _CellFormats) -> None:
    # The common cell types skip safe_cell: a large export spends most of its time here.
    plain = fmts.plain
    write_string, write_number = ws.write_string, ws.write_number
    for row, v in enumerate(values, start=first_row):
        t = type(v)
        if t is str:
            write_string(row, col, v if len(v) <= EXCEL_MAX_STRING else v[:EXCEL_MAX_STRING],
                         plain)
        elif t is float and math.isfinite(v):
            write_number(row, col, v, plain)
        elif t is int and -_MAX_EXACT_INT <= v <= _MAX_EXACT_INT:
            write_number(row, col, v, plain)
        else:
            _write_formatted(ws, row, col, v, fmts)


# --- widths -----------------------------------------------------------------------------------


def text_width(text: str) -> int:
    """Display width in Excel's character units: a CJK (wide or full-width) character counts 2."""
    best = 0
    for line in str(text).splitlines() or [""]:
        w = 0
        for ch in line:
            w += 2 if ord(ch) > 0x2E7F and unicodedata.east_asian_width(ch) in "WF" else 1
        best = max(best, w)
    return best


def _value_width(v: object, date_only: bool) -> int:
    v = safe_cell(v)
    if v is None:
        return 0
    if isinstance(v, str):
        return text_width(v)
    if isinstance(v, bool):
        return 5
    if isinstance(v, float):
        return len(f"{v:.6g}") if not v.is_integer() else len(str(int(v)))
    if isinstance(v, int):
        return len(str(v))
    nf = _num_format_of(v, date_only)
    return len(nf) if nf else 10


def column_width(header: object, values: Sequence[object], date_only: bool = False) -> float:
    # +2 breathing room, and the header needs room for the autofilter arrow too.
    w = text_width(str(header)) + 4
    for v in values[:WIDTH_SAMPLE_ROWS]:
        w = max(w, _value_width(v, date_only) + 2)
    return float(min(MAX_WIDTH, max(MIN_WIDTH, w)))


# --- tables -----------------------------------------------------------------------------------


def _column_values(s: pd.Series) -> tuple[list, bool]:
    """(cell values, whether datetimes in this column are all dates without a time)."""
    date_only = False
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        present = s.dropna()
        if getattr(present.dt, "tz", None) is not None:
            present = present.dt.tz_convert(_CHINA_TZ)
        date_only = bool((present == present.dt.normalize()).all())
    return s.tolist(), date_only


def write_table(ws: Worksheet, wb: Workbook, df: pd.DataFrame, *, start_row: int = 0,
                header_format: Mapping[str, object] | Format | None = None,
                col_widths: Mapping[str, float] | Sequence[float] | None = None,
                formats: Mapping[str, Mapping[str, object] | Format] | None = None,
                freeze: bool = True) -> int:
    """Write ``df`` (a header row, then its values) at ``start_row`` with a frozen header and an
    autofilter. ``formats`` maps a column name to xlsxwriter format properties (or a Format);
    ``col_widths`` overrides the computed widths (by column name, or a list by position);
    ``freeze=False`` leaves the panes alone (a short table under several lines of notes).

    Rows beyond Excel's limit are left out. Returns the number of data rows written.
    """
    cache = _cache(wb)
    hfmt = header_format if isinstance(header_format, Format) else cache.get(
        DEFAULT_HEADER if header_format is None else header_format)
    formats = formats or {}
    headers = [str(c) for c in df.columns]
    ncols = len(headers)
    room = EXCEL_MAX_ROWS - start_row - 1
    nrows = min(len(df), max(room, 0))
    for j, h in enumerate(headers):
        write_cell(ws, start_row, j, h, hfmt)
    for j in range(ncols):
        values, date_only = _column_values(df.iloc[:nrows, j])
        fmts = _CellFormats(wb, formats.get(headers[j]), date_only=date_only)
        _write_column(ws, start_row + 1, j, values, fmts)
        width = None
        if isinstance(col_widths, Mapping):
            width = col_widths.get(headers[j])
        elif col_widths is not None and j < len(col_widths):
            width = col_widths[j]
        if width is None:
            width = column_width(headers[j], values, date_only)
        ws.set_column(j, j, width)
    if ncols:
        if freeze:
            ws.freeze_panes(start_row + 1, 0)
        ws.autofilter(start_row, 0, start_row + nrows, ncols - 1)
    return nrows


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def safe_sheet_name(name: object, taken: set[str] | None = None) -> str:
    """A name Excel accepts: no []:*?/\\, not starting or ending with ', at most 31 characters,
    not 'History', and (case-insensitively) not one of ``taken``; ``taken`` is updated."""
    s = _SHEET_BAD.sub("", str(name if name is not None else "")).strip().strip("'").strip()
    s = s[:SHEET_NAME_MAX].rstrip("'") or "Sheet"
    if s.lower() == "history":
        s = "History_"
    taken = taken if taken is not None else set()
    lower = {t.lower() for t in taken}
    base, k = s, 1
    while s.lower() in lower:
        k += 1
        suffix = f"({k})"
        s = base[:SHEET_NAME_MAX - len(suffix)] + suffix
    taken.add(s)
    return s


def new_workbook(buf: io.BytesIO) -> Workbook:
    # strings_to_formulas/urls off as a second guard: even a stray write() stays text.
    return xlsxwriter.Workbook(buf, {
        "in_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "nan_inf_to_errors": False,
    })


def _write_notes(ws: Worksheet, wb: Workbook, lines: Sequence[str], start_row: int = 0) -> int:
    fmt = _cache(wb).get(NOTE_FORMAT)
    for i, line in enumerate(lines):
        write_cell(ws, start_row + i, 0, line, fmt)
    return start_row + len(lines)


def frames_to_xlsx(sheets: Mapping[str, pd.DataFrame], *,
                   notes: Mapping[str, Sequence[str]] | None = None) -> bytes:
    """A workbook with one sheet per frame. ``notes`` (keyed like ``sheets``) are lines written
    above that sheet's table, followed by one empty row."""
    buf = io.BytesIO()
    wb = new_workbook(buf)
    taken: set[str] = set()
    notes = notes or {}
    if not sheets:
        wb.add_worksheet("Sheet1")
    for name, df in sheets.items():
        ws = wb.add_worksheet(safe_sheet_name(name, taken))
        lines = list(notes.get(name) or [])
        room = EXCEL_MAX_ROWS - (len(lines) + 1 if lines else 0) - 1
        if len(df) > room:
            lines.append(f"数据共 {len(df):,} 行，超出 Excel 单表上限，仅写入前 {room:,} 行。")
        start = _write_notes(ws, wb, lines) + 1 if lines else 0
        write_table(ws, wb, df, start_row=start)
    wb.close()
    return buf.getvalue()


# --- CSV --------------------------------------------------------------------------------------


def _quote_series(s: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype):
        mask = s.str.match(r"[=+\-@\t\r]").fillna(False).astype(bool)
        if not mask.any():
            return s
        out = s.astype(object)
        out[mask.to_numpy()] = "'" + s[mask].astype(object)
        return out
    if pd.api.types.is_object_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype):
        return s.astype(object).map(
            lambda v: "'" + v if isinstance(v, str) and needs_quote(v) else v)
    return s  # numbers, booleans, datetimes: a negative number is a number, not a formula


def safe_csv_text(df: pd.DataFrame) -> bytes:
    """CSV for download: UTF-8 with a BOM (so Excel shows Chinese), and every text cell (or header)
    that a spreadsheet would evaluate prefixed with a single quote."""
    cols = {i: _quote_series(df.iloc[:, i]) for i in range(df.shape[1])}
    out = pd.DataFrame(cols, index=df.index)
    out.columns = ["'" + h if needs_quote(h) else h for h in (str(c) for c in df.columns)]
    text = out.to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


# --- upload error report ----------------------------------------------------------------------


def _row_numbers(raw: pd.DataFrame, label: str) -> tuple[list, pd.DataFrame]:
    """(row numbers as in the file, the file's columns) — see ``error_report_xlsx``."""
    idx = raw.index
    default_index = isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1
    # The index first: the file itself may well have a column headed 行号.
    if not default_index:
        return [safe_cell(v) for v in idx.tolist()], raw
    if label in raw.columns:
        pos = list(raw.columns).index(label)
        keep = [j for j in range(raw.shape[1]) if j != pos]
        return [safe_cell(v) for v in raw.iloc[:, pos].tolist()], raw.iloc[:, keep]
    # A bare 0-based index: assume one header row on row 1 and no skipped rows.
    return [i + 2 for i in range(len(raw))], raw


def _as_row(v: object) -> int | None:
    v = safe_cell(v)
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return int(v) if float(v).is_integer() else None
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return None


def error_report_xlsx(problems: Sequence[Mapping[str, object]], raw_rows: pd.DataFrame | None,
                      *, header_row_label: str = "行号") -> bytes:
    """The upload error report the analyst downloads.

    ``problems``: dicts with ``row`` (as in the file; None for the file as a whole), ``column``
    (the header as in the file), ``value`` and ``reason``, e.g. ``Problem.as_dict()``.
    ``raw_rows``: the file's cells with their original headers, and the row number as in the file
    as the index, e.g. ``raw.data.set_index(raw.rows)`` for a ``readers.RawFrame``, or (when the
    index is a plain 0-based range) in a column named ``header_row_label``. A plain 0-based index
    without that column is read as "header on row 1, no blank rows skipped", which is not true of
    every file (title rows, skipped blank rows): pass the row numbers.

    Sheets: 错误明细 (one row per problem), 按原因汇总 (count per reason), and with ``raw_rows``
    原始数据(标出问题): the file's rows with every cell named in a problem filled red and carrying
    the reason as a comment. Personal-data columns are left out of that sheet.
    """
    buf = io.BytesIO()
    wb = new_workbook(buf)
    cache = _cache(wb)
    taken: set[str] = set()

    detail = pd.DataFrame({
        header_row_label: pd.array([_as_row(p.get("row")) for p in problems], dtype="Int64"),
        "列": pd.array([_text(p.get("column")) for p in problems], dtype=object),
        "值": pd.array([_text(p.get("value")) for p in problems], dtype=object),
        "原因": pd.array([_text(p.get("reason")) for p in problems], dtype=object),
    })
    # The reason is the point of the report: a wide column that wraps, never cut off.
    reason_format = {"原因": {"text_wrap": True, "valign": "top"}}
    reason_width = {"原因": REASON_COLUMN_WIDTH}
    ws = wb.add_worksheet(safe_sheet_name("错误明细", taken))
    write_table(ws, wb, detail, formats=reason_format, col_widths=reason_width)

    # A duplicate names its rows in its reason; the summary counts what is wrong, not where.
    counts = Counter(reason_kind(_text(p.get("reason"))) for p in problems)
    summary = pd.DataFrame(
        sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), columns=["原因", "次数"])
    summary["次数"] = summary["次数"].astype("int64")
    ws_sum = wb.add_worksheet(safe_sheet_name("按原因汇总", taken))
    write_table(ws_sum, wb, summary, formats=reason_format, col_widths=reason_width)
    notes: list[str] = []
    if len(detail) > EXCEL_MAX_ROWS - 1:
        notes.append(f"问题共 {len(detail):,} 条，错误明细只列出前 {EXCEL_MAX_ROWS - 1:,} 条。")

    if raw_rows is not None:
        rownums, body = _row_numbers(raw_rows, header_row_label)
        pii = [c for c in body.columns if S.is_pii_header(c)]
        if pii:
            keep = [j for j, c in enumerate(body.columns) if not S.is_pii_header(c)]
            body = body.iloc[:, keep]
            notes.append("原始数据中的个人信息列未写入本报告：" + "、".join(map(str, pii)))
        sheet = pd.concat(
            [pd.DataFrame({header_row_label: pd.array(rownums, dtype=object)}, index=body.index),
             body], axis=1)
        headers = [str(c) for c in body.columns]
        ws_raw = wb.add_worksheet(safe_sheet_name("原始数据(标出问题)", taken))
        written = write_table(ws_raw, wb, sheet)
        if written < len(sheet):
            notes.append(f"原始数据共 {len(sheet):,} 行，只写入前 {written:,} 行。")
        capped = _highlight(ws_raw, wb, cache, sheet.iloc[:written], rownums[:written], headers,
                            problems)
        if capped:
            notes.append(f"标出问题的单元格超过 {MAX_COMMENTS:,} 个，只有前 {MAX_COMMENTS:,} 个附有批注，"
                         "其余仅以红色标出，原因见“错误明细”。")
    if notes:
        _write_notes(ws_sum, wb, ["说明：", *notes], start_row=len(summary) + 2)
    wb.close()
    return buf.getvalue()


def _text(v: object) -> str:
    v = safe_cell(v)
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return v if isinstance(v, str) else str(v)


def _highlight(ws: Worksheet, wb: Workbook, cache: _FormatCache, sheet: pd.DataFrame,
               rownums: list, headers: list[str], problems: Sequence[Mapping[str, object]]) -> bool:
    """Fill and comment every cell a problem names; returns whether comments were capped.
    Sheet columns: 0 is the row number, j + 1 is ``headers[j]``; sheet rows: 0 is the header."""
    first_col: dict[str, int] = {}
    all_cols: dict[str, list[int]] = {}
    for j, h in enumerate(headers):
        first_col.setdefault(h, j + 1)
        all_cols.setdefault(h, []).append(j + 1)
    row_of: dict[int, int] = {}
    for i, r in enumerate(rownums):
        r = _as_row(r)
        if r is not None:
            row_of.setdefault(r, i + 1)
    first_data_row = min(row_of) if row_of else None
    reasons: dict[tuple[int, int], list[str]] = {}
    for p in problems:
        col = _text(p.get("column"))
        r = _as_row(p.get("row"))
        reason = _text(p.get("reason"))
        if r is not None and r in row_of and col in first_col:
            cells = [(row_of[r], first_col[col])]
        elif col in all_cols and (r is None or first_data_row is None or r < first_data_row):
            # A problem with the header itself (e.g. a duplicated column): mark the header cell.
            cells = [(0, j) for j in all_cols[col]]
        else:
            continue  # e.g. a missing column: there is no cell to mark
        for cell in cells:
            rs = reasons.setdefault(cell, [])
            if reason not in rs:
                rs.append(reason)
    bad = {"bg_color": PROBLEM_FILL, "font_color": PROBLEM_FONT, "pattern": 1}
    header_bad = {**DEFAULT_HEADER, **bad, "bold": True}
    columns: dict[int, tuple[list, _CellFormats]] = {}
    for n, ((i, j), rs) in enumerate(sorted(reasons.items())):
        if i == 0:
            write_cell(ws, 0, j, headers[j - 1], cache.get(header_bad))
        else:
            if j not in columns:
                values, date_only = _column_values(sheet.iloc[:, j])
                columns[j] = (values, _CellFormats(wb, bad, date_only=date_only))
            values, fmts = columns[j]
            # Rewriting a cell replaces what write_table put there.
            _write_formatted(ws, i, j, values[i - 1], fmts)
        if n < MAX_COMMENTS:
            ws.write_comment(i, j, "\n".join(rs)[:EXCEL_MAX_STRING],
                             {"author": AUTHOR, "x_scale": 2, "y_scale": 1.5})
    return len(reasons) > MAX_COMMENTS
