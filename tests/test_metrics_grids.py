"""网格与小区: every key counted by hand on the fixture city's snapshots, and checked against an
independent computation in pandas straight from the fixture rows.

Grid snapshots exist for 2026-08 and 2026-10, compound snapshots for 2026-09 and 2026-10 (rows
in tests/fixtures.GRID_ROWS and COMPOUND_ROWS).
"""

from __future__ import annotations

import pandas as pd
import pytest

from metrics.definitions import DOMAIN_KEYS, METRICS
from metrics.domains import grids
from metrics.domains import registry as domains
from metrics.selection import Selection, SelectionError
from tests import fixtures as F
from tests.fixtures import C1, C2, C3, C4, D_A, D_B, S_EAST, S_SOUTH, S_WEST, assert_row

KEYS = DOMAIN_KEYS["grids"]
NULL_ON_ZERO = [k for k in KEYS if METRICS[k].kind in ("rate", "ratio")]


def g(grids_, with_org, branch, leader, staffed, ft, pt, hh) -> dict:
    """The grid keys from the counts (the 口径's formulas, written out by hand)."""
    workers = ft + pt
    return dict(
        grids=grids_, grids_with_party_org=with_org, grids_party_branch=branch,
        grid_party_org_rate=None if grids_ == 0 else with_org / grids_,
        gap_grids_no_party_org=grids_ - with_org,
        grids_with_leader=leader, grid_leader_rate=None if grids_ == 0 else leader / grids_,
        grids_staffed=staffed, grid_staffed_rate=None if grids_ == 0 else staffed / grids_,
        gap_grids_unstaffed=grids_ - staffed,
        fulltime_workers=ft, parttime_workers=pt, grid_workers=workers, grid_households=hh,
        households_per_worker=None if workers == 0 else hh / workers,
    )


def c(n, with_org, eligible, done, prop, red, owners, model, hh, members, area, group,
      neighbor) -> dict:
    """The compound keys from the counts."""
    return dict(
        compounds=n, compounds_with_party_org=with_org,
        compound_party_org_rate=None if n == 0 else with_org / n,
        compounds_build_eligible=eligible, compounds_build_done=done,
        compound_build_rate=None if eligible == 0 else done / eligible,
        gap_compounds_should_build=eligible - done,
        compounds_with_property=prop, property_coverage_rate=None if n == 0 else prop / n,
        gap_compounds_no_property=n - prop, compounds_red_property=red,
        compounds_owners_committee=owners, owners_committee_rate=None if n == 0 else owners / n,
        model_compounds=model, compound_households=hh, compound_party_members=members,
        heads_area=area, heads_group=group, heads_neighbor=neighbor,
        heads_neighbor_per_100=None if hh == 0 else 100 * neighbor / hh,
    )


