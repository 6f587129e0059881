"""Empty and partial data on the pages (AppTest): a selection with no rows says so in Chinese
instead of drawing empty axes; a month whose ledger or orders are not uploaded yet says which
month the page shows instead; the 示例数据 label stays while any table is still demo data."""

from __future__ import annotations

import pandas as pd
import pytest

from metrics.datadir import is_demo, write_sample
from metrics.demo.city import generate_city
from metrics.settings import Settings
from metrics.store.ingest import ingest_frames
from metrics.store.versions import Store
from tests.test_pages import (  # noqa: F401 - the autouse fixture
    _fresh_streamlit_caches,
    charts_on,
    hand_frames,
    new_app,
    open_page,
    run,
)


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    path = tmp_path_factory.mktemp("hand-partial")
    ingest_frames(Store(path), hand_frames(), user="t", settings=Settings())
    return path


@pytest.fixture(scope="module")
def november(tmp_path_factory):
    """The hand city plus one November 双报到 row: the month list reaches 2026-11, while the
    organizations ledger and the orders end in October (11月台账、工单未上传)."""
    frames = hand_frames()
    frames["checkins"] = pd.concat([frames["checkins"], pd.DataFrame(
        [("2026-11", frames["checkins"].loc[1, "community_code"], 1, 5, 1, 1.0)],
        columns=frames["checkins"].columns)], ignore_index=True)
    path = tmp_path_factory.mktemp("november")
    ingest_frames(Store(path), frames, user="t", settings=Settings())
    return path


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def infos(at) -> str:
    return "\n".join(i.value for i in at.info)


def test_a_month_without_orders_says_so_instead_of_empty_charts(monkeypatch, hand):
    # September has no orders at all (the hand city's orders are all in October).
    at = open_page(new_app(monkeypatch, hand, period="2026-09"), "issues")
    assert charts_on(at) == [], "no chart is drawn over no data"
    text = infos(at)
    assert "所选范围内没有“综合得分”的数据，暂无排名" in text
    assert "所选范围内暂无趋势数据" in text
    assert "所选范围内暂无数据" in captions(at)  # the breakdowns by source and category


def test_a_filter_matching_no_orders_says_so(monkeypatch, hand):
    at = open_page(new_app(monkeypatch, hand), "issues")
    used = {"12345热线", "网格员上报", "群众来访"}  # the hand city's orders come from these
    unused = [o for o in at.multiselect(key="source").options if o not in used]
    at.multiselect(key="source").set_value(unused[:1])
    run(at)
    assert at.metric[0].label == "受理量" and at.metric[0].value == "0"
    assert "rank_issues" not in charts_on(at) and "trend_issues" not in charts_on(at)
    assert "所选范围内没有“综合得分”的数据，暂无排名" in infos(at)


def test_the_overview_says_which_month_each_stale_table_shows(monkeypatch, november):
    at = open_page(new_app(monkeypatch, november), "overview")
    assert at.sidebar.selectbox(key="period").value == "2026-11"
    text = captions(at)
    assert "两新组织台账最新一期为2026年10月，2026年11月的台账尚未上传：两个覆盖按2026年10月台账统计" in text
    assert "工单数据最新到2026年10月，2026年11月的工单尚未上传" in text
    assert "双报到月报" not in text  # its November report is there


def test_domain_pages_say_which_snapshot_they_show(monkeypatch, november):
    at = open_page(new_app(monkeypatch, november), "coverage")
    assert "两新组织台账 (台账取最近一期：2026-10)" in captions(at)
    at = open_page(new_app(monkeypatch, november), "issues")
    assert "工单数据最新到2026年10月，2026年11月的工单尚未上传" in captions(at)
    at = open_page(new_app(monkeypatch, november, period="2026-10"), "issues")
    assert "尚未上传" not in captions(at)  # October is uploaded


def test_demo_label_stays_while_any_table_is_demo_data(monkeypatch, tmp_path):
    store = Store(tmp_path)
    write_sample(store, seed=7, scale=0.05)
    targets = generate_city(seed=7, scale=0.05)["targets"]
    ingest_frames(store, {"targets": targets}, user="张三", settings=Settings())
    assert is_demo(tmp_path), "six demo tables and one uploaded: still 示例数据"
    at = open_page(new_app(monkeypatch, tmp_path), "overview")
    assert any("gb-demo" in m.value and "示例数据" in m.value for m in at.markdown)
