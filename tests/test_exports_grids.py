"""The 通报 workbook carries 网格与小区: a sheet with every key for the unit and the level below
(the same numbers as ``report grids``), the four follow-up lists and the 口径 of every key."""

from __future__ import annotations

import io

import openpyxl
import pytest

from metrics.db import connect
from metrics.definitions import DOMAIN_KEYS, METRICS
from metrics.exports.pptx import deck_to_pptx
from metrics.exports.report_xlsx import report_workbook
from metrics.exports.slides import build_deck
from metrics.selection import Selection
from metrics.settings import Settings
from tests import fixtures as F
from tests.test_metrics_grids import OCT

KEYS = DOMAIN_KEYS["grids"]


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    store = F.build_store(tmp_path_factory.mktemp("xlsx-grids"), F.city_frames())
    con = connect(store, Settings())
    try:
        data = report_workbook(con, Selection.make("city", period="2026-10"), settings=Settings())
    finally:
        con.close()
    return openpyxl.load_workbook(io.BytesIO(data))


def test_domain_sheet_has_every_key_with_the_hand_counts(workbook):
    ws = workbook["网格与小区"]
    assert "网格快照 2026-10" in ws["A1"].value and "小区快照 2026-10" in ws["A1"].value
    header = [c.value for c in ws[3]]
    assert header == ["代码", "单位", *[METRICS[k].label for k in KEYS]]
    rows = {r[0]: r for r in ws.iter_rows(min_row=4, values_only=True)}
    assert set(rows) == {None, F.D_A, F.D_B}  # the city, then its districts
    for code, row in rows.items():
        for k, v in zip(KEYS, row[2:], strict=True):
            want = OCT[code][k]
            assert (v is None) if want is None else v == pytest.approx(want, rel=1e-12), (code, k)


@pytest.mark.parametrize("sheet,column,expected", [
    ("未建党组织网格", "网格代码", [F.G21]),
    ("无网格员网格", "网格代码", [F.G21]),
    ("小区应建未建清单", "小区名称", ["东二老楼", "东一新村"]),
    ("无物业小区", "小区名称", ["东二老楼", "东一公寓"]),
])
def test_follow_up_sheets_list_what_to_chase(workbook, sheet, column, expected):
    ws = workbook[sheet]
    header = [c.value for c in ws[3]]
    got = [r[header.index(column)] for r in ws.iter_rows(min_row=4, values_only=True)]
    assert got == expected
    assert f"共 {len(expected)} 项" in ws["A1"].value


def test_definitions_sheet_has_every_grid_key(workbook):
    ws = workbook["口径说明"]
    keys = {r[2] for r in ws.iter_rows(values_only=True) if r and r[0] == "网格与小区"}
    assert keys == set(KEYS)


def test_deck_and_pptx_rank_and_chart_grid_party_org_coverage(tmp_path):
    from pptx import Presentation

    store = F.build_store(tmp_path / "d", F.city_frames())
    con = connect(store, Settings())
    try:
        deck = build_deck(con, Selection.make("city", period="2026-10"), settings=Settings(),
                          is_demo=False, data_version="t")
    finally:
        con.close()
    titles = [s.title for s in deck.slides]
    i = titles.index("网格与小区：各区县网格党组织覆盖率排名")
    assert titles[i + 1] == "网格与小区：网格党组织覆盖率近12个月走势"
    prs = Presentation(io.BytesIO(deck_to_pptx(deck)))
    (chart,) = [sh.chart for sh in prs.slides[i].shapes if sh.has_chart]
    got = dict(zip(chart.plots[0].categories, chart.plots[0].series[0].values, strict=True))
    # 甲区 2/3 (东街道), 乙区 no grid in October's snapshot (null: no bar value)
    assert got["甲区"] == pytest.approx(OCT[F.D_A]["grid_party_org_rate"])
    assert got["乙区"] is None
