"""两个覆盖: every key of docs/contract/metrics.md counted by hand on the fixture city's ledgers.

Ledgers exist for 2026-08 and 2026-10 (none for 2026-09); rows in tests/fixtures.ORG_ROWS.
"""

from __future__ import annotations

import pandas as pd
import pytest

from metrics.definitions import DOMAIN_KEYS
from metrics.domains import coverage
from metrics.domains import registry as domains
from metrics.selection import Selection, SelectionError
from tests import fixtures as F
from tests.fixtures import C1, C2, C3, C4, D_A, D_B, S_EAST, S_SOUTH, S_WEST, assert_row

KEYS = DOMAIN_KEYS["coverage"]
RATES = ("org_coverage_rate", "work_coverage_rate", "standalone_rate")
EMPTY = {k: 0 for k in KEYS} | {k: None for k in RATES}


def cov(total, with_org, standalone, work, eligible, done) -> dict:
    return dict(
        orgs_total=total, orgs_with_party_org=with_org, orgs_standalone=standalone,
        orgs_work_covered=work,
        org_coverage_rate=None if total == 0 else with_org / total,
        work_coverage_rate=None if total == 0 else work / total,
        standalone_eligible=eligible, standalone_done=done,
        standalone_rate=None if eligible == 0 else done / eligible,
        gap_should_build=eligible - done, gap_work_uncovered=total - work,
    )


# 2026-10 ledger (K06, operating = 否, is in nothing):
#   东一 K01 (3 members, 单独) K02 (2 members, instructor only) K03 (3 members, 联合)
#   东二 K04 (5 members, 未组建) K05 (0 members, 未组建)
#   南一 K07 (4 members, 单独, instructor) K08 (1 member, 联合)
OCT = {
    C1: dict(orgs_total=3, orgs_with_party_org=2, orgs_standalone=1, orgs_work_covered=3,
             org_coverage_rate=2 / 3, work_coverage_rate=1.0, standalone_eligible=2,
             standalone_done=1, standalone_rate=0.5, gap_should_build=1, gap_work_uncovered=0),
    C2: dict(orgs_total=2, orgs_with_party_org=0, orgs_standalone=0, orgs_work_covered=0,
             org_coverage_rate=0.0, work_coverage_rate=0.0, standalone_eligible=1,
             standalone_done=0, standalone_rate=0.0, gap_should_build=1, gap_work_uncovered=2),
    C3: EMPTY,
    C4: dict(orgs_total=2, orgs_with_party_org=2, orgs_standalone=1, orgs_work_covered=2,
             org_coverage_rate=1.0, work_coverage_rate=1.0, standalone_eligible=1,
             standalone_done=1, standalone_rate=1.0, gap_should_build=0, gap_work_uncovered=0),
}
EAST = dict(orgs_total=5, orgs_with_party_org=2, orgs_standalone=1, orgs_work_covered=3,
            org_coverage_rate=2 / 5, work_coverage_rate=3 / 5, standalone_eligible=3,
            standalone_done=1, standalone_rate=1 / 3, gap_should_build=2, gap_work_uncovered=2)
CITY_OCT = dict(orgs_total=7, orgs_with_party_org=4, orgs_standalone=2, orgs_work_covered=5,
                org_coverage_rate=4 / 7, work_coverage_rate=5 / 7, standalone_eligible=4,
                standalone_done=2, standalone_rate=2 / 4, gap_should_build=2,
                gap_work_uncovered=2)
OCT |= {S_EAST: EAST, S_WEST: EMPTY, S_SOUTH: OCT[C4], D_A: EAST, D_B: OCT[C4], None: CITY_OCT}
# 2026-08 ledger: K01 (3 members, 未组建, no instructor), K04 (5 members, 单独组建)
CITY_AUG = cov(total=2, with_org=1, standalone=1, work=1, eligible=2, done=1)


def report(con, sel):
    return domains.report(con, "coverage", sel, settings=None)


def run(con, sel):
    return report(con, sel).frame


