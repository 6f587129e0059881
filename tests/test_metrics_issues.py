"""问题解决: every key of docs/contract/metrics.md counted by hand on the fixture city's orders.

The orders are listed (with what each one exercises) in tests/fixtures.py. Unless a test says
otherwise the period is 2026-10 and as_of its default, 2026-11-01 00:00:00 (the extract runs to
2026-11-15 10:00:00, so the cap does not bite). Tests that the aggregate path and the raw path
must both satisfy are run on both (``path`` = "agg" / "raw").
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from metrics.cli import report_payload
from metrics.db import connect
from metrics.definitions import DOMAIN_KEYS
from metrics.domains import issues
from metrics.domains import registry as domains
from metrics.selection import ScopeError, Selection, SelectionError
from metrics.settings import Settings
from tests import fixtures as F
from tests.fixtures import (
    C1,
    C2,
    C3,
    C4,
    D_A,
    D_B,
    G11,
    G12,
    G21,
    G41,
    S_EAST,
    S_SOUTH,
    S_WEST,
    assert_row,
    ts,
)

KEYS = DOMAIN_KEYS["issues"]
H = 3600.0  # seconds per hour
OCT_AS_OF = ts("2026-11-01 00:00:00")

NULL_ROW = {k: 0 for k in KEYS} | {k: None for k in (
    "close_rate", "on_time_rate", "response_rate", "resolve_rate", "satisfaction_rate",
    "avg_close_hours", "score")}


def score(r: float, s: float, q: float, w=(0.10, 0.45, 0.45)) -> float:
    return 100 * (w[0] * r + w[1] * s + w[2] * q)


# October, judged at 2026-11-01 00:00:00 — counted order by order (see fixtures.ISSUE_ROWS):
EXPECTED_OCT = {
    # 东一: O01 O02 O03 O04
    C1: dict(reported=4, due=3, closed=2, closed_on_time=1, close_rate=2 / 3, on_time_rate=1 / 3,
             open_overdue=1, response_due=4, responded_in_time=2, response_rate=2 / 4,
             rated_resolved=2, resolved=1, resolve_rate=1 / 2, rated_satisfaction=2,
             satisfied=1, satisfaction_rate=1 / 2, avg_close_hours=(96 + 48 + 1 / H) / 2,
             score=score(1 / 2, 1 / 2, 1 / 2)),
    # 东二: O05 O06
    C2: dict(reported=2, due=1, closed=1, closed_on_time=1, close_rate=1.0, on_time_rate=1.0,
             open_overdue=0, response_due=1, responded_in_time=1, response_rate=1.0,
             rated_resolved=1, resolved=1, resolve_rate=1.0, rated_satisfaction=1, satisfied=1,
             satisfaction_rate=1.0, avg_close_hours=72.0, score=100.0),
    # 西一: no October orders
    C3: NULL_ROW,
    # 南一: O07 (resolved not given → resolve_rate null → score null)
    C4: dict(reported=1, due=1, closed=1, closed_on_time=0, close_rate=1.0, on_time_rate=0.0,
             open_overdue=0, response_due=1, responded_in_time=1, response_rate=1.0,
             rated_resolved=0, resolved=0, resolve_rate=None, rated_satisfaction=1, satisfied=0,
             satisfaction_rate=0.0, avg_close_hours=48.0, score=None),
}
EAST = dict(reported=6, due=4, closed=3, closed_on_time=2, close_rate=3 / 4, on_time_rate=2 / 4,
            open_overdue=1, response_due=5, responded_in_time=3, response_rate=3 / 5,
            rated_resolved=3, resolved=2, resolve_rate=2 / 3, rated_satisfaction=3, satisfied=2,
            satisfaction_rate=2 / 3, avg_close_hours=(96 + 48 + 1 / H + 72) / 3,
            score=score(3 / 5, 2 / 3, 2 / 3))
CITY_OCT = dict(reported=7, due=5, closed=4, closed_on_time=2, close_rate=4 / 5,
                on_time_rate=2 / 5, open_overdue=1, response_due=6, responded_in_time=4,
                response_rate=4 / 6, rated_resolved=3, resolved=2, resolve_rate=2 / 3,
                rated_satisfaction=4, satisfied=2, satisfaction_rate=2 / 4,
                avg_close_hours=(96 + 48 + 1 / H + 72 + 48) / 4, score=score(4 / 6, 2 / 3, 2 / 4))
EXPECTED_OCT |= {S_EAST: EAST, S_WEST: NULL_ROW, S_SOUTH: EXPECTED_OCT[C4],
                 D_A: EAST, D_B: EXPECTED_OCT[C4], None: CITY_OCT}


def report(con, sel, path="agg", settings=None):
    settings = settings or Settings()
    if path == "raw":
        return issues.report(con, sel, settings=settings, force_raw=True)
    return domains.report(con, "issues", sel, settings=settings)


def run(con, sel, path="agg", settings=None):
    return report(con, sel, path, settings).frame


PATHS = ["agg", "raw"]


def only(con, path, **filters):
    """The city row for October narrowed by ``filters`` (isolates single orders)."""
    df = run(con, Selection.make("city", period="2026-10", filters=filters), path)
    return F.row(df, None)


# --- every key, every level ------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("level,codes", [
    ("community", [C1, C2, C3, C4]),
    ("street", [S_EAST, S_WEST, S_SOUTH]),
    ("district", [D_A, D_B]),
    ("city", [None]),
])
def test_every_key_at_every_level_in_october(city, level, codes, path):
    rep = report(city.con, Selection.make(level, period="2026-10"), path)
    df = rep.frame
    assert list(df.columns) == ["unit_code", "unit_name", *KEYS]
    assert [None if pd.isna(c) else c for c in df["unit_code"]] == codes
    for code in codes:
        assert set(EXPECTED_OCT[code]) == set(KEYS)
        assert_row(F.row(df, code), EXPECTED_OCT[code], f"{level} {code}")
    assert rep.as_of == OCT_AS_OF


def test_city_row_has_no_code_and_is_named_quanshi(city):
    df = run(city.con, Selection.make("city", period="2026-10"))
    assert len(df) == 1
    assert df["unit_code"].iloc[0] is None or pd.isna(df["unit_code"].iloc[0])
    assert df["unit_name"].iloc[0] == "全市"


def test_street_with_no_orders_appears_with_zeros_and_nulls(city):
    df = run(city.con, Selection.make("street", period="2026-10"))
    west = F.row(df, S_WEST)
    assert west["unit_name"] == "西街道"
    assert_row(west, NULL_ROW, "西街道")
    for k in ("close_rate", "response_rate", "score", "avg_close_hours"):
        assert pd.isna(west[k])  # null, never 0


def test_zero_denominators_are_null_in_json(city, settings):
    sel = Selection.make("street", period="2026-10")
    rep = report(city.con, sel)
    payload = json.loads(json.dumps(report_payload("issues", sel, rep, settings, None)))
    west = next(r for r in payload["rows"] if r["unit_code"] == S_WEST)
    assert west["reported"] == 0 and west["due"] == 0
    for k in ("close_rate", "on_time_rate", "response_rate", "resolve_rate",
              "satisfaction_rate", "avg_close_hours", "score"):
        assert west[k] is None
    south = next(r for r in payload["rows"] if r["unit_code"] == S_SOUTH)
    assert south["resolve_rate"] is None and south["score"] is None
    assert south["on_time_rate"] == 0.0  # a zero rate stays 0
    city_payload = report_payload("issues", sel.with_(level="city"),
                                  report(city.con, sel.with_(level="city")), settings, None)
    assert city_payload["rows"][0]["unit_code"] is None
    assert city_payload["rows"][0]["unit_name"] == "全市"


# --- single orders at the edges ------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_closed_exactly_at_due_at_is_on_time_and_response_exactly_24h_is_in_time(city, path):
    r = only(city.con, path, source="网格员上报", category="物业管理")  # O01 alone
    assert_row(r, dict(reported=1, due=1, closed=1, closed_on_time=1, on_time_rate=1.0,
                       response_due=1, responded_in_time=1, response_rate=1.0,
                       avg_close_hours=96.0))


@pytest.mark.parametrize("path", PATHS)
def test_closed_one_second_after_due_is_late_and_response_one_second_late_is_late(city, path):
    r = only(city.con, path, source="12345热线", category="物业管理")  # O02 alone
    assert_row(r, dict(reported=1, due=1, closed=1, closed_on_time=0, close_rate=1.0,
                       on_time_rate=0.0, open_overdue=0, response_due=1, responded_in_time=0,
                       response_rate=0.0, rated_resolved=1, resolved=0, resolve_rate=0.0,
                       rated_satisfaction=1, satisfied=0, satisfaction_rate=0.0,
                       avg_close_hours=48 + 1 / H, score=0.0))


@pytest.mark.parametrize("path", PATHS)
def test_due_at_exactly_at_as_of_is_not_yet_due(city, path):
    r = only(city.con, path, source="12345热线", category="停车管理")  # O03 alone
    assert_row(r, dict(reported=1, due=0, closed=0, close_rate=None, on_time_rate=None,
                       open_overdue=0, response_due=1, responded_in_time=1))


@pytest.mark.parametrize("path", PATHS)
def test_closed_at_exactly_at_as_of_is_not_closed(city, path):
    # O04: closed 2026-11-01 00:00:00 = as_of, so still open and overdue; its 回访 (是/满意)
    # does not count yet; never responded and the 24 h deadline passed → response_due only.
    r = only(city.con, path, source="群众来访")
    assert_row(r, dict(reported=1, due=1, closed=0, closed_on_time=0, close_rate=0.0,
                       open_overdue=1, response_due=1, responded_in_time=0, response_rate=0.0,
                       rated_resolved=0, resolved=0, rated_satisfaction=0, satisfied=0,
                       avg_close_hours=None, score=None))


@pytest.mark.parametrize("path", PATHS)
def test_order_never_responded_with_deadline_passed_counts_in_response_due_only(city, path):
    r = only(city.con, path, source="群众来访")  # O04
    assert (r["response_due"], r["responded_in_time"]) == (1, 0)


@pytest.mark.parametrize("path", PATHS)
def test_unresponded_order_before_its_response_deadline_is_not_response_due(city, path):
    # O05: reported 10-31 23:00, deadline 11-01 23:00 > as_of
    r = only(city.con, path, source="网格员上报", category="矛盾纠纷")
    assert_row(r, dict(reported=1, due=0, response_due=0, responded_in_time=0,
                       response_rate=None, score=None))


@pytest.mark.parametrize("path", PATHS)
def test_basically_satisfied_counts_as_satisfied(city, path):
    r = only(city.con, path, source="部门交办")  # O06: 基本满意
    assert_row(r, dict(rated_satisfaction=1, satisfied=1, satisfaction_rate=1.0,
                       rated_resolved=1, resolved=1, score=100.0))


@pytest.mark.parametrize("path", PATHS)
def test_resolved_not_given_leaves_resolve_rate_and_score_null(city, path):
    r = only(city.con, path, source="12345热线", category="矛盾纠纷")  # O07
    assert_row(r, dict(closed=1, rated_resolved=0, resolved=0, resolve_rate=None,
                       rated_satisfaction=1, satisfied=0, satisfaction_rate=0.0,
                       response_rate=1.0, score=None))


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_source_filter_narrows_every_count(city, path):
    r = only(city.con, path, source="12345热线")  # O02 O03 O07
    assert_row(r, dict(reported=3, due=2, closed=2, closed_on_time=0, close_rate=1.0,
                       on_time_rate=0.0, open_overdue=0, response_due=3, responded_in_time=2,
                       response_rate=2 / 3, rated_resolved=1, resolved=0, resolve_rate=0.0,
                       rated_satisfaction=2, satisfied=0, satisfaction_rate=0.0,
                       avg_close_hours=(48 + 1 / H + 48) / 2, score=score(2 / 3, 0, 0)))


@pytest.mark.parametrize("path", PATHS)
def test_category_filter_narrows_every_count_by_street(city, path):
    df = run(city.con, Selection.make("street", period="2026-10",
                                      filters={"category": "物业管理"}), path)  # O01 O02 O06
    assert_row(F.row(df, S_EAST), dict(
        reported=3, due=3, closed=3, closed_on_time=2, close_rate=1.0, on_time_rate=2 / 3,
        open_overdue=0, response_due=3, responded_in_time=2, response_rate=2 / 3,
        rated_resolved=3, resolved=2, resolve_rate=2 / 3, rated_satisfaction=3, satisfied=2,
        satisfaction_rate=2 / 3, avg_close_hours=(96 + 48 + 1 / H + 72) / 3,
        score=score(2 / 3, 2 / 3, 2 / 3)))
    assert_row(F.row(df, S_WEST), NULL_ROW)
    assert_row(F.row(df, S_SOUTH), NULL_ROW)  # S01 is September, O07 is 矛盾纠纷


@pytest.mark.parametrize("path", PATHS)
def test_filter_with_several_values_keeps_any_of_them(city, path):
    r = only(city.con, path, source=["12345热线", "群众来访"])  # O02 O03 O04 O07
    assert_row(r, dict(reported=4, due=3, closed=2, open_overdue=1, response_due=4))


def test_filter_of_another_domain_is_refused(city):
    with pytest.raises(SelectionError):
        run(city.con, Selection.make("city", period="2026-10", filters={"sector": "其他"}))


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_score_uses_custom_weights_from_settings(city, path):
    s = Settings(w_response=0.5, w_resolve=0.25, w_satisfaction=0.25)
    con = connect(city.store, s)
    try:
        df = run(con, Selection.make("street", period="2026-10"), path, settings=s)
    finally:
        con.close()
    # 东街道: response 3/5, resolve 2/3, satisfaction 2/3
    assert F.row(df, S_EAST)["score"] == pytest.approx(100 * (0.5 * 0.6 + 0.25 * 2 / 3 + 0.25 * 2 / 3))
    assert pd.isna(F.row(df, S_SOUTH)["score"])
    assert pd.isna(F.row(df, S_WEST)["score"])


@pytest.mark.parametrize("path", PATHS)
def test_response_hours_setting_moves_the_in_time_line(city, path):
    s = Settings(response_hours=48)
    con = connect(city.store, s)  # aggregates were built for 24 h: rebuilt from raw rows
    try:
        r = F.row(run(con, Selection.make("city", period="2026-10"), path, settings=s), None)
    finally:
        con.close()
    # O02 (24 h + 1 s) is now in time; O05's 48 h deadline (11-02 23:00) has not passed.
    assert_row(r, dict(response_due=6, responded_in_time=5, response_rate=5 / 6,
                       score=score(5 / 6, 2 / 3, 2 / 4)))


# --- as_of ----------------------------------------------------------------------------------


def test_default_as_of_is_first_instant_after_the_period(city):
    rep = report(city.con, Selection.make("city", period="2026-10"))
    assert rep.as_of == OCT_AS_OF
    assert (rep.first, rep.last) == (2026 * 12 + 9, 2026 * 12 + 9)


# The running month (2026-11), judged at the cap 2026-11-15 10:00:01 (newest timestamp + 1 s):
# N01 closed on time; N02 nothing due; N03 due and response deadline exactly at the cap (not
# yet); N04 due and deadline 1 s before the cap (overdue, response due).
CITY_NOV_AT_CAP = dict(reported=4, due=2, closed=1, closed_on_time=1, close_rate=0.5,
                       on_time_rate=0.5, open_overdue=1, response_due=2, responded_in_time=1,
                       response_rate=0.5, rated_resolved=1, resolved=1, resolve_rate=1.0,
                       rated_satisfaction=1, satisfied=1, satisfaction_rate=1.0,
                       avg_close_hours=48.0, score=score(0.5, 1.0, 1.0))


@pytest.mark.parametrize("path", PATHS)
def test_running_month_is_judged_at_newest_timestamp_plus_one_second(city, path):
    rep = report(city.con, Selection.make("city", period="2026-11"), path)
    df = rep.frame
    assert rep.as_of == F.ISSUES_CAP
    assert_row(F.row(df, None), CITY_NOV_AT_CAP)


def test_no_period_means_latest_month_with_orders_at_the_cap(city):
    rep = report(city.con, Selection.make("city"))
    df = rep.frame
    assert rep.as_of == F.ISSUES_CAP
    assert rep.last == 2026 * 12 + 10
    assert_row(F.row(df, None), CITY_NOV_AT_CAP)


def test_explicit_as_of_at_the_cap_equals_the_default(city):
    df = run(city.con, Selection.make("community", period="2026-11", as_of=F.ISSUES_CAP))
    base = run(city.con, Selection.make("community", period="2026-11"))
    pd.testing.assert_frame_equal(df, base)


@pytest.mark.parametrize("path", PATHS)
def test_one_second_before_the_cap_the_newest_order_is_not_yet_reported(city, path):
    df = run(city.con, Selection.make("city", period="2026-11",
                                      as_of=ts("2026-11-15 10:00:00")), path)
    # N02 reported exactly at as_of → not yet; N04 due exactly at as_of → not yet due.
    assert_row(F.row(df, None), dict(reported=3, due=1, closed=1, closed_on_time=1,
                                     open_overdue=0, response_due=1, responded_in_time=1))


@pytest.mark.parametrize("path", PATHS)
def test_explicit_as_of_mid_month_closed_exactly_at_as_of_is_not_closed(city, path):
    sel = Selection.make("city", period="2026-10", as_of=ts("2026-10-04 08:00:01"))
    assert issues.path_for(city.con, sel, issues.resolve(city.con, sel)) == "raw"
    rep = report(city.con, sel, path)
    df = rep.frame
    assert rep.as_of == ts("2026-10-04 08:00:01")
    # O01 (responded, not closed, not due) and O02 (closed_at = as_of: open, overdue by 1 s)
    assert_row(F.row(df, None), dict(
        reported=2, due=1, closed=0, closed_on_time=0, close_rate=0.0, on_time_rate=0.0,
        open_overdue=1, response_due=2, responded_in_time=1, response_rate=0.5,
        rated_resolved=0, resolved=0, resolve_rate=None, rated_satisfaction=0, satisfied=0,
        satisfaction_rate=None, avg_close_hours=None, score=None))


def test_order_reported_exactly_at_as_of_has_not_happened(city):
    df = run(city.con, Selection.make("community", period="2026-10",
                                      as_of=ts("2026-10-10 10:00:00")))
    # O03 is reported at 10:00:00 exactly → only O01 and O02 count for 东一
    assert_row(F.row(df, C1), dict(reported=2, due=2, closed=2, closed_on_time=1,
                                   response_due=2, responded_in_time=1,
                                   avg_close_hours=(96 + 48 + 1 / H) / 2))
    assert F.row(df, C4)["reported"] == 1  # O07 (10-05)


@pytest.mark.parametrize("path", PATHS)
def test_explicit_as_of_on_a_month_boundary_inside_a_range(city, path):
    # 2026-09..2026-10 judged at 2026-10-01: only September orders are reported yet.
    sel = Selection.make("city", period_from="2026-09", period_to="2026-10",
                         as_of=ts("2026-10-01 00:00:00"))
    r = F.row(run(city.con, sel, path), None)
    # S01 (09-30 23:59:59): responded/closed on 10-01, due 10-02, deadline 10-01 23:59:59 → none
    # yet; S02 done in September.
    assert_row(r, dict(reported=2, due=1, closed=1, closed_on_time=1, open_overdue=0,
                       response_due=1, responded_in_time=1, rated_resolved=1, resolved=1,
                       avg_close_hours=24.0, score=100.0))


# --- ranges ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_range_of_months_adds_flows_up(city, path):
    sel = Selection.make("city", period_from="2026-09", period_to="2026-10")
    rep = report(city.con, sel, path)
    df = rep.frame
    assert rep.as_of == OCT_AS_OF
    assert_row(F.row(df, None), dict(
        reported=9, due=7, closed=6, closed_on_time=4, close_rate=6 / 7, on_time_rate=4 / 7,
        open_overdue=1, response_due=8, responded_in_time=6, response_rate=6 / 8,
        rated_resolved=5, resolved=4, resolve_rate=4 / 5, rated_satisfaction=6, satisfied=4,
        satisfaction_rate=4 / 6, avg_close_hours=(12 + 24 + 96 + 48 + 1 / H + 72 + 48) / 6,
        score=score(6 / 8, 4 / 5, 4 / 6)))
    sep = F.row(run(city.con, Selection.make("city", period="2026-09"), path), None)
    assert sep["reported"] + CITY_OCT["reported"] == 9


def test_september_alone_is_judged_at_october_first(city):
    rep = report(city.con, Selection.make("street", period="2026-09"))
    df = rep.frame
    assert rep.as_of == ts("2026-10-01 00:00:00")
    # S01 (南街道) was reported in the last second of September: nothing else happened yet.
    assert_row(F.row(df, S_SOUTH), dict(reported=1, due=0, closed=0, response_due=0,
                                        close_rate=None, response_rate=None, score=None))
    assert_row(F.row(df, S_WEST), dict(reported=1, due=1, closed=1, closed_on_time=1,
                                       response_due=1, responded_in_time=1, score=100.0))


# --- grid level, unit and scope ---------------------------------------------------------------


def test_grid_level_leaves_orders_without_grid_out(city):
    df = run(city.con, Selection.make("grid", period="2026-10"))
    assert list(df["unit_code"]) == [G11, G12, G21, G41]
    assert dict(zip(df["unit_code"], df["reported"])) == {G11: 2, G12: 1, G21: 1, G41: 1}
    assert df["reported"].sum() == 5  # O04 and O06 have no grid: in no grid row
    assert_row(F.row(df, G11), dict(
        reported=2, due=2, closed=2, closed_on_time=1, close_rate=1.0, on_time_rate=0.5,
        open_overdue=0, response_due=2, responded_in_time=1, response_rate=0.5,
        rated_resolved=2, resolved=1, resolve_rate=0.5, rated_satisfaction=2, satisfied=1,
        satisfaction_rate=0.5, avg_close_hours=(96 + 48 + 1 / H) / 2, score=50.0))


def test_grid_level_under_a_community_and_a_single_grid(city):
    df = run(city.con, Selection.make("grid", period="2026-10", unit=C1))
    assert list(df["unit_code"]) == [G11, G12]
    one = run(city.con, Selection.make("grid", period="2026-10", unit=G12))
    assert list(one["unit_code"]) == [G12]
    assert_row(F.row(one, G12), dict(reported=1, due=0, response_due=1, responded_in_time=1))


def test_unit_prefix_limits_rows(city):
    df = run(city.con, Selection.make("community", period="2026-10", unit=S_EAST))
    assert list(df["unit_code"]) == [C1, C2]
    assert_row(F.row(df, C1), EXPECTED_OCT[C1])
    df = run(city.con, Selection.make("street", period="2026-10", unit=D_A))
    assert list(df["unit_code"]) == [S_EAST, S_WEST]
    city_row = F.row(run(city.con, Selection.make("city", period="2026-10", unit=D_B)), None)
    assert_row(city_row, EXPECTED_OCT[D_B])  # the city row counts only what is under the unit


def test_unit_outside_the_viewers_scope_raises_scope_error(city):
    sel = Selection.make("street", period="2026-10", unit=D_B, scope=D_A)
    with pytest.raises(ScopeError):
        sel.prefix()
    with pytest.raises(ScopeError):
        run(city.con, sel)


def test_scope_alone_limits_rows_and_counts(city):
    df = run(city.con, Selection.make("street", period="2026-10", scope=D_B))
    assert list(df["unit_code"]) == [S_SOUTH]
    df = run(city.con, Selection.make("city", period="2026-10", scope=D_A))
    assert_row(F.row(df, None), EAST)
    # a unit inside the scope narrows further
    df = run(city.con, Selection.make("community", period="2026-10", unit=C2, scope=D_A))
    assert list(df["unit_code"]) == [C2]


# --- follow-up list, SQL and definitions -------------------------------------------------------


def test_overdue_orders_lists_exactly_the_open_overdue_ones(city):
    df = issues.overdue_orders(city.con, Selection.make("city", period="2026-10"))
    assert list(df["issue_id"]) == ["O04"]
    assert df["overdue_days"].iloc[0] == 7  # 10-25 10:00 → 11-01 00:00: 6.6 days, a 7th begun
    assert str(df["overdue_days"].dtype).lower().startswith("int")
    row = df.iloc[0]
    assert (row["district_code"], row["district_name"]) == ("310101", "甲区")
    assert (row["street_code"], row["street_name"]) == ("310101001", "东街道")
    nov = issues.overdue_orders(city.con, Selection.make("city", period="2026-11"))
    assert list(nov["issue_id"]) == ["N04"]


def test_explain_shows_select_and_parameters_and_every_definition(city, settings):
    sel = Selection.make("street", period="2026-10", filters={"source": "12345热线"})
    out = domains.explain(city.con, "issues", sel, settings=settings)
    sql = out["sql"]
    assert "SELECT" in sql
    assert "-- 参数" in sql
    # A source filter reads the aggregate that is split by source.
    for p in ("$prefix", "$m_first", "$m_last", "$b", "$f_source", "$w_response", "$level"):
        assert p in sql
    assert "FROM agg_issues_street_source" in sql
    assert "'12345热线'" in sql and "'street'" in sql
    unfiltered = domains.explain(city.con, "issues", Selection.make("street", period="2026-10"),
                                 settings=settings)["sql"]
    assert "FROM agg_issues_street\n" in unfiltered and "agg_issues_street_source" not in unfiltered
    # a category filter reads the aggregate split by category
    by_category = domains.explain(city.con, "issues", Selection.make(
        "street", period="2026-10", filters={"category": "物业管理"}), settings=settings)["sql"]
    assert "FROM agg_issues_street_category" in by_category and "$f_category" in by_category
    # community and grid rows read theirs; source and category together read the orders
    for level, table in (("community", "agg_issues_community"), ("grid", "agg_issues_grid")):
        sql = domains.explain(city.con, "issues", Selection.make(level, period="2026-10",
                                                                 unit=S_EAST),
                              settings=settings)["sql"]
        assert f"FROM {table}" in sql, level
    both = domains.explain(city.con, "issues", Selection.make(
        "street", period="2026-10", filters={"category": "物业管理", "source": "12345热线"}),
        settings=settings)["sql"]
    for p in ("$start", "$end", "$as_of", "$f_category", "$f_source"):
        assert p in both
    assert "FROM issues" in both
    for p in ("$m_first", "$m_last", "$b"):
        assert p in unfiltered
    assert list(out["definitions"]) == KEYS
    for k in KEYS:
        assert out["definitions"][k]["label"] and out["definitions"][k]["definition"]
    raw = domains.explain(city.con, "issues", Selection.make(
        "grid", period="2026-10", filters={"category": "物业管理"}), settings=settings)["sql"]
    assert "$as_of" in raw and "2026, 11, 1" in raw


def test_a_city_with_no_orders_shows_every_street_with_zeros(tmp_path, settings):
    store = F.build_store(tmp_path, {"units": F.units()})
    con = connect(store, settings)
    try:
        df = run(con, Selection.make("street", period="2026-10"))
        assert list(df["unit_code"]) == [S_EAST, S_WEST, S_SOUTH]
        for code in (S_EAST, S_WEST, S_SOUTH):
            assert_row(F.row(df, code), NULL_ROW)
        with pytest.raises(SelectionError):
            run(con, Selection.make("street"))  # no period and no data: nothing to default to
    finally:
        con.close()


def test_hours_are_fractional_not_rounded(city):
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C1)
    # (96 h + 48 h 1 s) / 2: the odd second survives as 1/7200 h
    assert r["avg_close_hours"] - 72.0 == pytest.approx(1 / 7200, rel=1e-6)
