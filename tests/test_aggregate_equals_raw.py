"""问题解决 two ways, and a third: the aggregate path (agg_issues_street; split by source or by
category under that filter; agg_issues_community and agg_issues_grid for community and grid
rows and units; all built at ingest) must equal the raw path (the definitions applied row by row
in SQL), and both must equal an independent pandas reading of docs/contract/metrics.md written
here (the MetricFlow-style check query).

Random order sets cluster around month boundaries and the usual deadline edges (0 / ±1 s,
24 h, 24 h + 1 s, closed at due_at, due_at + 1 s); selections draw every level, single months
and ranges, as_of by default, on month boundaries and at the cap, units (some with no orders)
and filters (a category no order has among them).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from metrics.db import connect
from metrics.definitions import DOMAIN_KEYS
from metrics.domains import issues
from metrics.domains.common import Report
from metrics.selection import Selection
from metrics.settings import Settings
from metrics.store.ingest import ingest_frames
from metrics.store.versions import Store
from tests import fixtures as F

KEYS = DOMAIN_KEYS["issues"]
LEVEL_LEN = {"district": 6, "street": 9, "community": 12, "grid": 15}
SATISFIED = ["满意", "基本满意"]


# --- the independent reading of docs/contract/metrics.md (pandas, no package SQL) --------------


def month_start(year: int, month: int) -> pd.Timestamp:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return pd.Timestamp(year, month, 1)


def parse_month(m: str) -> tuple[int, int]:
    y, mo = m.split("-")
    return int(y), int(mo)


def expected_report(orders: pd.DataFrame, units: pd.DataFrame, *, level: str,
                    period_from: str | None, period_to: str | None, as_of, unit: str | None,
                    filters: dict, s: Settings) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Every key per unit, straight from docs/contract/metrics.md."""
    o = orders.copy()
    for c in ("reported_at", "due_at", "responded_at", "closed_at"):
        o[c] = pd.to_datetime(o[c])
    # period: default the latest month with orders
    if period_to is None:
        latest = o["reported_at"].max()
        period_from = period_to = f"{latest.year:04d}-{latest.month:02d}"
    start = month_start(*parse_month(period_from))
    y, m = parse_month(period_to)
    end = month_start(y, m + 1)
    # as_of: the first instant after the period, never later than newest timestamp + 1 s
    if as_of is None:
        newest = max(o[c].max() for c in ("reported_at", "responded_at", "closed_at")
                     if o[c].notna().any())
        as_of = min(end, newest + pd.Timedelta(seconds=1))
    as_of = pd.Timestamp(as_of)
    rh = pd.Timedelta(hours=s.response_hours)

    prefix = unit or ""
    if len(prefix) == 15:
        under = o["grid_code"].fillna("").str.startswith(prefix)
    else:
        under = o["community_code"].str.startswith(prefix)
    o = o[under & (o["reported_at"] >= start) & (o["reported_at"] < end)
          & (o["reported_at"] < as_of)]
    for name, values in filters.items():
        o = o[o[name].isin(values)]

    if level == "city":
        rows = pd.DataFrame({"unit_code": [None], "unit_name": ["全市"]})
        key = pd.Series("", index=o.index, dtype=object)  # one group: the city
        row_keys = [""]
    else:
        u = units[units["level"] == level]
        u = u[[c.startswith(prefix) or prefix.startswith(c) for c in u["code"]]]
        rows = pd.DataFrame({"unit_code": list(u["code"]), "unit_name": list(u["name"])})
        key = o["grid_code"] if level == "grid" else o["community_code"].str[:LEVEL_LEN[level]]
        row_keys = list(u["code"])  # an order without a grid matches no grid row

    closed = o["closed_at"] < as_of  # NaT compares False: not closed
    due_passed = o["due_at"] < as_of
    responded = o["responded_at"] < as_of
    flags = pd.DataFrame({
        "reported": True,
        "due": closed | due_passed,
        "closed": closed,
        "closed_on_time": closed & (o["closed_at"] <= o["due_at"]),
        "open_overdue": ~closed & due_passed,
        "response_due": responded | ((o["reported_at"] + rh) < as_of),
        "responded_in_time": responded & ((o["responded_at"] - o["reported_at"]) <= rh),
        "rated_resolved": closed & o["resolved"].notna(),
        "resolved": closed & o["resolved"].fillna(False).astype(bool),
        "rated_satisfaction": closed & o["satisfaction"].notna(),
        "satisfied": closed & o["satisfaction"].isin(SATISFIED),
    }, index=o.index).astype("int64")
    flags["close_hours"] = ((o["closed_at"] - o["reported_at"]).dt.total_seconds() / 3600.0
                            ).where(closed, 0.0)
    counts = flags.groupby(key.fillna("<none>").to_numpy()).sum().reindex(row_keys).fillna(0)
    r = counts.reset_index(drop=True)
    df = rows.reset_index(drop=True).copy()
    for k in r.columns[:-1]:
        df[k] = r[k].astype("int64")

    def rate(a: str, b: str) -> pd.Series:
        return (df[a] / df[b]).where(df[b] != 0)  # zero denominator: null

    df["close_rate"] = rate("closed", "due")
    df["on_time_rate"] = rate("closed_on_time", "due")
    df["response_rate"] = rate("responded_in_time", "response_due")
    df["resolve_rate"] = rate("resolved", "rated_resolved")
    df["satisfaction_rate"] = rate("satisfied", "rated_satisfaction")
    df["avg_close_hours"] = (r["close_hours"] / df["closed"]).where(df["closed"] != 0)
    df["score"] = 100 * (s.w_response * df["response_rate"] + s.w_resolve * df["resolve_rate"]
                         + s.w_satisfaction * df["satisfaction_rate"])  # NaN if any is null
    return df[["unit_code", "unit_name", *KEYS]], as_of


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame, context) -> None:
    assert len(actual) == len(expected), context
    assert [None if pd.isna(c) else c for c in actual["unit_code"]] == \
        [None if pd.isna(c) else c for c in expected["unit_code"]], context
    assert list(actual["unit_name"]) == list(expected["unit_name"]), context
    for key in KEYS:
        got = actual[key].to_numpy(dtype=float, na_value=np.nan)
        want = expected[key].to_numpy(dtype=float, na_value=np.nan)
        assert (np.isnan(got) == np.isnan(want)).all() and np.allclose(
            got, want, rtol=1e-9, atol=1e-9, equal_nan=True), (context, key, got, want)


