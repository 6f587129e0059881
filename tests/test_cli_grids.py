"""``python -m metrics report grids`` on the fixture city: the JSON shape of docs/contract/cli.md with the
hand-counted numbers of tests/test_metrics_grids.py, the snapshots used, csv and table forms,
and an ingest of a grid snapshot from the command line."""

from __future__ import annotations

import csv
import io
import json

import pytest

from metrics.definitions import DOMAIN_KEYS, METRICS
from tests import bad_files as B
from tests import fixtures as F
from tests.test_cli import assert_rows_shape, run
from tests.test_metrics_grids import CITY_OCT, CITY_SEP, OCT

KEYS = DOMAIN_KEYS["grids"]


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli-grids") / "data"
    F.build_store(d, F.city_frames())
    return d


def report(city_dir, *args: str) -> dict:
    r = run("report", "grids", *args, data_dir=city_dir)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def assert_numbers(row: dict, want: dict) -> None:
    for k, v in want.items():
        if v is None:
            assert row[k] is None, k
        elif isinstance(v, int):
            assert type(row[k]) is int and row[k] == v, k
        else:
            assert row[k] == pytest.approx(v, rel=1e-12), k


def test_report_json_has_the_shape_of_cli_md_and_the_hand_counts(city_dir):
    p = report(city_dir, "--level", "community", "--period", "2026-10", "--format", "json")
    assert (p["domain"], p["level"], p["from"], p["to"]) == ("grids", "community", "2026-10",
                                                            "2026-10")
    assert p["as_of"] == "2026-11-01T00:00:00"
    assert (p["grid_snapshot"], p["compound_snapshot"]) == ("2026-10", "2026-10")
    assert_rows_shape(p, "grids")
    assert [r["unit_code"] for r in p["rows"]] == [F.C1, F.C2, F.C3, F.C4]
    for row in p["rows"]:
        assert_numbers(row, OCT[row["unit_code"]])


def test_report_city_row_and_snapshots_of_september(city_dir):
    p = report(city_dir, "--level", "city", "--period", "2026-09")
    (row,) = p["rows"]
    assert row["unit_code"] is None and row["unit_name"] == "全市"
    assert (p["grid_snapshot"], p["compound_snapshot"]) == ("2026-08", "2026-09")
    assert_numbers(row, CITY_SEP)


def test_report_unit_filter_and_null_rates_as_json_null(city_dir):
    p = report(city_dir, "--level", "street", "--period", "2026-10", "--filter", f"unit={F.D_A}")
    assert [r["unit_code"] for r in p["rows"]] == [F.S_EAST, F.S_WEST]
    west = p["rows"][1]
    assert west["grid_party_org_rate"] is None and west["heads_neighbor_per_100"] is None
    assert west["grids"] == 0


def test_report_has_no_targets_when_none_name_the_domain(city_dir):
    p = report(city_dir, "--level", "city", "--period", "2026-10")
    assert p["targets"] == {}  # the fixture's targets name other domains' rates only
    assert 0 < p["time_elapsed"] < 1


def test_report_csv_and_table_forms(city_dir):
    r = run("report", "grids", "--level", "city", "--period", "2026-10", "--format", "csv",
            data_dir=city_dir)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout.lstrip("\ufeff"))))
    assert list(rows[0])[2:] == KEYS
    assert int(rows[0]["compounds"]) == CITY_OCT["compounds"]
    r = run("report", "grids", "--level", "city", "--period", "2026-10", "--format", "table",
            data_dir=city_dir)
    assert r.returncode == 0, r.stderr
    for k in ("网格党组织覆盖率", "小区党支部应建尽建率", "物业覆盖率", "每百户邻长数"):
        assert k in r.stdout
    assert "66.7%" in r.stdout and "162.5" in r.stdout  # 网格党组织覆盖率 2/3, per worker


@pytest.mark.parametrize("args", [
    ("--level", "grid"), ("--level", "city", "--filter", "source=12345热线"),
])
def test_report_usage_errors_exit_2(city_dir, args):
    r = run("report", "grids", *args, data_dir=city_dir)
    assert r.returncode == 2, (r.stdout, r.stderr)


def test_ingest_a_grid_snapshot_then_report_it(tmp_path):
    d = tmp_path / "data"
    F.build_store(d, {"units": F.units()})
    rows = [
        ["2026-11", F.G11, "网格党支部", "是", "1", "1", "100"],
        ["2026-11", F.G41, "未建", "否", "0", "0", "50"],
    ]
    f = tmp_path / "grids.csv"
    f.write_bytes(B.csv_bytes(B.header_list("grids"), rows, encoding="gbk"))
    r = run("ingest", "grids", str(f), data_dir=d)
    assert r.returncode == 0, r.stderr
    line = json.loads(r.stdout)
    assert (line["table"], line["rows"], line["inserted"]) == ("grids", 2, 2)
    p = report(d, "--level", "district")
    assert p["to"] == "2026-11"
    got = {row["unit_code"]: (row["grids"], row["gap_grids_unstaffed"]) for row in p["rows"]}
    assert got == {F.D_A: (1, 0), F.D_B: (1, 1)}
    # a target named by its Chinese label applies to the domain's rate
    t = tmp_path / "targets.csv"
    t.write_bytes(B.csv_bytes(B.header_list("targets"), [["2026", "网格党组织覆盖率", "", "80%"]]))
    assert run("ingest", "targets", str(t), data_dir=d).returncode == 0
    p = report(d, "--level", "district")
    tg = p["targets"]["grid_party_org_rate"]
    assert tg[F.D_A]["target"] == 0.8 and tg[F.D_A]["target_met"] is True
    assert tg[F.D_B]["target_met"] is False and "households_per_worker" not in p["targets"]
    assert METRICS["households_per_worker"].kind == "ratio"