NO_GRIDS = g(0, 0, 0, 0, 0, 0, 0, 0)
NO_COMPOUNDS = c(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

# October. Grids: 东一 G11 (支部, leader, 1+2, 300) G12 (小组, 0+1, 200); 东二 G21 (未建, no
# leader, nobody, 150); 南一 G41 is not in October's snapshot.
# Compounds: 东一 X1 (5 members, 支部, 红色物业, 业委会, 示范) X2 (3 members, 楼栋党小组, 自管)
# X3 (empty, 未建, 无); 东二 X4 (2 members, 支部, 专业) X5 (4 members, 未建, 无);
# 南一 X6 (10 members, 支部, 专业, 业委会, 示范).
OCT_GRIDS = {
    C1: g(2, 2, 1, 1, 2, 1, 3, 500),
    C2: g(1, 0, 0, 0, 0, 0, 0, 150),
    C3: NO_GRIDS,
    C4: NO_GRIDS,
    S_EAST: g(3, 2, 1, 1, 2, 1, 3, 650),
}
OCT_COMPOUNDS = {
    C1: c(3, 2, 2, 1, 2, 1, 1, 1, 520, 8, 3, 11, 52),
    C2: c(2, 1, 1, 0, 1, 0, 1, 0, 380, 6, 2, 7, 30),
    C3: NO_COMPOUNDS,
    C4: c(1, 1, 1, 1, 1, 0, 1, 1, 500, 10, 3, 10, 50),
    S_EAST: c(5, 3, 3, 1, 3, 1, 2, 1, 900, 14, 5, 18, 82),
}
CITY_OCT = OCT_GRIDS[S_EAST] | c(6, 4, 4, 2, 4, 1, 3, 2, 1400, 24, 8, 28, 132)
OCT = {code: OCT_GRIDS[code] | OCT_COMPOUNDS[code] for code in OCT_GRIDS}
OCT |= {S_WEST: NO_GRIDS | NO_COMPOUNDS, S_SOUTH: OCT[C4], D_A: OCT[S_EAST], D_B: OCT[C4],
        None: CITY_OCT}
# September: the grid snapshot of August, the compound snapshot of September.
CITY_SEP = g(4, 2, 1, 2, 2, 3, 1, 630) | c(3, 2, 2, 1, 2, 1, 1, 0, 1200, 17, 6, 23, 100)


def report(con, sel):
    return domains.report(con, "grids", sel, settings=None)


def run(con, sel):
    return report(con, sel).frame


def test_hand_tables_name_every_key():
    for code, want in OCT.items():
        assert set(want) == set(KEYS), code


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
    assert [None if pd.isna(x) else x for x in df["unit_code"]] == codes
    for code in codes:
        assert_row(F.row(df, code), OCT[code], f"{level} {code}")
    assert rep.snapshots["grid"] == rep.snapshots["compound"] == "2026-10"


# --- an independent computation ---------------------------------------------------------------


def _typed(frame: pd.DataFrame, bools: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for b in bools:
        out[b] = out[b].map({"是": True, "否": False}).fillna(False).astype(bool)
    return out


def pandas_keys(unit: str | None, grid_period: str, compound_period: str) -> dict:
    """Every key of the unit (code prefix; None = city) from the fixture rows, in pandas."""
    prefix = unit or ""
    gr = _typed(F.grids_frame(), ["grid_leader"])
    gr = gr[(gr["period"] == grid_period) & gr["grid_code"].str.startswith(prefix)]
    co = _typed(F.compounds_frame(), ["owners_committee", "model_compound"])
    co = co[(co["period"] == compound_period) & co["community_code"].str.startswith(prefix)]
    workers = int(gr["fulltime_workers"].sum() + gr["parttime_workers"].sum())
    n_g, n_c = len(gr), len(co)
    has_org = gr["grid_party_org"].isin(["网格党支部", "网格党小组"])
    staffed = (gr["fulltime_workers"] + gr["parttime_workers"]) >= 1
    c_org = co["party_org"].isin(["小区党支部", "楼栋党小组"])
    eligible = co["party_members_resident"] >= 3
    done = eligible & (co["party_org"] == "小区党支部")
    prop = co["property_service"] != "无"
    hh = int(co["households"].sum())

    def share(a, b):
        return None if b == 0 else a / b

    return {
        "grids": n_g, "grids_with_party_org": int(has_org.sum()),
        "grids_party_branch": int((gr["grid_party_org"] == "网格党支部").sum()),
        "grid_party_org_rate": share(int(has_org.sum()), n_g),
        "gap_grids_no_party_org": int((gr["grid_party_org"] == "未建").sum()),
        "grids_with_leader": int(gr["grid_leader"].sum()),
        "grid_leader_rate": share(int(gr["grid_leader"].sum()), n_g),
        "grids_staffed": int(staffed.sum()), "grid_staffed_rate": share(int(staffed.sum()), n_g),
        "gap_grids_unstaffed": int((~staffed).sum()),
        "fulltime_workers": int(gr["fulltime_workers"].sum()),
        "parttime_workers": int(gr["parttime_workers"].sum()), "grid_workers": workers,
        "grid_households": int(gr["households"].sum()),
        "households_per_worker": share(int(gr["households"].sum()), workers),
        "compounds": n_c, "compounds_with_party_org": int(c_org.sum()),
        "compound_party_org_rate": share(int(c_org.sum()), n_c),
        "compounds_build_eligible": int(eligible.sum()), "compounds_build_done": int(done.sum()),
        "compound_build_rate": share(int(done.sum()), int(eligible.sum())),
        "gap_compounds_should_build": int((eligible & ~done).sum()),
        "compounds_with_property": int(prop.sum()),
        "property_coverage_rate": share(int(prop.sum()), n_c),
        "gap_compounds_no_property": int((~prop).sum()),
        "compounds_red_property": int((co["property_service"] == "红色物业").sum()),
        "compounds_owners_committee": int(co["owners_committee"].sum()),
        "owners_committee_rate": share(int(co["owners_committee"].sum()), n_c),
        "model_compounds": int(co["model_compound"].sum()), "compound_households": hh,
        "compound_party_members": int(co["party_members_resident"].sum()),
        "heads_area": int(co["heads_area"].sum()), "heads_group": int(co["heads_group"].sum()),
        "heads_neighbor": int(co["heads_neighbor"].sum()),
        "heads_neighbor_per_100": share(100 * int(co["heads_neighbor"].sum()), hh),
    }


@pytest.mark.parametrize("period,grid_period,compound_period", [
    ("2026-10", "2026-10", "2026-10"), ("2026-09", "2026-08", "2026-09"),
])
@pytest.mark.parametrize("level", ["community", "street", "district", "city"])
def test_every_key_equals_an_independent_pandas_count(city, level, period, grid_period,
                                                      compound_period):
    df = run(city.con, Selection.make(level, period=period))
    for code in (None if pd.isna(x) else x for x in df["unit_code"]):
        assert_row(F.row(df, code), pandas_keys(code, grid_period, compound_period),
                   f"{level} {code} {period}")


def test_hand_counts_agree_with_the_pandas_count():
    for code, want in OCT.items():
        assert want == pytest.approx(pandas_keys(code, "2026-10", "2026-10"))
    assert CITY_SEP == pytest.approx(pandas_keys(None, "2026-08", "2026-09"))


# --- the 口径's edge cases --------------------------------------------------------------------


def test_unit_without_grids_or_compounds_has_zeros_and_null_rates(city):
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C3)
    for k in KEYS:
        if k in NULL_ON_ZERO:
            assert pd.isna(r[k]), k
        else:
            assert r[k] == 0, k


def test_grid_missing_from_the_snapshot_is_not_counted(city):
    # 南一网格一 is in units and in August's snapshot, not in October's
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C4)
    assert r["grids"] == 0 and pd.isna(r["grid_party_org_rate"])
    r = F.row(run(city.con, Selection.make("community", period="2026-08")), C4)
    assert (r["grids"], r["grids_party_branch"]) == (1, 1)