def assert_paths_equal(con, sel, s: Settings, context) -> Report:
    agg = issues.report(con, sel, settings=s)
    raw = issues.report(con, sel, settings=s, force_raw=True)
    assert (agg.as_of, agg.first, agg.last) == (raw.as_of, raw.first, raw.last), context
    pd.testing.assert_frame_equal(agg.frame, raw.frame, check_exact=False, rtol=1e-9, atol=1e-9,
                                  obj=str(context))
    if sel.level not in ("community", "grid"):  # breakdowns are over the selected unit
        for by in issues.FILTERS:
            pd.testing.assert_frame_equal(
                issues.breakdown(con, sel, by, settings=s),
                issues.breakdown(con, sel, by, settings=s, force_raw=True),
                check_exact=False, rtol=1e-9, atol=1e-9, obj=f"breakdown {by} {context}")
    return agg


# --- a fixed check on the fixture city ----------------------------------------------------------


@pytest.mark.parametrize("sel", [
    Selection.make("street", period="2026-10"),
    Selection.make("street"),                                      # latest month, at the cap
    Selection.make("street", period_from="2026-09", period_to="2026-11"),
    Selection.make("street", period="2026-10", as_of=F.ts("2026-10-20 10:00:00")),
    Selection.make("street", period="2026-10", filters={"source": ["12345热线", "群众来访"]}),
    Selection.make("district", period_from="2026-09", period_to="2026-11",
                   filters={"source": ["12345热线"], "category": ["物业管理"]}),
    Selection.make("grid", period="2026-10", unit="310101"),
    Selection.make("street", period_from="2026-09", period_to="2026-11",
                   filters={"category": ["物业管理"]}),
    Selection.make("community", period="2026-10", unit=F.S_EAST),
    Selection.make("grid", period_from="2026-09", period_to="2026-11", unit=F.C1),
    Selection.make("street", period="2026-11", unit=F.G11),
    Selection.make("community", unit=F.S_WEST),
], ids=["oct", "latest", "range", "mid-month", "filtered", "both-filters-range",
        "grid-under-district", "category-range", "communities-of-a-street",
        "grids-of-a-community-range", "street-row-of-a-grid-unit", "community-without-orders"])
