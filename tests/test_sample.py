"""The demo city (metrics.demo.city) obeys the data contract; its map (metrics.contract.boundaries)
is valid."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pytest

from metrics.contract.boundaries import generate_boundaries, validate_boundaries
from metrics.contract.credit_code import check_digit as credit_code_check_digit
from metrics.contract.credit_code import is_valid as credit_code_is_valid
from metrics.demo.city import COLUMNS, EXTRACT_AT, generate_city

SCALE = 0.05
CODE_LENGTH = {"district": 6, "street": 9, "community": 12, "grid": 15}
PARENT_LEVEL = {"street": "district", "community": "street", "grid": "community"}
RATE_METRICS = {
    "org_coverage_rate", "work_coverage_rate", "standalone_rate", "close_rate", "on_time_rate",
    "response_rate", "resolve_rate", "satisfaction_rate", "pairing_coverage_rate",
    "project_completion_rate", "project_on_time_rate",
    # 网格与小区
    "grid_party_org_rate", "grid_leader_rate", "grid_staffed_rate", "compound_party_org_rate",
    "compound_build_rate", "property_coverage_rate", "owners_committee_rate",
}
ALL_RATE_METRICS = RATE_METRICS | {"task_completion_rate", "task_on_time_rate"}
PERSONAL = ("姓名", "身份证", "证件号", "手机", "电话", "联系方式", "住址", "地址")


@pytest.fixture(scope="module")
def city() -> dict[str, pd.DataFrame]:
    return generate_city(seed=2026, scale=SCALE)


@pytest.fixture(scope="module")
def units(city) -> pd.DataFrame:
    return city["units"]


@pytest.fixture(scope="module")
def communities(units) -> set[str]:
    return set(units.loc[units["level"] == "community", "code"])


@pytest.fixture(scope="module")
def demo_units() -> pd.DataFrame:
    return generate_city(scale=1.0)["units"]


@pytest.fixture(scope="module")
def boundaries(units) -> dict:
    return generate_boundaries(units, seed=2026)


def _values(series: pd.Series) -> set:
    return set(series.dropna().astype(str).unique())


def _independent_check_digit(first17: str) -> str:
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [pow(3, i, 31) for i in range(17)]          # 1 3 9 27 19 26 16 17 20 29 ...
    total = sum(charset.index(ch) * w for ch, w in zip(first17, weights))
    return charset[(31 - total % 31) % 31]


# ---------------------------------------------------------------- determinism and shape

def test_same_seed_gives_identical_frames(city):
    again = generate_city(seed=2026, scale=SCALE)
    assert again.keys() == city.keys()
    for name in city:
        pd.testing.assert_frame_equal(again[name], city[name], check_exact=True)


def test_different_seed_gives_different_data(city):
    other = generate_city(seed=7, scale=SCALE)
    assert not other["issues"]["reported_at"].equals(city["issues"]["reported_at"])


def test_tables_have_the_contract_columns_in_order(city):
    assert list(city) == ["units", "organizations", "issues", "pairings", "projects",
                          "checkins", "targets", "grids", "compounds", "tasks"]
    for name, frame in city.items():
        assert list(frame.columns) == COLUMNS[name], name
        assert len(frame) > 0, name


def test_scale_must_be_positive():
    with pytest.raises(ValueError):
        generate_city(scale=0)


def test_no_personal_data_columns(city):
    for frame in city.values():
        for column in frame.columns:
            assert not any(word in column for word in PERSONAL)


def test_codes_are_strings_not_numbers(city):
    string_columns = {
        "units": ["code", "parent_code"], "organizations": ["org_id", "community_code"],
        "issues": ["issue_id", "community_code", "grid_code"],
        "pairings": ["pairing_id", "community_code"], "projects": ["project_id", "pairing_id"],
        "checkins": ["community_code"], "targets": ["unit_code"],
    }
    for table, columns in string_columns.items():
        for column in columns:
            values = city[table][column].dropna()
            assert all(isinstance(v, str) for v in values.head(500)), (table, column)


# ---------------------------------------------------------------- units

def test_unit_codes_have_contract_lengths_and_parent_prefixes(units):
    assert units["code"].is_unique
    assert units["code"].str.fullmatch(r"\d+").all()
    assert units["code"].str.startswith("9901").all()
    assert (units["name"].str.len() > 0).all()
    level_of = dict(zip(units["code"], units["level"]))
    for code, level, parent in zip(units["code"], units["level"], units["parent_code"]):
        assert len(code) == CODE_LENGTH[level]
        if level == "district":
            assert pd.isna(parent)
        else:
            assert level_of.get(parent) == PARENT_LEVEL[level]
            assert code.startswith(parent)


def test_tiny_city_still_has_two_districts_and_grids_per_community(units):
    counts = units["level"].value_counts()
    assert counts["district"] >= 2
    assert counts["street"] >= counts["district"]
    grids_per_community = units.loc[units["level"] == "grid", "parent_code"].value_counts()
    assert set(grids_per_community.index) == set(units.loc[units["level"] == "community", "code"])
    assert grids_per_community.between(3, 8).all()


def test_demo_city_at_scale_one_has_the_intended_sizes(demo_units):
    units = demo_units
    counts = units["level"].value_counts()
    assert counts["district"] == 7
    assert 55 <= counts["street"] <= 65
    assert 450 <= counts["community"] <= 550
    names = units.loc[units["level"] == "district", "name"]
    assert names.is_unique
    streets = units.loc[units["level"] == "street", "name"]
    assert streets.str.endswith("镇").sum() >= 2
    assert units.loc[units["level"] == "community", "name"].str.endswith("村").sum() >= 3


# ---------------------------------------------------------------- organizations

def test_organizations_rows_obey_the_contract(city, communities):
    orgs = city["organizations"]
    assert orgs["period"].str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").all()
    assert sorted(orgs["period"].unique()) == [str(p) for p in pd.period_range("2025-11", "2026-10", freq="M")]
    assert not orgs.duplicated(["period", "org_id"]).any()
    assert orgs["org_id"].str.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}").all()
    assert (orgs["org_name"].str.len() > 0).all()
    assert _values(orgs["org_type"]) <= {"非公企业", "社会组织"}
    assert _values(orgs["sector"]) <= {"商务楼宇", "商圈市场", "产业园区", "互联网企业", "新就业群体", "其他"}
    assert _values(orgs["party_org"]) == {"单独组建", "联合组建", "未组建"}
    assert set(orgs["community_code"]) <= communities
    assert (orgs["employees"] >= 0).all() and (orgs["party_members"] >= 0).all()
    assert orgs[["instructor", "operating"]].notna().all().all()
    assert 0.005 < (~orgs["operating"].astype(bool)).mean() < 0.1
    share_social = (orgs["org_type"] == "社会组织").mean()
    assert 0.15 < share_social < 0.35


def test_party_members_above_employees_only_in_a_handful_of_rows(city):
    orgs = city["organizations"]
    share = (orgs["party_members"] > orgs["employees"]).mean()
    assert 0 < share < 0.01


def test_credit_code_check_digit_matches_gb32100():
    first17 = "91350100M000100Y4"
    assert credit_code_check_digit(first17) == _independent_check_digit(first17)
    code = first17 + credit_code_check_digit(first17)
    assert credit_code_is_valid(code)
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    assert not credit_code_is_valid(wrong)
    with pytest.raises(ValueError):
        credit_code_check_digit("123")
    with pytest.raises(ValueError):
        credit_code_check_digit("9135010000000000I")   # I is not in the charset


def test_check_digits_valid_except_a_planted_handful(city):
    ids = city["organizations"]["org_id"].unique()
    bad = [c for c in ids if _independent_check_digit(c[:17]) != c[17]]
    assert 1 <= len(bad) <= max(2, 0.01 * len(ids))
    assert all(not credit_code_is_valid(c) for c in bad)


def test_party_org_once_built_stays_built(city):
    orgs = city["organizations"].sort_values(["org_id", "period"])
    built = orgs["party_org"].isin(["单独组建", "联合组建"]).astype(int)
    dropped = built.groupby(orgs["org_id"]).diff().fillna(0) < 0
    assert not dropped.any()


def test_coverage_rises_from_first_to_last_snapshot(city):
    orgs = city["organizations"]
    live = orgs[orgs["operating"].astype(bool)]
    covered = live["party_org"].isin(["单独组建", "联合组建"])
    work = covered | live["instructor"].astype(bool)
    org_rate = covered.groupby(live["period"]).mean()
    work_rate = work.groupby(live["period"]).mean()
    assert org_rate.iloc[-1] > org_rate.iloc[0] + 0.08
    assert work_rate.iloc[-1] > work_rate.iloc[0] + 0.08
    assert (work_rate >= org_rate).all()
    assert org_rate.is_monotonic_increasing


def test_organizations_appear_and_disappear_during_the_year(city):
    orgs = city["organizations"]
    per_period = orgs.groupby("org_id")["period"].agg(["min", "max"])
    assert (per_period["min"] > "2025-11").any()
    assert (per_period["max"] < "2026-10").any()


# ---------------------------------------------------------------- issues

def test_issue_ids_are_unique_and_carry_the_report_date(city):
    issues = city["issues"]
    assert issues["issue_id"].is_unique
    assert issues["issue_id"].str.fullmatch(r"GD\d{14}").all()
    assert (issues["issue_id"].str[2:10] == issues["reported_at"].dt.strftime("%Y%m%d")).all()


def test_issue_codes_and_enums_are_valid(city, units, communities):
    issues = city["issues"]
    assert set(issues["community_code"]) <= communities
    grids = set(units.loc[units["level"] == "grid", "code"])
    with_grid = issues[issues["grid_code"].notna()]
    assert set(with_grid["grid_code"]) <= grids
    assert all(g.startswith(c) for g, c in zip(with_grid["grid_code"], with_grid["community_code"]))
    assert 0.3 < issues["grid_code"].isna().mean() < 0.6
    assert _values(issues["source"]) == {"网格员上报", "12345热线", "群众来访", "部门交办", "其他"}
    assert (issues["category"].astype(str).str.len() > 0).all()
    assert _values(issues["satisfaction"]) == {"满意", "基本满意", "不满意"}


def test_issue_times_are_ordered_and_before_the_extract(city):
    issues = city["issues"]
    rep = issues["reported_at"]
    assert rep.notna().all() and issues["due_at"].notna().all()
    assert rep.min() >= pd.Timestamp("2024-11-01") and rep.max() < pd.Timestamp("2026-11-01")
    assert (issues["due_at"] >= rep).all()
    for column in ("responded_at", "closed_at"):
        t = issues[column]
        assert (t.dropna() >= rep[t.notna()]).all(), column
        assert (t.dropna() < EXTRACT_AT).all(), column
    for column in ("reported_at", "due_at", "responded_at", "closed_at"):
        t = issues[column].dropna()
        assert (t == t.dt.floor("s")).all(), column


def test_some_orders_are_open_and_overdue_at_the_extract(city):
    issues = city["issues"]
    open_ = issues["closed_at"].isna()
    assert open_.any()
    assert (open_ & (issues["due_at"] < EXTRACT_AT)).any()
    assert (issues["closed_at"] > issues["due_at"]).any()                  # closed late
    late_response = issues["responded_at"] - issues["reported_at"] > pd.Timedelta(hours=24)
    assert late_response.any()
    assert (issues["responded_at"].isna()).any()


def test_resolved_and_satisfaction_only_on_closed_orders(city):
    issues = city["issues"]
    open_ = issues["closed_at"].isna()
    assert issues.loc[open_, "resolved"].isna().all()
    assert issues.loc[open_, "satisfaction"].isna().all()
    closed = issues[~open_]
    assert closed["resolved"].notna().mean() > 0.7
    assert closed["satisfaction"].notna().mean() > 0.6


def test_summer_has_more_orders_than_february(city):
    month = city["issues"]["reported_at"].dt.month
    assert (month == 7).sum() > 1.3 * (month == 2).sum()


# ---------------------------------------------------------------- pairings, projects, checkins

def test_pairings_obey_the_contract(city, communities):
    pairings = city["pairings"]
    assert pairings["pairing_id"].is_unique
    assert (pairings["partner_name"].str.len() > 0).all()
    assert _values(pairings["partner_level"]) <= {"省直", "市直", "区直", "驻区单位", "企业", "其他"}
    assert set(pairings["community_code"]) <= communities
    assert pairings["started_on"].notna().all()
    ended = pairings["ended_on"].notna()
    assert (pairings.loc[ended, "ended_on"] >= pairings.loc[ended, "started_on"]).all()
    for column in ("started_on", "ended_on"):
        d = pairings[column].dropna()
        assert (d == d.dt.normalize()).all()
        assert (d < EXTRACT_AT).all()


def test_some_communities_are_unpaired(city, communities):
    assert set(city["pairings"]["community_code"]) < communities


def test_projects_status_is_consistent_with_completion(city):
    projects = city["projects"]
    assert projects["project_id"].is_unique
    assert set(projects["pairing_id"]) <= set(city["pairings"]["pairing_id"])
    assert (projects["title"].str.len() > 0).all()
    assert _values(projects["kind"]) <= {"民生实事", "阵地建设", "志愿服务", "产业发展", "其他"}
    assert _values(projects["status"]) <= {"未启动", "推进中", "已完成", "已终止"}
    done = projects["status"] == "已完成"
    assert (done == projects["completed_on"].notna()).all()
    assert projects["due_on"].notna().all()
    assert (projects["completed_on"].dropna() <= pd.Timestamp("2026-10-31")).all()
    overdue = (~done) & (projects["status"] != "已终止") & (projects["due_on"] < EXTRACT_AT)
    assert overdue.any()
    for column in ("due_on", "completed_on"):
        d = projects[column].dropna()
        assert (d == d.dt.normalize()).all()


def test_checkins_cumulative_counts_never_decrease(city, communities):
    checkins = city["checkins"]
    assert not checkins.duplicated(["period", "community_code"]).any()
    assert set(checkins["community_code"]) == communities
    assert checkins.groupby("community_code").size().eq(24).all()
    assert checkins["period"].min() == "2024-11" and checkins["period"].max() == "2026-10"
    ordered = checkins.sort_values(["community_code", "period"])
    for column in ("units_reported", "members_reported"):
        steps = ordered.groupby("community_code")[column].diff().dropna()
        assert (steps >= 0).all(), column
    for column in ("units_reported", "members_reported", "activities"):
        assert (checkins[column] >= 0).all()
    hours = checkins["service_hours"]
    assert (hours.dropna() >= 0).all() and hours.isna().any()


def test_targets_reference_rate_metrics_and_existing_units(city, units):
    targets = city["targets"]
    assert targets["year"].between(2000, 2100).all()
    assert _values(targets["metric"]) <= ALL_RATE_METRICS
    assert targets["target"].between(0, 1).all()
    allowed = set(units.loc[units["level"].isin(["district", "street"]), "code"])
    assert set(targets["unit_code"].dropna()) <= allowed
    city_rows = targets[targets["unit_code"].isna()]
    task_rates = {"task_completion_rate", "task_on_time_rate"}  # set from 2026 on
    for year in (2025, 2026):
        assert set(city_rows.loc[city_rows["year"] == year, "metric"].astype(str)) == (
            RATE_METRICS | (task_rates if year == 2026 else set()))
    assert not targets.duplicated(["year", "metric", "unit_code"]).any()
    levels = dict(zip(units["code"], units["level"]))
    overrides = {levels[c] for c in targets["unit_code"].dropna()}
    assert overrides == {"district", "street"}


# ---------------------------------------------------------------- boundaries

def _rings(feature):
    geometry = feature["geometry"]
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [ring for polygon in polygons for ring in polygon]


def _area(feature) -> float:
    total = 0.0
    for ring in _rings(feature):
        xy = np.asarray(ring, dtype=float)
        total += 0.5 * float(np.dot(xy[:-1, 0], xy[1:, 1]) - np.dot(xy[1:, 0], xy[:-1, 1]))
    return total


def _inside(point, feature) -> bool:
    x, y = point
    hits = 0
    for ring in _rings(feature):
        xy = np.asarray(ring, dtype=float)
        x1, y1, x2, y2 = xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xi = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        hits += int(np.count_nonzero(crosses & (x < xi)))
    return hits % 2 == 1


def test_boundaries_validate(boundaries, units):
    assert validate_boundaries(boundaries, set(units["code"])) == []


def test_boundaries_have_one_feature_per_district_and_street(boundaries, units):
    expected = units.loc[units["level"].isin(["district", "street"]), ["code", "name", "level"]]
    got = pd.DataFrame([f["properties"] for f in boundaries["features"]])
    assert sorted(got["code"]) == sorted(expected["code"])
    merged = got.merge(expected.astype(str), on="code", suffixes=("", "_unit"))
    assert (merged["name"] == merged["name_unit"]).all()
    assert (merged["level"] == merged["level_unit"]).all()


def test_boundaries_are_deterministic_for_a_seed(boundaries, units):
    assert generate_boundaries(units, seed=2026) == boundaries


def test_boundaries_lie_in_the_demo_lon_lat_box(boundaries):
    for feature in boundaries["features"]:
        for ring in _rings(feature):
            xy = np.asarray(ring)
            assert xy[:, 0].min() >= 117.0 and xy[:, 0].max() <= 117.6
            assert xy[:, 1].min() >= 31.6 and xy[:, 1].max() <= 32.0


def test_each_street_polygon_lies_in_its_district(boundaries):
    by_code = {f["properties"]["code"]: f for f in boundaries["features"]}
    for feature in boundaries["features"]:
        if feature["properties"]["level"] != "street":
            continue
        district = by_code[feature["properties"]["code"][:6]]
        border = {tuple(p) for ring in _rings(district) for p in ring}
        for ring in _rings(feature):
            for point in ring:
                assert tuple(point) in border or _inside(point, district)


def test_streets_tile_their_district_without_gaps_or_overlaps(boundaries):
    districts = {f["properties"]["code"]: f for f in boundaries["features"]
                 if f["properties"]["level"] == "district"}
    street_area = dict.fromkeys(districts, 0.0)
    for feature in boundaries["features"]:
        if feature["properties"]["level"] == "street":
            area = _area(feature)
            assert area > 0
            street_area[feature["properties"]["code"][:6]] += area
    for code, feature in districts.items():
        assert street_area[code] == pytest.approx(_area(feature), rel=1e-9)


def test_demo_city_boundaries_are_small_enough_for_the_browser(demo_units):
    units = demo_units
    fc = generate_boundaries(units)
    assert validate_boundaries(fc, set(units["code"])) == []
    assert len(json.dumps(fc, ensure_ascii=False)) < 300_000


def test_validate_reports_a_code_not_in_units(boundaries, units):
    bad = copy.deepcopy(boundaries)
    bad["features"][0]["properties"]["code"] = "999999"
    problems = validate_boundaries(bad, set(units["code"]))
    assert any("999999" in p and "不在区划表" in p for p in problems)


def test_validate_reports_an_unclosed_ring(boundaries, units):
    bad = copy.deepcopy(boundaries)
    geometry = bad["features"][1]["geometry"]
    ring = geometry["coordinates"][0] if geometry["type"] == "Polygon" else geometry["coordinates"][0][0]
    ring.pop()
    problems = validate_boundaries(bad, set(units["code"]))
    assert any("未闭合" in p for p in problems)


def test_validate_reports_a_ring_with_fewer_than_four_points(units):
    code = units["code"].iloc[0]
    fc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"code": code},
        "geometry": {"type": "Polygon", "coordinates": [[[117.1, 31.7], [117.2, 31.7], [117.1, 31.7]]]},
    }]}
    assert any("少于 4 个点" in p for p in validate_boundaries(fc, {code}))


def test_validate_rejects_what_is_not_a_feature_collection():
    assert validate_boundaries({"type": "Feature"}, set()) != []
    assert validate_boundaries([], set()) != []


def test_validate_reports_missing_code_wrong_geometry_and_bad_coordinates(units):
    code = units["code"].iloc[0]
    square = [[117.1, 31.7], [117.2, 31.7], [117.2, 31.8], [117.1, 31.7]]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "无代码"},
         "geometry": {"type": "Polygon", "coordinates": [square]}},
        {"type": "Feature", "properties": {"code": code},
         "geometry": {"type": "Point", "coordinates": [117.1, 31.7]}},
        {"type": "Feature", "properties": {"code": code},
         "geometry": {"type": "Polygon", "coordinates": [[[217.1, 31.7], [117.2, 31.7], [117.2, 31.8], [217.1, 31.7]]]}},
        {"type": "Feature", "properties": {"code": code},
         "geometry": {"type": "Polygon", "coordinates": [[["117.1", 31.7], [117.2, 31.7], [117.2, 31.8], ["117.1", 31.7]]]}},
    ]}
    problems = validate_boundaries(fc, {code})
    assert any("缺少 properties.code" in p for p in problems)
    assert any("Polygon 或 MultiPolygon" in p for p in problems)
    assert any("超出经纬度范围" in p for p in problems)
    assert any("不是数值" in p for p in problems)
    assert re.search(r"重复", " ".join(problems))


# ---------------------------------------------------------------- tasks (重点任务督办)


@pytest.fixture(scope="module")
def demo_tasks() -> pd.DataFrame:
    return generate_city(scale=1.0)["tasks"]


def test_demo_ledger_has_the_meetings_258_key_tasks_and_15_livelihood_projects(demo_tasks):
    kinds = demo_tasks["kind"].astype(str).value_counts().to_dict()
    assert kinds["重点任务"] == 258 and kinds["民生项目"] == 15
    assert demo_tasks["task_id"].is_unique
    assert demo_tasks.loc[demo_tasks["kind"] == "民生项目", "title"].is_unique


def test_demo_tasks_obey_the_contract(demo_tasks, demo_units):
    t = demo_tasks
    allowed = set(demo_units.loc[demo_units["level"].isin(["district", "street"]), "code"])
    assert set(t["unit_code"].dropna()) <= allowed
    assert t["unit_code"].isna().sum() > 0  # whole-city tasks
    done = t["status"] == "已完成"
    assert (t["completed_on"].notna() == done).all()
    assert (t["completed_on"].dropna() < pd.Timestamp("2026-11-01")).all()
    assert t["progress"].dropna().between(0, 1).all()
    assert (t.loc[done, "progress"] == 1.0).all()
    assert t["owner"].notna().all() and t["title"].notna().all()
    assert 0 < t["acceptance"].isna().sum() <= 5  # a few rows the upload warns about
    for text in pd.concat([t["title"], t["owner"], t["acceptance"].dropna()]):
        assert not any(word in text for word in PERSONAL)


def test_demo_tasks_are_deterministic():
    a = generate_city(seed=7, scale=0.05)["tasks"]
    b = generate_city(seed=7, scale=0.05)["tasks"]
    pd.testing.assert_frame_equal(a, b)
    assert len(a) >= 10


def test_some_streets_and_owners_lag_on_tasks(demo_tasks):
    t = demo_tasks[demo_tasks["status"] != "已终止"]
    due = t["due_on"] < pd.Timestamp("2026-11-01")
    done = t["completed_on"].notna()
    overdue = due & ~done
    streets = t[(t["unit_code"].str.len() == 9) & due].assign(done=done)
    per_street = streets.groupby("unit_code")["done"].agg(["size", "mean"])
    busy = per_street[per_street["size"] >= 5]  # the lagging streets carry most
    assert len(busy) >= 2 and (busy["mean"] < 0.7).all()
    assert done[due].mean() > 0.8  # the city's due tasks
    assert 0.5 < done.mean() < 0.75
    owners = t.assign(overdue=overdue).groupby("owner")["overdue"].sum()
    assert owners.max() >= 2 and (owners > 0).sum() >= 10