def test_hand_tables_agree_with_the_definitions():
    for code, want in OCT.items():
        if want is not EMPTY:
            assert want == pytest.approx(cov(*(want[k] for k in (
                "orgs_total", "orgs_with_party_org", "orgs_standalone", "orgs_work_covered",
                "standalone_eligible", "standalone_done")))), code


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
    assert rep.snapshot == "2026-10" and rep.has_snapshot


def test_community_without_organizations_has_zeros_and_null_rates(city):
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C3)
    assert_row(r, EMPTY)


def test_not_operating_organization_leaves_every_count(city):
    # K06 (东二, 10 members, 未组建, no instructor, operating=否) would add one to orgs_total,
    # standalone_eligible and both gaps if it counted.
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C2)
    assert (r["orgs_total"], r["standalone_eligible"], r["gap_should_build"],
            r["gap_work_uncovered"]) == (2, 1, 1, 2)
    ids = set(coverage.gap_list(city.con, Selection.make("city", period="2026-10"),
                                "should_build")["org_id"])
    ids |= set(coverage.gap_list(city.con, Selection.make("city", period="2026-10"),
                                 "work_uncovered")["org_id"])
    assert F.org_id(6) not in ids


def test_two_party_members_is_not_eligible_three_is(city):
    # 东一: K01 and K03 have 3 members (eligible), K02 has 2 (not)
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C1)
    assert r["standalone_eligible"] == 2
    sel = Selection.make("community", period="2026-10", filters={"sector": "商务楼宇"})
    r = F.row(run(city.con, sel), C1)  # K01 (3) and K02 (2)
    assert (r["orgs_total"], r["standalone_eligible"], r["standalone_done"]) == (2, 1, 1)


def test_joint_party_org_counts_as_party_org_but_not_standalone(city):
    sel = Selection.make("city", period="2026-10", filters={"org_type": "社会组织"})
    r = F.row(run(city.con, sel), None)  # K03 (联合, 3 members) K05 (未组建) K08 (联合, 1 member)
    assert_row(r, cov(total=3, with_org=2, standalone=0, work=2, eligible=1, done=0))


def test_instructor_only_counts_for_work_coverage(city):
    sel = Selection.make("community", period="2026-10", filters={"sector": "商务楼宇"})
    r = F.row(run(city.con, sel), C1)  # K02: 未组建 but an instructor
    assert (r["orgs_with_party_org"], r["orgs_work_covered"], r["gap_work_uncovered"]) == (1, 2, 0)


def test_org_type_filter_narrows_every_count(city):
    sel = Selection.make("city", period="2026-10", filters={"org_type": "非公企业"})
    # K01 K02 K04 K07 (K06 not operating)
    assert_row(F.row(run(city.con, sel), None),
               cov(total=4, with_org=2, standalone=2, work=3, eligible=3, done=2))


def test_sector_filter_narrows_every_count(city):
    sel = Selection.make("street", period="2026-10", filters={"sector": "商务楼宇"})
    df = run(city.con, sel)
    assert_row(F.row(df, S_EAST), cov(total=2, with_org=1, standalone=1, work=2, eligible=1,
                                      done=1))
    assert_row(F.row(df, S_SOUTH), EMPTY)


def test_org_type_and_sector_filters_combine(city):
    sel = Selection.make("city", period="2026-10",
                         filters={"org_type": "社会组织", "sector": "其他"})  # K03
    assert_row(F.row(run(city.con, sel), None),
               cov(total=1, with_org=1, standalone=0, work=1, eligible=1, done=0))


# --- snapshot ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sel,snapshot,expected", [
    (Selection.make("city", period="2026-10"), "2026-10", CITY_OCT),
    (Selection.make("city", period="2026-09"), "2026-08", CITY_AUG),  # no September ledger
    (Selection.make("city", period="2026-08"), "2026-08", CITY_AUG),
    (Selection.make("city", period="2026-12"), "2026-10", CITY_OCT),
    (Selection.make("city", period_from="2026-08", period_to="2026-10"), "2026-10", CITY_OCT),
    (Selection.make("city", period_from="2026-07", period_to="2026-09"), "2026-08", CITY_AUG),
    (Selection.make("city"), "2026-10", CITY_OCT),  # default: the latest ledger
], ids=["oct", "sep-uses-aug", "aug", "dec-uses-oct", "range-uses-its-end", "range-ending-sep",
        "default"])
