"""``python -m metrics report tasks`` on the fixture city: the JSON shape of docs/contract/cli.md with the
hand-counted numbers of tests/test_metrics_tasks.py, the 责任单位 level, targets, csv and table
forms, usage errors, and an ingest of a task ledger from the command line."""

from __future__ import annotations

import csv
import io
import json

import pytest

from metrics.definitions import DOMAIN_KEYS
from tests import bad_files as B
from tests import fixtures as F
from tests.test_cli import assert_rows_shape as assert_shape_of_every_domain
from tests.test_cli import run
from tests.test_metrics_tasks import HAND, OWNERS

KEYS = DOMAIN_KEYS["tasks"]


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli-tasks") / "data"
    F.build_store(d, F.city_frames())
    return d


def report(city_dir, *args: str) -> dict:
    r = run("report", "tasks", *args, data_dir=city_dir)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def assert_rows_shape(payload: dict, domain: str) -> None:
    """docs/contract/cli.md's row shape; 最长逾期天数 is the one count that is null (no overdue task)."""
    for row in payload["rows"]:
        v = row["max_overdue_days"]
        assert v is None or (type(v) is int and v > 0)
    assert_shape_of_every_domain(
        {"rows": [{**r, "max_overdue_days": r["max_overdue_days"] or 0} for r in payload["rows"]]},
        domain)


def assert_numbers(row: dict, want: dict) -> None:
    for k, v in want.items():
        if v is None:
            assert row[k] is None, k
        elif isinstance(v, int):
            assert type(row[k]) is int and row[k] == v, k
        else:
            assert row[k] == pytest.approx(v, rel=1e-12), k


def test_report_json_has_the_shape_of_cli_md_and_the_hand_counts(city_dir):
    p = report(city_dir, "--level", "street", "--period", "2026-10", "--format", "json")
    assert (p["domain"], p["level"], p["from"], p["to"]) == ("tasks", "street", "2026-10",
                                                            "2026-10")
    assert p["as_of"] == "2026-11-01T00:00:00"
    assert p["settings"]["task_due_soon_days"] == 7 and p["settings"]["response_hours"] == 24
    assert_rows_shape(p, "tasks")
    # every street of the city, ordered by code, 西街道 and 南街道 with their overdue tasks
    assert [r["unit_code"] for r in p["rows"]] == [F.S_EAST, F.S_WEST, F.S_SOUTH]
    for row in p["rows"]:
        assert_numbers(row, HAND[row["unit_code"]])


def test_report_district_and_city_rows(city_dir):
    p = report(city_dir, "--level", "district", "--period", "2026-10")
    assert [r["unit_code"] for r in p["rows"]] == [F.D_A, F.D_B]
    for row in p["rows"]:
        assert_numbers(row, HAND[row["unit_code"]])
    (row,) = report(city_dir, "--level", "city", "--period", "2026-10")["rows"]
    assert row["unit_code"] is None and row["unit_name"] == "全市"
    assert_numbers(row, HAND[None])  # the whole-city tasks count here only


def test_default_month_is_the_newest_completion_not_a_due_date(city_dir):
    # T07 was completed 2026-11-01; T13 is due 2027-03-31 and never sets the month
    p = report(city_dir, "--level", "city")
    assert (p["from"], p["to"], p["as_of"]) == ("2026-11", "2026-11", "2026-12-01T00:00:00")


def test_report_owner_level_has_one_row_per_owner(city_dir):
    p = report(city_dir, "--level", "owner", "--period", "2026-10")
    assert (p["domain"], p["level"]) == ("tasks", "owner")
    assert_rows_shape(p, "tasks")
    assert [r["unit_code"] for r in p["rows"]] == sorted(OWNERS)
    for row in p["rows"]:
        assert row["unit_name"] == row["unit_code"]
        assert_numbers(row, OWNERS[row["unit_code"]])


def test_owner_level_under_a_unit_and_with_a_kind_filter(city_dir):
    p = report(city_dir, "--level", "owner", "--period", "2026-10", "--filter", f"unit={F.D_A}")
    assert [r["unit_code"] for r in p["rows"]] == sorted(
        ["区住建局", "东街道办事处", "西街道办事处", "区城管局"])
    p = report(city_dir, "--level", "owner", "--period", "2026-10", "--filter", "kind=民生项目")
    rows = {r["unit_code"]: r for r in p["rows"]}
    assert set(rows) == set(OWNERS)  # a kind filter keeps every owner's row
    assert (rows["区住建局"]["tasks"], rows["市民政局"]["tasks"], rows["东街道办事处"]["tasks"]) == (1, 2, 0)


def test_report_filters_by_owner_and_unit(city_dir):
    p = report(city_dir, "--level", "street", "--period", "2026-10", "--filter", f"unit={F.D_A}",
               "--filter", "owner=区住建局")
    assert [r["unit_code"] for r in p["rows"]] == [F.S_EAST, F.S_WEST]
    assert [r["tasks"] for r in p["rows"]] == [1, 0]  # T02 in 东街道
    assert p["rows"][1]["task_completion_rate"] is None