def test_report_matches_an_independent_pandas_reading_of_the_definitions(city, settings, sel):
    got = assert_paths_equal(city.con, sel, settings, sel)
    want, as_of = expected_report(
        F.issues_frame(), F.units(), level=sel.level, period_from=sel.period_from,
        period_to=sel.period_to, as_of=sel.as_of, unit=sel.unit, filters=sel.filter_dict(),
        s=settings)
    assert got.as_of == as_of
    assert_same(got.frame, want, sel)


# --- random order sets --------------------------------------------------------------------------

BOUNDARIES = [dt.datetime(2026, m, 1) for m in (9, 10, 11, 12)] + [dt.datetime(2027, 1, 1)]
GRIDS_OF = {F.C1: [F.G11, F.G12], F.C2: [F.G21], F.C3: [], F.C4: [F.G41]}
DAY = 86400
SECONDS = dt.timedelta(seconds=1)

edge_offsets = st.sampled_from([0, 1, -1, 3600, -3600, DAY, DAY + 1, DAY - 1])


@st.composite
def order(draw, i: int):
    community = draw(st.sampled_from(F.COMMUNITIES))
    grid = draw(st.one_of(st.none(), st.sampled_from(GRIDS_OF[community] or [None])))
    anchor = draw(st.sampled_from(BOUNDARIES[:4]))
    reported = anchor + SECONDS * draw(st.one_of(edge_offsets, st.integers(-5 * DAY, 5 * DAY)))
    due = reported + SECONDS * draw(st.one_of(st.sampled_from([0, 1, DAY]),
                                              st.integers(0, 10 * DAY)))
    responded = draw(st.one_of(
        st.none(),
        st.sampled_from([0, DAY - 1, DAY, DAY + 1]).map(lambda x: reported + SECONDS * x),
        st.integers(0, 3 * DAY).map(lambda x: reported + SECONDS * x)))
    closed = draw(st.one_of(
        st.none(),
        st.sampled_from([due, due + SECONDS]),
        st.integers(0, 12 * DAY).map(lambda x: reported + SECONDS * x)))
    return (f"R{i:03d}", community, grid, draw(st.sampled_from(["网格员上报", "12345热线", "其他"])),
            draw(st.sampled_from(["物业管理", "停车管理", "噪音扰民"])), reported, due, responded,
            closed,
            draw(st.sampled_from([None, "是", "否"])),
            draw(st.sampled_from([None, "满意", "基本满意", "不满意"])))


@st.composite
def order_sets(draw):
    n = draw(st.integers(1, 10))
    return [draw(order(i)) for i in range(n)]


