"""Nothing Gridboard writes to XLSX or CSV can become a formula (CSV/formula injection)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import Counter

import numpy as np
import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from metrics.contract import schema as S
from metrics.contract.readers import read_extract
from metrics.contract.validate import RefContext, check
from metrics.exports.xlsx import (
    PROBLEM_FILL,
    error_report_xlsx,
    frames_to_xlsx,
    safe_cell,
    safe_csv_text,
    safe_sheet_name,
    text_width,
)

DANGEROUS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", '=HYPERLINK("http://x","点我")']
PLAIN = "普通文本 plain"


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "内容": [*DANGEROUS, PLAIN],
        "数值": [-5, 1, 2, 3, 4, 5, 6],
    })


def _no_formula_xml(content: bytes) -> None:
    """No <f> element anywhere: a stronger check than the reader's view of each cell."""
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name


def _fill(cell) -> str | None:
    if cell.fill is None or cell.fill.fill_type is None:
        return None
    return (cell.fill.fgColor.rgb or "")[-6:].upper()


# --- frames_to_xlsx -------------------------------------------------------------------------


def test_frames_to_xlsx_writes_dangerous_text_as_text():
    content = frames_to_xlsx({"明细": _frame()})
    _no_formula_xml(content)
    ws = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    assert [c.value for c in ws[1]] == ["内容", "数值"]
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
    texts = [ws.cell(row=i, column=1) for i in range(2, 2 + len(DANGEROUS) + 1)]
    assert [c.value for c in texts] == [*DANGEROUS, PLAIN]
    assert all(c.data_type == "s" for c in texts)
    neg = ws.cell(row=2, column=2)
    assert neg.value == -5 and neg.data_type == "n"
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:B8"


def test_carriage_return_survives_for_readers_that_unescape():
    # openpyxl shows "\r" as the OOXML escape _x000D_; Excel and calamine restore it.
    content = frames_to_xlsx({"s": pd.DataFrame({"a": ["\r=y", "x\x01y"]})})
    _no_formula_xml(content)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_name("s").to_python()
    assert rows == [["a"], ["\r=y"], ["x\x01y"]]


