"""The same reports on Spark as on DuckDB: every domain, every level it has, with and without
filters, over the fixture city (tests/fixtures.py), compared key by key.

One local Spark (local[2], 2 shuffle partitions, no UI) serves the whole module. Without Java
the Spark tests skip on a developer's machine and fail under CI=true: ``make test`` installs a
JDK, so a missing one there is a broken setup, not an optional feature.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil

import pandas as pd
import pytest

from metrics.definitions import DOMAIN_KEYS
from metrics.domains import coverage, grids, issues, pairing, registry, tasks
from metrics.domains.common import Report, rate
from metrics.engine import SparkEngine, engine_name, open_engine, stop_local_spark, to_spark
from metrics.query import Query
from metrics.selection import Selection
from metrics.settings import Settings
from tests.fixtures import C1, D_A, S_EAST

# --- translation (no JVM) -----------------------------------------------------------------------


def test_strings_are_spark_parameters_never_sql_text():
    sql, args = to_spark("SELECT * FROM units WHERE starts_with(code, $prefix) AND level = $level",
                         {"prefix": "31' OR '1'='1", "level": "street"})
    assert "OR '1'='1" not in sql
    assert ":prefix" in sql and ":level" in sql
    assert args == {"prefix": "31' OR '1'='1", "level": "street"}


def test_dates_and_timestamps_are_typed_literals_without_zone():
    sql, args = to_spark("SELECT $d AS d, $t AS t, $n AS n, $x AS x",
                         {"d": dt.date(2026, 11, 1), "t": dt.datetime(2026, 11, 1, 8, 30),
                          "n": 7, "x": 0.45})
    assert "CAST('2026-11-01' AS DATE)" in sql
    assert "CAST('2026-11-01 08:30:00.000000' AS TIMESTAMP_NTZ)" in sql
    assert "CAST(0.45 AS DOUBLE)" in sql and " 7 AS n" in sql
    assert args == {}


def test_in_unnest_list_becomes_an_in_list_of_parameters():
    sql, args = to_spark("SELECT 1 FROM t WHERE source IN (SELECT unnest($f_source))",
                         {"f_source": ["12345热线", "网格员上报"]})
    assert "IN (:f_source__0, :f_source__1)" in sql
    assert args == {"f_source__0": "12345热线", "f_source__1": "网格员上报"}
    sql, _ = to_spark("SELECT 1 FROM t WHERE source IN (SELECT unnest($f))", {"f": []})
    assert "WHERE FALSE" in sql


def test_division_is_try_divide_so_ansi_mode_gives_null_on_zero():
    sql, _ = to_spark("SELECT CASE WHEN d = 0 THEN NULL ELSE CAST(n AS DOUBLE) / d END FROM t")
    assert "TRY_DIVIDE(CAST(n AS DOUBLE), d)" in sql
    assert " / " not in sql


def test_union_all_by_name_selects_every_column_in_every_branch():
    sql, _ = to_spark("SELECT u, sum(a) AS a, sum(b) AS b FROM (SELECT 'x' AS u, 1 AS a "
                      "UNION ALL BY NAME SELECT 'y' AS u, 2 AS b UNION ALL BY NAME "
                      "SELECT 3 AS a, 'z' AS u) GROUP BY u")
    assert "BY NAME" not in sql
    assert sql.count("NULL AS") == 3  # b in the first and third branch, a in the second
    assert "SELECT 'x' AS u, 1 AS a, NULL AS b UNION ALL SELECT 'y' AS u, NULL AS a, 2 AS b " \
           "UNION ALL SELECT 'z' AS u, 3 AS a, NULL AS b" in sql


def test_unknown_engine_is_refused():
    from metrics.engine import EngineError

    with pytest.raises(EngineError):
        engine_name(Settings(engine="oracle"))
    assert engine_name(Settings()) == "duckdb"
    assert engine_name(Settings(), "SPARK") == "spark"


# --- the same reports on Spark ------------------------------------------------------------------


def _java_or_fail() -> None:
    if shutil.which("java") or os.environ.get("JAVA_HOME"):
        return
    message = "Spark needs Java (make sysdeps installs openjdk-17-jre-headless)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def spark(city):
    _java_or_fail()
    engine = SparkEngine.open(city.store, Settings())
    yield engine
    engine.close()
    stop_local_spark()  # the JVM's memory back to the rest of the suite


OCT = "2026-10"
# (domain, label, Selection.make keyword arguments); every level the domain has is added below.
CASES = [
    ("coverage", "latest", {}),
    ("coverage", "org_type", {"period": OCT, "filters": {"org_type": "非公企业"}}),
    ("coverage", "two_sectors_in_a_street", {"period": OCT, "unit": S_EAST,
                                             "filters": {"sector": ["商务楼宇", "互联网企业"]}}),
    ("coverage", "september_reads_august_ledger", {"period": "2026-09"}),
    ("issues", "latest_at_the_cap", {}),
    ("issues", "source_from_the_aggregate", {"period": OCT, "filters": {"source": "12345热线"}}),
    ("issues", "category_from_the_aggregate", {"period": OCT,
                                               "filters": {"category": "物业管理"}}),
    ("issues", "source_and_category_from_the_orders", {
        "period": OCT, "filters": {"source": "12345热线", "category": "物业管理"}}),
    ("issues", "as_of_inside_the_month", {"period": OCT, "as_of": dt.datetime(2026, 10, 16, 12)}),
    ("issues", "two_months_in_a_district", {"period_from": "2026-09", "period_to": OCT,
                                            "unit": D_A}),
    ("issues", "grids_of_a_community_two_months", {"period_from": "2026-09", "period_to": OCT,
                                                   "level": "grid", "unit": C1}),
    ("pairing", "latest", {}),
    ("pairing", "partner_level", {"period": OCT, "filters": {"partner_level": "区直"}}),
    ("pairing", "kind_in_a_community", {"period": OCT, "unit": C1,
                                        "filters": {"kind": ["民生实事", "志愿服务"]}}),
    ("pairing", "three_months", {"period_from": "2026-08", "period_to": OCT}),
    ("grids", "in_a_street", {"period": OCT, "unit": S_EAST}),
    ("grids", "september", {"period": "2026-09"}),
    ("tasks", "kind", {"period": OCT, "filters": {"kind": "重点任务"}}),
    ("tasks", "owner_in_a_district", {"period": OCT, "unit": D_A,
                                      "filters": {"owner": "区住建局"}}),
]
LEVELS = {**registry.LEVELS, "tasks": tasks.LEVELS}
for _domain, _levels in LEVELS.items():
    CASES += [(_domain, f"{level}_october", {"period": OCT, "level": level}) for level in _levels]


def _run(con, domain: str, kwargs: dict) -> Report:
    kwargs = {"level": "city", **kwargs}
    sel = Selection.make(kwargs.pop("level"), **kwargs)
    if domain == "tasks":
        return tasks.report(con, sel, settings=Settings())
    return registry.report(con, domain, sel, settings=Settings())


def _null(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _same(a, b) -> bool:
    """Equal values: nulls equal, floats within 1e-9 (Spark sums in another order)."""
    if _null(a) or _null(b):
        return _null(a) and _null(b)
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _assert_frames_equal(want: pd.DataFrame, got: pd.DataFrame, label: str) -> None:
    assert list(got.columns) == list(want.columns), label
    assert len(got) == len(want), label
    for col in want.columns:
        for i, (a, b) in enumerate(zip(want[col].tolist(), got[col].tolist(), strict=True)):
            assert _same(a, b), f"{label} row {i} {col}: duckdb {a!r}, spark {b!r}"


@pytest.mark.parametrize(("domain", "label", "kwargs"), CASES,
                         ids=[f"{d}-{label}" for d, label, _ in CASES])
def test_report_on_spark_equals_duckdb(city, spark, domain, label, kwargs):
    want = _run(city.con, domain, kwargs)
    got = _run(spark, domain, kwargs)
    keys = ["unit_code", "unit_name", *DOMAIN_KEYS[domain]]
    assert set(keys) <= set(want.frame.columns)
    _assert_frames_equal(want.frame, got.frame, f"{domain} {label}")

    def period(r: Report) -> tuple:
        return r.as_of, r.first, r.last, r.snapshot, r.has_snapshot, r.snapshots
    assert period(got) == period(want)


def test_zero_denominator_is_null_on_both_engines(city, spark):
    # Every rate goes through rate(): null on a zero denominator on both engines.
    q = Query(f"SELECT {rate('n', 'd')} AS r FROM (SELECT 1 AS n, 0 AS d)")
    assert pd.isna(q.run(city.con)["r"][0])
    assert pd.isna(q.run(spark)["r"][0])
    # Any other quotient on Spark: null, not the error of ANSI mode (DuckDB gives inf there,
    # which is why no metric divides without rate()).
    bare = Query("SELECT CAST(n AS DOUBLE) / d AS r FROM (SELECT 1 AS n, 0 AS d)")
    assert pd.isna(bare.run(spark)["r"][0])


def test_month_range_and_targets_on_spark_equal_duckdb(city, spark):
    from metrics.domains.targets import with_targets

    assert registry.month_range(spark) == registry.month_range(city.con)
    sel = Selection.make("street", period=OCT)
    rep = registry.report(city.con, "issues", sel, settings=Settings())
    assert with_targets(spark, rep.frame, rep.as_of) == with_targets(city.con, rep.frame, rep.as_of)


def test_cli_report_with_engine_spark_prints_what_duckdb_prints(city, spark, capsys):
    from metrics.cli import main

    argv = ["report", "issues", "--data-dir", str(city.store.root), "--level", "street",
            "--period", OCT, "--filter", "source=12345热线"]
    assert main(argv) == 0
    on_duckdb = json.loads(capsys.readouterr().out)
    assert main([*argv, "--engine", "spark"]) == 0
    on_spark = json.loads(capsys.readouterr().out)
    assert on_spark == on_duckdb


def test_engine_setting_chooses_spark(city, spark):
    engine = open_engine(city.store, Settings(engine="spark"))
    try:
        assert isinstance(engine, SparkEngine)
    finally:
        engine.close()


SEL = Selection.make("street", period=OCT)
S = Settings()
# The follow-up lists and breakdowns the pages and exports show beside each report.
LISTS = {
    "coverage_should_build": lambda c: coverage.gap_list(c, SEL, "should_build"),
    "coverage_by_sector": lambda c: coverage.breakdown(c, SEL, "sector"),
    "issues_overdue_orders": lambda c: issues.overdue_orders(c, SEL),
    "issues_by_source": lambda c: issues.breakdown(c, SEL, "source", settings=S),
    "issues_by_category": lambda c: issues.breakdown(c, SEL, "category", settings=S),
    "pairing_overdue_projects": lambda c: pairing.overdue_projects(c, SEL),
    "pairing_by_kind": lambda c: pairing.breakdown(c, SEL, "kind"),
    "grids_compounds_should_build": lambda c: grids.follow_up(c, SEL, "compounds_should_build"),
    "grids_by_party_org": lambda c: grids.breakdown(c, SEL, "party_org"),
    "tasks_supervision_list": lambda c: tasks.supervision_list(c, SEL, settings=S),
    "tasks_by_owner": lambda c: tasks.owner_report(c, SEL, settings=S).frame,
    "tasks_by_kind": lambda c: tasks.breakdown(c, SEL, "kind", settings=S),
}


@pytest.mark.parametrize("name", list(LISTS))
def test_follow_up_lists_and_breakdowns_on_spark_equal_duckdb(city, spark, name):
    want = LISTS[name](city.con)
    assert len(want) > 0  # the fixture city has rows for each
    _assert_frames_equal(want, LISTS[name](spark), name)


# --- the pages on Spark ------------------------------------------------------------------------


def test_dashboard_connection_follows_the_engine_setting(city, spark):
    """The pages' connection (ui/cache.py) is the engine the setting names; a Spark that
    cannot serve the store (aggregates built under another 及时响应时限) leaves them on DuckDB.
    (A whole page rendered on Spark takes minutes on a busy 2-core machine, so the suite checks
    the connection; the reports behind every card are compared above.)"""
    import duckdb
    import streamlit as st

    from ui import cache

    root = str(city.store.root)
    sig = city.store.fingerprint()
    st.cache_resource.clear()
    try:
        assert isinstance(cache.connection(root, sig, Settings(engine="spark")), SparkEngine)
        stale = Settings(engine="spark", response_hours=12.0)
        assert isinstance(cache.connection(root, sig, stale), duckdb.DuckDBPyConnection)
        assert isinstance(cache.connection(root, sig, Settings()), duckdb.DuckDBPyConnection)
    finally:
        st.cache_resource.clear()


def test_empty_store_on_spark_gives_the_rows_duckdb_gives(spark, tmp_path):
    """No table published yet: empty views typed like the contract and the aggregates (no
    Parquet to read), so a report has the level's rows with zero counts, as on DuckDB."""
    from metrics.db import connect
    from metrics.store.versions import Store

    store = Store(tmp_path / "empty")
    engine = SparkEngine.open(store, Settings(), session=spark.session.newSession())
    con = connect(store, Settings())
    try:
        for domain in ("coverage", "issues"):
            sel = Selection.make("city", period=OCT)
            want = registry.report(con, domain, sel, settings=Settings()).frame
            assert len(want) == 1
            _assert_frames_equal(want,
                                 registry.report(engine, domain, sel, settings=Settings()).frame,
                                 f"empty {domain}")
    finally:
        con.close()


def test_cluster_path_maps_the_store_root_to_the_clusters(tmp_path, monkeypatch):
    from metrics.engine import SPARK_STORE_ENV, cluster_path
    from metrics.store.versions import Store

    store = Store(tmp_path)
    data = tmp_path / "tables" / "issues" / "v0003" / "data.parquet"
    monkeypatch.delenv(SPARK_STORE_ENV, raising=False)
    assert cluster_path(store, data) == str(data)  # local[N] or a mount at the same path
    monkeypatch.setenv(SPARK_STORE_ENV, "hdfs://nn/gridboard/store/")
    assert cluster_path(store, data) == "hdfs://nn/gridboard/store/tables/issues/v0003/data.parquet"
