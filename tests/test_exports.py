"""推进会 exports: the deck model, the PPTX (native charts, fonts, labels) and the XLSX workbook,
checked against ``metrics.domains.registry.report`` for the same selection."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from pptx import Presentation
from pptx.oxml.ns import qn
from pptx.util import Inches

from metrics import colours as C
from metrics.db import connect
from metrics.definitions import DOMAIN_KEYS, DOMAIN_LABELS, METRICS
from metrics.demo.city import generate_city
from metrics.domains import ranking
from metrics.domains import registry as domains
from metrics.domains import targets as T
from metrics.exports import build as exports
from metrics.exports import bulletin as B
from metrics.exports.pptx import FONT, deck_to_pptx
from metrics.exports.report_xlsx import (
    BAD_FILL,
    BELOW_FONT,
    GOOD_FILL,
    TABLE_START,
    report_workbook,
)
from metrics.exports.slides import DEFAULT_TITLE, DOMAINS, HEADLINE, build_deck
from metrics.selection import Selection, month_str
from metrics.settings import Settings
from metrics.store.ingest import ingest_frames
from metrics.store.versions import Store

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
VERSION = "区划v1·台账v1·工单v1·结对v1·项目v1·报到v1·目标v1"

# The demo city's targets cover 18 rates: three 红黄绿灯 slides (≤ 8 rates each, domains kept together).
LIGHTS = [f"红黄绿灯：各区县指标亮灯情况（{i}/3）" for i in (1, 2, 3)]
CITY_TITLES = [
    DEFAULT_TITLE, "主要指标总览", *LIGHTS,
    "两个覆盖：各区县组织覆盖率排名", "两个覆盖：组织覆盖率近12个月走势", "两个覆盖：问题清单（应建未建组织）",
    "问题解决：各区县办结率排名", "问题解决：办结率近12个月走势", "问题解决：问题清单（超期未办结工单）",
    "结对联建：各区县结对覆盖率排名", "结对联建：结对覆盖率近12个月走势", "结对联建：问题清单（逾期共建项目）",
    "网格与小区：各区县网格党组织覆盖率排名", "网格与小区：网格党组织覆盖率近12个月走势",
    "重点任务督办：各区县任务完成率排名", "重点任务督办：各责任单位任务完成率排名",
    "重点任务督办：任务完成率近12个月走势", "重点任务督办：问题清单（督办清单·超期任务）",
    "下一步工作",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    s = Store(root)
    ingest_frames(s, generate_city(seed=7, scale=0.05), user="t", settings=Settings())
    return s


@pytest.fixture(scope="module")
def con(store):
    c = connect(store, Settings())
    yield c
    c.close()


@pytest.fixture(scope="module")
def latest(con):
    return max(domains.latest(con, d) for d in DOMAINS)


@pytest.fixture(scope="module")
def deck(con):
    return build_deck(con, Selection.make("city"), settings=Settings(), is_demo=True,
                      data_version=VERSION)


@pytest.fixture(scope="module")
def prs(deck):
    return Presentation(io.BytesIO(deck_to_pptx(deck)))


def _at(*indexes: int) -> tuple[int, ...]:
    """Slide indexes of the domain slides, after the 红黄绿灯 slides."""
    return tuple(i + len(LIGHTS) for i in indexes)


def _texts(slide) -> list[str]:
    return [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]


def _charts(slide):
    return [sh.chart for sh in slide.shapes if sh.has_chart]


def _expected_ranking(con, domain: str, month: str):
    """Child-level report ranked best first, computed here without metrics.exports.slides."""
    sel = Selection.make("district", period=month)
    rep = domains.report(con, domain, sel, settings=Settings())
    df = rep.frame
    tg = T.with_targets(con, df, rep.as_of).get(HEADLINE[domain], {})
    return ranking.rank(df, HEADLINE[domain], n=Settings().ranking_n), tg


# --- the model ----------------------------------------------------------------------------------


def test_deck_model(deck, latest):
    assert [s.title for s in deck.slides] == CITY_TITLES
    assert [s.kind for s in deck.slides] == (
        ["title", "overview"] + ["lights"] * len(LIGHTS) + ["ranking", "trend", "problems"] * 3
        + ["ranking", "trend"] + ["ranking", "ranking", "trend", "problems"] + ["closing"])
    assert deck.first == deck.last == latest
    assert deck.unit_name == "全市" and deck.unit_code is None
    overview = deck.slides[1]
    assert [k.label for k in overview.kpis] == ["组织覆盖率", "工作覆盖率", "办结率", "按期办结率",
                                                 "满意率", "综合得分", "结对覆盖率", "项目完成率"]
    for s in deck.slides[2:-1]:
        assert s.text, s.title
    assert len(deck.slides[-1].bullets) == 4  # the three domains and 重点任务督办


def test_overview_kpis_equal_report(con, deck, latest):
    month = month_str(latest)
    sel = Selection.make("city", period=month)
    for k in deck.slides[1].kpis:
        rep = domains.report(con, k.domain, sel, settings=Settings())
        df = rep.frame
        prev = domains.report(con, k.domain, sel.previous(None), settings=Settings()).frame
        assert k.value == df[k.key].iloc[0]
        assert k.previous == prev[k.key].iloc[0]
        kind = METRICS[k.key].kind
        assert k.change == B.change_points(k.value, k.previous, kind)
        tg = T.with_targets(con, df, rep.as_of).get(k.key, {}).get(None)
        if tg:
            assert k.target == tg["target"] and k.target_met == tg["target_met"]
        else:
            assert k.target is None


# --- the PPTX -----------------------------------------------------------------------------------


def test_pptx_opens_16_9_with_titles(prs):
    assert prs.slide_width == Inches(13.333)
    assert prs.slide_height == Inches(7.5)
    assert len(prs.slides) == len(CITY_TITLES)
    for slide, title in zip(prs.slides, CITY_TITLES):
        assert title in _texts(slide)


def test_every_chart_is_native(prs, deck):
    kinds = []
    for slide, model in zip(prs.slides, deck.slides):
        for sh in slide.shapes:
            assert sh.shape_type != 13, "no pictures of charts"  # MSO_SHAPE_TYPE.PICTURE
        charts = _charts(slide)
        expected = [c for c in (model.chart, model.chart2) if c is not None]
        assert len(charts) == len(expected), model.title
        for ch in charts:
            assert ch.part.partname.endswith(".xml")
            assert ch.part.chart_workbook.xlsx_part is not None  # 编辑数据 works
            kinds.append(ch.chart_type)
    # three per domain (ranking, trend, doughnut); two for 网格与小区; four for 重点任务督办 (by
    # unit, by 责任单位, trend, doughnut)
    assert len(kinds) == 15


def test_ranking_charts_equal_report(con, prs, deck, latest):
    month = month_str(latest)
    for i, d in zip(_at(2, 5, 8), DOMAINS):
        ranked, tg = _expected_ranking(con, d, month)
        (chart,) = _charts(prs.slides[i])
        bar = chart.plots[0]
        assert list(bar.categories) == list(ranked["unit_name"])
        values = list(bar.series[0].values)
        expected = [None if v != v else v for v in ranked[HEADLINE[d]]]
        assert values == expected
        assert bar.series[0].name == METRICS[HEADLINE[d]].label
        # the target: a line series in the same chart, one value per unit
        line = chart.plots[1]
        assert list(line.series[0].values) == [tg[c]["target"] for c in ranked["unit_code"]]
        # each bar coloured by its unit's target (metrics.colours), the screen's rule
        ser = bar.series[0]._element
        colors = {int(p.find(qn("c:idx")).get("val")):
                  p.find(".//" + qn("a:srgbClr")).get("val") for p in ser.findall(qn("c:dPt"))}
        for j, (code, value) in enumerate(zip(ranked["unit_code"], ranked[HEADLINE[d]])):
            cls = C.bar_class(value, tg[code]["target_met"] if code in tg else None)
            if cls is None:
                assert j not in colors
            else:
                assert colors[j] == C.rgb_hex(cls)


def test_ranking_text_numbers_equal_chart(prs):
    for i in _at(2, 5, 8):
        (chart,) = _charts(prs.slides[i])
        shown = {c: B.fmt_rate(v) for c, v in zip(chart.plots[0].categories,
                                                   chart.plots[0].series[0].values)}
        text = next(sh.text_frame.text for sh in prs.slides[i].shapes if sh.name == "通报")
        pairs = re.findall(r"([\u4e00-\u9fff]+?[区县街道社])\((\d+\.\d%)\)", text)
        assert len(pairs) >= 2
        for name, value in pairs:
            name = next(c for c in shown if name.endswith(c))
            assert shown[name] == value


def test_trend_charts_equal_report(con, prs, latest):
    for i, d in zip(_at(3, 6, 9), DOMAINS):
        (chart,) = _charts(prs.slides[i])
        plot = chart.plots[0]
        months = list(plot.categories)
        assert months == [month_str(m) for m in range(latest - 11, latest + 1)]
        values = plot.series[0].values
        for m in (latest, latest - 1, latest - 6):
            df = domains.report(con, d, Selection.make("city", period=month_str(m)),
                                settings=Settings()).frame
            v = df[HEADLINE[d]].iloc[0]
            assert values[months.index(month_str(m))] == (None if v != v else v)
        assert plot.series[1].name == "年度目标"


def test_doughnuts_equal_report(con, prs, latest):
    sel = Selection.make("city", period=month_str(latest))
    for i, d in zip(_at(4, 7, 10), DOMAINS):
        (chart,) = _charts(prs.slides[i])
        row = domains.report(con, d, sel, settings=Settings()).frame.iloc[0]
        values = list(chart.plots[0].series[0].values)
        if d == "coverage":
            assert values == [row.orgs_standalone, row.orgs_with_party_org - row.orgs_standalone,
                              row.orgs_total - row.orgs_with_party_org]
        elif d == "issues":
            assert values == [row.closed, row.open_overdue,
                              row.reported - row.closed - row.open_overdue]
        else:
            assert values == [row.projects_done, row.projects_overdue,
                              row.projects - row.projects_done - row.projects_overdue]


def _assert_typefaces(rpr, where: str) -> None:
    assert rpr is not None, where
    for tag in ("a:latin", "a:ea", "a:cs"):
        el = rpr.find(qn(tag))
        assert el is not None and el.get("typeface") == FONT, (where, tag)


def test_every_chinese_run_has_east_asian_font(prs):
    runs = 0
    for n, slide in enumerate(prs.slides, start=1):
        roots = [slide._element]
        if slide.has_notes_slide:
            roots.append(slide.notes_slide._element)
        for root in roots:
            for r in root.iter(qn("a:r")):
                text = "".join(t.text or "" for t in r.iter(qn("a:t")))
                if CJK.search(text):
                    runs += 1
                    _assert_typefaces(r.find(qn("a:rPr")), f"slide {n}: {text}")
        for chart in _charts(slide):
            cs = chart._chartSpace
            assert cs.find(qn("c:txPr")) is not None
            for d in cs.iter(qn("a:defRPr")):
                _assert_typefaces(d, f"slide {n} chart")
            for r in cs.iter(qn("a:r")):
                _assert_typefaces(r.find(qn("a:rPr")), f"slide {n} chart run")
    assert runs > 100


def test_demo_label_and_footer_on_every_slide(prs, deck):
    for n, slide in enumerate(prs.slides, start=1):
        texts = _texts(slide)
        assert "示例数据" in texts, n
        footer = next(sh.text_frame.text for sh in slide.shapes if sh.name == "页脚")
        # the data's cut-off only: no version strings before a meeting
        assert footer.startswith("数据截止 ") and VERSION not in footer and "版本" not in footer
        assert f"{n} / {len(prs.slides)}" in texts
    as_of = deck.as_of.strftime("%Y-%m-%d %H:%M")
    assert as_of in next(sh.text_frame.text for sh in prs.slides[0].shapes if sh.name == "页脚")


def test_no_demo_label_for_real_data(store):
    data = exports.build(store, Settings(), "pptx", Selection.make("city"))
    prs = Presentation(io.BytesIO(data))
    for slide in prs.slides:
        assert "示例数据" not in _texts(slide)


def test_district_deck_ranks_streets(con):
    deck = build_deck(con, Selection.make("city", unit="990102"), settings=Settings(),
                      is_demo=False, data_version=VERSION)
    assert deck.unit_name == "东湖区"
    assert "两个覆盖：各街道组织覆盖率排名" in [s.title for s in deck.slides]
    ranking_slide = next(s for s in deck.slides if s.kind == "ranking")
    df = domains.report(con, "coverage", Selection.make("street", unit="990102",
                                                        period=month_str(deck.last)),
                        settings=Settings()).frame
    assert sorted(ranking_slide.chart.categories) == sorted(df["unit_name"])
    prs = Presentation(io.BytesIO(deck_to_pptx(deck)))
    assert len(prs.slides) == len(deck.slides)


# --- the XLSX -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workbook(con):
    data = report_workbook(con, Selection.make("city"), settings=Settings(), data_version=VERSION)
    return openpyxl.load_workbook(io.BytesIO(data))


def test_xlsx_sheets(workbook):
    assert workbook.sheetnames[:3] == ["两个覆盖", "问题解决", "结对联建"]
    assert "口径说明" in workbook.sheetnames and "通报" in workbook.sheetnames


def test_xlsx_no_formulas(workbook):
    for ws in workbook:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate)


@pytest.mark.parametrize("domain", DOMAINS)
def test_xlsx_ranking_table(con, workbook, latest, domain):
    ws = workbook[DOMAIN_LABELS[domain]]
    assert "2026" in ws["A1"].value or str(latest // 12) in ws["A1"].value
    assert "截止时点" in ws["A2"].value and VERSION in ws["A2"].value
    hr = TABLE_START + 1
    header = [c.value for c in ws[hr]]
    keys = DOMAIN_KEYS[domain]
    key = HEADLINE[domain]
    label = METRICS[key].label
    assert header == ["排名", "排名变化", "代码", "单位", label, f"上月{label}", "环比(个百分点)",
                      "目标值", "差距(个百分点)", "是否达标", "红黑榜",
                      *[METRICS[k].label for k in keys if k != key]]
    assert ws.freeze_panes == f"E{hr + 1}"
    ranked, tg = _expected_ranking(con, domain, month_str(latest))
    col_of = {h: i + 1 for i, h in enumerate(header)}
    for i, r in enumerate(ranked.itertuples(index=False)):
        row = hr + 1 + i
        assert ws.cell(row, 1).value == (None if pd.isna(r.rank) else int(r.rank))
        assert ws.cell(row, 3).value == r.unit_code and ws.cell(row, 3).data_type == "s"
        assert ws.cell(row, 4).value == r.unit_name
        for k in keys:
            v = getattr(r, k)
            cell = ws.cell(row, col_of[METRICS[k].label])
            # approx: a weighted score summed in another order differs in the last digit
            assert cell.value == (None if v != v else pytest.approx(v, rel=1e-12)), (r.unit_name, k)
            if METRICS[k].is_rate:
                assert cell.number_format == "0.0%"
        t = tg.get(r.unit_code)
        assert ws.cell(row, col_of["目标值"]).value == (t["target"] if t else None)
        met = ws.cell(row, col_of["是否达标"]).value
        assert met == ("—" if not t or t["target_met"] is None else "是" if t["target_met"] else "否")
        fill = ws.cell(row, 4).fill
        if r.red:
            assert fill.fgColor.rgb == "FF" + GOOD_FILL[1:]
        elif r.black:
            assert fill.fgColor.rgb == "FF" + BAD_FILL[1:]
        else:
            assert fill.fill_type is None
        font = ws.cell(row, col_of[METRICS[key].label]).font
        below = t is not None and t["target_met"] is False
        assert (font.color is not None and font.color.rgb == "FF" + BELOW_FONT[1:]) == below
    total = hr + 1 + len(ranked) + 1
    assert ws.cell(total, 1).value == "合计" and ws.cell(total, 4).value == "全市"


def test_xlsx_definitions_list_every_key(workbook):
    ws = workbook["口径说明"]
    values = {c.value for row in ws.iter_rows() for c in row if c.value}
    for d in DOMAINS:
        for k in DOMAIN_KEYS[d]:
            assert k in values and METRICS[k].definition in values
    for col in ("排名", "代码", "单位", "目标值", "是否达标"):
        assert col in values


def test_xlsx_bulletin_sheet_matches_deck(workbook, deck):
    ws = workbook["通报"]
    texts = [c.value for c in ws["B"] if c.value]
    for d in DOMAINS:
        assert B.paragraph(deck.facts[d]) in texts


# --- the command line ---------------------------------------------------------------------------


def _cli(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "metrics", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_export(store, tmp_path):
    out = tmp_path / "f.pptx"
    r = _cli("export", "pptx", "--out", str(out), "--data-dir", str(store.root))
    assert r.returncode == 0, r.stderr
    assert len(Presentation(str(out)).slides) == len(CITY_TITLES)
    out = tmp_path / "f.xlsx"
    r = _cli("export", "xlsx", "--out", str(out), "--data-dir", str(store.root),
             "--filter", "unit=990102")
    assert r.returncode == 0, r.stderr
    wb = openpyxl.load_workbook(out)
    assert "东湖区" in wb["两个覆盖"]["A1"].value


def test_cli_export_empty_store_is_usage_error(tmp_path):
    r = _cli("export", "pptx", "--out", str(tmp_path / "x.pptx"), "--data-dir",
             str(tmp_path / "empty"))
    assert r.returncode == 2
    assert "没有数据" in r.stderr
