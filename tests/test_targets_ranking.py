"""Targets with inheritance and 时间进度; 红榜/黑榜; previous period and same period last year.

Targets of the fixture city (tests/fixtures.TARGET_ROWS), 2026: close_rate 0.8 for the city,
0.9 for 甲区, 0.7 for 东街道; org_coverage_rate 0.5 for the city, 0.6 for 南街道. close_rate
is 0.3 for 2025 and 0.99 for 2027 (city only).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from metrics.definitions import DOMAIN_KEYS, METRICS
from metrics.domains import ranking, targets
from metrics.domains import registry as domains
from metrics.selection import Selection, SelectionError, month_index
from metrics.settings import Settings
from tests.fixtures import C1, C2, C3, C4, D_A, D_B, S_EAST, S_SOUTH, S_WEST, ts

OCT_AS_OF = ts("2026-11-01 00:00:00")


def issues_rep(city, level, **kw):
    return domains.report(city.con, "issues", Selection.make(level, period="2026-10", **kw),
                          settings=Settings())


def issues_report(city, level, **kw):
    return issues_rep(city, level, **kw).frame


# --- targets ----------------------------------------------------------------------------------


def test_targets_inherit_community_street_district_city(city):
    rep = issues_rep(city, "community")
    df = rep.frame  # close_rate: 东一 2/3, 东二 1, 西一 null, 南一 1
    out = targets.with_targets(city.con, df, rep.as_of)
    t = out["close_rate"]
    assert t[C1]["target"] == 0.7 and t[C1]["target_from"] == S_EAST
    assert t[C1]["target_gap"] == pytest.approx(2 / 3 - 0.7)
    assert t[C1]["target_met"] is False
    assert t[C2] == {"target": 0.7, "target_gap": pytest.approx(0.3), "target_met": True,
                     "target_from": S_EAST}
    assert t[C3] == {"target": 0.9, "target_gap": None, "target_met": None,
                     "target_from": D_A}  # no value: target shown, gap and met null
    assert t[C4] == {"target": 0.8, "target_gap": pytest.approx(0.2), "target_met": True,
                     "target_from": None}  # 南街道, 乙区 have none: the city's


def test_targets_at_street_district_and_city_levels(city):
    streets = issues_report(city, "street")
    t = targets.with_targets(city.con, streets, OCT_AS_OF)["close_rate"]
    assert (t[S_EAST]["target"], t[S_EAST]["target_from"], t[S_EAST]["target_met"]) == (0.7, S_EAST, True)
    assert (t[S_WEST]["target"], t[S_WEST]["target_from"], t[S_WEST]["target_gap"]) == (0.9, D_A, None)
    assert (t[S_SOUTH]["target"], t[S_SOUTH]["target_from"]) == (0.8, None)
    districts = issues_report(city, "district")
    t = targets.with_targets(city.con, districts, OCT_AS_OF)["close_rate"]
    assert t[D_A]["target"] == 0.9 and t[D_A]["target_met"] is False  # 0.75 < 0.9
    assert t[D_A]["target_gap"] == pytest.approx(0.75 - 0.9)
    assert t[D_B]["target"] == 0.8 and t[D_B]["target_met"] is True


def test_value_equal_to_target_is_met_with_zero_gap(city):
    df = issues_report(city, "city")  # close_rate 4/5 against the city's 0.8
    t = targets.with_targets(city.con, df, OCT_AS_OF)["close_rate"]
    assert t[None]["target"] == 0.8
    assert t[None]["target_met"] is True
    assert t[None]["target_gap"] == pytest.approx(0.0, abs=1e-12)


def test_only_rates_with_a_target_appear(city):
    df = issues_report(city, "community")
    assert set(targets.with_targets(city.con, df, OCT_AS_OF)) == {"close_rate"}
    cov_rep = domains.report(city.con, "coverage", Selection.make("community", period="2026-10"),
                             settings=None)
    cov = cov_rep.frame
    t = targets.with_targets(city.con, cov, cov_rep.as_of)
    assert set(t) == {"org_coverage_rate"}
    t = t["org_coverage_rate"]
    assert (t[C4]["target"], t[C4]["target_from"], t[C4]["target_met"]) == (0.6, S_SOUTH, True)
    assert (t[C1]["target"], t[C1]["target_met"]) == (0.5, True)   # 2/3
    assert (t[C2]["target"], t[C2]["target_met"]) == (0.5, False)  # 0.0
    assert t[C2]["target_gap"] == pytest.approx(-0.5)


@pytest.mark.parametrize("as_of,year,city_close_target", [
    (ts("2026-11-01 00:00:00"), 2026, 0.8),
    (ts("2027-01-01 00:00:00"), 2026, 0.8),    # a December report belongs to December's year
    (ts("2027-01-01 00:00:01"), 2027, 0.99),
    (ts("2026-01-01 00:00:00"), 2025, 0.3),
    (ts("2026-01-01 00:00:01"), 2026, 0.8),
])
def test_target_year_is_that_of_the_last_instant_before_as_of(city, as_of, year,
                                                               city_close_target):
    assert targets.target_year(as_of) == year
    df = issues_report(city, "city")
    assert targets.with_targets(city.con, df, as_of)["close_rate"][None]["target"] == city_close_target


def test_december_report_uses_that_years_targets(city):
    rep = domains.report(city.con, "coverage", Selection.make("city", period="2026-12"),
                         settings=None)
    df = rep.frame
    assert rep.as_of == ts("2027-01-01 00:00:00")
    t = targets.with_targets(city.con, df, rep.as_of)
    assert t["org_coverage_rate"][None]["target"] == 0.5  # the 2026 target


def test_no_targets_for_the_year_gives_nothing(city):
    df = issues_report(city, "city")
    assert targets.with_targets(city.con, df, ts("2030-06-01 00:00:00")) == {}


@pytest.mark.parametrize("as_of,expected", [
    (ts("2026-11-01 00:00:00"), 304 / 365),          # Jan–Oct
    (ts("2026-07-02 12:00:00"), 182.5 / 365),        # 181 days + 1.5
    (ts("2027-01-01 00:00:00"), 1.0),                # December report: the whole of 2026
    (ts("2024-03-01 00:00:00"), 60 / 366),           # leap year
    (ts("2026-01-01 00:00:01"), 1 / 86400 / 365),
])
def test_time_elapsed_is_days_before_as_of_over_days_in_year(as_of, expected):
    assert targets.time_elapsed(as_of) == pytest.approx(expected, rel=1e-12, abs=1e-15)


# --- rankings ---------------------------------------------------------------------------------


def frame(key, values: dict) -> pd.DataFrame:
    return pd.DataFrame({"unit_code": list(values), "unit_name": list(values),
                         key: [float("nan") if v is None else v for v in values.values()]})


def test_fewer_is_better_exactly_for_the_backlog_counts():
    fewer = {"open_overdue", "gap_should_build", "gap_work_uncovered", "projects_overdue",
             # 网格与小区: the gaps
             "gap_grids_no_party_org", "gap_grids_unstaffed", "gap_compounds_should_build",
             "gap_compounds_no_property",
             # 重点任务督办: overdue, days overdue and 临期
             "tasks_overdue", "max_overdue_days", "tasks_due_soon"}
    for key in fewer:
        assert METRICS[key].fewer_is_better, key
    for key, m in METRICS.items():
        if m.kind in ("rate", "score"):
            assert not m.fewer_is_better, key
        if m.kind == "count" and key not in fewer:
            assert not m.fewer_is_better, key


def test_rates_rank_descending_ties_by_code_nulls_last_and_on_neither_list():
    df = frame("close_rate", {"F": 0.2, "A": 0.9, "D": None, "C": 0.9, "B": 0.5, "E": 0.7})
    out = ranking.rank(df, "close_rate", n=2)
    assert list(out["unit_code"]) == ["A", "C", "E", "B", "F", "D"]
    assert list(out["rank"].iloc[:5]) == [1, 2, 3, 4, 5]
    assert pd.isna(out["rank"].iloc[5])
    assert list(out.loc[out["red"], "unit_code"]) == ["A", "C"]
    assert list(out.loc[out["black"], "unit_code"]) == ["B", "F"]  # last 2 with a value
    d = out[out["unit_code"] == "D"].iloc[0]
    assert not d["red"] and not d["black"]


def test_score_ranks_descending():
    out = ranking.rank(frame("score", {"X": 50.0, "Y": 95.0, "Z": None, "W": 70.0}), "score", n=1)
    assert list(out["unit_code"]) == ["Y", "W", "X", "Z"]
    assert list(out.loc[out["red"], "unit_code"]) == ["Y"]
    assert list(out.loc[out["black"], "unit_code"]) == ["X"]


@pytest.mark.parametrize("key", ["open_overdue", "gap_should_build", "gap_work_uncovered",
                                 "projects_overdue"])
def test_backlog_counts_rank_ascending(key):
    df = frame(key, {"U1": 3, "U2": 0, "U3": 5, "U4": 0, "U5": 1, "U6": 2, "U7": None})
    out = ranking.rank(df, key, n=2)
    assert list(out["unit_code"]) == ["U2", "U4", "U5", "U6", "U1", "U3", "U7"]
    assert list(out.loc[out["red"], "unit_code"]) == ["U2", "U4"]
    assert list(out.loc[out["black"], "unit_code"]) == ["U1", "U3"]


def test_list_length_comes_from_settings():
    n = Settings().ranking_n
    assert n == 3
    df = frame("close_rate", {f"U{i}": i / 10 for i in range(1, 9)})  # U8 best … U1 worst
    out = ranking.rank(df, "close_rate", n=n)
    assert list(out.loc[out["red"], "unit_code"]) == ["U8", "U7", "U6"]
    assert list(out.loc[out["black"], "unit_code"]) == ["U3", "U2", "U1"]
    out = ranking.rank(df, "close_rate", n=Settings(ranking_n=1).ranking_n)
    assert list(out.loc[out["red"], "unit_code"]) == ["U8"]
    assert list(out.loc[out["black"], "unit_code"]) == ["U1"]


def test_fewer_than_two_n_units_each_list_holds_half():
    # docs/contract/metrics.md does not say what happens with fewer than 2·N units; rank() gives each list
    # half of the ranked units (rounded down), so no unit is on both and no list names all.
    out = ranking.rank(frame("close_rate", {"A": 0.9, "B": 0.8, "C": 0.7, "D": 0.6}),
                       "close_rate", n=3)
    assert list(out.loc[out["red"], "unit_code"]) == ["A", "B"]
    assert list(out.loc[out["black"], "unit_code"]) == ["C", "D"]
    out = ranking.rank(frame("close_rate", {"A": 0.9, "B": 0.8, "C": 0.7}), "close_rate", n=3)
    assert list(out.loc[out["red"], "unit_code"]) == ["A"]
    assert list(out.loc[out["black"], "unit_code"]) == ["C"]
    out = ranking.rank(frame("close_rate", {"A": 0.9}), "close_rate", n=3)
    assert not out["red"].any() and not out["black"].any()


def test_ranking_a_real_report(city):
    df = issues_report(city, "community")
    out = ranking.rank(df, "open_overdue", n=1)
    # open_overdue: 东一 1, 东二 0, 西一 0 (no orders: 0 is a value), 南一 0
    assert list(out["unit_code"]) == [C2, C3, C4, C1]
    assert list(out.loc[out["red"], "unit_code"]) == [C2]
    assert list(out.loc[out["black"], "unit_code"]) == [C1]
    out = ranking.rank(df, "close_rate", n=1)  # 东二 1, 南一 1, 东一 2/3, 西一 null
    assert list(out["unit_code"]) == [C2, C4, C1, C3]
    assert list(out.loc[out["black"], "unit_code"]) == [C1]
    assert set(out.columns) >= {"rank", "red", "black", *DOMAIN_KEYS["issues"]}


# --- previous period and same period last year --------------------------------------------------


def months(sel: Selection) -> tuple[str, str]:
    return sel.period_from, sel.period_to


LATEST = month_index("2026-10")


@pytest.mark.parametrize("sel,previous,last_year", [
    (Selection.make("city", period="2026-10"), ("2026-09", "2026-09"), ("2025-10", "2025-10")),
    (Selection.make("city", period="2026-01"), ("2025-12", "2025-12"), ("2025-01", "2025-01")),
    (Selection.make("city", period_from="2026-08", period_to="2026-10"),
     ("2026-05", "2026-07"), ("2025-08", "2025-10")),
    (Selection.make("city", period_from="2026-01", period_to="2026-03"),
     ("2025-10", "2025-12"), ("2025-01", "2025-03")),
    (Selection.make("city"), ("2026-09", "2026-09"), ("2025-10", "2025-10")),  # latest month
])
def test_previous_period_and_same_period_last_year(sel, previous, last_year):
    assert months(sel.previous(LATEST)) == previous
    assert months(sel.last_year(LATEST)) == last_year


def test_comparison_periods_keep_level_unit_filters_and_drop_as_of():
    sel = Selection.make("street", period="2026-10", unit=D_A, as_of=ts("2026-10-15 00:00:00"),
                         filters={"source": "12345热线"}, scope=D_A)
    prev = sel.previous(LATEST)
    assert (prev.level, prev.unit, prev.filters, prev.scope) == (
        sel.level, sel.unit, sel.filters, sel.scope)
    assert prev.as_of is None  # judged at its own default


def test_previous_period_report_is_the_september_report(city):
    sel = Selection.make("street", period="2026-10")
    prev_rep = domains.report(city.con, "issues", sel.previous(LATEST), settings=Settings())
    prev = prev_rep.frame
    assert prev_rep.as_of == dt.datetime(2026, 10, 1)
    assert dict(zip(prev["unit_code"], prev["reported"])) == {S_EAST: 0, S_WEST: 1, S_SOUTH: 1}


def test_range_ending_before_it_starts_is_refused():
    with pytest.raises(SelectionError):
        Selection.make("city", period_from="2026-10", period_to="2026-09")


def test_units_all_without_value_are_on_neither_list():
    out = ranking.rank(frame("close_rate", {"B": None, "A": None}), "close_rate", n=3)
    assert list(out["unit_code"]) == ["A", "B"]
    assert out["rank"].isna().all() and not out["red"].any() and not out["black"].any()


def test_ranking_chart_keeps_both_ends_of_a_long_ranking():
    # 40 streets scored 1…40 (one without a value): a chart of 10 shows ranks 1–5 and 35–39.
    values = {f"9901010{i:02d}": float(i) for i in range(1, 40)} | {"990101040": None}
    ranked = ranking.rank(frame("score", values), "score", n=3)
    drawn = ranking.chart_rows(ranked, "score", limit=10)
    assert drawn["rank"].tolist() == [1, 2, 3, 4, 5, 35, 36, 37, 38, 39]
    assert drawn["red"].sum() == 3 and drawn["black"].sum() == 3  # both lists are in the chart
    assert drawn["score"].notna().all()


def test_ranking_chart_of_a_short_ranking_is_every_ranked_unit():
    values = {"990101001": 0.5, "990101002": None, "990101003": 0.7}
    ranked = ranking.rank(frame("close_rate", values), "close_rate", n=3)
    assert ranking.chart_rows(ranked, "close_rate", limit=10)["unit_code"].tolist() == [
        "990101003", "990101001"]
    # an odd limit gives the extra place to the end being chased
    values = {f"9901010{i:02d}": float(i) for i in range(1, 12)}
    drawn = ranking.chart_rows(ranking.rank(frame("score", values), "score"), "score", limit=5)
    assert drawn["rank"].tolist() == [1, 2, 9, 10, 11]


# --- movement: 上月, 环比, 排名变化, 目标, 差距 ------------------------------------------------------


def test_movement_gives_previous_value_change_rank_change_target_and_gap():
    now = frame("close_rate", {"A": 0.8125, "B": 0.9, "C": 0.5, "D": None})
    before = frame("close_rate", {"A": 0.95, "B": 0.6, "C": 0.7})  # ranks A1 C2 B3
    targets_ = {"A": {"target": 0.8, "target_met": True},
                "C": {"target": 0.7, "target_met": False}}
    out = ranking.movement(now, before, "close_rate", n=1, targets=targets_).set_index("unit_code")
    assert list(out.index) == ["B", "A", "C", "D"]
    assert out.loc["B", "prev_value"] == 0.6 and out.loc["B", "change"] == 30.0
    # 81.25% − 95% = −13.75 points: half away from zero once, from the raw values
    assert out.loc["A", "change"] == -13.8
    assert [out.loc[c, "rank_change"] for c in "BAC"] == [2, -1, -1]
    assert [ranking.rank_change_text(out.loc[c, "rank_change"]) for c in "BAC"] == [
        "↑2", "↓1", "↓1"]
    assert out.loc["A", "target"] == 0.8 and out.loc["A", "gap"] == 1.3  # 1.25 → 1.3
    assert out.loc["C", "gap"] == -20.0 and out.loc["C", "target_met"] is False
    assert pd.isna(out.loc["B", "target"]) and pd.isna(out.loc["B", "gap"])
    # no value now: no 环比 and no rank, so no rank change
    assert pd.isna(out.loc["D", "change"]) and pd.isna(out.loc["D", "rank_change"])
    assert ranking.rank_change_text(out.loc["D", "rank_change"]) == "—"


def test_movement_of_a_unit_new_this_period_or_without_a_previous_period():
    now = frame("close_rate", {"A": 0.5, "N": 0.7})
    out = ranking.movement(now, frame("close_rate", {"A": 0.5}), "close_rate", n=1)
    n_row = out[out["unit_code"] == "N"].iloc[0]
    assert pd.isna(n_row["prev_value"]) and pd.isna(n_row["change"]) and pd.isna(n_row["prev_rank"])
    a_row = out[out["unit_code"] == "A"].iloc[0]
    assert a_row["change"] == 0.0 and a_row["rank_change"] == -1
    assert ranking.rank_change_text(0) == "持平"
    none = ranking.movement(now, None, "close_rate", n=1)
    assert none["prev_value"].isna().all() and none["rank_change"].isna().all()
    assert none["change"].isna().all()