def test_grid_party_group_covers_a_grid_but_is_not_a_branch(city):
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C1)
    assert (r["grids_with_party_org"], r["grids_party_branch"]) == (2, 1)


def test_one_parttime_worker_staffs_a_grid(city):
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C1)
    assert r["grids_staffed"] == 2  # G12 has only one 兼职网格员


def test_households_without_workers_give_null_per_worker_not_infinity(city):
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C2)
    assert r["grid_households"] == 150 and r["grid_workers"] == 0
    assert pd.isna(r["households_per_worker"])


def test_workers_without_households_give_zero_per_worker(city):
    r = F.row(run(city.con, Selection.make("community", period="2026-08")), C4)
    assert r["households_per_worker"] == 0.0


def test_per_worker_is_a_ratio_of_sums_including_unstaffed_grids(city):
    # 东街道: (300 + 200 + 150) households ÷ (1 + 2 + 0 + 1 + 0 + 0) workers; the mean of the
    # per-grid ratios (100, 200, and none) would be 150.
    r = F.row(run(city.con, Selection.make("street", period="2026-10")), S_EAST)
    assert r["households_per_worker"] == 162.5


def test_leader_left_empty_counts_as_no_leader(city):
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C2)
    assert r["grids_with_leader"] == 0 and r["grid_leader_rate"] == 0.0


def test_three_resident_members_make_a_compound_eligible_two_do_not(city):
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C2)
    # X4 (2 members) has a 党支部 but is not eligible; X5 (4 members) is eligible, not built
    assert (r["compounds_build_eligible"], r["compounds_build_done"]) == (1, 0)
    assert r["compound_build_rate"] == 0.0
    assert r["compounds_with_party_org"] == 1


