"""Read an uploaded extract (CSV in UTF-8/GBK, XLSX, Parquet) into a frame of raw cells.

The result keeps the analyst's view of the file: original headers, and for every data row the
row number the analyst sees (header = row 1 in CSV and XLSX; in Parquet, which has no header
row, the first record is row 1). A file that cannot be read raises ``ReadError`` with a Chinese
message, never a traceback.
"""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from metrics.contract import schema as S


class ReadError(Exception):
    """The file cannot be read at all (message in Chinese)."""


@dataclass
class RawFrame:
    data: pd.DataFrame  # columns = original headers (deduplicated by position), raw cells
    rows: pd.Series  # int64: the row number the analyst sees, aligned with data
    fmt: str  # "csv" | "xlsx" | "parquet"
    encoding: str | None = None
    sheet: str | None = None
    header_row: int = 1
    notes: list[str] = field(default_factory=list)


MAGIC_ZIP = b"PK\x03\x04"
MAGIC_PARQUET = b"PAR1"


def detect_format(name: str, head: bytes) -> str:
    """By content first (an .xlsx renamed .csv still reads), then by extension."""
    if head.startswith(MAGIC_PARQUET):
        return "parquet"
    if head.startswith(MAGIC_ZIP):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError("这是旧版 Excel(.xls)文件，请在 Excel 中另存为 .xlsx 后再上传")
    ext = Path(name).suffix.lower()
    if ext in (".xlsx", ".xlsm"):
        return "xlsx"
    if ext == ".parquet":
        return "parquet"
    return "csv"


def read_extract(content: bytes, name: str, table: S.Table) -> RawFrame:
    if not content or not content.strip():
        raise ReadError("文件为空")
    fmt = detect_format(name, content[:8])
    if fmt == "parquet":
        frame = _read_parquet(content)
    elif fmt == "xlsx":
        frame = _read_xlsx(content, table)
    else:
        frame = _read_csv(content, table)
    if frame.data.shape[0] == 0:
        raise ReadError("文件没有数据行(只有表头或全是空行)")
    return frame


# --- CSV --------------------------------------------------------------------------------------


def decode_text(content: bytes) -> tuple[str, str]:
    """(text, encoding label). UTF-8 (with or without BOM) first, then GB18030 (a superset of
    GBK and GB2312, which is what Chinese Excel writes when it saves CSV)."""
    if b"\x00" in content[:4096]:
        raise ReadError("这不是文本文件(CSV)，也不是 Excel 或 Parquet 文件，无法读取")
    if content.startswith(b"\xef\xbb\xbf"):
        try:
            return content[3:].decode("utf-8"), "UTF-8 (BOM)"
        except UnicodeDecodeError as e:
            raise ReadError(f"文件声明为 UTF-8 但第 {e.start} 字节处编码错误") from None
    try:
        return content.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030"), "GBK"
    except UnicodeDecodeError:
        raise ReadError("无法识别文件编码(支持 UTF-8 与 GBK)，请另存为 UTF-8 或 GBK 编码的 CSV") from None


def _read_csv(content: bytes, table: S.Table) -> RawFrame:
    text, encoding = decode_text(content)
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as e:
        raise ReadError(f"CSV 格式错误：{e}") from None
    return _from_records(records, table, fmt="csv", encoding=encoding)


# --- XLSX -------------------------------------------------------------------------------------


def _read_xlsx(content: bytes, table: S.Table) -> RawFrame:
    from python_calamine import CalamineWorkbook

    try:
        zipfile.ZipFile(io.BytesIO(content)).testzip()
        wb = CalamineWorkbook.from_filelike(io.BytesIO(content))
    except Exception:
        raise ReadError("Excel 文件已损坏或不完整，无法打开，请重新导出后上传") from None
    best: RawFrame | None = None
    best_score = -1
    for sheet_name in wb.sheet_names:
        try:
            records = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        except Exception:
            raise ReadError(f"Excel 工作表“{sheet_name}”无法读取，文件可能已损坏") from None
        if not records:
            continue
        try:
            frame = _from_records(records, table, fmt="xlsx", encoding=None)
        except ReadError:
            continue
        score = _header_score(list(frame.data.columns), table)
        if score > best_score:
            best, best_score = frame, score
            best.sheet = sheet_name
    if best is None:
        raise ReadError("Excel 文件中没有找到数据表(所有工作表都是空的)")
    return best


# --- Parquet ----------------------------------------------------------------------------------


def _read_parquet(content: bytes) -> RawFrame:
    chunks = list(iter_parquet(content, chunk_rows=None))
    if not chunks:
        raise ReadError("文件没有数据行")
    return chunks[0]


