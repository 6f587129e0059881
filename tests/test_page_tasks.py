"""The 重点任务督办 page under AppTest on the fixture city (tests/fixtures.py): the cards read the
numbers of ``python -m metrics report tasks`` (the hand counts of tests/test_metrics_tasks.py),
the rankings of the level below and of 责任单位 equal the CLI's rows, and the 超期任务 and 临期任务
tabs list exactly the tasks to chase, with 区县, 街道 and whole days."""

from __future__ import annotations

import pytest

from metrics.definitions import METRICS, format_value
from tests import fixtures as F
from tests.test_metrics_tasks import HAND, OWNERS
from tests.test_pages import (  # noqa: F401
    _fresh_streamlit_caches,
    cli_report,
    kpis,
    new_app,
    open_page,
    run,
)

HEADLINE = ["task_completion_rate", "task_on_time_rate", "tasks", "tasks_done", "tasks_overdue",
            "max_overdue_days", "tasks_due_soon"]


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("page-tasks")
    F.build_store(d, F.city_frames())
    return d


def frames_with(at, column: str) -> list:
    return [d.value for d in at.dataframe if column in d.value.columns]


def test_page_cards_are_the_cli_numbers_with_contract_labels(monkeypatch, city_dir):
    at = open_page(new_app(monkeypatch, city_dir, period="2026-10"), "tasks")
    assert [t.value for t in at.title] == ["重点任务督办"]
    (row,) = cli_report(city_dir, "tasks", "city", "--period", "2026-10")["rows"]
    want = {METRICS[k].label: format_value(k, row[k]) for k in HEADLINE}
    assert kpis(at) == want
    assert want == {METRICS[k].label: format_value(k, HAND[None][k]) for k in HEADLINE}
    assert kpis(at)["任务完成率"] == "41.7%" and kpis(at)["最长逾期天数"] == "32"
    assert any("7 天内到期" in c.value for c in at.caption)


def test_rankings_of_districts_and_of_owners_equal_the_cli(monkeypatch, city_dir):
    at = open_page(new_app(monkeypatch, city_dir, period="2026-10"), "tasks")
    assert [h.value for h in at.subheader][:2] == ["各区县排名", "责任单位排名"]
    assert at.selectbox(key="tasks_rank").value == "task_completion_rate"
    [owners] = [d.value for d in at.dataframe if "rank_move" in d.value.columns
                and "unit_code" not in d.value.columns]
    cli = {r["unit_code"]: r for r in
           cli_report(city_dir, "tasks", "owner", "--period", "2026-10")["rows"]}
    body = owners.iloc[:-1]
    assert sorted(body["unit_name"]) == sorted(OWNERS)
    for _, r in body.iterrows():
        want = cli[r["unit_name"]]
        assert r["tasks"] == want["tasks"] and r["tasks_overdue"] == want["tasks_overdue"]
        rate = want["task_completion_rate"]
        assert (r["task_completion_rate"] != r["task_completion_rate"] if rate is None
                else r["task_completion_rate"] == pytest.approx(rate * 100))
    # best first (100%, 66.7%, 50%), 区文旅局 (no task counted: no rate, no rank) last
    assert list(body["unit_name"].iloc[:3]) == ["东街道办事处", "区住建局", "市发展改革委"]
    assert body["unit_name"].iloc[-1] == "区文旅局" and body["rank"].isna().iloc[-1]
    assert owners["unit_name"].iloc[-1] == "合计(全市)" and owners["tasks"].iloc[-1] == 12


def test_detail_tab_ranks_the_districts_like_the_cli(monkeypatch, city_dir):
    at = open_page(new_app(monkeypatch, city_dir, period="2026-10", tasks_detail="明细"), "tasks")
    [units] = [d.value for d in at.dataframe if "unit_code" in d.value.columns]
    cli = {r["unit_code"]: r for r in
           cli_report(city_dir, "tasks", "district", "--period", "2026-10")["rows"]}
    body = units[units["unit_code"].notna()]
    assert list(body["unit_code"]) == [F.D_A, F.D_B]  # 57.1% before 0.0%
    for _, r in body.iterrows():
        want = cli[r["unit_code"]]
        assert r["tasks"] == want["tasks"] and r["max_overdue_days"] == want["max_overdue_days"]
        assert r["task_completion_rate"] == pytest.approx(want["task_completion_rate"] * 100)


