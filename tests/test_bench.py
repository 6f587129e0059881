"""The benchmark's own phases on a tiny extract: the orders generated in parts (unique ids, the
asked-for count, valid units), ingested, the app phase's reports, and the pandas baseline's
compact load giving the product's numbers."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

import bench.__main__ as B


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench")
    mp = pytest.MonkeyPatch()
    mp.setattr(B, "GENERATE_PART_ORDERS", 10_000)  # three parts of 10,000
    try:
        B.phase_generate(path, 30_000, 2026)
    finally:
        mp.undo()
    return path


def test_orders_generated_in_parts_have_unique_ids_and_the_asked_count(workdir):
    ids = pq.read_table(workdir / "issues.parquet", columns=["issue_id"]).column(0).to_pylist()
    assert len(ids) == 30_000
    assert len(set(ids)) == 30_000
    assert {i[:2] for i in ids} == {"GD", "GE", "GF"}
    assert pq.ParquetFile(workdir / "issues.parquet").metadata.num_row_groups == 3


def test_the_units_stop_growing_at_the_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(B, "UNITS_MAX_ORDERS", 30_000)
    monkeypatch.setattr(B, "GENERATE_PART_ORDERS", 30_000)
    small = B.phase_generate(tmp_path, 30_000, 2026)["rows"]["units"]
    big = B.phase_generate(tmp_path, 60_000, 2026)["rows"]
    assert big["units"] == small and big["issues"] == 60_000


def test_ingest_app_and_baseline_agree(workdir):
    ing = B.phase_ingest(workdir)
    assert ing["issues_rows"] == 30_000 and ing["issues_warnings"] == 0
    assert set(ing["peak_rss_after_mb"]) >= {"prepare (read+validate+stage+dup keys)",
                                              "publish (merge+sort+aggregates+commit)"}
    app = B.phase_app(workdir, 2)
    assert {"issues/city", "issues/district", "issues/street", "coverage/city"} <= set(app["reports"])
    assert app["reports"]["issues/city"]["rows"] == 1
    month = B._latest_month(workdir)
    B.phase_product(workdir, month, 12, 2)
    B.phase_baseline(workdir, month, 12, 1, cold_repeat=1)
    for key in ("month", "range"):
        cmp = B.compare(workdir, key)
        assert cmp["equal"], cmp["problems"]


def test_goals_grow_beyond_ten_million_orders():
    assert B.goals_for(10_000_000)["ingest_s"] == 120.0
    g = B.goals_for(50_000_000)
    assert g["ingest_s"] == 600.0 and g["rss_mb"] == 4096.0 and g["app_rss_mb"] == 1024.0