def test_building_party_group_is_not_a_branch_for_should_build(city):
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C1)
    # X2: exactly 3 members and a 楼栋党小组 → covered, but 应建未建
    assert (r["compounds_with_party_org"], r["compounds_build_eligible"],
            r["compounds_build_done"], r["gap_compounds_should_build"]) == (2, 2, 1, 1)


def test_self_managed_compound_counts_as_property_covered(city):
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C1)
    assert (r["compounds_with_property"], r["gap_compounds_no_property"]) == (2, 1)  # X1 X2 / X3


def test_neighbor_heads_per_100_households(city):
    r = F.row(run(city.con, Selection.make("community", period="2026-10")), C2)
    assert r["heads_neighbor_per_100"] == pytest.approx(100 * 30 / 380, rel=1e-12)


# --- snapshots --------------------------------------------------------------------------------


@pytest.mark.parametrize("sel,grid_snap,compound_snap,expected", [
    (Selection.make("city", period="2026-10"), "2026-10", "2026-10", CITY_OCT),
    (Selection.make("city", period="2026-09"), "2026-08", "2026-09", CITY_SEP),
    (Selection.make("city", period="2026-12"), "2026-10", "2026-10", CITY_OCT),
    (Selection.make("city", period_from="2026-08", period_to="2026-10"), "2026-10", "2026-10",
     CITY_OCT),
    (Selection.make("city", period_from="2026-07", period_to="2026-09"), "2026-08", "2026-09",
     CITY_SEP),
    (Selection.make("city"), "2026-10", "2026-10", CITY_OCT),
], ids=["oct", "sep-uses-aug-grids", "dec-uses-oct", "range-uses-its-end", "range-ending-sep",
        "default"])
def test_each_snapshot_is_the_latest_at_or_before_the_last_month(city, sel, grid_snap,
                                                                  compound_snap, expected):
    rep = report(city.con, sel)
    df = rep.frame
    assert (rep.snapshots["grid"], rep.snapshots["compound"]) == (grid_snap, compound_snap)
    assert_row(F.row(df, None), expected)


def test_month_with_grids_but_before_any_compound_snapshot(city):
    rep = report(city.con, Selection.make("city", period="2026-08"))
    df = rep.frame
    assert (rep.snapshots["grid"], rep.snapshots["compound"]) == ("2026-08", None)
    assert_row(F.row(df, None), g(4, 2, 1, 2, 2, 3, 1, 630) | NO_COMPOUNDS)


def test_month_before_any_snapshot_has_zeros(city):
    rep = report(city.con, Selection.make("street", period="2026-07"))
    df = rep.frame
    assert (rep.snapshots["grid"], rep.snapshots["compound"], rep.snapshot) == \
        (None, None, None)
    for code in (S_EAST, S_WEST, S_SOUTH):
        assert_row(F.row(df, code), NO_GRIDS | NO_COMPOUNDS)


def test_latest_is_the_newest_month_of_either_table(city):
    assert grids.latest(city.con) == 2026 * 12 + 9


# --- selection --------------------------------------------------------------------------------


def test_unit_limits_rows_to_its_descendants(city):
    df = run(city.con, Selection.make("community", period="2026-10", unit=S_EAST))
    assert list(df["unit_code"]) == [C1, C2]
    assert_row(F.row(df, C2), OCT[C2])


def test_scope_limits_the_city_row_to_the_scope(city):
    df = run(city.con, Selection.make("city", period="2026-10", scope=D_B))
    assert_row(F.row(df, None), OCT[C4])


def test_grid_level_and_filters_are_refused(city):
    with pytest.raises(SelectionError):
        run(city.con, Selection.make("grid", period="2026-10"))
    with pytest.raises(SelectionError):
        run(city.con, Selection.make("city", period="2026-10", filters={"sector": "其他"}))


# --- follow-up lists --------------------------------------------------------------------------


