"""The 网格与小区 page under AppTest on the fixture city (tests/fixtures.py): the cards read the
hand counts of tests/test_metrics_grids.py as the CLI does, the page says which snapshots it
used, and the follow-up tabs list exactly the grids and compounds to chase."""

from __future__ import annotations

import pytest

from metrics.definitions import METRICS, format_value
from tests import fixtures as F
from tests.test_metrics_grids import CITY_OCT, CITY_SEP
from tests.test_pages import _fresh_streamlit_caches, kpis, new_app, open_page, run  # noqa: F401

HEADLINE = ["grid_party_org_rate", "grid_staffed_rate", "households_per_worker", "grids",
            "compound_build_rate", "property_coverage_rate", "owners_committee_rate",
            "model_compounds", "compounds_red_property", "heads_area", "heads_group",
            "heads_neighbor"]


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("page-grids")
    F.build_store(d, F.city_frames())
    return d


def test_page_cards_are_the_hand_counts_with_contract_labels(monkeypatch, city_dir):
    at = open_page(new_app(monkeypatch, city_dir, period="2026-10"), "grids")
    assert [t.value for t in at.title] == ["网格与小区"]
    want = {METRICS[k].label: format_value(k, CITY_OCT[k]) for k in HEADLINE}
    assert kpis(at) == want
    assert kpis(at)["网格党组织覆盖率"] == "66.7%" and kpis(at)["每名网格员服务户数"] == "162.5"
    assert "网格快照：2026-10；小区快照：2026-10" in [c.value for c in at.caption]


def test_page_says_which_snapshots_it_used(monkeypatch, city_dir):
    at = open_page(new_app(monkeypatch, city_dir, period="2026-09"), "grids")
    assert kpis(at)["小区党支部应建尽建率"] == format_value("compound_build_rate",
                                                      CITY_SEP["compound_build_rate"])
    assert "网格快照：取最近一期 2026-08；小区快照：2026-09" in [c.value for c in at.caption]


@pytest.mark.parametrize("tab,column,expected", [
    ("未建党组织网格", "网格代码", [F.G21]),
    ("无网格员网格", "网格代码", [F.G21]),
    ("小区应建未建", "小区名称", ["东二老楼", "东一新村"]),
    ("无物业小区", "小区名称", ["东二老楼", "东一公寓"]),
])
def test_follow_up_tabs_list_what_to_chase(monkeypatch, city_dir, tab, column, expected):
    at = open_page(new_app(monkeypatch, city_dir, period="2026-10", grids_detail=tab), "grids")
    [lst] = at.dataframe
    assert lst.value[column].tolist() == expected


def test_breakdown_tab_draws_one_chart_per_breakdown(monkeypatch, city_dir):
    def charts(detail: str) -> int:
        at = open_page(new_app(monkeypatch, city_dir, period="2026-10", grids_detail=detail),
                       "grids")
        return len(at.get("plotly_chart"))

    assert charts("分项") - charts("明细") == 3
