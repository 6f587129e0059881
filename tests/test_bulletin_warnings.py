"""The 通报's 督办预警 part, in the text (``supervision.warning_paragraph``) and in the workbook
(the 通报 sheet's 督办预警 column and the 督办预警 sheet), on the three-month city of
``tests/test_supervision.py`` (target 组织覆盖率 80%; October: 东街道 80.0% 绿, 西街道 76.0% 红
after three yellows, 南街道 75.0% 红 exactly 5.0 points behind; ranks Sep 东1 南2 西3, Oct 东1 西2
南3) and on the fixture city (西街道 has no October orders)."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from metrics import supervision as SUP
from metrics.exports.report_xlsx import TABLE_START, WARNING_COLUMNS, report_workbook
from metrics.selection import Selection
from metrics.settings import Settings
from tests import fixtures as F
from tests import test_supervision

S = Settings()
OCT = Selection.make("street", period="2026-10")
city3 = test_supervision.city3  # the three-month city (a module-scoped fixture)


@pytest.fixture(scope="module")
def book3(city3):
    return openpyxl.load_workbook(io.BytesIO(report_workbook(city3, OCT, settings=S)))


def _sheet_rows(ws) -> list[tuple]:
    rows = list(ws.iter_rows(min_row=TABLE_START + 1, values_only=True))
    assert list(rows[0]) == WARNING_COLUMNS
    return [r for r in rows[1:] if any(v is not None for v in r)]


def test_red_units_with_their_red_metrics_and_gaps(city3):
    a = SUP.alerts(city3, "coverage", OCT, "org_coverage_rate", settings=S)
    assert SUP.red_sentence(a, "街道") == (
        "亮红灯的街道有2个：西街道(组织覆盖率76.0%，低于应达值4.0个百分点，连续黄灯转红灯)、"
        "南街道(组织覆盖率75.0%，低于应达值5.0个百分点)。")


def test_warning_paragraph_exact(city3):
    a = SUP.alerts(city3, "coverage", OCT, "org_coverage_rate", settings=S)
    assert SUP.warning_paragraph(a, level_label="街道", settings=S) == (
        "亮红灯的街道有2个：西街道(组织覆盖率76.0%，低于应达值4.0个百分点，连续黄灯转红灯)、"
        "南街道(组织覆盖率75.0%，低于应达值5.0个百分点)。"
        "排名后一位的街道是南街道(75.0%，主要失分在组织覆盖率75.0%，低于目标5.0个百分点)。"
        "西街道连续三期进入黑榜或亮红灯，列为连续后进单位，要重点督办。"
        "进步较快的是西街道(上升1位)。退步较多的是南街道(下降1位)。")


def test_no_red_and_no_targets(city3, city):
    # September: 西街道 is on its second yellow only, nobody is red.
    sep = SUP.alerts(city3, "coverage", Selection.make("street", period="2026-09"),
                     "org_coverage_rate", settings=S)
    assert SUP.red_sentence(sep, "街道") == "本期没有亮红灯的街道。"
    # 结对联建 has no target in the fixture city: nothing judged, nothing said about lights.
    pair = SUP.alerts(city.con, "pairing", OCT, "pairing_coverage_rate", settings=S)
    assert SUP.red_sentence(pair, "街道") == ""


def test_units_without_orders_are_named_separately_in_the_text(city):
    a = SUP.alerts(city.con, "issues", OCT, "close_rate", settings=S)
    text = SUP.warning_paragraph(a, level_label="街道", settings=S)
    assert "西街道本期无受理工单，不参加排名。" in text
    assert "西街道(" not in text.split("西街道本期")[0]  # not also among the bottom units


def test_bulletin_sheet_has_the_warning_paragraph(book3, city3):
    ws = book3["通报"]
    header = [c.value for c in ws[3]]
    assert header == ["板块", "通报", "督办预警", "下一步工作"]
    row = {ws.cell(r, 1).value: ws.cell(r, 3).value for r in range(4, 7)}
    a = SUP.alerts(city3, "coverage", OCT, "org_coverage_rate", settings=S)
    assert row["两个覆盖"] == SUP.warning_paragraph(a, level_label="街道", settings=S)


def test_warning_sheet_rows(book3):
    assert book3.sheetnames.index("督办预警") == book3.sheetnames.index("通报") + 1
    rows = [r for r in _sheet_rows(book3["督办预警"]) if r[0] == "两个覆盖"]
    assert rows == [
        ("两个覆盖", "红灯", "西街道", "组织覆盖率", 0.76, 0.8, -4, "连续黄灯转红灯"),
        ("两个覆盖", "红灯", "南街道", "组织覆盖率", 0.75, 0.8, -5, "落后应达值5个百分点及以上"),
        ("两个覆盖", "后一名", "南街道", "组织覆盖率", 0.75, None, None,
         "主要失分：组织覆盖率75.0%，低于目标5.0个百分点"),
        ("两个覆盖", "连续后进", "西街道", "组织覆盖率", 0.76, None, None,
         "连续3期进入黑榜或亮红灯(由近及远：红灯、黑榜、黑榜；排名 第2名、第3名、第3名)"),
        ("两个覆盖", "进步", "西街道", "组织覆盖率", None, None, None, "排名由第3名到第2名(上升1位)"),
        ("两个覆盖", "退步", "南街道", "组织覆盖率", None, None, None, "排名由第2名到第3名(下降1位)"),
    ]
    ws = book3["督办预警"]
    red_cell = ws.cell(TABLE_START + 2, 2)
    assert red_cell.value == "红灯"
    assert red_cell.fill.fgColor.rgb.endswith(SUP.LIGHT_COLORS[SUP.RED].lstrip("#").upper())
    assert ws.cell(TABLE_START + 2, 7).number_format == "+0.0;-0.0;0.0"


def test_warning_sheet_names_units_without_orders(city):
    wb = openpyxl.load_workbook(io.BytesIO(report_workbook(city.con, OCT, settings=S)))
    rows = _sheet_rows(wb["督办预警"])
    assert ("问题解决", "无数据", "西街道", "办结率", None, None, None,
            "本期无受理工单，不参加排名") in rows


def test_tasks_get_their_warning_paragraph_and_rows_too(tmp_path):
    """重点任务督办 is in the 通报 beside the other domains, so its 督办预警 is too: a task target
    the fixture streets miss lights them red in the paragraph and in the 督办预警 sheet."""
    frames = F.city_frames()
    frames["targets"] = pd.DataFrame([(2026, "task_completion_rate", None, 0.99)],
                                     columns=F.TARGET_COLUMNS)
    store, con = F.open_city(tmp_path, frames)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(report_workbook(con, OCT, settings=S)))
        a = SUP.alerts(con, "tasks", OCT, "task_completion_rate", settings=S)
    finally:
        con.close()
    ws = wb["通报"]
    row = {ws.cell(r, 1).value: ws.cell(r, 3).value for r in range(4, ws.max_row + 1)}
    expected = SUP.warning_paragraph(a, level_label="街道", settings=S)
    assert "亮红灯的街道" in expected
    assert row["重点任务督办"] == expected
    assert any(r[0] == "重点任务督办" and r[1] == "红灯" for r in _sheet_rows(wb["督办预警"]))