MONTHS = ["2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]


@st.composite
def selection_specs(draw):
    level = draw(st.sampled_from(["city", "district", "street", "community", "grid"]))
    i = draw(st.integers(0, len(MONTHS) - 1))
    j = draw(st.integers(i, min(i + 2, len(MONTHS) - 1)))
    period = draw(st.sampled_from(["default", "single", "range"]))
    as_of = draw(st.sampled_from(["default", "cap", "boundary", "cap-1s"]))
    boundary = draw(st.sampled_from(BOUNDARIES))
    unit = draw(st.sampled_from([None, None, F.D_A, F.S_SOUTH, F.S_WEST, F.C1, F.C3, F.G11,
                                 F.G21]))
    source = draw(st.sampled_from([None, None, ["12345热线"], ["网格员上报", "其他"]]))
    # "无此类别": a category no order has (every unit's row is zeros)
    category = draw(st.sampled_from([None, None, ["停车管理"], ["物业管理", "噪音扰民"],
                                     ["无此类别"]]))
    return SimpleNamespace(level=level, first=MONTHS[i], last=MONTHS[j] if period == "range"
                           else MONTHS[i], period=period, as_of=as_of, boundary=boundary,
                           unit=unit, source=source, category=category)


def make_selection(spec, cap: dt.datetime) -> Selection:
    as_of = {"default": None, "cap": cap, "cap-1s": cap - SECONDS,
             "boundary": spec.boundary}[spec.as_of]
    kw = {} if spec.period == "default" else {"period_from": spec.first, "period_to": spec.last}
    filters = {k: v for k, v in (("source", spec.source), ("category", spec.category)) if v}
    return Selection.make(spec.level, as_of=as_of, unit=spec.unit, filters=filters or None, **kw)


@pytest.fixture(scope="module")
def random_store(tmp_path_factory):
    """A store with the fixture units; each example replaces its issues. In memory (/dev/shm)
    when there is one: 40 publishes with their fsyncs are the bulk of this module's time."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        with tempfile.TemporaryDirectory(dir=shm, prefix="gridboard-test-") as d:
            yield _units_store(Path(d))
    else:
        yield _units_store(tmp_path_factory.mktemp("random"))


def _units_store(path: Path) -> Store:
    store = Store(path)
    ingest_frames(store, {"units": F.units()}, user="t", settings=Settings())
    return store


@hsettings(max_examples=40, deadline=None, database=None, derandomize=True,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=order_sets(), specs=st.lists(selection_specs(), min_size=3, max_size=3),
       response_hours=st.sampled_from([24.0, 24.0, 2.5]))
def test_aggregate_path_equals_raw_path_and_the_definitions(random_store, rows, specs,
                                                            response_hours):
    s = Settings(response_hours=response_hours, w_response=0.2, w_resolve=0.4,
                 w_satisfaction=0.4)
    frame = F.issues_frame(rows)
    ingest_frames(random_store, {"issues": frame}, user="t", settings=s)
    con = connect(random_store, s)
    try:
        cap = issues.cap(con)
        newest = max(max(r[k] for r in rows if r[k] is not None) for k in (5, 7, 8)
                     if any(r[k] is not None for r in rows))
        assert cap == newest + SECONDS
        for i, spec in enumerate(specs):
            sel = make_selection(spec, cap)
            got = assert_paths_equal(con, sel, s, (sel, rows))
            if i:
                continue  # the pandas reading (slow-ish) for the first selection only
            want, as_of = expected_report(
                frame, F.units(), level=sel.level, period_from=sel.period_from,
                period_to=sel.period_to, as_of=sel.as_of, unit=sel.unit,
                filters=sel.filter_dict(), s=s)
            assert got.as_of == as_of, (sel, rows)
            assert_same(got.frame, want, (sel, rows))
    finally:
        con.close()


# --- which selections the aggregates answer ----------------------------------------------------

AGGREGATED = [  # (selection, the aggregate it reads)
    (Selection.make("city", period="2026-10"), "agg_issues_street"),
    (Selection.make("street", period="2026-10", filters={"source": ["12345热线"]}),
     "agg_issues_street_source"),
    (Selection.make("district", period="2026-10", filters={"category": ["物业管理"]}),
     "agg_issues_street_category"),
    (Selection.make("street", period="2026-10", unit=F.S_EAST, filters={"category": ["无此类别"]}),
     "agg_issues_street_category"),
    (Selection.make("community", period="2026-10"), "agg_issues_community"),
    (Selection.make("community", period="2026-10", unit=F.S_EAST), "agg_issues_community"),
    (Selection.make("street", period="2026-10", unit=F.C1), "agg_issues_community"),
    (Selection.make("grid", period="2026-10", unit=F.C1), "agg_issues_grid"),
    (Selection.make("community", period="2026-10", unit=F.G11), "agg_issues_grid"),
]
RAW = [
    Selection.make("street", period="2026-10",
                   filters={"source": ["12345热线"], "category": ["物业管理"]}),
    Selection.make("community", period="2026-10", unit=F.S_EAST, filters={"category": ["物业管理"]}),
    Selection.make("grid", period="2026-10", unit=F.C1, filters={"source": ["12345热线"]}),
    Selection.make("street", period="2026-10", as_of=F.ts("2026-10-20 10:00:00")),
]


@pytest.mark.parametrize("sel,table", AGGREGATED, ids=[f"{s.level}-{t}" for s, t in AGGREGATED])
def test_levels_units_and_single_filters_read_an_aggregate_equal_to_the_orders(city, settings,
                                                                               sel, table):
    period = issues.resolve(city.con, sel)
    assert issues.path_for(city.con, sel, period) == "month"
    assert f"FROM {table}\n" in issues.query(city.con, sel, settings=settings)[0].sql
    assert_paths_equal(city.con, sel, settings, sel)


@pytest.mark.parametrize("sel", RAW, ids=["source-and-category", "category-at-community",
                                          "source-at-grid", "mid-month"])
def test_rare_combinations_take_the_raw_path(city, settings, sel):
    assert issues.path_for(city.con, sel, issues.resolve(city.con, sel)) == "raw"
    assert "FROM issues" in issues.query(city.con, sel, settings=settings)[0].sql