def test_frames_to_xlsx_types_and_notes():
    df = pd.DataFrame({
        "日期": pd.to_datetime(["2026-03-05", None]),
        "时间": pd.to_datetime(["2026-03-05 14:30", "2026-03-06 08:00"]),
        "整数": pd.array([3, None], dtype="Int64"),
        "比例": [0.5, np.nan],
        "是否": pd.array([True, None], dtype="boolean"),
        "代码": ["000123", None],
    })
    content = frames_to_xlsx({"a[1]/b:c*?" + "长" * 40: df, "空": df.head(0)},
                             notes={"空": ["说明：=不是公式"]})
    _no_formula_xml(content)
    wb = openpyxl.load_workbook(io.BytesIO(content))
    first, empty = wb.worksheets
    assert first.title == "a1bc" + "长" * 27 and len(first.title) == 31
    assert first["A2"].value == dt.datetime(2026, 3, 5) and first["A2"].number_format == "yyyy-mm-dd"
    assert first["A3"].value is None
    assert first["B2"].value == dt.datetime(2026, 3, 5, 14, 30)
    assert first["B2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert first["C2"].value == 3 and first["C3"].value is None
    assert first["D2"].value == 0.5 and first["D3"].value is None
    assert first["E2"].value is True and first["E3"].value is None
    assert first["F2"].value == "000123" and first["F2"].data_type == "s"
    # Notes above the table, one empty row, then the header (frozen under it).
    assert empty["A1"].value == "说明：=不是公式" and empty["A1"].data_type == "s"
    assert empty["A2"].value is None
    assert [c.value for c in empty[3]] == list(df.columns)
    assert empty.freeze_panes == "A4"


def test_column_widths_count_cjk_double():
    assert text_width("abc") == 3
    assert text_width("网格治理") == 8
    assert text_width("ＡＢ") == 4  # full-width forms are wide too
    df = pd.DataFrame({"名称": ["幸福里社区党群服务中心"], "x": ["a"], "长": ["字" * 200]})
    ws = openpyxl.load_workbook(io.BytesIO(frames_to_xlsx({"s": df}))).worksheets[0]
    widths = {k: v.width for k, v in ws.column_dimensions.items()}
    assert 22 <= widths["A"] <= 26  # 11 CJK characters = 22 units, plus padding
    assert 8 <= widths["B"] < 9  # clamped up to 8
    assert 60 <= widths["C"] < 61  # clamped down to 60


def test_sheet_names_are_unique_and_valid():
    taken: set[str] = set()
    assert safe_sheet_name("事件/诉求工单", taken) == "事件诉求工单"
    assert safe_sheet_name("事件诉求工单", taken) == "事件诉求工单(2)"
    assert safe_sheet_name("'x'", taken) == "x"
    assert safe_sheet_name("", taken) == "Sheet"
    assert safe_sheet_name("History", taken) == "History_"
    long = safe_sheet_name("长" * 40, taken)
    assert long == "长" * 31 and safe_sheet_name("长" * 40, taken) == "长" * 28 + "(2)"


# --- safe_cell ------------------------------------------------------------------------------


def test_safe_cell_values():
    assert safe_cell(pd.NA) is None
    assert safe_cell(pd.NaT) is None
    assert safe_cell(np.nan) is None
    assert safe_cell(float("inf")) is None
    assert safe_cell(None) is None
    assert safe_cell("=1+1") == "=1+1"  # strings are kept; the writer stores them as text
    v = safe_cell(np.int64(7))
    assert v == 7 and type(v) is int
    v = safe_cell(np.float32(0.5))
    assert v == 0.5 and type(v) is float
    assert safe_cell(np.bool_(True)) is True
    assert safe_cell(2**60) == str(2**60)  # would lose digits as an Excel number
    assert safe_cell(np.datetime64("2026-03-05T10:00:00.000000000")) == dt.datetime(2026, 3, 5, 10)
    assert safe_cell(np.datetime64("NaT")) is None
    aware = pd.Timestamp("2026-03-05 02:00", tz="UTC")
    assert safe_cell(aware) == dt.datetime(2026, 3, 5, 10)  # Beijing time, no tzinfo
    assert safe_cell(dt.date(2026, 3, 5)) == dt.date(2026, 3, 5)
    assert safe_cell(dt.date(1800, 1, 1)) == "1800-01-01"  # before Excel's calendar
    assert safe_cell(pd.Period("2026-03", freq="M")) == "2026-03"


# --- CSV ------------------------------------------------------------------------------------


def test_safe_csv_text_quotes_dangerous_cells_only():
    df = _frame()
    df["文字列"] = pd.Series([*DANGEROUS, PLAIN], dtype="string")  # pandas string dtype too
    df["=表头"] = 1
    content = safe_csv_text(df)
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["内容", "数值", "文字列", "'=表头"]
    body = rows[1:]
    assert [r[0] for r in body] == ["'" + d for d in DANGEROUS] + [PLAIN]
    assert [r[2] for r in body] == ["'" + d for d in DANGEROUS] + [PLAIN]
    assert body[0][1] == "-5"  # a negative number is a number, not an injection
    assert [r[1] for r in body] == ["-5", "1", "2", "3", "4", "5", "6"]


def test_safe_csv_text_keeps_types_and_blanks():
    df = pd.DataFrame({
        "代码": ["000123", None],
        "整数": pd.array([-1, None], dtype="Int64"),
        "日期": pd.to_datetime(["2026-03-05", None]),
        "混合": pd.Series(["-x", 3], dtype=object),
    })
    rows = list(csv.reader(io.StringIO(safe_csv_text(df).decode("utf-8-sig"), newline="")))
    assert rows[1] == ["000123", "-1", "2026-03-05", "'-x"]
    assert rows[2] == ["", "", "", "3"]


# --- upload error report --------------------------------------------------------------------

BAD_UNITS = (
    "区划与网格 导出\n"                               # row 1: a title row
    "区划代码,名称,层级,上级代码,联系电话\n"            # row 2: header
    "990101,甲区,区县,,13800000000\n"                  # row 3
    '990101001,"=HYPERLINK(""http://x"",""点我"")",街道,=1+1,\n'  # row 4
    ",,,,\n"                                          # row 5: blank, skipped
    "99010100100X,幸福里社区,社区,990101001,\n"         # row 6
    "990101001002,春晖社区,小区,990101001,\n"           # row 7
).encode()


def _bad_upload():
    table = S.TABLES["units"]
    raw = read_extract(BAD_UNITS, "区划.csv", table)
    checked = check(raw, table, RefContext())
    return raw, [p.as_dict() for p in checked.errors]


def test_error_report_sheets_and_summary():
    raw, problems = _bad_upload()
    assert {(p["row"], p["column"]) for p in problems} == {
        (4, "上级代码"), (4, "区划代码"), (6, "区划代码"), (7, "层级")}
    content = error_report_xlsx(problems, raw.data.set_index(raw.rows))
    _no_formula_xml(content)
    wb = openpyxl.load_workbook(io.BytesIO(content))
    assert wb.sheetnames == ["错误明细", "按原因汇总", "原始数据(标出问题)"]

    detail = [[c.value for c in r] for r in wb["错误明细"].iter_rows()]
    assert detail[0] == ["行号", "列", "值", "原因"]
    assert [tuple(r) for r in detail[1:]] == [
        (p["row"], p["column"], p["value"], p["reason"]) for p in problems]
    assert wb["错误明细"]["C2"].value == "=1+1" and wb["错误明细"]["C2"].data_type == "s"

    summary = wb["按原因汇总"]
    assert [c.value for c in summary[1]] == ["原因", "次数"]
    got = {}
    for r in summary.iter_rows(min_row=2, max_col=2, values_only=True):
        if r[0] is None:
            break
        got[r[0]] = r[1]
    assert got == dict(Counter(p["reason"] for p in problems))
    assert all(isinstance(v, int) for v in got.values())


def test_error_report_highlights_exactly_the_named_cells():
    raw, problems = _bad_upload()
    content = error_report_xlsx(problems, raw.data.set_index(raw.rows))
    ws = openpyxl.load_workbook(io.BytesIO(content))["原始数据(标出问题)"]
    header = [c.value for c in ws[1]]
    # Row number first, then the file's headers; the phone column (personal data) is left out.
    assert header == ["行号", "区划代码", "名称", "层级", "上级代码"]
    assert [ws.cell(row=i, column=1).value for i in range(2, ws.max_row + 1)] == [3, 4, 6, 7]
    # The file's cells come back exactly, as text.
    assert ws["C3"].value == '=HYPERLINK("http://x","点我")' and ws["C3"].data_type == "s"
    assert ws["E3"].value == "=1+1" and ws["E3"].data_type == "s"

    file_row = {ws.cell(row=i, column=1).value: i for i in range(2, ws.max_row + 1)}
    expected = {(file_row[p["row"]], header.index(p["column"]) + 1): p["reason"] for p in problems}
    marked = {}
    for row in ws.iter_rows():
        for cell in row:
            if _fill(cell) == PROBLEM_FILL.lstrip("#").upper():
                marked[(cell.row, cell.column)] = cell.comment.text if cell.comment else None
    assert set(marked) == set(expected)
    for cell, reason in expected.items():
        assert reason in marked[cell]
    # Unnamed cells carry neither fill nor comment.
    assert ws["B2"].comment is None and _fill(ws["B2"]) is None

    notes = [r[0] for r in openpyxl.load_workbook(io.BytesIO(content))["按原因汇总"]
             .iter_rows(values_only=True) if r[0]]
    assert any("联系电话" in n for n in notes)


def test_error_report_row_numbers_from_a_column_and_header_problems():
    raw = pd.DataFrame({
        "行号": [2, 3],
        "编码": ["990101", "990101001"],
        "区划代码": ["x", "y"],
        "值": [dt.datetime(2026, 3, 5), "+1"],
    })
    problems = [
        {"row": 1, "column": "编码", "value": "编码", "reason": "与“区划代码”重复"},
        {"row": 3, "column": "值", "value": "+1", "reason": "不对"},
        {"row": 3, "column": "值", "value": "+1", "reason": "另一个原因"},
        {"row": 1, "column": "层级", "value": "", "reason": "缺少必填列“层级”"},  # no cell
        {"row": None, "column": "", "value": "", "reason": "整个文件的问题"},
    ]
    content = error_report_xlsx(problems, raw)
    _no_formula_xml(content)
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb["原始数据(标出问题)"]
    assert [c.value for c in ws[1]] == ["行号", "编码", "区划代码", "值"]
    red = PROBLEM_FILL.lstrip("#").upper()
    marked = {c.coordinate for r in ws.iter_rows() for c in r if _fill(c) == red}
    assert marked == {"B1", "D3"}
    assert "不对" in ws["D3"].comment.text and "另一个原因" in ws["D3"].comment.text
    assert ws["D3"].value == "+1" and ws["D3"].data_type == "s"
    assert ws["D2"].value == dt.datetime(2026, 3, 5) and ws["D2"].number_format == "yyyy-mm-dd hh:mm:ss"
    detail = wb["错误明细"]
    assert detail["A6"].value is None and detail["D6"].value == "整个文件的问题"
    assert wb["按原因汇总"]["B2"].value == 1


def test_error_report_without_raw_rows():
    content = error_report_xlsx([{"row": 2, "column": "a", "value": "@x", "reason": "r"}], None,
                                header_row_label="记录序号")
    wb = openpyxl.load_workbook(io.BytesIO(content))
    assert wb.sheetnames == ["错误明细", "按原因汇总"]
    assert [c.value for c in wb["错误明细"][1]] == ["记录序号", "列", "值", "原因"]
    assert wb["错误明细"]["C2"].value == "@x"


@pytest.mark.parametrize("problems", [[], [{"row": 2, "column": "a", "value": None, "reason": "r"}]])
def test_error_report_small_cases(problems):
    content = error_report_xlsx(problems, pd.DataFrame({"a": [1]}, index=pd.Index([2])))
    wb = openpyxl.load_workbook(io.BytesIO(content))
    assert wb["错误明细"].max_row == 1 + len(problems)


def test_error_report_marks_nothing_for_rows_it_was_not_given():
    # Only some rows passed in: a problem on another row must not land on the header.
    raw = pd.DataFrame({"a": ["x"], "b": ["y"]}, index=pd.Index([5]))
    problems = [{"row": 9, "column": "a", "value": "z", "reason": "r"},
                {"row": 5, "column": "b", "value": "y", "reason": "r2"}]
    ws = openpyxl.load_workbook(io.BytesIO(error_report_xlsx(problems, raw)))["原始数据(标出问题)"]
    red = PROBLEM_FILL.lstrip("#").upper()
    assert {c.coordinate for r in ws.iter_rows() for c in r if _fill(c) == red} == {"C2"}


def test_error_report_can_be_fixed_and_uploaded_again():
    # The marked sheet keeps the file's headers and cells, so the analyst may correct it in place
    # and upload the report itself: the reader picks that sheet and ignores the 行号 column.
    raw, problems = _bad_upload()
    content = error_report_xlsx(problems, raw.data.set_index(raw.rows))
    table = S.TABLES["units"]
    again = read_extract(content, "报告.xlsx", table)
    assert again.sheet == "原始数据(标出问题)"
    checked = check(again, table, RefContext())
    assert "行号" in checked.ignored
    assert {(p.column, p.value, p.reason) for p in checked.errors} == {
        (p["column"], p["value"], p["reason"]) for p in problems}


def test_error_report_prefers_the_index_over_a_files_own_row_column():
    raw = pd.DataFrame({"行号": ["甲", "乙"], "a": ["x", "y"]}, index=pd.Index([7, 9]))
    problems = [{"row": 9, "column": "行号", "value": "乙", "reason": "r"}]
    ws = openpyxl.load_workbook(io.BytesIO(error_report_xlsx(problems, raw)))["原始数据(标出问题)"]
    assert [[c.value for c in r] for r in ws.iter_rows()] == [
        ["行号", "行号", "a"], [7, "甲", "x"], [9, "乙", "y"]]
    red = PROBLEM_FILL.lstrip("#").upper()
    assert {c.coordinate for r in ws.iter_rows() for c in r if _fill(c) == red} == {"B3"}