def iter_parquet(source: bytes | str | Path, *, chunk_rows: int | None = 1_000_000):
    """RawFrames of at most ``chunk_rows`` records (all in one when None), so a 10-million-row
    extract is validated in bounded memory."""
    try:
        # pre_buffer=False: the pre-buffered ranges would stay cached for the whole file (about
        # 30 MB more per million rows read), which a chunked read exists to avoid.
        pf = pq.ParquetFile(pa.BufferReader(source) if isinstance(source, bytes) else str(source),
                            pre_buffer=False)
        total = pf.metadata.num_rows
    except Exception:
        raise ReadError("Parquet 文件已损坏或不完整，无法读取") from None
    if total == 0:
        raise ReadError("文件没有数据行")
    offset = 0
    try:
        batches = pf.iter_batches(batch_size=chunk_rows or max(total, 1))
        for batch in batches:
            df = _to_pandas(pa.Table.from_batches([batch]))
            df.columns = [str(c) for c in df.columns]
            rows = pd.Series(range(offset + 1, offset + len(df) + 1), dtype="int64")
            offset += len(df)
            yield RawFrame(df, rows, fmt="parquet", header_row=0)
    except ReadError:
        raise
    except Exception:
        raise ReadError("Parquet 文件已损坏或不完整，无法读取") from None


def _to_pandas(t: pa.Table) -> pd.DataFrame:
    """A Parquet batch as typed columns the parsers take whole: dictionary-encoded text as plain
    text (not categoricals), booleans with gaps as pandas booleans (not Python objects)."""
    for i, f in enumerate(t.schema):
        if pa.types.is_dictionary(f.type) and (pa.types.is_string(f.type.value_type)
                                               or pa.types.is_large_string(f.type.value_type)):
            t = t.set_column(i, f.name, t.column(i).cast(f.type.value_type))
    return t.to_pandas(types_mapper=_BOOLEAN.get)


_BOOLEAN = {pa.bool_(): pd.BooleanDtype()}


# --- which table is this? ---------------------------------------------------------------------


def header_rows(content: bytes, name: str, *, rows: int = 10) -> list[list]:
    """The first ``rows`` records of every sheet (Parquet: its column names), where a header can
    be: enough to tell which table a file is, without reading it all once per table."""
    try:
        fmt = detect_format(name, content[:8])
    except ReadError:  # e.g. an old .xls: the check says why
        return []
    if fmt == "parquet":
        try:
            return [pq.ParquetFile(pa.BufferReader(content)).schema_arrow.names]
        except Exception:
            return []
    if fmt == "xlsx":
        from python_calamine import CalamineWorkbook

        try:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(content))
            out: list[list] = []
            for sheet_name in wb.sheet_names:
                out += list(itertools.islice(wb.get_sheet_by_name(sheet_name).iter_rows(), rows))
            return out
        except Exception:
            return []
    head = content[:65536]
    if len(content) > len(head):  # whole lines only: a character cut in two is not GBK
        head = head[:head.rfind(b"\n") + 1] or head
    try:
        text, _ = decode_text(head)
    except ReadError:
        return []
    try:
        return list(itertools.islice(csv.reader(io.StringIO(text, newline="")), rows))
    except csv.Error:
        return []


def header_scores(content: bytes, name: str) -> dict[str, int]:
    """For every table, how many of its columns the file's best header row names."""
    records = header_rows(content, name)
    return {t: max((_header_score(r, table) for r in records), default=0)
            for t, table in S.TABLES.items()}


# --- shared -----------------------------------------------------------------------------------


def _header_score(headers: list, table: S.Table) -> int:
    index = S.header_index(table)
    return sum(1 for h in headers if S.normalize_header(h) in index)


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _from_records(records: list[list], table: S.Table, *, fmt: str, encoding: str | None) -> RawFrame:
    # Offices put a title row or two above the header; the header is the first of the first ten
    # rows that names the most columns of the table.
    best_i, best_score = None, 0
    for i, rec in enumerate(records[:10]):
        score = _header_score(rec, table)
        if score > best_score:
            best_i, best_score = i, score
    if best_i is None:
        first = next((i for i, r in enumerate(records) if any(not _blank(v) for v in r)), None)
        if first is None:
            raise ReadError("文件为空")
        best_i = first
    header = [("" if v is None else str(v)).strip() for v in records[best_i]]
    width = len(header)
    body = records[best_i + 1:]
    kept, rownums = [], []
    for j, rec in enumerate(body):
        if all(_blank(v) for v in rec):
            continue
        rec = list(rec[:width]) + [None] * (width - len(rec))
        kept.append([None if (isinstance(v, str) and v == "") else v for v in rec])
        rownums.append(best_i + 2 + j)
    names: list[str] = []
    for i, h in enumerate(header):
        name = h if h else f"(第{_col_letter(i)}列)"
        # A repeated header stays distinguishable ("名称 (2)"); validation then names the
        # repetition instead of reading two columns as one.
        n = 2
        base = name
        while name in names:
            name = f"{base} ({n})"
            n += 1
        names.append(name)
    data = pd.DataFrame(kept, columns=range(width), dtype=object)
    data.columns = names
    return RawFrame(data, pd.Series(rownums, dtype="int64"), fmt=fmt, encoding=encoding,
                    header_row=best_i + 1)


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s