def test_report_targets_of_the_domain_rates(tmp_path):
    d = tmp_path / "data"
    frames = F.city_frames()
    F.build_store(d, frames)
    t = tmp_path / "targets.csv"
    t.write_bytes(B.csv_bytes(B.header_list("targets"), [["2026", "任务完成率", "", "60%"],
                                                         ["2026", "任务按期完成率", F.D_A, "0.9"]]))
    assert run("ingest", "targets", str(t), data_dir=d).returncode == 0
    p = report(d, "--level", "district", "--period", "2026-10")
    tg = p["targets"]
    assert tg["task_completion_rate"][F.D_A] == {
        "target": 0.6, "target_gap": pytest.approx(4 / 7 - 0.6), "target_met": False,
        "target_from": None}
    assert tg["task_on_time_rate"][F.D_A]["target_from"] == F.D_A
    assert F.D_B not in tg["task_on_time_rate"]  # 乙区 has no target of its own, nor the city
    assert "tasks_overdue" not in tg and 0 < p["time_elapsed"] < 1


def test_report_csv_and_table_forms(city_dir):
    r = run("report", "tasks", "--level", "city", "--period", "2026-10", "--format", "csv",
            data_dir=city_dir)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout.lstrip("\ufeff"))))
    assert list(rows[0])[2:] == KEYS
    assert (int(rows[0]["tasks"]), int(rows[0]["max_overdue_days"])) == (12, 32)
    r = run("report", "tasks", "--level", "street", "--period", "2026-10", "--format", "table",
            data_dir=city_dir)
    assert r.returncode == 0, r.stderr
    for k in ("任务完成率", "任务按期完成率", "逾期未完成任务数", "最长逾期天数", "临期任务数"):
        assert k in r.stdout
    assert "66.7%" in r.stdout  # 东街道 按期 2/3


@pytest.mark.parametrize("args", [
    ("--level", "community"), ("--level", "grid"),
    ("--level", "city", "--filter", "source=12345热线"),
])
def test_report_usage_errors_exit_2(city_dir, args):
    r = run("report", "tasks", *args, data_dir=city_dir)
    assert r.returncode == 2, (r.stdout, r.stderr)


def test_owner_level_is_only_for_tasks(city_dir):
    r = run("report", "issues", "--level", "owner", data_dir=city_dir)
    assert r.returncode == 2 and "owner" in r.stderr


def test_ingest_a_task_ledger_then_report_it(tmp_path):
    d = tmp_path / "data"
    F.build_store(d, {"units": F.units()})
    header = B.header_list("tasks")
    rows = [
        ["K1", "老旧小区改造", "重点任务", "区住建局", F.S_EAST, "2026-10-31", "已完成",
         "2026-10-20", "100%", "通过验收"],
        ["K2", "社区食堂", "民生项目", "东街道办事处", F.S_EAST, "2026-10-15", "推进中", "", "50%",
         "开业运营"],
    ]
    f = tmp_path / "tasks.csv"
    f.write_bytes(B.csv_bytes(header, rows, encoding="gbk"))
    r = run("ingest", "tasks", str(f), data_dir=d)
    assert r.returncode == 0, r.stderr
    line = json.loads(r.stdout)
    assert (line["table"], line["rows"], line["inserted"]) == ("tasks", 2, 2)
    p = report(d, "--level", "street")
    assert p["to"] == "2026-10"  # the month of the completion
    east = next(r for r in p["rows"] if r["unit_code"] == F.S_EAST)
    assert (east["tasks"], east["tasks_done"], east["tasks_overdue"], east["max_overdue_days"]) \
        == (2, 1, 1, 17)


# --- the registry ---------------------------------------------------------------------------


def test_registry_knows_tasks_and_its_dates_never_widen_the_months(city, tmp_path):
    from metrics.db import connect
    from metrics.domains import registry
    from metrics.selection import month_index
    from metrics.settings import Settings

    assert registry.TABLES["tasks"] == ("units", "tasks", "targets")
    assert registry.LEVELS["tasks"] == ("city", "district", "street")
    # T13's due date (2027-03) and the completions are a task ledger's dates: the months are
    # those of the same city without its ledger
    assert registry.month_range(city.con)[1] < month_index("2027-03")
    assert registry.latest(city.con, "tasks") == month_index("2026-11")
    frames = F.city_frames()
    without = {k: v for k, v in frames.items() if k != "tasks"}
    store = F.build_store(tmp_path / "no-tasks", without)
    con = connect(store, Settings())
    try:
        assert registry.month_range(con) == registry.month_range(city.con)
    finally:
        con.close()
    # a store with only a task ledger opens on the month of its newest completion
    store = F.build_store(tmp_path / "only-tasks", {"units": F.units(), "tasks": F.tasks_frame()})
    con = connect(store, Settings())
    try:
        assert registry.month_range(con) == (month_index("2026-11"), month_index("2026-11"))
    finally:
        con.close()
