"""``python -m metrics`` as the analyst runs it: shapes, exit codes and numbers of docs/contract/cli.md.

One sample store (``sample --scale 0.05``) is written once per session; tests that write copy
it (shutil.copytree) first. Read-only reports are cached per argument list.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from metrics.contract import schema as S
from metrics.definitions import DOMAIN_KEYS, METRICS
from metrics.store.versions import Store

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2026-10"


def run(*args: str, data_dir: Path | None, input: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("GRIDBOARD_DATA_DIR", "GRIDBOARD_CRASH_AT")}
    extra = ["--data-dir", str(data_dir)] if data_dir is not None else []
    return subprocess.run([sys.executable, "-m", "metrics", *args, *extra], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, input=input)


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli-sample") / "data"
    r = run("sample", "--scale", "0.05", data_dir=d)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out["tables"]) == set(S.TABLES)
    return d


@pytest.fixture
def data_dir(sample_dir, tmp_path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(sample_dir, d)
    return d


@pytest.fixture(scope="session")
def report(sample_dir):
    """report(domain, level, *more args) → parsed JSON on the shared read-only sample store."""

    @functools.cache
    def _report(domain: str, level: str, *more: str) -> dict:
        r = run("report", domain, "--level", level, *more, data_dir=sample_dir)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    return _report


@pytest.fixture(scope="session")
def units(sample_dir) -> pd.DataFrame:
    return pd.read_parquet(Store(sample_dir).current_data("units"))


def by_code(payload: dict) -> dict:
    return {row["unit_code"]: row for row in payload["rows"]}


# --- report: shape ----------------------------------------------------------------------------


def assert_rows_shape(payload: dict, domain: str) -> None:
    for row in payload["rows"]:
        assert list(row) == ["unit_code", "unit_name", *DOMAIN_KEYS[domain]]
        for key in DOMAIN_KEYS[domain]:
            v = row[key]
            kind = METRICS[key].kind
            if kind == "count":
                assert type(v) is int and v >= 0, (key, v)
            elif kind == "rate":
                assert v is None or (type(v) is float and 0 <= v <= 1), (key, v)
            else:
                assert v is None or type(v) in (int, float), (key, v)


def test_report_json_has_the_shape_of_cli_md(report, units):
    p = report("issues", "street", "--period", PERIOD, "--format", "json")
    assert {"domain", "level", "from", "to", "as_of", "settings", "rows"} <= set(p)
    assert (p["domain"], p["level"], p["from"], p["to"]) == ("issues", "street", PERIOD, PERIOD)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", p["as_of"])
    assert p["as_of"] <= "2026-11-01T00:00:00"
    assert p["settings"]["response_hours"] == 24
    assert_rows_shape(p, "issues")
    codes = [row["unit_code"] for row in p["rows"]]
    streets = units[units["level"] == "street"].sort_values("code")
    assert codes == sorted(codes) == streets["code"].tolist()  # every street, ordered by code
    assert [row["unit_name"] for row in p["rows"]] == streets["name"].tolist()
    assert sum(row["reported"] for row in p["rows"]) > 0
    # Rates are the counts' quotients, unrounded.
    for row in p["rows"]:
        if row["due"]:
            assert row["close_rate"] == pytest.approx(row["closed"] / row["due"], rel=1e-12)


def test_report_city_level_is_one_row_named_quanshi(report):
    city = report("issues", "city", "--period", PERIOD)
    assert len(city["rows"]) == 1
    row = city["rows"][0]
    assert row["unit_code"] is None and row["unit_name"] == "全市"
    assert_rows_shape(city, "issues")
    streets = report("issues", "street", "--period", PERIOD, "--format", "json")
    for key in ("reported", "due", "closed", "open_overdue", "resolved"):
        assert row[key] == sum(r[key] for r in streets["rows"]), key


@pytest.mark.parametrize("domain,level", [("coverage", "district"), ("pairing", "community")])
def test_report_other_domains_and_levels_have_every_key(report, units, domain, level):
    p = report(domain, level, "--period", PERIOD)
    assert p["domain"] == domain and p["level"] == level
    assert_rows_shape(p, domain)
    assert [r["unit_code"] for r in p["rows"]] == sorted(units.loc[units["level"] == level, "code"])


def test_report_csv_format_matches_json(sample_dir, report):
    r = run("report", "issues", "--level", "street", "--period", PERIOD, "--format", "csv",
            data_dir=sample_dir)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout.lstrip("\ufeff"))))
    p = report("issues", "street", "--period", PERIOD, "--format", "json")
    assert list(rows[0]) == ["unit_code", "unit_name", *DOMAIN_KEYS["issues"]]
    assert [x["unit_code"] for x in rows] == [x["unit_code"] for x in p["rows"]]
    assert [int(x["reported"]) for x in rows] == [x["reported"] for x in p["rows"]]
    for x, y in zip(rows, p["rows"]):
        assert (float(x["close_rate"]) if x["close_rate"] else None) == pytest.approx(y["close_rate"])


def test_report_table_format_uses_chinese_labels(sample_dir, report):
    r = run("report", "issues", "--level", "street", "--period", PERIOD, "--format", "table",
            data_dir=sample_dir)
    assert r.returncode == 0, r.stderr
    for key in ("reported", "close_rate", "score"):
        assert METRICS[key].label in r.stdout
    p = report("issues", "street", "--period", PERIOD, "--format", "json")
    for row in p["rows"]:
        assert row["unit_name"] in r.stdout and f"{row['reported']:,}" in r.stdout


# --- report: periods and filters --------------------------------------------------------------


def test_report_from_to_range_sums_the_months(report):
    months = ["2026-08", "2026-09", "2026-10"]
    rng = report("issues", "street", "--from", months[0], "--to", months[-1])
    assert (rng["from"], rng["to"]) == (months[0], months[-1])
    per_month = [by_code(report("issues", "street", "--period", m, "--format", "json"))
                 for m in months]
    for code, row in by_code(rng).items():
        # Orders are counted in the month they were reported (other counts depend on as_of).
        assert row["reported"] == sum(m[code]["reported"] for m in per_month), code


def test_filter_source_narrows_the_numbers(report):
    total = report("issues", "city", "--period", PERIOD)["rows"][0]
    hotline = report("issues", "city", "--period", PERIOD, "--filter", "source=12345热线")["rows"][0]
    others = report("issues", "city", "--period", PERIOD, "--filter", "source=网格员上报",
                    "--filter", "source=群众来访", "--filter", "source=部门交办",
                    "--filter", "source=其他")["rows"][0]
    assert 0 < hotline["reported"] < total["reported"]
    for key in ("reported", "due", "closed", "resolved"):
        assert hotline[key] + others[key] == total[key], key


def test_filter_unit_limits_rows_to_descendants(report, units):
    street = units.loc[units["level"] == "street", "code"].sort_values().iloc[1]
    p = report("issues", "community", "--period", PERIOD, "--filter", f"unit={street}")
    expected = sorted(units.loc[(units["level"] == "community") & units["code"].str.startswith(street),
                                "code"])
    assert [r["unit_code"] for r in p["rows"]] == expected and expected
    street_row = by_code(report("issues", "street", "--period", PERIOD, "--format", "json"))[street]
    assert sum(r["reported"] for r in p["rows"]) == street_row["reported"]


@pytest.mark.parametrize("args", [
    ["report", "weather", "--level", "city"],
    ["report", "issues", "--level", "province"],
    ["report", "coverage", "--level", "grid", "--period", PERIOD],
    ["report", "issues", "--level", "city", "--filter", "color=red"],
    ["report", "issues", "--level", "city", "--period", "2026-13"],
    ["report", "issues", "--level", "city", "--from", "2026-10", "--to", "2026-08"],
], ids=["unknown_domain", "unknown_level", "level_not_in_domain", "unknown_filter", "bad_month",
        "from_after_to"])
def test_report_usage_errors_exit_2(sample_dir, args):
    r = run(*args, data_dir=sample_dir)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "用法错误" in r.stderr or "usage" in r.stderr
    assert "Traceback" not in r.stderr


# --- ingest -----------------------------------------------------------------------------------


def _issues_csv(units: pd.DataFrame, ids: list[str], **over) -> str:
    comm = units.loc[units["level"] == "community", "code"].sort_values().iloc[0]
    lines = ["工单编号,所属社区代码,来源,问题类别,上报时间,办理时限,办结时间,是否解决,满意度"]
    for i in ids:
        row = {"id": i, "comm": comm, "source": "12345热线", "cat": "物业管理",
               "rep": "2026-10-20 09:00", "due": "2026-10-23 09:00", "closed": "2026-10-21 10:00",
               "res": "是", "sat": "满意", **over.get(i, {})}
        lines.append(",".join(row.values()))
    return "\n".join(lines) + "\n"


def test_ingest_success_prints_one_json_line(data_dir, units, tmp_path):
    stored = pd.read_parquet(Store(data_dir).current_data("issues"))["issue_id"].iloc[0]
    f = tmp_path / "工单.csv"
    f.write_text(_issues_csv(units, [stored, "CLI0001", "CLI0002"],
                             CLI0002={"closed": "", "sat": ""}), encoding="utf-8")
    r = run("ingest", "issues", str(f), "--user", "分析员", data_dir=data_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert list(out) == ["table", "version", "rows", "inserted", "updated", "warnings",
                         "dropped_pii"]
    assert out["dropped_pii"] == []
    assert (out["table"], out["version"], out["inserted"], out["updated"]) == ("issues", "v0002", 2, 1)
    assert out["rows"] == len(pd.read_parquet(Store(data_dir).current_data("issues")))
    (w,) = out["warnings"]  # CLI0002: resolved set on an open order
    assert (w["row"], w["column"]) == (4, "是否解决") and set(w) == {"row", "column", "value", "reason"}
    assert Store(data_dir).current("issues")["user"] == "分析员"


def test_ingest_success_line_names_the_dropped_personal_data_columns(data_dir, units, tmp_path):
    text = _issues_csv(units, ["CLI0201", "CLI0202"])
    lines = text.splitlines()
    lines[0] += ",反映人姓名,联系电话"
    lines[1:] = [line + ",张三丰,13912345678" for line in lines[1:]]
    f = tmp_path / "工单_含个人信息.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = run("ingest", "issues", str(f), data_dir=data_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    (line,) = r.stdout.strip().splitlines()
    out = json.loads(line)
    assert out["dropped_pii"] == ["反映人姓名", "联系电话"]
    assert "张三丰" not in r.stdout and "13912345678" not in r.stdout
    assert Store(data_dir).current("issues")["dropped_pii"] == ["反映人姓名", "联系电话"]


def test_ingest_rejection_exit_1_count_then_one_line_per_error(data_dir, units, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text(_issues_csv(units, ["CLI0101", "CLI0102", "CLI0103", "CLI0104"],
                             CLI0101={"source": "微信"}, CLI0103={"comm": "999999999999"},
                             CLI0104={"due": "2026-10-19 09:00"}), encoding="utf-8")
    before = sorted(p.name for p in (data_dir / "tables" / "issues").iterdir())
    r = run("ingest", "issues", str(f), data_dir=data_dir)
    assert r.returncode == 1
    lines = r.stdout.strip().splitlines()
    assert "3" in lines[0] and "错误" in lines[0]
    assert len(lines) == 4
    for line, (row, column) in zip(lines[1:], [(2, "来源"), (4, "所属社区代码"), (5, "办理时限")]):
        assert f"{row}" in line and column in line, line
    assert sorted(p.name for p in (data_dir / "tables" / "issues").iterdir()) == before
    r = run("ingest", "issues", str(f), "--json", data_dir=data_dir)
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert set(out) == {"errors", "warnings"}
    assert [(e["row"], e["column"]) for e in out["errors"]] == [(2, "来源"), (4, "所属社区代码"),
                                                                 (5, "办理时限")]
    assert all(set(e) == {"row", "column", "value", "reason"} for e in out["errors"])
    assert out["errors"][0]["value"] == "微信"


def test_ingest_empty_file_exit_1_with_chinese_message(data_dir, tmp_path):
    f = tmp_path / "f.csv"
    f.write_bytes(b"")
    r = run("ingest", "issues", str(f), "--json", data_dir=data_dir)
    assert r.returncode == 1
    assert "文件为空" in json.loads(r.stdout)["errors"][0]["reason"]


def test_ingest_missing_file_exit_1(data_dir, tmp_path):
    r = run("ingest", "issues", str(tmp_path / "nope.csv"), data_dir=data_dir)
    assert r.returncode == 1
    assert "不存在" in r.stdout + r.stderr


def test_ingest_usage_errors_exit_2(data_dir, tmp_path):
    f = tmp_path / "f.csv"
    f.write_text("a,b\n1,2\n", encoding="utf-8")
    r = run("ingest", "tickets", str(f), data_dir=data_dir)
    assert r.returncode == 2, r.stdout + r.stderr
    r = run("ingest", "issues", data_dir=data_dir)  # missing file argument
    assert r.returncode == 2


# --- versions and rollback --------------------------------------------------------------------


def test_versions_lists_the_columns_of_cli_md(sample_dir):
    r = run("versions", data_dir=sample_dir)
    assert r.returncode == 0
    lines = r.stdout.strip().splitlines()
    assert lines[0].split("\t") == ["table", "version", "current", "time", "user", "file", "sha256",
                                    "rows", "warnings"]
    body = [line.split("\t") for line in lines[1:]]
    assert sorted(x[0] for x in body) == sorted(S.TABLES)
    for x in body:
        assert x[1] == "v0001" and x[2] == "*" and re.fullmatch(r"[0-9a-f]{64}", x[6])
        assert int(x[7]) > 0 and int(x[8]) >= 0
    r = run("versions", "issues", "--json", data_dir=sample_dir)
    rows = json.loads(r.stdout)
    assert [v["table"] for v in rows] == ["issues"]
    assert {"version", "current", "created_at", "user", "file_name", "sha256", "rows",
            "warning_count"} <= set(rows[0])


def test_rollback_brings_the_report_numbers_back(data_dir, units, tmp_path, report):
    def city() -> dict:
        r = run("report", "issues", "--level", "city", "--period", PERIOD, data_dir=data_dir)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["rows"][0]

    before = report("issues", "city", "--period", PERIOD)["rows"][0]  # the same sample store
    f = tmp_path / "more.csv"
    f.write_text(_issues_csv(units, [f"CLI1{i:03d}" for i in range(40)]), encoding="utf-8")
    assert run("ingest", "issues", str(f), data_dir=data_dir).returncode == 0
    after = city()
    assert after["reported"] == before["reported"] + 40
    r = run("rollback", "issues", "v0001", data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["version"] == "v0001"
    assert city() == before
    store = Store(data_dir)
    assert [v["version"] for v in store.versions("issues") if v["current"]] == ["v0001"]
    assert [v["version"] for v in store.versions("issues")] == ["v0001", "v0002"]
    assert store.audit_lines()[-1]["event"] == "rollback"


def test_rollback_to_unknown_version_exit_1(data_dir):
    r = run("rollback", "issues", "v0042", data_dir=data_dir)
    assert r.returncode == 1
    assert Store(data_dir).current("issues")["version"] == "v0001"
    assert run("rollback", "nonsense", "v0001", data_dir=data_dir).returncode == 2


# --- template ---------------------------------------------------------------------------------


def test_template_writes_an_xlsx(tmp_path):
    try:
        import metrics.contract.templates  # noqa: F401
    except ImportError as e:
        pytest.skip(f"metrics/templates.py not importable yet (another engineer's work): {e}")
    import openpyxl

    out = tmp_path / "工单模板.xlsx"
    r = run("template", "issues", "--out", str(out), data_dir=tmp_path / "empty")
    assert r.returncode == 0, r.stderr
    wb = openpyxl.load_workbook(out)
    header = [c.value for c in next(wb.worksheets[0].iter_rows(max_row=1))]
    assert "工单编号" in header and "所属社区代码" in header
    assert "填写说明" in wb.sheetnames


# --- the demo city only fills the default data dir --------------------------------------------


def test_explicit_empty_data_dir_is_not_filled_with_the_demo(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("report", "issues", "--level", "district", "--period", PERIOD, data_dir=empty)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rows"] == []
    r = run("report", "issues", "--level", "city", "--period", PERIOD, data_dir=empty)
    row = json.loads(r.stdout)["rows"][0]
    assert row["unit_name"] == "全市" and row["reported"] == 0 and row["close_rate"] is None
    assert Store(empty).is_empty()
    assert not (empty / "tables").exists() and not (empty / ".demo").exists()


def test_ensure_demo_fills_only_the_default_dir(tmp_path, monkeypatch):
    import metrics.demo.city
    from metrics import datadir

    real = metrics.demo.city.generate_city
    # The full demo city takes half a minute; the branch under test does not depend on its size.
    monkeypatch.setattr(metrics.demo.city, "generate_city", lambda seed, scale: real(seed=seed, scale=0.02))
    explicit = tmp_path / "explicit"
    datadir.ensure_demo(explicit, is_default=False)
    assert Store(explicit).is_empty()
    default = tmp_path / "default"
    datadir.ensure_demo(default, is_default=True)
    store = Store(default)
    assert all(store.current(t) is not None for t in S.TABLES)
    assert (default / ".demo").exists() and datadir.is_demo(default)
    versions = store.signature()
    datadir.ensure_demo(default, is_default=True)  # a second start does not write it again
    assert store.signature() == versions
