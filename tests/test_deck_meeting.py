"""The 推进会 deck as a meeting sees it: the 红黄绿灯 slide (its lights are
``metrics.supervision.lights``'s, in the model, the PPTX, the PDF and on screen), the title slide's
会议名称/主办单位/会议日期, no system jargon, no clause counting zero things, doughnut values in a
legend, and one value-axis rule for the screen and the PPTX.

The three-month city of ``tests/test_supervision.py`` (target 组织覆盖率 80%): in October
东街道 80.0% 绿灯 (exactly at target), 西街道 76.0% 红灯 (third yellow running), 南街道 75.0%
红灯 (exactly 5.0 points behind).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pptx import Presentation
from pptx.oxml.ns import qn
from pypdf import PdfReader

from metrics import supervision as SUP
from metrics.exports import bulletin as B
from metrics.exports.pdf import deck_to_pdf
from metrics.exports.pptx import FONT, deck_to_pptx
from metrics.exports.slides import ChartSpec, build_deck, date_label, lights_frame, resolve
from metrics.selection import Selection
from metrics.settings import Settings
from tests import fixtures as F
from tests import test_supervision

ROOT = Path(__file__).resolve().parent.parent
S = Settings()
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# A count of nothing in a sentence: 其中0个月, 0家, 已完成0个 … (not 10个, not 0.5%).
ZERO_COUNT = re.compile(r"(?<![\d.,])0(?:个|件|家|项|盏|位|名|期)")
ZERO_GAP = re.compile(r"(?<![\d.])0\.0(?:个百分点|分)")  # 低于目标0.0个百分点, 差0.0分
city3 = test_supervision.city3  # the three-month city (a module-scoped fixture)


def _oct(level: str = "street") -> Selection:
    return Selection.make(level, period="2026-10")


@pytest.fixture(scope="module")
def deck3(city3):
    return build_deck(city3, _oct(), settings=S, is_demo=False, data_version="区划v1·台账v1",
                      title="全市党建引领基层治理推进会", host="中共示例市委组织部",
                      meeting_date=dt.date(2026, 11, 6))


@pytest.fixture(scope="module")
def prs3(deck3):
    return Presentation(io.BytesIO(deck_to_pptx(deck3)))


def _lights_slides(deck):
    return [(i, s) for i, s in enumerate(deck.slides) if s.kind == "lights"]


def _texts(slide) -> list[str]:
    out = [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]
    for sh in slide.shapes:
        if sh.has_table:
            out += [c.text_frame.text for r in sh.table.rows for c in r.cells]
    return out


def _pdf_text(page) -> str:
    return "".join(page.extract_text().replace("\x00", "").split())


# --- 红黄绿灯 -------------------------------------------------------------------------------------


def test_lights_slide_follows_the_overview_and_states_the_rule(deck3):
    ((i, s),) = _lights_slides(deck3)
    assert deck3.slides[i - 1].kind == "overview"
    assert s.title == "红黄绿灯：各街道指标亮灯情况"
    assert s.table.columns == ["街道", "组织覆盖率"]  # the only rate with a target
    assert s.table.rows == [["东街道", "80.0% 绿灯"], ["西街道", "76.0% 红灯"],
                            ["南街道", "75.0% 红灯"]]
    assert s.table.cell_marks == [[None, SUP.GREEN], [None, SUP.RED], [None, SUP.RED]]
    assert "亮灯规则：" + SUP.short_rule(S) in s.text
    assert ("3个街道的1项有目标的指标共亮灯3盏，其中红灯2盏、绿灯1盏。亮红灯的是"
            "南街道组织覆盖率(75.0%，低于应达值5.0个百分点)、"
            "西街道组织覆盖率(76.0%，低于应达值4.0个百分点，连续黄灯转红灯)") in s.text


@pytest.mark.parametrize("level", ["street", "district", "community"])
def test_slide_lights_equal_supervision_lights(city, level):
    """Every cell of every 红黄绿灯 slide is ``supervision.lights`` of that unit and rate (the
    fixture city has targets for 办结率 and 组织覆盖率, so two domains)."""
    deck = build_deck(city.con, _oct(level), settings=S, is_demo=False, data_version="t")
    scope = resolve(city.con, _oct(level))
    expected = {}
    for domain in ("coverage", "issues", "pairing", "grids"):
        lv = scope.rank_level_for(domain)
        if lv is None:
            continue
        lt = SUP.lights(city.con, domain, scope.domain_sel(domain, lv), settings=S)
        for r in lt.to_dict("records"):
            expected[(r["unit_name"], r["key"])] = r["light"]
    keyed = {k: v for k, v in expected.items() if v is not None}
    assert keyed, "the fixture judges something"
    label_key = {SUP.METRICS[k].label: k for _, k in expected}
    seen = {}
    for _, s in _lights_slides(deck):
        for row, marks in zip(s.table.rows, s.table.cell_marks, strict=True):
            for col, text, mark in zip(s.table.columns[1:], row[1:], marks[1:], strict=True):
                key = (row[0], label_key[col])
                seen[key] = mark
                assert mark == expected.get(key), key
                if mark is not None:
                    assert text.endswith(SUP.LIGHT_LABELS[mark])
    # every light drawn, none invented (rates with no light anywhere have no column)
    assert {k: v for k, v in seen.items() if v is not None} == keyed
    # and the frame the slide reads is the same rows
    lt, _ = lights_frame(city.con, scope, S)
    assert {(r["unit_name"], r["key"]): r["light"] for r in lt.to_dict("records")} == expected


def test_no_lights_slide_without_targets(tmp_path):
    frames = F.city_frames()
    del frames["targets"]
    store, con = F.open_city(tmp_path, frames)
    try:
        deck = build_deck(con, _oct(), settings=S, is_demo=False, data_version="t")
    finally:
        con.close()
    assert _lights_slides(deck) == []


def test_pptx_lights_table_is_native_coloured_and_east_asian(deck3, prs3):
    ((i, _),) = _lights_slides(deck3)
    slide = prs3.slides[i]
    (table,) = [sh.table for sh in slide.shapes if sh.has_table]
    cells = [[c.text_frame.text for c in r.cells] for r in table.rows]
    assert cells == [["街道", "组织覆盖率"], ["东街道", "80.0% 绿灯"], ["西街道", "76.0% 红灯"],
                     ["南街道", "75.0% 红灯"]]
    fills = [table.cell(r, 1)._tc.tcPr.find(qn("a:solidFill")).find(qn("a:srgbClr")).get("val")
             for r in (1, 2, 3)]
    assert fills == [SUP.LIGHT_COLORS[SUP.GREEN].lstrip("#").upper(),
                     SUP.LIGHT_COLORS[SUP.RED].lstrip("#").upper(),
                     SUP.LIGHT_COLORS[SUP.RED].lstrip("#").upper()]
    text = next(sh.text_frame.text for sh in slide.shapes if sh.name == "通报")
    assert "亮灯规则：" in text and "连续3期黄灯" in text
    for r in slide._element.iter(qn("a:r")):
        if CJK.search("".join(t.text or "" for t in r.iter(qn("a:t")))):
            rpr = r.find(qn("a:rPr"))
            assert rpr.find(qn("a:ea")).get("typeface") == FONT


def test_pdf_lights_page_extracts_in_chinese(deck3):
    ((i, s),) = _lights_slides(deck3)
    reader = PdfReader(io.BytesIO(deck_to_pdf(deck3)))
    text = _pdf_text(reader.pages[i])
    for piece in ("红黄绿灯：各街道指标亮灯情况", "东街道", "80.0%绿灯", "西街道", "76.0%红灯",
                  "75.0%红灯", "亮灯规则：绿灯达到应达值"):
        assert piece in text


def test_screen_lights_table_colours_each_cell(deck3):
    from ui.slides_view import _table_html

    ((_, s),) = _lights_slides(deck3)
    html = _table_html(s.table)
    assert html.count('data-light="red"') == 2 and html.count('data-light="green"') == 1
    assert f"background:{SUP.LIGHT_COLORS[SUP.RED]}" in html
    assert "76.0% 红灯" in html


# --- the title slide and jargon -------------------------------------------------------------------


def test_title_slide_takes_meeting_host_and_date(deck3, prs3):
    title = deck3.slides[0]
    assert title.title == "全市党建引领基层治理推进会"
    assert title.bullets == ["全市工作情况通报（2026年10月）", "中共示例市委组织部", "2026年11月6日"]
    assert (deck3.host, deck3.meeting_date) == ("中共示例市委组织部", "2026年11月6日")
    texts = "\n".join(_texts(prs3.slides[0]))
    for piece in ("全市党建引领基层治理推进会", "中共示例市委组织部", "2026年11月6日"):
        assert piece in texts


def test_title_slide_names_filters_in_words(city):
    sel = Selection.make("district", period="2026-10", filters={"source": ["12345热线"]})
    deck = build_deck(city.con, sel, settings=S, is_demo=False, data_version="t")
    assert "筛选：工单来源：12345热线" in deck.slides[0].bullets
    assert "source" not in "\n".join(deck.slides[0].bullets)


def test_date_label():
    assert date_label(dt.date(2026, 1, 9)) == "2026年1月9日"
    assert date_label("2026-12-06") == "2026年12月6日"
    assert date_label(None) == "" and date_label("下周一") == "下周一"


def test_no_version_strings_or_extraction_instants_in_the_pptx(city):
    # The fixture city's 工单 extract is cut at 2026-11-15 10:00:01, later than the other tables:
    # the deck used to print "(工单数据提取时点)" and the version on every slide.
    deck = build_deck(city.con, _oct("district"), settings=S, is_demo=False,
                      data_version="区划v1·台账v2·工单v3")
    prs = Presentation(io.BytesIO(deck_to_pptx(deck)))
    for n, slide in enumerate(prs.slides, start=1):
        texts = _texts(slide)
        if slide.has_notes_slide:
            texts.append(slide.notes_slide.notes_text_frame.text)
        joined = "\n".join(texts)
        for word in ("数据版本", "版本", "提取时点", "工单v3", "区划v1"):
            assert word not in joined, (n, word)
    assert "版本" not in (prs.core_properties.comments or "")


def test_cli_export_takes_meeting_host_and_date(city, tmp_path):
    out = tmp_path / "m.pptx"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-m", "metrics", "export", "pptx", "--out", str(out), "--data-dir",
         str(city.store.root), "--period", "2026-10", "--meeting", "十月推进会",
         "--host", "中共示例市委组织部", "--date", "2026-11-06"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    texts = "\n".join(_texts(Presentation(str(out)).slides[0]))
    assert "十月推进会" in texts and "中共示例市委组织部" in texts and "2026年11月6日" in texts
    bad = subprocess.run(
        [sys.executable, "-m", "metrics", "export", "pptx", "--out", str(out), "--data-dir",
         str(city.store.root), "--date", "11月6日"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "会议日期" in bad.stderr


# --- zero counts ----------------------------------------------------------------------------------


def test_trend_sentence_never_counts_zero_months():
    months = [24320, 24321, 24322]
    below = B.trend_sentence("全市", "close_rate", "rate", months, [0.5, 0.6, 0.7], [0.8] * 3)
    assert "各月均未达到年度目标" in below and "0个月" not in below
    above = B.trend_sentence("全市", "close_rate", "rate", months, [0.9, 0.9, 0.95], [0.8] * 3)
    assert "各月均达到年度目标" in above
    some = B.trend_sentence("全市", "close_rate", "rate", months, [0.9, 0.7, 0.95], [0.8] * 3)
    assert "其中2个月达到年度目标" in some


def test_gap_rounding_to_zero_is_said_in_words():
    assert B.short_of(0.95, 0.9499) == "低于目标不足0.1个百分点"
    assert B.short_of(0.95, 0.93) == "低于目标2.0个百分点"
    assert B.short_of(90.0, 89.99, "score", "差") == "差不足0.1分"


def test_no_slide_counts_zero_things(city, city3, deck3):
    decks = [deck3] + [build_deck(city.con, _oct(level), settings=S, is_demo=False,
                                  data_version="t") for level in ("district", "street")]
    for deck in decks:
        for s in deck.slides:
            text = "\n".join([s.title, s.subtitle, s.text, *s.bullets,
                              *(k.target_display for k in s.kpis)])
            assert not ZERO_COUNT.search(text), (s.title, ZERO_COUNT.search(text).group(0), text)
            assert not ZERO_GAP.search(text), (s.title, text)


# --- doughnuts and axes ---------------------------------------------------------------------------


def test_doughnut_values_are_in_a_legend_not_on_the_slices(deck3, prs3):
    from metrics.exports.slides import doughnut_legend

    for slide, model in zip(prs3.slides, deck3.slides):
        if model.chart2 is None:
            continue
        (chart,) = [sh.chart for sh in slide.shapes if sh.has_chart]
        plot = chart._chartSpace.find(".//" + qn("c:doughnutChart"))
        dl = plot.find(qn("c:dLbls"))
        assert dl is None or dl.find(qn("c:showVal")).get("val") == "0"
        assert not chart.has_legend
        legend = next(sh.text_frame.text for sh in slide.shapes if sh.name == "图例")
        lines = legend.split("\n")
        rows = doughnut_legend(model.chart2)
        assert len(lines) == len(rows) == len(model.chart2.categories) >= 3
        for line, (cat, value, share) in zip(lines, rows):
            assert line == f"■ {cat}　{value:,.0f}（{share}）"


def test_doughnut_shares_add_up_and_survive_zero_total():
    from metrics.exports.slides import doughnut_legend

    spec = ChartSpec(kind="doughnut", categories=["甲", "乙", "丙"],
                     series={"x": [1.0, 0.0, 3.0]}, number_format="0")
    assert doughnut_legend(spec) == [("甲", 1.0, "25.0%"), ("乙", 0.0, "0.0%"), ("丙", 3.0, "75.0%")]
    empty = ChartSpec(kind="doughnut", categories=["甲"], series={"x": [0.0]}, number_format="0")
    assert doughnut_legend(empty) == [("甲", 0.0, "—")]


def test_axis_rule():
    rate = ChartSpec(kind="bar", categories=["a", "b"], series={"x": [0.93, 0.95]})
    assert rate.axis() == (0.0, 1.0, 0.2)  # not 92%–96%
    trend = ChartSpec(kind="line", categories=["a", "b"], series={"x": [0.5, 0.52]},
                      target=0.6)
    assert trend.axis() == (0.0, 1.0, 0.2)
    counts = ChartSpec(kind="bar", categories=["a"], series={"x": [37.0]}, number_format="0")
    assert counts.axis() == (0.0, 40.0, 10.0)
    assert ChartSpec(kind="bar", categories=["a"], series={"x": [None]},
                     number_format="0").axis() == (0.0, 1.0, 0.2)
    assert ChartSpec(kind="doughnut", categories=["a"], series={"x": [1.0]}).axis() is None


def test_pptx_axes_equal_the_screen_figure(deck3, prs3):
    from ui.slides_view import chart_figure

    checked = 0
    for slide, model in zip(prs3.slides, deck3.slides):
        if model.chart is None:
            continue
        (chart,) = [sh.chart for sh in slide.shapes if sh.has_chart]
        scaling = chart._chartSpace.find(".//" + qn("c:valAx")).find(qn("c:scaling"))
        lo = float(scaling.find(qn("c:min")).get("val"))
        hi = float(scaling.find(qn("c:max")).get("val"))
        fig = chart_figure(model.chart)
        assert [lo, hi] == list(fig.layout.yaxis.range), model.title
        assert (lo, hi) == model.chart.axis()[:2]
        if model.chart.number_format.endswith("%"):
            assert (lo, hi) == (0.0, 1.0), model.title
        checked += 1
    assert checked >= 6  # rankings and trends of four domains


# --- the 推进会 page ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    from metrics.datadir import write_sample
    from metrics.store.versions import Store

    path = tmp_path_factory.mktemp("meeting_page")
    write_sample(Store(path), seed=7, scale=0.05)
    return path


def test_presentation_page_title_inputs_and_lights_slide(monkeypatch, sample_dir):
    import streamlit as st

    from tests.test_pages import new_app, open_page, run

    st.cache_data.clear()
    at = open_page(new_app(monkeypatch, sample_dir), "presentation")
    at.text_input(key="meeting_host").input("中共示例市委组织部")
    at.date_input(key="meeting_date").set_value(dt.date(2026, 11, 20))
    run(at)
    page = "\n".join(m.value for m in at.markdown)
    assert "中共示例市委组织部" in page and "2026年11月20日" in page
    assert "数据版本" not in page and "提取时点" not in page
    options = at.selectbox(key="slide").options
    lights = next(i for i, o in enumerate(options) if "红黄绿灯" in o)
    at.selectbox(key="slide").set_value(lights)
    run(at)
    page = "\n".join(m.value for m in at.markdown)
    assert 'data-light="red"' in page or 'data-light="green"' in page
    assert "亮灯规则：" in page
    st.cache_data.clear()


def test_a_full_lights_table_fits_its_slide():
    """LIGHT_ROWS units × LIGHT_COLUMNS rates: every row drawn, nothing wrapped, within the
    height the slide leaves above its text."""
    from metrics.exports import pptx as P
    from metrics.exports.slides import LIGHT_COLUMNS, LIGHT_ROWS, TableSpec

    rows = [[f"第{i}街道办事处"] + ["100.0% 绿灯"] * LIGHT_COLUMNS for i in range(LIGHT_ROWS)]
    spec = TableSpec(columns=["街道"] + ["小区党支部应建尽建率"] * LIGHT_COLUMNS, rows=rows,
                     cell_marks=[[None] + [SUP.GREEN] * LIGHT_COLUMNS] * LIGHT_ROWS)
    max_h = P.SLIDE_H - 0.55 - 1.7 - 1.3
    size, widths, heights, kept = P._layout_lights(spec, rows, P.CONTENT_W, max_h)
    assert kept == rows and len(heights) == LIGHT_ROWS + 1
    assert sum(heights) <= max_h and abs(sum(widths) - P.CONTENT_W) < 1e-9
    assert size >= 11
    cell = P._text_width("100.0% 绿灯", size) * 1.2 + 0.2
    assert all(w >= cell for w in widths[1:])
