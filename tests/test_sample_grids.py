"""The demo city's grid and compound snapshots: contract-valid, plausible, a year of steady
progress, and a few streets that clearly lag (metrics.demo.city)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.contract import schema as S
from metrics.demo.city import GRID_PERIODS, generate_city


@pytest.fixture(scope="module")
def city() -> dict[str, pd.DataFrame]:
    return generate_city(seed=2026, scale=1.0)


def _last(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["period"] == GRID_PERIODS[-1]]


def test_one_row_per_grid_per_month_for_every_grid(city):
    grids, units = city["grids"], city["units"]
    assert not grids.duplicated(["period", "grid_code"]).any()
    assert set(grids["grid_code"]) == set(units.loc[units["level"] == "grid", "code"])
    assert grids.groupby("grid_code").size().eq(len(GRID_PERIODS)).all()
    assert list(grids.columns) == S.TABLES["grids"].names


def test_compounds_belong_to_communities_and_are_unique_per_month(city):
    compounds, units = city["compounds"], city["units"]
    assert not compounds.duplicated(["period", "compound_id"]).any()
    assert set(compounds["community_code"]) <= set(units.loc[units["level"] == "community", "code"])
    assert compounds["compound_id"].str.startswith("XQ").all()
    assert (compounds["compound_name"].str.len() >= 3).all()
    assert list(compounds.columns) == S.TABLES["compounds"].names


def test_values_obey_the_contract(city):
    for table in ("grids", "compounds"):
        df = city[table]
        for col in S.TABLES[table].columns:
            if col.kind == S.INT:
                assert (df[col.name] >= 0).all(), (table, col.name)
            if col.kind == S.ENUM:
                assert set(df[col.name].astype(str)) <= set(col.enum), (table, col.name)
    k = city["compounds"]
    assert (k["heads_neighbor"] <= k["households"]).all()  # no warning in the demo


def test_city_wide_levels_are_plausible(city):
    g, k = _last(city["grids"]), _last(city["compounds"])
    assert 0.8 <= (g["grid_party_org"] != "未建").mean() <= 0.95
    assert 0.95 <= ((g["fulltime_workers"] + g["parttime_workers"]) > 0).mean() < 1
    per_worker = g["households"].sum() / (g["fulltime_workers"] + g["parttime_workers"]).sum()
    assert 80 <= per_worker <= 300
    assert 0.85 <= (k["property_service"] != "无").mean() < 1
    per_100 = 100 * k["heads_neighbor"].sum() / k["households"].sum()
    assert 5 <= per_100 <= 15
    assert (k["heads_area"] <= k["heads_group"]).all() and (k["heads_group"] <= k["heads_neighbor"] + 1).all()


def test_coverage_grows_through_the_year_and_a_built_branch_stays(city):
    g = city["grids"]
    first = g[g["period"] == GRID_PERIODS[0]].set_index("grid_code")["grid_party_org"]
    last = _last(g).set_index("grid_code")["grid_party_org"]
    assert (last != "未建").mean() > (first != "未建").mean() + 0.1
    assert not ((first != "未建") & (last.loc[first.index] == "未建")).any()
    k = city["compounds"]
    first_k = k[k["period"] == GRID_PERIODS[0]]
    assert (_last(k)["model_compound"].sum() > first_k["model_compound"].sum())


def test_some_streets_clearly_lag(city):
    g = _last(city["grids"])
    by_street = (g["grid_party_org"] != "未建").groupby(g["grid_code"].str[:9]).mean()
    city_rate = (g["grid_party_org"] != "未建").mean()
    lagging = by_street[by_street < city_rate - 0.2]
    assert 1 <= len(lagging) <= 4, lagging
    k = _last(city["compounds"])
    per_100 = (100 * k.groupby(k["community_code"].str[:9])["heads_neighbor"].sum()
               / k.groupby(k["community_code"].str[:9])["households"].sum())
    assert set(lagging.index) & set(per_100[per_100 < np.median(per_100) * 0.6].index)


def test_same_seed_gives_identical_snapshots(city):
    again = generate_city(seed=2026, scale=1.0)
    for table in ("grids", "compounds"):
        pd.testing.assert_frame_equal(again[table], city[table], check_exact=True)
