"""A bar means the same on screen, on the 演示 slides, in the PPTX and in the PDF: one rule
(``metrics.colours``), and a legend that names exactly the classes drawn.

The fixture city (tests/fixtures.py) with targets for 办结率 chosen so the district ranking has
one unit per class somewhere: 甲区 has its own target, 乙区 none (no city-wide target).
"""

from __future__ import annotations

import io

import pandas as pd
import plotly.graph_objects as go
import pytest
from pptx import Presentation
from pptx.oxml.ns import qn

from metrics import colours as C
from metrics.domains import ranking
from metrics.domains import registry as domains
from metrics.domains import targets as T
from metrics.exports.pptx import deck_to_pptx
from metrics.exports.slides import ChartSpec, build_deck
from metrics.selection import Selection
from metrics.settings import Settings
from tests import fixtures as F
from ui import charts, slides_view

PERIOD = "2026-10"
KEY = "close_rate"


def _targets(target_a: float) -> pd.DataFrame:
    return pd.DataFrame([(2026, KEY, F.D_A, target_a)], columns=F.TARGET_COLUMNS)


@pytest.fixture(scope="module", params=[0.0, 1.0], ids=["甲区达标", "甲区未达标"])
def city(request, tmp_path_factory):
    frames = {**F.city_frames(), "targets": _targets(request.param)}
    store, con = F.open_city(tmp_path_factory.mktemp("colours"), frames)
    yield con
    con.close()


def screen_figure(con) -> tuple[go.Figure, pd.DataFrame]:
    """The ranking chart of 问题解决 as the page draws it (ui.components.ranking_block)."""
    sel = Selection.make("district", period=PERIOD)
    rep = domains.report(con, "issues", sel, settings=Settings())
    df = rep.frame
    ranked = ranking.rank(df, KEY, n=Settings().ranking_n)
    tg = T.with_targets(con, df, rep.as_of).get(KEY, {})
    return charts.ranking_bars(ranked, KEY, tg), ranked


def deck_chart(con) -> tuple[object, ChartSpec, str]:
    """(the PPTX chart, the deck's model of it, the PPTX legend line) of 问题解决's ranking."""
    deck = build_deck(con, Selection.make("city", period=PERIOD), settings=Settings(),
                      is_demo=False, data_version="v")
    i = next(i for i, s in enumerate(deck.slides)
             if s.kind == "ranking" and s.domain == "issues")
    prs = Presentation(io.BytesIO(deck_to_pptx(deck)))
    slide = prs.slides[i]
    (chart,) = [sh.chart for sh in slide.shapes if sh.has_chart]
    legend = next(sh.text_frame.text for sh in slide.shapes if sh.name == "图例")
    return chart, deck.slides[i].chart, legend


def pptx_point_colours(chart) -> dict[str, str]:
    """Category → the fill of its bar (a point's own fill, else the series')."""
    ser = chart.plots[0].series[0]._element
    own = {int(p.find(qn("c:idx")).get("val")): p.find(".//" + qn("a:srgbClr")).get("val")
           for p in ser.findall(qn("c:dPt"))}
    default = ser.find(qn("c:spPr")).find(".//" + qn("a:srgbClr")).get("val")
    cats = list(chart.plots[0].categories)
    values = list(chart.plots[0].series[0].values)
    return {c: own.get(j, default) for j, (c, v) in enumerate(zip(cats, values)) if v is not None}


def test_one_function_maps_a_row_to_a_colour_class():
    assert C.bar_class(0.95, True) == C.MET
    assert C.bar_class(0.5, False) == C.MISSED
    assert C.bar_class(0.5, None) == C.NO_TARGET
    assert C.bar_class(None, None) is None and C.bar_class(float("nan"), True) is None
    assert C.legend([C.MET, None, C.MET]) == "柱色：绿色为达到年度目标"
    assert C.legend([C.NO_TARGET, C.MISSED]) == "柱色：红色为未达到年度目标，灰色为未设年度目标"
    assert C.legend([None]) == ""


def test_screen_and_pptx_colour_every_unit_alike(city):
    fig, ranked = screen_figure(city)
    bars = fig.data[0]
    screen = {name: colour.lstrip("#").upper()
              for name, colour in zip(bars.y, bars.marker.color, strict=True)}
    chart, spec, _ = deck_chart(city)
    pptx = pptx_point_colours(chart)
    assert screen == pptx, (screen, pptx)
    # and the rule is the one stated: 乙区 has no target, 甲区 its own
    tg = {r.unit_name: r for r in ranked.itertuples()}
    assert screen["乙区"] == C.rgb_hex(C.NO_TARGET)
    value_a = tg["甲区"].close_rate
    assert screen["甲区"] == C.rgb_hex(C.MET if value_a >= _target_of(city) else C.MISSED)
    # the 演示 page draws the deck's model with the same colours
    slide_fig = slides_view.chart_figure(spec)
    shown = {c: colour.lstrip("#").upper()
             for c, colour, v in zip(slide_fig.data[0].x, slide_fig.data[0].marker.color,
                                     slide_fig.data[0].y) if v is not None}
    assert shown == pptx


def _target_of(con) -> float:
    return float(con.execute("SELECT target FROM targets WHERE unit_code = $c",
                             {"c": F.D_A}).fetchone()[0])


def test_legend_names_exactly_the_classes_drawn(city):
    fig, _ = screen_figure(city)
    chart, spec, pptx_legend = deck_chart(city)
    drawn = {c for c in spec.colours if c is not None}
    assert len(drawn) == 2 and C.NO_TARGET in drawn
    (screen_legend,) = [a.text for a in fig.layout.annotations if a.name == "legend"]
    for legend in (screen_legend, pptx_legend, spec.legend):
        assert legend.startswith(C.legend(drawn)), legend
        for c in C.CLASSES:
            assert (f"{C.NAMES[c]}为{C.MEANINGS[c]}" in legend) == (c in drawn), (c, legend)
    # the screen's classes are the PPTX's
    screen_classes = {k for k, v in C.HEX.items() if v in set(fig.data[0].marker.color)}
    assert screen_classes == drawn


def test_red_and_black_lists_are_words_on_the_bars_not_colours(city):
    chart, spec, legend = deck_chart(city)
    labels = {}
    ser = chart.plots[0].series[0]
    for j, mark in enumerate(spec.marks):
        if mark:
            labels[spec.categories[j]] = ser.points[j].data_label.text_frame.text
    assert labels and all(t.startswith(("红榜 ", "黑榜 ")) for t in labels.values()), labels
    assert "“红榜”“黑榜”为前" in legend