def test_a_street_has_no_level_below_but_still_ranks_its_owners(monkeypatch, city_dir):
    at = open_page(new_app(monkeypatch, city_dir, period="2026-10", unit=F.S_WEST), "tasks")
    assert kpis(at)["逾期未完成任务数"] == "1" and kpis(at)["临期任务数"] == "1"
    assert "已是最细层级" in [c.value for c in at.caption]
    assert [h.value for h in at.subheader][0] == "责任单位排名"
    [owners] = [d.value for d in at.dataframe if "rank_move" in d.value.columns]
    assert sorted(owners["unit_name"][:-1]) == ["区城管局", "西街道办事处"]


@pytest.mark.parametrize("tab,ids,days_col,days", [
    ("超期任务", ["T04", "T07", "T10"], "超期天数", [32, 31, 1]),
    ("临期任务", ["T05", "T08"], "剩余天数", [0, 6]),
])
def test_follow_up_tabs_are_the_supervision_list(monkeypatch, city_dir, tab, ids, days_col, days):
    at = open_page(new_app(monkeypatch, city_dir, period="2026-10", tasks_detail=tab), "tasks")
    [lst] = frames_with(at, "任务编号")
    assert lst["任务编号"].tolist() == ids
    assert lst[days_col].tolist() == days and all(type(d) is int for d in lst[days_col])
    assert {"区县", "街道", "责任单位", "完成时限", "检验标准"} <= set(lst.columns)
    first = lst.iloc[0]
    if tab == "超期任务":
        assert (first["区县"], first["街道"], first["完成进度"]) == ("甲区", "西街道", "60%")
        assert lst.iloc[1]["区县"] == "全市" and lst.iloc[1]["街道"] == ""  # a whole-city task
        assert list(lst.columns)[:3] == ["任务编号", "任务名称", "超期天数"]
    else:
        assert first["完成时限"] == "2026-11-01"


def test_kind_filter_narrows_the_cards_and_is_not_the_project_kind(monkeypatch, city_dir):
    at = open_page(new_app(monkeypatch, city_dir, period="2026-10", task_kind="民生项目"), "tasks")
    assert at.multiselect(key="task_kind").options == ["重点任务", "民生项目", "其他"]
    # 民生项目: T02 (done late) T05 (临期) T08 (临期) T09
    assert kpis(at)["任务数"] == "4" and kpis(at)["临期任务数"] == "2"
    assert kpis(at)["已完成任务数"] == "1"


def test_breakdown_tab_draws_kind_and_status(monkeypatch, city_dir):
    def charts(detail: str) -> int:
        at = open_page(new_app(monkeypatch, city_dir, period="2026-10", tasks_detail=detail),
                       "tasks")
        return len(at.get("plotly_chart"))

    assert charts("分项") - charts("明细") == 2


def test_owner_filter_lists_the_ledgers_owners_and_narrows_every_count(monkeypatch, city_dir):
    at = open_page(new_app(monkeypatch, city_dir, period="2026-10", owner="市发展改革委"), "tasks")
    # the most tasks first; 区文旅局 (a terminated task only) is listed too
    options = at.multiselect(key="owner").options
    assert options[0] == "区住建局" and set(options) == set(OWNERS)
    (row,) = cli_report(city_dir, "tasks", "city", "--period", "2026-10", "--filter",
                        "owner=市发展改革委")["rows"]
    assert kpis(at) == {METRICS[k].label: format_value(k, row[k]) for k in HEADLINE}
    assert kpis(at)["任务数"] == "2"  # T07 T11, both whole-city


def test_lights_tab_says_when_no_task_rate_has_a_target(monkeypatch, city_dir):
    at = open_page(new_app(monkeypatch, city_dir, period="2026-10", tasks_detail="红黄绿灯"),
                   "tasks")
    assert any("没有设置年度目标" in i.value for i in at.info)


def test_a_community_says_the_domain_stops_at_the_street(monkeypatch, city_dir):
    at = open_page(new_app(monkeypatch, city_dir, period="2026-10", unit=F.C1), "tasks")
    assert [t.value for t in at.title] == ["重点任务督办"]
    assert not at.metric
    assert any("只统计到街道层级" in i.value for i in at.info)
