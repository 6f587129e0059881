"""重点任务督办 in the exports, on the fixture city in October: the 推进会 deck ranks the districts and
the 责任单位 by 任务完成率 with native charts (the numbers of ``python -m metrics report tasks``),
charts the trend and lists the overdue tasks; the 通报 sentence; the PDF; the 通报 workbook's
重点任务督办 and 责任单位排名 sheets, the 督办清单 sheets and the domain's 口径."""

from __future__ import annotations

import contextlib
import io
import json

import openpyxl
import pytest
from pptx import Presentation
from pypdf import PdfReader

from metrics.cli import main as cli_main
from metrics.db import connect
from metrics.definitions import DOMAIN_KEYS, METRICS
from metrics.exports import bulletin as B
from metrics.exports.pdf import deck_to_pdf, page_summary
from metrics.exports.pptx import deck_to_pptx
from metrics.exports.report_xlsx import report_workbook
from metrics.exports.slides import build_deck
from metrics.selection import Selection
from metrics.settings import Settings
from metrics.store.versions import Store
from tests import fixtures as F

KEYS = DOMAIN_KEYS["tasks"]
OCT = ("--period", "2026-10")
TITLES = ["重点任务督办：各区县任务完成率排名", "重点任务督办：各责任单位任务完成率排名",
          "重点任务督办：任务完成率近12个月走势", "重点任务督办：问题清单（督办清单·超期任务）"]


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("exports-tasks")
    F.build_store(d, F.city_frames())
    return d


