"""结对联建: every key of docs/contract/metrics.md counted by hand on the fixture city's pairings, projects
and check-ins (tests/fixtures.py). Default period 2026-10: as_of 2026-11-01 00:00, so a date
has happened when it is before 2026-11-01.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from metrics.definitions import DOMAIN_KEYS
from metrics.domains import pairing
from metrics.domains import registry as domains
from metrics.selection import Selection
from tests import fixtures as F
from tests.fixtures import C1, C2, C3, C4, D_A, D_B, S_EAST, S_SOUTH, S_WEST, assert_row, ts

KEYS = DOMAIN_KEYS["pairing"]


def pair(communities, active, paired, projects, due, done, on_time, overdue, units, members,
         activities, hours) -> dict:
    return dict(
        communities=communities, pairings_active=active, communities_paired=paired,
        pairing_coverage_rate=None if communities == 0 else paired / communities,
        projects=projects, projects_due=due, projects_done=done, projects_done_on_time=on_time,
        project_completion_rate=None if projects == 0 else done / projects,
        project_on_time_rate=None if due == 0 else on_time / due,
        projects_overdue=overdue, units_reported=units, members_reported=members,
        activities=activities, service_hours=hours,
    )


# October (as_of date 2026-11-01):
#   东一: P1 P6 active, P2 starts 11-01 (not yet); projects J1 J2 J3 J7 (J7 completed 11-01:
#         not done, overdue); check-ins 5 units / 30 members / 4 activities / hours not given
#   东二: P3 ended 10-31 (not active), P4 ends 11-01 (active); J4 (overdue) J5 (due 11-01: not
#         yet); no October check-in row
#   西一: nothing
#   南一: P5 started 10-31 (active); J6 已终止 (nowhere); 2 / 6 / 5 activities / 7.5 h
OCT = {
    C1: pair(1, 2, 1, 4, 4, 3, 2, 1, 5, 30, 4, 0.0),
    C2: pair(1, 1, 1, 2, 1, 0, 0, 1, 0, 0, 0, 0.0),
    C3: pair(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0),
    C4: pair(1, 1, 1, 0, 0, 0, 0, 0, 2, 6, 5, 7.5),
}
OCT |= {
    S_EAST: pair(2, 3, 2, 6, 5, 3, 2, 2, 5, 30, 4, 0.0),
    S_WEST: OCT[C3],
    S_SOUTH: OCT[C4],
    D_A: pair(3, 3, 2, 6, 5, 3, 2, 2, 5, 30, 4, 0.0),
    D_B: OCT[C4],
    None: pair(4, 4, 3, 6, 5, 3, 2, 2, 7, 36, 9, 7.5),
}


def report(con, sel):
    return domains.report(con, "pairing", sel, settings=None)


def run(con, sel):
    return report(con, sel).frame


def test_hand_tables_spell_out_the_rates():
    assert OCT[None]["pairing_coverage_rate"] == 3 / 4
    assert OCT[None]["project_completion_rate"] == 3 / 6
    assert OCT[None]["project_on_time_rate"] == 2 / 5
    assert OCT[C4]["project_completion_rate"] is None  # only a terminated project


@pytest.mark.parametrize("level,codes", [
    ("community", [C1, C2, C3, C4]),
    ("street", [S_EAST, S_WEST, S_SOUTH]),
    ("district", [D_A, D_B]),
    ("city", [None]),
])
def test_every_key_at_every_level_for_october(city, level, codes):
    rep = report(city.con, Selection.make(level, period="2026-10"))
    df = rep.frame
    assert list(df.columns) == ["unit_code", "unit_name", *KEYS]
    assert [None if pd.isna(c) else c for c in df["unit_code"]] == codes
    for code in codes:
        assert set(OCT[code]) == set(KEYS)
        assert_row(F.row(df, code), OCT[code], f"{level} {code}")
    assert rep.as_of == ts("2026-11-01 00:00:00")


def test_default_period_is_the_latest_checkin_month(city):
    rep = report(city.con, Selection.make("city"))
    df = rep.frame
    assert rep.last == 2026 * 12 + 9
    assert_row(F.row(df, None), OCT[None])


def test_community_without_pairings_counts_in_communities(city):
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C3)
    assert (r["communities"], r["communities_paired"], r["pairing_coverage_rate"]) == (1, 0, 0.0)
    assert pd.isna(r["project_completion_rate"]) and pd.isna(r["project_on_time_rate"])


# --- dates against as_of ----------------------------------------------------------------------


def test_pairing_starting_on_the_as_of_date_is_not_active(city):
    # P2 (东一, 企业) starts 2026-11-01 = the as_of date
    sel = Selection.make("community", period="2026-10", filters={"partner_level": "企业"})
    r = F.row(run(city.con, sel), C1)
    assert (r["pairings_active"], r["communities_paired"]) == (0, 0)


def test_pairing_ended_the_day_before_as_of_is_not_active(city):
    sel = Selection.make("city", period="2026-10", filters={"partner_level": "市直"})  # P3
    assert F.row(run(city.con, sel), None)["pairings_active"] == 0


def test_pairing_ending_on_the_as_of_date_is_still_active(city):
    sel = Selection.make("city", period="2026-10", filters={"partner_level": "驻区单位"})  # P4
    assert F.row(run(city.con, sel), None)["pairings_active"] == 1


def test_explicit_mid_month_as_of_uses_its_date(city):
    # as_of 2026-10-31 12:00 → date 10-31: P5 (starts 10-31) not yet, P3 (ends 10-31) still
    # active; J1 completed 10-31 is not done yet (and not due yet).
    df = run(city.con, Selection.make("city", period="2026-10", as_of=ts("2026-10-31 12:00:00")))
    r = F.row(df, None)
    assert_row(r, dict(pairings_active=4, communities_paired=2, pairing_coverage_rate=0.5,
                       projects=6, projects_due=4, projects_done=2, projects_done_on_time=1,
                       projects_overdue=2, project_on_time_rate=1 / 4))


def test_september_is_judged_at_october_first(city):
    rep = report(city.con, Selection.make("city", period="2026-09"))
    df = rep.frame
    assert rep.as_of == ts("2026-10-01 00:00:00")
    # active: P1 P3 P4 P6; only J4 (due 09-30) has come due; check-ins of September
    assert_row(F.row(df, None), pair(4, 4, 2, 6, 1, 0, 0, 1, 6, 33, 3, 12.5))


def test_project_completed_exactly_on_due_date_is_on_time(city):
    sel = Selection.make("city", period="2026-10", filters={"kind": "民生实事"})  # J1 (J6 已终止)
    r = F.row(run(city.con, sel), None)
    assert_row(r, dict(projects=1, projects_due=1, projects_done=1, projects_done_on_time=1,
                       project_on_time_rate=1.0))


def test_done_but_not_yet_due_counts_in_projects_due(city):
    sel = Selection.make("city", period="2026-10", filters={"kind": "志愿服务"})  # J3 J7
    r = F.row(run(city.con, sel), None)
    # J3: done 10-10, due 12-31 → due (done), on time; J7: completed 11-01 = as_of date → not
    # done, due 10-01 passed → overdue
    assert_row(r, dict(projects=2, projects_due=2, projects_done=1, projects_done_on_time=1,
                       projects_overdue=1, project_completion_rate=0.5, project_on_time_rate=0.5))


def test_project_due_on_the_as_of_date_is_not_yet_due(city):
    sel = Selection.make("city", period="2026-10", filters={"kind": "其他"})  # J5
    assert_row(F.row(run(city.con, sel), None),
               dict(projects=1, projects_due=0, projects_overdue=0, project_on_time_rate=None))


def test_terminated_projects_are_excluded_everywhere(city):
    sel = Selection.make("community", period="2026-10", unit=S_SOUTH)  # J6 已终止 (P5)
    r = F.row(run(city.con, sel), C4)
    assert (r["projects"], r["projects_due"], r["projects_overdue"]) == (0, 0, 0)
    assert pairing.overdue_projects(city.con, sel).empty  # J6 was due 08-01
    assert "J6" not in set(pairing.overdue_projects(city.con, Selection.make(
        "city", period="2026-10"))["project_id"])


def test_projects_of_inactive_pairings_still_count(city):
    sel = Selection.make("city", period="2026-10", filters={"partner_level": "市直"})  # P3, J4
    assert_row(F.row(run(city.con, sel), None),
               dict(pairings_active=0, projects=1, projects_due=1, projects_overdue=1))


# --- check-ins --------------------------------------------------------------------------------


def test_range_sums_activities_and_takes_units_from_its_last_month(city):
    df = run(city.con, Selection.make("city", period_from="2026-08", period_to="2026-10"))
    r = F.row(df, None)
    # units/members: the October rows (东一 5/30, 南一 2/6); activities and hours: every
    # row of August–October (10 + 12.5 + 2 + 0 + 7.5 hours; 东一's October hours not given)
    assert_row(r, dict(units_reported=7, members_reported=36, activities=2 + 1 + 3 + 0 + 4 + 5,
                       service_hours=32.0))
    east = F.row(run(city.con, Selection.make("street", period_from="2026-08",
                                              period_to="2026-10")), S_EAST)
    assert_row(east, dict(units_reported=5, members_reported=30, activities=2 + 3 + 4 + 1 + 0,
                          service_hours=24.5))


def test_month_without_checkins_uses_the_latest_earlier_month_for_units(city):
    df = run(city.con, Selection.make("city", period="2026-11"))
    assert_row(F.row(df, None), dict(units_reported=7, members_reported=36, activities=0,
                                     service_hours=0.0))


def test_partner_level_filter_narrows_pairings_and_projects(city):
    sel = Selection.make("city", period="2026-10", filters={"partner_level": "省直"})  # P1
    # communities and check-ins have no partner level: unchanged
    assert_row(F.row(run(city.con, sel), None),
               pair(4, 1, 1, 3, 3, 3, 2, 0, 7, 36, 9, 7.5))
    two = Selection.make("community", period="2026-10", filters={"partner_level": ["省直", "区直"]})
    df = run(city.con, two)
    assert dict(zip(df["unit_code"], df["pairings_active"])) == {C1: 2, C2: 0, C3: 0, C4: 1}


# --- follow-up list ---------------------------------------------------------------------------


def test_overdue_projects_lists_exactly_the_overdue_ones(city):
    df = pairing.overdue_projects(city.con, Selection.make("city", period="2026-10"))
    assert list(df["project_id"]) == ["J4", "J7"]  # most overdue first
    assert list(df["overdue_days"]) == [32, 31]
    assert list(df["community_code"]) == [C2, C1]
    assert list(df["street_name"]) == ["东街道", "东街道"]
    assert list(df["district_name"]) == ["甲区", "甲区"]
    assert list(pairing.overdue_projects(city.con, Selection.make(
        "city", period="2026-10", unit=C1))["project_id"]) == ["J7"]
    assert pairing.overdue_projects(city.con, Selection.make(
        "city", period="2026-10", filters={"partner_level": "省直"})).empty


def test_overdue_list_matches_the_count_per_community(city):
    df = run(city.con, Selection.make("community", period="2026-10"))
    for code in (C1, C2, C3, C4):
        sel = Selection.make("community", period="2026-10", unit=code)
        assert len(pairing.overdue_projects(city.con, sel)) == F.row(df, code)["projects_overdue"]


def test_explain_shows_date_parameters(city, settings):
    out = domains.explain(city.con, "pairing", Selection.make("street", period="2026-10"),
                          settings=settings)
    assert "SELECT" in out["sql"] and "$as_of_date" in out["sql"]
    assert repr(dt.date(2026, 11, 1)) in out["sql"]
    assert list(out["definitions"]) == KEYS
