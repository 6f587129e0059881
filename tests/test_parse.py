"""Every value form of the data contract, cell by cell and end to end through real files."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from metrics.contract import parse as P
from metrics.contract import schema as S
from metrics.contract.readers import read_extract
from metrics.contract.validate import RefContext, check
from tests import bad_files as B


def one(parser, value, **kw):
    """(value, reason, empty) of a single cell parsed as a one-cell column (object dtype, as
    the readers deliver cells)."""
    p = parser(pd.Series([value], dtype=object), **kw)
    v = p.values.iloc[0]
    return (None if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)
            else v), p.reason.iloc[0], bool(p.empty.iloc[0])


def ok(parser, value, **kw):
    v, reason, empty = one(parser, value, **kw)
    assert reason is None, f"{value!r} rejected: {reason}"
    assert not empty
    return v


def bad(parser, value, **kw) -> str:
    v, reason, _ = one(parser, value, **kw)
    assert reason is not None, f"{value!r} accepted as {v!r}"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in reason)
    return reason


# --- booleans ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["是", "Y", "y", "1", "TRUE", "True", "true", " 是 ", "Ｙ"])
def test_bool_true_forms(text):
    assert ok(P.parse_bool, text) == True  # noqa: E712


@pytest.mark.parametrize("text", ["否", "N", "n", "0", "FALSE", "False", "false", "０"])
def test_bool_false_forms(text):
    assert ok(P.parse_bool, text) == False  # noqa: E712


@pytest.mark.parametrize("value,expected", [(1, True), (0, False), (1.0, True), (0.0, False),
                                            (True, True), (False, False)])
def test_bool_from_xlsx_numbers_and_booleans(value, expected):
    assert ok(P.parse_bool, value) == expected


@pytest.mark.parametrize("text", ["可能", "2", "是的吧", "yes please", "-1"])
def test_bool_other_text_is_an_error(text):
    assert "是/否" in bad(P.parse_bool, text)


@pytest.mark.parametrize("value", ["", "  ", None])
def test_bool_empty_is_empty_not_an_error(value):
    v, reason, empty = one(P.parse_bool, value)
    assert v is None and reason is None and empty


# --- dates ------------------------------------------------------------------------------------


MARCH_5 = dt.date(2026, 3, 5)


@pytest.mark.parametrize("text", ["2026-03-05", "2026/3/5", "2026/03/05", "2026年3月5日", "2026-3-5",
                                  "２０２６－０３－０５", " 2026-03-05 ", "2026.3.5"])
def test_date_text_forms(text):
    assert ok(P.parse_date, text) == MARCH_5


@pytest.mark.parametrize("value", [46086, 46086.0, "46086"])
def test_date_excel_serial_numbers(value):
    # 46086 days after 1899-12-30 is 2026-03-05 (Excel's 1900 date system).
    assert ok(P.parse_date, value) == MARCH_5


def test_date_from_python_date_and_datetime_cells():
    assert ok(P.parse_date, dt.date(2026, 3, 5)) == MARCH_5
    assert ok(P.parse_date, dt.datetime(2026, 3, 5, 14, 30)) == MARCH_5  # time dropped


@pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01", "下周", "2026年3月", "3/5/2026x", "0",
                                  "-5"])
def test_date_unreadable_is_an_error(text):
    assert "日期" in bad(P.parse_date, text)


def test_date_leap_day():
    assert ok(P.parse_date, "2028-02-29") == dt.date(2028, 2, 29)
    bad(P.parse_date, "2026-02-29")


# --- datetimes --------------------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("2026-03-05 14:30", dt.datetime(2026, 3, 5, 14, 30)),
    ("2026-03-05 14:30:00", dt.datetime(2026, 3, 5, 14, 30)),
    ("2026-03-05 14:30:59", dt.datetime(2026, 3, 5, 14, 30, 59)),
    ("2026/3/5 9:05", dt.datetime(2026, 3, 5, 9, 5)),
    ("2026/3/5 9:05:07", dt.datetime(2026, 3, 5, 9, 5, 7)),
    ("2026年3月5日 9:05", dt.datetime(2026, 3, 5, 9, 5)),
    ("2026-03-05", dt.datetime(2026, 3, 5)),
    ("2026-03-05T14:30:00", dt.datetime(2026, 3, 5, 14, 30)),
    ("２０２６－０３－０５　１４：３０", dt.datetime(2026, 3, 5, 14, 30)),
])
def test_datetime_text_forms(text, expected):
    assert ok(P.parse_datetime, text) == pd.Timestamp(expected)


def test_datetime_excel_serial_with_fraction():
    # 46086.6041666… = 2026-03-05 14:30 (rounded to the second).
    assert ok(P.parse_datetime, 46086 + 14.5 / 24) == pd.Timestamp("2026-03-05 14:30:00")
    assert ok(P.parse_datetime, 46086.5) == pd.Timestamp("2026-03-05 12:00:00")
    assert ok(P.parse_datetime, "46086") == pd.Timestamp("2026-03-05 00:00:00")


def test_bug_datetime_excel_serial_with_fraction_in_text_cell():
    assert ok(P.parse_datetime, "46086.5") == pd.Timestamp("2026-03-05 12:00:00")


def test_datetime_kept_to_the_second():
    v = ok(P.parse_datetime, dt.datetime(2026, 3, 5, 14, 30, 15, 999_000))
    assert v == pd.Timestamp("2026-03-05 14:30:15")


@pytest.mark.parametrize("text", ["今天上午", "2026-03-05 14"])
def test_datetime_unreadable_is_an_error(text):
    assert "日期时间" in bad(P.parse_datetime, text)


@pytest.mark.parametrize("text", ["2026-03-05 24:00", "2026-03-05 14:60", "2026-03-05 14:30:61"])
def test_datetime_with_an_impossible_time_says_it_does_not_exist(text):
    assert bad(P.parse_datetime, text).startswith("时间不存在")


@pytest.mark.parametrize("parser,text,reason", [
    (P.parse_date, "2026-11-31", "日期不存在：2026年11月只有30天"),
    (P.parse_date, "2026-02-30", "日期不存在：2026年2月只有28天"),
    (P.parse_date, "2026年2月29日", "日期不存在：2026年2月只有28天"),
    (P.parse_date, "2026/13/1", "日期不存在：没有13月(月份应为1–12)"),
    (P.parse_datetime, "2026-04-31 10:00", "日期不存在：2026年4月只有30天"),
    (P.parse_datetime, "2026-02-30 10:00", "日期不存在：2026年2月只有28天"),
    (P.parse_month, "2026-13", "月份不存在：没有13月(月份应为1–12)"),
    (P.parse_month, "2026-11-31", "日期不存在：2026年11月只有30天"),
])
def test_a_date_that_does_not_exist_says_so(parser, text, reason):
    """A well-formed date that is not in the calendar is not a format problem."""
    assert bad(parser, text) == reason


# --- months -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2026-03", "2026/03", "202603", "2026年3月", "2026年03月", "2026-3",
                                  "2026/3", "２０２６年３月", " 2026-03 "])
def test_month_forms(text):
    assert ok(P.parse_month, text) == dt.date(2026, 3, 1)


def test_month_from_a_full_date_or_date_cell_is_its_month():
    assert ok(P.parse_month, "2026-03-15") == dt.date(2026, 3, 1)
    assert ok(P.parse_month, dt.datetime(2026, 3, 31, 23, 59)) == dt.date(2026, 3, 1)


@pytest.mark.parametrize("text", ["2026-13", "202600", "2026年13月", "三月", "26-03"])
def test_month_unreadable_is_an_error(text):
    assert "月份" in bad(P.parse_month, text)


def test_bug_month_202603_from_a_numeric_xlsx_cell():
    v, reason, _ = one(P.parse_month, 202603)
    assert v == dt.date(2026, 3, 1) or reason is not None


# --- integers, numbers, rates -----------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("1234", 1234), ("1,234", 1234), ("１２３４", 1234), ("１，２３４", 1234), ("1,234,567", 1234567),
    (" 12 ", 12), ("12.0", 12), ("0", 0), ("-3", -3), (12, 12), (12.0, 12),
])
def test_int_forms(text, expected):
    assert ok(P.parse_int, text) == expected


@pytest.mark.parametrize("text", ["12.5", "十二", "12人", "1.2.3", 12.5])
def test_int_bad_forms(text):
    assert "整数" in bad(P.parse_int, text)


@pytest.mark.parametrize("text,expected", [("36.5", 36.5), ("1,234.5", 1234.5), ("０.５", 0.5),
                                           (2.25, 2.25), ("0", 0.0)])
def test_number_forms(text, expected):
    assert ok(P.parse_number, text) == pytest.approx(expected)


@pytest.mark.parametrize("text,expected", [
    ("95%", 0.95), ("0.95", 0.95), ("95 %", 0.95), ("９５％", 0.95), ("100%", 1.0), ("0%", 0.0),
    (0.95, 0.95), ("87.5%", 0.875),
])
def test_rate_percent_and_fraction_mean_the_same(text, expected):
    assert ok(P.parse_rate, text) == pytest.approx(expected)


def test_rate_not_a_number_is_an_error():
    assert "数值" in bad(P.parse_rate, "高")
    assert "数值" in bad(P.parse_rate, "九成%")


# --- codes ------------------------------------------------------------------------------------


def test_code_text_is_kept_as_text_with_leading_zeros():
    assert ok(P.parse_code, "0123") == "0123"
    assert ok(P.parse_code, " 990101001001 ") == "990101001001"
    assert ok(P.parse_code, "９９０１０１") == "990101"  # full-width digits


@pytest.mark.parametrize("value", [990101001001, 990101001001.0, 990101])
def test_code_from_a_numeric_cell_is_an_error(value):
    assert "文本" in bad(P.parse_code, value)


@pytest.mark.parametrize("text", ["990101001001.0", "9.90101E+11", "9.90101001001e11"])
def test_code_that_was_read_as_a_float_is_an_error(text):
    assert "数字" in bad(P.parse_code, text)


# --- enums ------------------------------------------------------------------------------------


def test_enum_aliases_and_full_width():
    col = S.TABLES["units"].column("level")
    for text, expected in [("区县", "district"), ("乡镇", "street"), ("村", "community"),
                           ("网格", "grid"), ("Street", "street"), (" 社区 ", "community")]:
        assert ok(P.parse_enum, text, allowed=col.enum, aliases=col.enum_aliases) == expected
    col = S.TABLES["issues"].column("source")
    assert ok(P.parse_enum, "１２３４５热线", allowed=col.enum, aliases=col.enum_aliases) == "12345热线"
    col = S.TABLES["targets"].column("metric")
    assert ok(P.parse_enum, "办结率", allowed=col.enum, aliases=col.enum_aliases) == "close_rate"


# --- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("header,column", [
    ("从业人员数", "employees"),
    ("从业人员数（人）", "employees"),
    ("从业人员数(人)", "employees"),
    (" 从业人员数 （人） ", "employees"),
    ("\u3000从业人员数\u3000", "employees"),
    ("从业人员数[人]", "employees"),
    ("ｅｍｐｌｏｙｅｅｓ", "employees"),
    ("Employees", "employees"),
    ("正式党员数（名）", "party_members"),
    ("统 计 月 份", "period"),
    ("统一社会信用代码 ", "org_id"),
])
def test_header_matching_ignores_spaces_width_and_unit(header, column):
    index = S.header_index(S.TABLES["organizations"])
    assert index.get(S.normalize_header(header)) == column


def test_header_aliases_of_issues():
    index = S.header_index(S.TABLES["issues"])
    for header, column in [("事件编号", "issue_id"), ("受理时间", "reported_at"),
                           ("应办结时间", "due_at"), ("issue_id", "issue_id")]:
        assert index[S.normalize_header(header)] == column


# --- end to end: real files -------------------------------------------------------------------


def _ref() -> RefContext:
    units = pd.DataFrame([
        {"code": r["code"], "level": S.LEVEL_ALIASES[r["level"]], "parent_code": r["parent_code"] or None}
        for r in B.BASELINE_ROWS["units"]
    ])
    return RefContext(units=units, pairing_ids={B.PAIRING})


def checked(table: str, content: bytes, name: str):
    c = check(read_extract(content, name, S.TABLES[table]), S.TABLES[table], _ref())
    return c


def test_odd_headers_map_in_a_real_csv():
    header = [" 统计月份 ", "统一社会信用代码", "单位名称", "单位类型", "新兴领域", "所属社区代码",
              "从业人员数（人）", "正式党员数(名)", "党组织建立情况", "是否选派党建指导员", "ｏｐｅｒａｔｉｎｇ"]
    rows = [["2026年3月", B.ORG1, "甲公司", "非公企业", "", B.COMM, "１，２３４", "5", "单独组建", "Y", "TRUE"],
            ["202603", B.ORG2, "乙协会", "社会组织", "园区", B.COMM2, "8", "0", "未组建", "0", "N"]]
    c = checked("organizations", B.csv_bytes(header, rows), "orgs.csv")
    assert c.ok, [e.as_dict() for e in c.errors]
    assert c.mapping["从业人员数（人）"] == "employees" and c.mapping["ｏｐｅｒａｔｉｎｇ"] == "operating"
    f = c.frame
    assert f["employees"].tolist() == [1234, 8]
    assert f["period"].tolist() == [pd.Timestamp("2026-03-01")] * 2
    assert f["instructor"].tolist() == [True, False]
    assert f["operating"].tolist() == [True, False]
    assert f["sector"].tolist() == ["其他", "产业园区"]


def test_xlsx_date_cells_serial_numbers_and_text_all_parse():
    t = "issues"
    rows = [
        ["GD1", B.COMM, B.GRID, "12345热线", "物业管理", dt.datetime(2026, 3, 5, 14, 30),
         46086 + 15 / 24, "2026/3/5 14:45", "2026年3月6日 9:05", True, "满意"],
        ["GD2", B.COMM, None, "热线", "停车管理", 46086.6041666667, "2026-03-08 14:30:00",
         None, None, None, None],
        ["GD3", B.COMM2, None, None, "噪音扰民", "2026-03-05 14:30", dt.datetime(2026, 3, 6), None,
         dt.datetime(2026, 3, 5, 18, 0, 0), 0, "基本满意"],
    ]
    c = checked(t, B.xlsx_bytes(B.header_list(t), rows), "issues.xlsx")
    assert c.ok, [e.as_dict() for e in c.errors]
    f = c.frame
    assert f["reported_at"].tolist() == [pd.Timestamp("2026-03-05 14:30")] * 3
    assert f["due_at"].tolist() == [pd.Timestamp("2026-03-05 15:00"), pd.Timestamp("2026-03-08 14:30"),
                                    pd.Timestamp("2026-03-06")]
    assert f["closed_at"].iloc[0] == pd.Timestamp("2026-03-06 09:05")
    assert f["resolved"].tolist()[0] is True or f["resolved"].tolist()[0] == True  # noqa: E712
    assert f["resolved"].iloc[2] == False  # noqa: E712
    assert f["source"].tolist() == ["12345热线", "12345热线", "其他"]


def test_xlsx_date_only_columns_from_date_cells_and_serials():
    t = "pairings"
    rows = [["JD201", "市税务局", "市直", B.COMM, dt.datetime(2026, 3, 5), 46112],
            ["JD202", "区教育局", "区直", B.COMM2, 46086, "2026年12月31日"]]
    c = checked(t, B.xlsx_bytes(B.header_list(t), rows), "pairings.xlsx")
    assert c.ok, [e.as_dict() for e in c.errors]
    assert c.frame["started_on"].tolist() == [pd.Timestamp("2026-03-05")] * 2
    assert c.frame["ended_on"].tolist() == [pd.Timestamp("2026-03-31"), pd.Timestamp("2026-12-31")]


def test_xlsx_numeric_code_cells_are_errors():
    t = "issues"
    rows = [["GD1", int(B.COMM), None, None, "物业", "2026-03-05 14:30", "2026-03-06 14:30"],
            [12345, B.COMM, None, None, "物业", "2026-03-05 14:30", "2026-03-06 14:30"]]
    c = checked(t, B.xlsx_bytes(B.header_list(t)[:7], rows), "codes.xlsx")
    assert [(e.row, e.column) for e in c.errors] == [(2, "所属社区代码"), (3, "工单编号")]
    assert all("文本" in e.reason for e in c.errors)


def test_xlsx_targets_percent_number_and_text():
    t = "targets"
    rows = [[2026, "close_rate", None, 0.95], [2026, "响应率", B.DISTRICT, "90%"],
            ["２０２７", "满意率", B.STREET, "0.9"]]
    c = checked(t, B.xlsx_bytes(B.header_list(t), rows), "targets.xlsx")
    assert c.ok, [e.as_dict() for e in c.errors]
    assert c.frame["target"].tolist() == pytest.approx([0.95, 0.9, 0.9])
    assert c.frame["year"].tolist() == [2026, 2026, 2027]
    assert c.frame["metric"].tolist() == ["close_rate", "response_rate", "satisfaction_rate"]


def test_gbk_and_bom_csv_read_the_same():
    t = "checkins"
    rows = [B.row_list(t, r) for r in B.GOOD_ROWS[t]]
    frames = []
    for content in (B.csv_bytes(B.header_list(t), rows, encoding="gbk"),
                    B.csv_bytes(B.header_list(t), rows, bom=True),
                    B.csv_bytes(B.header_list(t), rows)):
        c = checked(t, content, "c.csv")
        assert c.ok, [e.as_dict() for e in c.errors]
        assert "\ufeff" not in "".join(c.mapping)
        frames.append(c.frame)
    pd.testing.assert_frame_equal(frames[0], frames[1])
    pd.testing.assert_frame_equal(frames[0], frames[2])