def cli_rows(data_dir, level: str, *args: str) -> dict:
    """``report tasks --level LEVEL --period 2026-10`` (in-process): unit_code → row."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli_main(["report", "tasks", "--level", level, "--data-dir", str(data_dir),
                         "--format", "json", *OCT, *args]) == 0
    return {r["unit_code"]: r for r in json.loads(buf.getvalue())["rows"]}


@pytest.fixture(scope="module")
def deck(city_dir):
    con = connect(Store(city_dir), Settings())
    try:
        return build_deck(con, Selection.make("city", period="2026-10"), settings=Settings(),
                          is_demo=False, data_version="t")
    finally:
        con.close()


@pytest.fixture(scope="module")
def prs(deck):
    return Presentation(io.BytesIO(deck_to_pptx(deck)))


@pytest.fixture(scope="module")
def workbook(city_dir):
    con = connect(Store(city_dir), Settings())
    try:
        data = report_workbook(con, Selection.make("city", period="2026-10"), settings=Settings())
    finally:
        con.close()
    return openpyxl.load_workbook(io.BytesIO(data))


def _slide(deck, title: str) -> int:
    return [s.title for s in deck.slides].index(title)


def _chart_values(prs, i: int) -> dict:
    (chart,) = [sh.chart for sh in prs.slides[i].shapes if sh.has_chart]
    return dict(zip(chart.plots[0].categories, chart.plots[0].series[0].values, strict=True))


# --- the deck -----------------------------------------------------------------------------------


def test_deck_has_the_task_slides_after_grids_and_before_the_closing(deck):
    titles = [s.title for s in deck.slides]
    i = titles.index(TITLES[0])
    assert titles[i:i + 4] == TITLES and titles[i + 4] == "下一步工作"
    assert titles[i - 1] == "网格与小区：网格党组织覆盖率近12个月走势"
    assert [s.kind for s in deck.slides[i:i + 4]] == ["ranking", "ranking", "trend", "problems"]
    closing = deck.slides[-1].bullets
    assert len(closing) == 4 and closing[3].startswith("重点任务督办：")
    assert "对3项逾期未完成重点任务挂牌督办" in closing[3]


def test_pptx_ranking_by_district_is_the_cli_report(deck, prs, city_dir):
    cli = cli_rows(city_dir, "district")
    got = _chart_values(prs, _slide(deck, TITLES[0]))
    assert got == {cli[c]["unit_name"]: pytest.approx(cli[c]["task_completion_rate"])
                   for c in (F.D_A, F.D_B)}  # 甲区 4/7, 乙区 0/2


def test_pptx_ranking_by_owner_is_the_cli_report(deck, prs, city_dir):
    cli = cli_rows(city_dir, "owner")
    got = _chart_values(prs, _slide(deck, TITLES[1]))
    counted = {o: r["task_completion_rate"] for o, r in cli.items()
               if r["task_completion_rate"] is not None}
    assert got == pytest.approx(counted)
    assert "区文旅局" not in got  # only a terminated task: no rate, no bar
    assert list(got)[:3] == ["东街道办事处", "区住建局", "市发展改革委"]  # best first
    s = deck.slides[_slide(deck, TITLES[1])]
    assert s.chart.marks[:3] == ["red"] * 3 and s.chart.marks[-3:] == ["black"] * 3


def test_slides_carry_the_task_bulletin_sentences(deck, prs):
    i = _slide(deck, TITLES[0])
    text = deck.slides[i].text
    assert text.startswith("2026年10月，全市重点任务完成率为41.7%")
    assert ("重点任务12项，已完成5项，任务按期完成率为50.0%；逾期未完成任务3项，最长逾期32天；"
            "临期任务2项。") in text
    shown = next(sh.text_frame.text for sh in prs.slides[i].shapes if sh.name == "通报")
    assert shown == text
    owners = deck.slides[i + 1].text
    assert owners.startswith("2026年10月，全市共有8个责任单位承担重点任务，其中7个有应计任务。")
    assert "任务完成率排名前三的是东街道办事处(100.0%)、区住建局(66.7%)、市发展改革委(50.0%)" in owners
    assert "逾期未完成任务较多的责任单位是南街道办事处(1项)、市发展改革委(1项)、西街道办事处(1项)" in owners


def test_problems_slide_lists_the_overdue_tasks(deck, prs):
    i = _slide(deck, TITLES[3])
    s = deck.slides[i]
    assert s.table.columns == ["任务名称", "责任单位", "所属区划", "超期天数"]
    assert s.table.rows == [["背街小巷整治", "西街道办事处", "西街道", "32"],
                            ["营商环境提升行动", "市发展改革委", "全市", "31"],
                            ["网格员队伍建设", "南街道办事处", "南街道", "1"]]
    assert s.chart2.categories == ["已完成", "逾期未完成", "临期", "其他未到期"]
    assert s.chart2.series["重点任务进展（项）"] == [5.0, 3.0, 2.0, 2.0]
    assert s.text.startswith("目前全市有3项重点任务逾期未完成(最长逾期32天)，另有2项临期任务。")
    tables = [sh.table for sh in prs.slides[i].shapes if sh.has_table]
    assert tables and tables[0].cell(1, 0).text == "背街小巷整治"


def test_trend_is_each_months_report(deck, city_dir):
    s = deck.slides[_slide(deck, TITLES[2])]
    values = dict(zip(s.chart.categories, s.chart.series["任务完成率"], strict=True))
    for month in ("2026-06", "2026-07", "2026-10"):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            cli_main(["report", "tasks", "--level", "city", "--data-dir", str(city_dir),
                      "--period", month])
        want = json.loads(buf.getvalue())["rows"][0]["task_completion_rate"]
        assert values[month] == pytest.approx(want), month


def test_a_street_deck_ranks_its_owners_but_has_no_level_below(city_dir):
    con = connect(Store(city_dir), Settings())
    try:
        deck = build_deck(con, Selection.make("city", period="2026-10", unit=F.S_WEST),
                          settings=Settings(), is_demo=False, data_version="t")
    finally:
        con.close()
    titles = [s.title for s in deck.slides]
    # a street: no level below for tasks, but its 责任单位 are ranked
    assert "重点任务督办：各责任单位任务完成率排名" in titles
    assert not any(t.startswith("重点任务督办：各街道") or t.startswith("重点任务督办：各社区")
                   for t in titles)
    trend = deck.slides[titles.index("重点任务督办：任务完成率近12个月走势")]
    assert trend.text.startswith("2026年10月，西街道重点任务完成率为0.0%")  # the 通报 moves here


def test_pdf_of_the_deck_and_of_the_task_page(deck):
    reader = PdfReader(io.BytesIO(deck_to_pdf(deck)))
    assert len(reader.pages) == len(deck.slides)
    i = _slide(deck, TITLES[1])
    text = "".join(reader.pages[i].extract_text().replace("\x00", "").split())
    assert "".join(TITLES[1].split()) in text and "东街道办事处" in text
    slides = page_summary(deck, "tasks")
    assert [s.title for s in slides] == TITLES


# --- the workbook ---------------------------------------------------------------------------------


def _table(ws, header_row: int = 4) -> list[dict]:
    header = [c.value for c in ws[header_row]]
    out = []
    for r in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if r[0] is None and r[3] is None:
            break
        out.append(dict(zip(header, r, strict=True)))
    return out


def _assert_keys(row: dict, want: dict) -> None:
    for k in KEYS:
        v, w = row[METRICS[k].label], want[k]
        assert (v is None) if w is None else v == pytest.approx(w, rel=1e-12), k


def test_workbook_sheets_in_order(workbook):
    names = workbook.sheetnames
    i = names.index("重点任务督办")
    assert names[i:i + 4] == ["重点任务督办", "责任单位排名", "超期任务", "临期任务"]
    assert names[-1] == "口径说明" and names[:3] == ["两个覆盖", "问题解决", "结对联建"]


def test_task_sheet_ranks_districts_with_the_cli_numbers(workbook, city_dir):
    ws = workbook["重点任务督办"]
    assert ws["A1"].value == "全市重点任务督办情况通报表（2026年10月，各区县排名）"
    rows = _table(ws)
    cli = cli_rows(city_dir, "district")
    assert [r["代码"] for r in rows] == [F.D_A, F.D_B]
    for r in rows:
        _assert_keys(r, cli[r["代码"]])
    total = next(r for r in ws.iter_rows(values_only=True) if r[0] == "合计")
    header = [c.value for c in ws[4]]
    city = cli_rows(city_dir, "city")[None]
    _assert_keys(dict(zip(header, total, strict=True)), city)


def test_owner_sheet_ranks_every_owner_with_the_cli_numbers(workbook, city_dir):
    ws = workbook["责任单位排名"]
    assert ws["A1"].value == "全市重点任务督办情况通报表（2026年10月，各责任单位排名）"
    rows = _table(ws)
    cli = cli_rows(city_dir, "owner")
    assert sorted(r["单位"] for r in rows) == sorted(cli)
    assert all(r["代码"] == "" or r["代码"] is None for r in rows)  # an owner has no code
    for r in rows:
        _assert_keys(r, cli[r["单位"]])
    assert [r["红黑榜"] for r in rows[:3]] == ["红榜"] * 3


@pytest.mark.parametrize("sheet,ids,column,days", [
    ("超期任务", ["T04", "T07", "T10"], "超期天数", [32, 31, 1]),
    ("临期任务", ["T05", "T08"], "剩余天数", [0, 6]),
])
def test_supervision_list_sheets(workbook, sheet, ids, column, days):
    ws = workbook[sheet]
    assert f"共 {len(ids)} 条" == ws["A2"].value
    header = [c.value for c in ws[4]]
    rows = [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=5, values_only=True)]
    assert [r["任务编号"] for r in rows] == ids
    assert [r[column] for r in rows] == days and all(type(d) is int for d in days)
    assert {"区县", "街道", "责任单位", "检验标准", "完成时限"} <= set(header)
    if sheet == "超期任务":
        assert (rows[0]["区县"], rows[0]["街道"], rows[0]["完成进度"]) == ("甲区", "西街道", 0.6)
        assert (rows[1]["区县"], rows[1]["街道"]) == ("全市", None)  # a whole-city task


def test_definitions_and_bulletin_sheets_have_the_domain(workbook, deck):
    ws = workbook["口径说明"]
    keys = {r[2] for r in ws.iter_rows(values_only=True) if r and r[0] == "重点任务督办"}
    assert keys == set(KEYS)
    assert any("重点任务临期天数(天) 7" in (c.value or "") for c in ws["A"])
    texts = [c.value for c in workbook["通报"]["B"] if c.value]
    task = deck.slides[_slide(deck, TITLES[0])].text
    assert task in texts
    assert B.paragraph(deck.facts["coverage"]) in texts  # the other domains stay


def test_task_sentence_without_overdue_or_due_soon():
    row = {"tasks": 4, "tasks_done": 4, "task_on_time_rate": 0.75, "tasks_overdue": 0,
           "tasks_due_soon": 0, "max_overdue_days": None}
    assert B.task_sentence(row) == "重点任务4项，已完成4项，任务按期完成率为75.0%；没有逾期未完成任务。"