def test_snapshot_is_the_latest_ledger_at_or_before_the_last_month(city, sel, snapshot,
                                                                     expected):
    rep = report(city.con, sel)
    df = rep.frame
    assert rep.snapshot == snapshot
    assert_row(F.row(df, None), expected)


def test_month_before_any_ledger_has_no_snapshot_and_zeros(city):
    rep = report(city.con, Selection.make("street", period="2026-07"))
    df = rep.frame
    assert rep.snapshot is None and rep.no_ledger
    assert list(df["unit_code"]) == [S_EAST, S_WEST, S_SOUTH]
    for code in (S_EAST, S_WEST, S_SOUTH):
        assert_row(F.row(df, code), EMPTY)


# --- follow-up lists --------------------------------------------------------------------------


def test_gap_list_should_build_lists_exactly_the_eligible_without_standalone(city):
    df = coverage.gap_list(city.con, Selection.make("city", period="2026-10"), "should_build")
    assert list(df["org_id"]) == [F.org_id(4), F.org_id(3)]  # 5 members, then 3 (联合组建)
    assert list(df["org_name"]) == ["东二网络", "东一协会"]
    assert list(df["street_code"]) == [S_EAST, S_EAST]
    assert list(df["street_name"]) == ["东街道", "东街道"]
    assert list(df["district_name"]) == ["甲区", "甲区"]


def test_gap_list_work_uncovered_lists_exactly_the_uncovered(city):
    df = coverage.gap_list(city.con, Selection.make("city", period="2026-10"), "work_uncovered")
    assert list(df["org_id"]) == [F.org_id(4), F.org_id(5)]
    assert list(df["community_name"]) == ["东二社区", "东二社区"]


def test_gap_lists_match_the_gap_counts_per_street(city):
    for which, key in (("should_build", "gap_should_build"),
                       ("work_uncovered", "gap_work_uncovered")):
        for code in (S_EAST, S_WEST, S_SOUTH):
            sel = Selection.make("street", period="2026-10", unit=code)
            n = len(coverage.gap_list(city.con, sel, which))
            assert n == F.row(run(city.con, sel), code)[key], (which, code)


def test_gap_lists_follow_filters_unit_and_snapshot(city):
    sel = Selection.make("city", period="2026-10", filters={"org_type": "社会组织"})
    assert list(coverage.gap_list(city.con, sel, "should_build")["org_id"]) == [F.org_id(3)]
    assert list(coverage.gap_list(city.con, sel, "work_uncovered")["org_id"]) == [F.org_id(5)]
    south = Selection.make("city", period="2026-10", unit=S_SOUTH)
    assert coverage.gap_list(city.con, south, "should_build").empty
    assert coverage.gap_list(city.con, south, "work_uncovered").empty
    sep = Selection.make("city", period="2026-09")  # the August ledger: K01 未组建, 3 members
    assert list(coverage.gap_list(city.con, sep, "should_build")["org_id"]) == [F.org_id(1)]
    assert list(coverage.gap_list(city.con, sep, "work_uncovered")["org_id"]) == [F.org_id(1)]


def test_explain_shows_the_snapshot_parameter(city, settings):
    out = domains.explain(city.con, "coverage", Selection.make("street", period="2026-09"),
                          settings=settings)
    assert "SELECT" in out["sql"] and "$snapshot" in out["sql"]
    assert "datetime.date(2026, 8, 1)" in out["sql"]
    assert list(out["definitions"]) == KEYS


def test_coverage_has_no_grid_level(city):
    with pytest.raises(SelectionError):
        run(city.con, Selection.make("grid", period="2026-10"))