def test_follow_up_grids_without_party_org(city):
    df = grids.follow_up(city.con, Selection.make("city", period="2026-10"), "grids_no_party_org")
    assert list(df["grid_code"]) == [F.G21]
    assert list(df["grid_name"]) == ["东二网格一"] and list(df["street_name"]) == ["东街道"]
    assert list(df["district_name"]) == ["甲区"]
    df = grids.follow_up(city.con, Selection.make("city", period="2026-09"), "grids_no_party_org")
    assert list(df["grid_code"]) == [F.G12, F.G21]  # August's: 190 then 150 households


def test_follow_up_grids_without_workers(city):
    df = grids.follow_up(city.con, Selection.make("city", period="2026-10"), "grids_unstaffed")
    assert list(df["grid_code"]) == [F.G21]
    assert (df["fulltime_workers"] + df["parttime_workers"]).eq(0).all()


def test_follow_up_compounds_should_build(city):
    df = grids.follow_up(city.con, Selection.make("city", period="2026-10"),
                         "compounds_should_build")
    assert list(df["compound_id"]) == ["X5", "X2"]  # 4 members, then 3 (楼栋党小组)
    assert list(df["compound_name"]) == ["东二老楼", "东一新村"]
    assert list(df["district_name"]) == ["甲区", "甲区"] and list(df["street_name"]) == ["东街道"] * 2


def test_follow_up_compounds_without_property(city):
    df = grids.follow_up(city.con, Selection.make("city", period="2026-10"),
                         "compounds_no_property")
    assert list(df["compound_id"]) == ["X5", "X3"]  # 80 households, then 0
    df = grids.follow_up(city.con, Selection.make("community", period="2026-10", unit=C4),
                         "compounds_no_property")
    assert df.empty


@pytest.mark.parametrize("which,key", [
    ("grids_no_party_org", "gap_grids_no_party_org"), ("grids_unstaffed", "gap_grids_unstaffed"),
    ("compounds_should_build", "gap_compounds_should_build"),
    ("compounds_no_property", "gap_compounds_no_property"),
])
@pytest.mark.parametrize("period", ["2026-08", "2026-09", "2026-10"])
def test_follow_up_lists_match_their_counts_per_community(city, which, key, period):
    df = run(city.con, Selection.make("community", period=period))
    for code, count in zip(df["unit_code"], df[key], strict=True):
        lst = grids.follow_up(city.con, Selection.make("community", period=period, unit=code),
                              which)
        assert len(lst) == count, (code, which)


def test_follow_up_before_any_snapshot_is_empty(city):
    for which in grids.FOLLOW_UPS:
        assert grids.follow_up(city.con, Selection.make("city", period="2026-07"), which).empty


# --- breakdowns -------------------------------------------------------------------------------


def test_breakdowns_count_the_snapshot(city):
    sel = Selection.make("city", period="2026-10")
    bd = grids.breakdown(city.con, sel, "property_service").set_index("item")
    assert bd["compounds"].to_dict() == {"专业物业": 2, "无": 2, "红色物业": 1, "自管": 1}
    assert bd["share"].sum() == pytest.approx(1.0)
    bd = grids.breakdown(city.con, sel, "party_org").set_index("item")
    assert bd["compounds"].to_dict() == {"小区党支部": 3, "未建": 2, "楼栋党小组": 1}
    bd = grids.breakdown(city.con, Selection.make("city", period="2026-09"), "grid_party_org")
    assert bd.set_index("item")["grids"].to_dict() == {"未建": 2, "网格党小组": 1, "网格党支部": 1}


# --- SQL --------------------------------------------------------------------------------------


def test_explain_shows_the_sql_with_both_snapshots_and_every_definition(city):
    out = domains.explain(city.con, "grids", Selection.make("street", period="2026-09"),
                          settings=None)
    assert "FROM grids" in out["sql"] and "FROM compounds" in out["sql"]
    assert "$grid_snapshot = datetime.date(2026, 8, 1)" in out["sql"]
    assert "$compound_snapshot = datetime.date(2026, 9, 1)" in out["sql"]
    assert set(out["definitions"]) == set(KEYS)
    assert "楼栋党小组 不是党支部" in out["definitions"]["compounds_build_done"]["definition"]
