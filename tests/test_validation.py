"""Every validation rule of docs/contract/data-contract.md, through the CLI-level ``metrics.store.ingest.ingest``.

Each bad file (tests/bad_files.py) is ingested into a copy of a small valid baseline store. A
rejection must name the row as the analyst sees it, the column as headed in the file and a
Chinese reason; every bad row must be listed; and the data dir must be byte-identical afterwards
except for exactly one new "rejected" line in audit.jsonl.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from metrics.contract import schema as S
from metrics.settings import Settings
from metrics.store.ingest import Rejected, Source, ingest, prepare
from metrics.store.versions import Store
from tests import bad_files as B

CJK = re.compile(r"[\u4e00-\u9fff]")
SETTINGS = Settings()


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path) -> Store:
    d = tmp_path / "data"
    shutil.copytree(B.baseline_dir(), d)
    return Store(d)


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder (None) under ``root``."""
    out: dict[str, bytes | None] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = None if p.is_dir() else p.read_bytes()
    return out


def assert_only_audit_grew(before: dict, after: dict, event: str) -> dict:
    """The data dir is unchanged except audit.jsonl, which gained exactly one line."""
    assert set(after) == set(before), (
        f"files added: {sorted(set(after) - set(before))}, removed: {sorted(set(before) - set(after))}"
    )
    for rel, content in before.items():
        if rel != "audit.jsonl":
            assert after[rel] == content, f"{rel} changed"
    old, new = before.get("audit.jsonl") or b"", after["audit.jsonl"]
    assert new.startswith(old)
    added = new[len(old):].decode("utf-8").splitlines()
    assert len(added) == 1, added
    line = json.loads(added[0])
    assert line["event"] == event
    return line


def ingest_bytes(store: Store, table: str, file_name: str, content: bytes, **kw) -> dict:
    return ingest(store, table, Source(file_name, content=content), user="t", settings=SETTINGS,
                  **kw)


def reject(store: Store, f: B.BadFile) -> Rejected:
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, f.table, f.file_name, f.content)
    return info.value


def rows_of(f: B.BadFile) -> tuple:
    return f.expected_row if isinstance(f.expected_row, tuple) else (f.expected_row,)


def stored(store: Store, table: str) -> pd.DataFrame:
    return pd.read_parquet(store.current_data(table))


# --- the suite itself -------------------------------------------------------------------------


def test_suite_covers_every_table_and_has_unique_names():
    files = B.bad_files() + B.multi_row_bad_files() + B.warning_files()
    names = [f.name for f in files]
    assert len(names) == len(set(names))
    assert {f.table for f in B.bad_files()} == set(S.TABLES)
    assert {f.file_name.rsplit(".", 1)[1] for f in files} >= {"csv", "xlsx", "parquet", "xls"}


def test_baseline_publishes_every_table(store):
    for table in S.TABLES:
        cur = store.current(table)
        assert cur is not None and cur["rows"] == len(B.BASELINE_ROWS[table]), table
        assert cur["warning_count"] == 0, cur["warnings"]


@pytest.mark.parametrize("table", list(S.TABLES))
def test_good_rows_of_every_table_publish_without_warnings(store, table):
    line = ingest_bytes(store, table, f"{table}_good.csv", B.table_csv(table, B.GOOD_ROWS[table]))
    assert line["warnings"] == []
    assert line["version"] == "v0002"


# --- one bad file per rule --------------------------------------------------------------------


@pytest.mark.parametrize("f", B.bad_files(), ids=lambda f: f.name)
def test_bad_file_is_rejected_naming_row_column_reason(store, f):
    before = snapshot(store.root)
    r = reject(store, f)
    errors = r.errors
    assert errors, "a rejection lists its errors"
    for e in errors:
        assert CJK.search(e.reason), f"reason not in Chinese: {e.reason!r}"
    assert CJK.search(r.message)
    # Only the bad row is reported (the good rows around it are not).
    assert {e.row for e in errors} == {f.expected_row}, [e.as_dict() for e in errors]
    match = [e for e in errors if f.expected_column in e.column and f.expected_reason in e.reason]
    assert match, f"no error with column ~{f.expected_column!r} reason ~{f.expected_reason!r}: " \
                  f"{[e.as_dict() for e in errors]}"
    line = assert_only_audit_grew(before, snapshot(store.root), "rejected")
    assert line["table"] == f.table
    assert line["file_name"] == f.file_name
    assert line["errors"] == len(errors)


@pytest.mark.parametrize("f", B.multi_row_bad_files(), ids=lambda f: f.name)
def test_every_bad_row_is_listed(store, f):
    before = snapshot(store.root)
    r = reject(store, f)
    rows = [e.row for e in r.errors]
    assert sorted(rows) == sorted(rows_of(f)), [e.as_dict() for e in r.errors]
    assert len(r.errors) == len(rows_of(f))
    for e in r.errors:
        assert f.expected_column in e.column and f.expected_reason in e.reason
        assert CJK.search(e.reason)
    assert str(len(rows_of(f))) in r.message
    assert_only_audit_grew(before, snapshot(store.root), "rejected")


def test_error_reports_the_cell_value_as_written(store):
    f = next(f for f in B.bad_files() if f.name == "organizations_employees_fraction")
    (e,) = reject(store, f).errors
    assert e.value == "12.5"
    f = next(f for f in B.bad_files() if f.name == "issues_xlsx_code_as_number")
    (e,) = reject(store, f).errors
    assert e.value == B.COMM  # the number as the analyst sees it, not 9.90101001001e+11


def test_rejection_lists_warnings_beside_errors(store):
    t = "issues"
    rows = [{**B.BAD_BASE[t], "closed_at": "", "resolved": "是"},  # warning, row 2
            {**B.BAD_BASE[t], "issue_id": "GD0198", "source": "微信"}]  # error, row 3
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, t, "mixed.csv", B.table_csv(t, rows))
    assert [e.row for e in info.value.errors] == [3]
    assert [(w.row, w.column) for w in info.value.report.warnings] == [(2, "是否解决")]


def test_many_bad_rows_are_all_listed(store):
    t = "checkins"
    rows = [{**B.BAD_BASE[t], "period": f"2025-{m:02d}", "activities": "-1"} for m in range(1, 13)]
    rows += [{**B.BAD_BASE[t], "period": f"2024-{m:02d}", "community_code": "990101001099"}
             for m in range(1, 13)]
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, t, "many.csv", B.table_csv(t, rows))
    assert sorted(e.row for e in info.value.errors) == list(range(2, 26))
    assert "24" in info.value.message


# --- warnings: reported, and the file is published --------------------------------------------


@pytest.mark.parametrize("f", B.warning_files(), ids=lambda f: f.name)
def test_warning_is_reported_and_file_published(store, f):
    before = store.current(f.table)["version"]
    line = ingest_bytes(store, f.table, f.file_name, f.content)
    assert line["version"] != before and store.current(f.table)["version"] == line["version"]
    (w,) = line["warnings"]
    assert w["row"] == f.expected_row
    assert f.expected_column in w["column"] and f.expected_reason in w["reason"]
    assert CJK.search(w["reason"])
    meta = store.current(f.table)
    assert meta["warning_count"] == 1 and meta["warnings"] == line["warnings"]
    assert store.audit_lines()[-1]["event"] == "publish"


def test_credit_code_check_digit_follows_gb32100():
    from metrics.contract.credit_code import is_valid as credit_code_valid

    # Check digits computed independently from the contract's weights.
    for body in ("91990101MA0000001", "52990101MJ0000002", "12100000400000624"):
        good = B.credit_code(body)
        assert credit_code_valid(good), good
        assert not credit_code_valid(B.bad_check_digit(body))
    # Codes as printed on real business licences.
    for real in ("91350100M000100Y43", "91110000600037341L", "91440300708461136T"):
        assert credit_code_valid(real)
        assert B.credit_code(real[:17]) == real


def test_bad_check_digit_row_is_still_stored(store):
    f = next(f for f in B.warning_files() if f.name == "organizations_credit_code_check_digit")
    ingest_bytes(store, f.table, f.file_name, f.content)
    df = stored(store, "organizations")
    assert B.ORG_BAD_CHECK in set(df["org_id"])


# --- personal data ----------------------------------------------------------------------------


PII_VALUES = (B.PII_PHONE, B.PII_ID, B.PII_NAME, B.PII_ADDRESS)


def assert_no_pii_anywhere(root: Path) -> None:
    for p in root.rglob("*"):
        if not p.is_file():
            continue
        raw = p.read_bytes()
        for v in PII_VALUES:
            for enc in ("utf-8", "gbk"):
                assert v.encode(enc) not in raw, f"{v} found in {p}"
        if p.suffix == ".parquet":
            table = pq.read_table(p)
            for name in table.column_names:
                assert not S.is_pii_header(name), f"{name} stored in {p}"
                text = "\n".join(map(str, table.column(name).to_pylist()))
                for v in PII_VALUES:
                    assert v not in text, f"{v} stored in {p}:{name}"


def test_pii_columns_are_dropped_named_and_never_stored(store):
    file_name, content, headers = B.pii_file("issues")
    prepared = prepare(store, "issues", Source(file_name, content=content))
    assert prepared.checked.dropped_pii == headers
    assert not set(headers) & set(prepared.checked.frame.columns)
    ingest_bytes(store, "issues", file_name, content)
    meta = store.current("issues")
    assert meta["dropped_pii"] == headers
    df = stored(store, "issues")
    assert list(df.columns) == S.TABLES["issues"].names
    assert {"GD0101", "GD0102"} <= set(df["issue_id"])
    assert_no_pii_anywhere(store.root)


def test_pii_in_rejected_file_leaves_no_trace(store):
    file_name, content, headers = B.pii_file("issues", with_error=True)
    before = snapshot(store.root)
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, "issues", file_name, content)
    assert info.value.report.dropped_pii == headers
    for e in info.value.errors:
        assert all(v not in e.value for v in PII_VALUES)
    assert_only_audit_grew(before, snapshot(store.root), "rejected")
    assert_no_pii_anywhere(store.root)


@pytest.mark.parametrize("table", ["organizations", "pairings", "checkins"])
def test_pii_columns_are_dropped_in_any_table(store, table):
    rows = B.GOOD_ROWS[table]
    header = [*B.header_list(table), "联系方式", "证件号码", "单位地址", "负责人手机"]
    body = [[*B.row_list(table, r), B.PII_PHONE, B.PII_ID, B.PII_ADDRESS, B.PII_PHONE] for r in rows]
    prepared = prepare(store, table, Source("x.csv", content=B.csv_bytes(header, body)))
    assert prepared.checked.dropped_pii == ["联系方式", "证件号码", "单位地址", "负责人手机"]
    ingest_bytes(store, table, "x.csv", B.csv_bytes(header, body))
    assert_no_pii_anywhere(store.root)


def test_org_name_is_not_personal_data():
    assert not S.is_pii_header("单位名称")
    assert S.is_pii_header("反映人姓名") and S.is_pii_header(" 手机号（选填） ")


# --- merge: upsert, replace periods, replace --------------------------------------------------


def test_issues_upsert_by_issue_id_counts_inserted_and_updated(store):
    t = "issues"
    rows = [
        {**B.BASELINE_ROWS[t][1], "closed_at": "2026-03-06 12:00", "resolved": "是",
         "satisfaction": "满意"},  # GD0002 now closed
        {**B.BAD_BASE[t], "issue_id": "GD0003"},
    ]
    line = ingest_bytes(store, t, "update.csv", B.table_csv(t, rows))
    assert (line["inserted"], line["updated"], line["rows"]) == (1, 1, 3)
    df = stored(store, t).set_index("issue_id")
    assert sorted(df.index) == ["GD0001", "GD0002", "GD0003"]
    assert df.loc["GD0002", "closed_at"] == pd.Timestamp("2026-03-06 12:00")
    assert bool(df.loc["GD0002", "resolved"]) is True
    assert df.loc["GD0001", "closed_at"] == pd.Timestamp("2026-03-02 16:00")  # untouched
    meta = store.current(t)
    assert (meta["inserted"], meta["updated"]) == (1, 1)


def test_issues_upsert_of_identical_file_updates_all(store):
    name, content = B.baseline_files()["issues"]
    line = ingest_bytes(store, "issues", name, content)
    assert (line["inserted"], line["updated"], line["rows"]) == (0, 2, 2)


def test_organizations_replace_only_the_periods_in_the_file(store):
    t = "organizations"
    rows = [{**B.BASELINE_ROWS[t][2], "employees": "200"}]  # 2026-04: only ORG1 now
    line = ingest_bytes(store, t, "april.csv", B.table_csv(t, rows))
    assert line["rows"] == 3
    df = stored(store, t)
    by_month = df.groupby(df["period"].astype(str)).size().to_dict()
    assert by_month == {"2026-03-01": 2, "2026-04-01": 1}
    april = df[df["period"].astype(str) == "2026-04-01"].iloc[0]
    assert april["org_id"] == B.ORG1 and april["employees"] == 200
    march = df[df["period"].astype(str) == "2026-03-01"].set_index("org_id")
    assert march.loc[B.ORG1, "employees"] == 120  # untouched


def test_organizations_new_period_is_added(store):
    t = "organizations"
    line = ingest_bytes(store, t, "may.csv", B.table_csv(t, B.GOOD_ROWS[t]))
    assert line["inserted"] == 3 and line["updated"] == 0 and line["rows"] == 7


def test_targets_upsert_matches_an_empty_unit_code(store):
    t = "targets"
    rows = [{"year": "2026", "metric": "办结率", "unit_code": "", "target": "0.9"}]
    line = ingest_bytes(store, t, "t.csv", B.table_csv(t, rows))
    assert (line["inserted"], line["updated"], line["rows"]) == (0, 1, 1)
    assert stored(store, t)["target"].tolist() == [0.9]


def test_checkins_upsert_by_period_and_community(store):
    t = "checkins"
    rows = [{**B.BASELINE_ROWS[t][0], "activities": "9"}, B.BAD_BASE[t]]
    line = ingest_bytes(store, t, "c.csv", B.table_csv(t, rows))
    assert (line["inserted"], line["updated"], line["rows"]) == (1, 1, 2)


def test_replace_true_replaces_the_whole_table(store):
    t = "issues"
    line = ingest_bytes(store, t, "only.csv", B.table_csv(t, [B.BAD_BASE[t]]), replace=True)
    assert line["rows"] == 1
    assert list(stored(store, t)["issue_id"]) == ["GD0199"]
    assert store.current(t)["mode"] == "replace"


def test_units_upsert_extends_the_tree_for_later_files(store):
    line = ingest_bytes(store, "units", "units_more.csv", B.table_csv("units", B.GOOD_ROWS["units"]))
    assert line["rows"] == 8 and line["inserted"] == 2
    t = "issues"
    rows = [{**B.BAD_BASE[t], "community_code": "990101002001", "grid_code": ""}]
    assert ingest_bytes(store, t, "new_comm.csv", B.table_csv(t, rows))["inserted"] == 1


def test_units_parent_may_come_from_the_same_file(store):
    t = "units"
    rows = [  # child before parent: order in the file does not matter
        {"code": "990101005001", "name": "南五社区", "level": "村", "parent_code": "990101005"},
        {"code": "990101005", "name": "南五镇", "level": "乡镇", "parent_code": B.DISTRICT},
    ]
    assert ingest_bytes(store, t, "u.csv", B.table_csv(t, rows))["inserted"] == 2
    df = stored(store, t).set_index("code")
    assert df.loc["990101005", "level"] == "street" and df.loc["990101005001", "level"] == "community"


def test_stored_types_follow_the_schema(store):
    for table in S.TABLES:
        schema = pq.read_schema(store.current_data(table))
        assert schema.names == S.TABLES[table].names
    df = stored(store, "targets")
    assert df["target"].tolist() == [0.95]
    df = stored(store, "organizations")
    assert df.loc[df["org_id"] == B.ORG2, "sector"].tolist() == ["其他", "其他"]  # empty → 其他
    assert df.loc[df["org_id"] == B.ORG2, "operating"].tolist() == [True, True]  # empty → 是
    df = stored(store, "issues").set_index("issue_id")
    assert df.loc["GD0002", "source"] == "网格员上报"
    assert df.loc["GD0002", "reported_at"] == pd.Timestamp("2026-03-05 09:05:00")
    assert pd.isna(df.loc["GD0002", "resolved"])


# --- once bugs: a crash or a wrong value, now a clean rejection or the right value ------------


@pytest.mark.parametrize("table,column,bad,n", [
    ("organizations", "period", "2026-13", 3),
    ("checkins", "period", "2026年13月", 3),
    ("issues", "reported_at", "2026-04-03 25:00", 6),
    ("pairings", "started_on", "2026-02-32", 6),
])
def test_bug_file_with_n_rows_and_one_unreadable_date_is_rejected(store, table, column, bad, n):
    base = B.BAD_BASE[table]
    key = S.TABLES[table].key[-1]
    rows = []
    for i in range(n):
        # Rows differ in their key: the month where the key has one (a credit code or a
        # community code must stay valid), else a suffix.
        varies_by_month = table in ("checkins", "organizations")
        r = {**base, key: base[key] if varies_by_month else f"{base[key]}{i}"}
        if varies_by_month:
            r["period"] = f"2025-{i + 1:02d}"
        rows.append(r)
    rows[-1] = {**rows[-1], column: bad}
    before = snapshot(store.root)
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, table, "n.csv", B.table_csv(table, rows))
    assert [e.row for e in info.value.errors] == [n + 1]
    assert_only_audit_grew(before, snapshot(store.root), "rejected")


def test_bug_duplicate_identical_headers_are_rejected_cleanly(store):
    t = "issues"
    header = B.header_list(t) + ["工单编号"]
    body = [[*B.row_list(t, r), r["issue_id"]] for r in B.GOOD_ROWS[t]]
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, t, "dup_header.csv", B.csv_bytes(header, body))
    assert any(e.row == 1 and "重复" in e.reason for e in info.value.errors)


def test_bug_integer_too_large_is_a_row_error(store):
    t = "organizations"
    rows = [*B.GOOD_ROWS[t], {**B.BAD_BASE[t], "employees": "999999999999999999999"}]
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, t, "big.csv", B.table_csv(t, rows))
    assert [e.row for e in info.value.errors] == [2 + len(B.GOOD_ROWS[t])]


# --- everything at once -----------------------------------------------------------------------


@pytest.mark.parametrize("f", B.duplicate_files(), ids=lambda f: f.name)
def test_duplicate_key_names_both_rows(store, f):
    first, second = f.expected_row
    errors = reject(store, f).errors
    assert sorted(e.row for e in errors) == [first, second], [e.as_dict() for e in errors]
    for e in errors:
        assert f"第 {first}、{second} 行" in e.reason, e.reason


def test_duplicate_key_in_parquet_names_every_row(store):
    """Parquet files are checked in chunks and their keys on the staged rows: same report."""
    t = "issues"
    frame = pd.DataFrame({
        "issue_id": ["GD0401", "GD0402", "GD0401", "GD0403", "GD0401"],
        "community_code": [B.COMM] * 5, "category": ["物业管理"] * 5,
        "reported_at": pd.to_datetime(["2026-04-01 10:00"] * 5),
        "due_at": pd.to_datetime(["2026-04-02 10:00"] * 5),
    })
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, t, "dups.parquet", B.parquet_bytes(frame))
    errors = info.value.errors
    assert [e.row for e in errors] == [1, 3, 5]
    assert all(e.reason == "工单编号重复(第 1、3、5 行)" for e in errors), errors


def test_a_key_repeated_many_times_names_the_first_rows_and_the_count(store):
    t = "issues"
    rows = [{**B.BAD_BASE[t]} for _ in range(12)]
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, t, "many_dups.csv", B.table_csv(t, rows))
    reasons = {e.reason for e in info.value.errors}
    assert reasons == {"工单编号重复(第 2、3、4、5、6、7、8、9、10、11 等 12 行)"}, reasons
    from metrics.contract.validate import reason_kind

    assert reason_kind(reasons.pop()) == "工单编号重复"


def test_missing_required_column_does_not_hide_other_problems(store):
    t = "issues"
    keep = [(c, h) for c, h in B.HEADERS[t] if c != "category"]
    rows = [B.GOOD_ROWS[t][0], {**B.BAD_BASE[t], "source": "微信"},
            {**B.BAD_BASE[t], "issue_id": "GD0198", "closed_at": "2026-11-31 10:00"}]
    content = B.csv_bytes([h for _, h in keep], [[r.get(c, "") for c, _ in keep] for r in rows])
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, t, "no_category.csv", content)
    got = [(e.row, e.column, e.reason) for e in info.value.errors]
    assert [(r, c) for r, c, _ in got] == [(1, "问题类别"), (3, "来源"), (4, "办结时间")], got
    assert "缺少必填列“问题类别”" in got[0][2]
    assert "取值不在允许范围内" in got[1][2]
    assert got[2][2] == "日期不存在：2026年11月只有30天"
    assert "3" in info.value.message


REQUIRED = [(t, c.name) for t, table in S.TABLES.items() for c in table.columns if c.required]


@pytest.mark.parametrize("table,column", REQUIRED, ids=[f"{t}-{c}" for t, c in REQUIRED])
def test_a_missing_column_alone_is_the_only_problem_reported(store, table, column):
    """Checking the other columns of a file without ``column`` invents nothing: the good rows
    stay good (a rule over the absent column is silent, a key including it is not checked)."""
    keep = [(c, h) for c, h in B.HEADERS[table] if c != column]
    rows = [[r.get(c, "") for c, _ in keep] for r in B.GOOD_ROWS[table]]
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, table, "missing.csv", B.csv_bytes([h for _, h in keep], rows))
    (e,) = info.value.errors
    assert e.row == 1 and "缺少必填列" in e.reason


def test_missing_column_in_a_chunked_parquet_is_reported_once(store, monkeypatch):
    from metrics.store import ingest as I

    real = I.iter_parquet
    monkeypatch.setattr(I, "iter_parquet", lambda src: real(src, chunk_rows=2))
    frame = pd.DataFrame({
        "issue_id": [f"GD05{i:02d}" for i in range(5)], "community_code": [B.COMM] * 5,
        "reported_at": pd.to_datetime(["2026-04-01 10:00"] * 5),
        "due_at": pd.to_datetime(["2026-04-02 10:00"] * 4 + ["2026-03-01 10:00"]),
    })
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, "issues", "no_category.parquet", B.parquet_bytes(frame))
    got = [(e.row, e.column) for e in info.value.errors]
    assert got == [(None, "问题类别"), (5, "due_at")], got


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_header_row_is_the_one_found_in_the_file(store, fmt):
    """Two title rows and a blank row above the header: the header is on row 4, the missing
    column is reported there, the first data row is row 5."""
    t = "issues"
    keep = [(c, h) for c, h in B.HEADERS[t] if c != "due_at"]
    rows = [[r.get(c, "") for c, _ in keep] for r in
            [{**B.BAD_BASE[t], "source": "微信"}, B.GOOD_ROWS[t][0]]]
    header = [h for _, h in keep]
    title = ["2026年4月工单导出", "填报单位：东华街道"]
    if fmt == "csv":
        content = B.csv_bytes(header, rows, title=[*title, ""])
    else:
        content = B.xlsx_bytes(header, rows, title=title, blank_after_title=True)
    prepared_error = None
    with pytest.raises(Rejected) as info:
        prepare(store, t, Source(f"titled.{fmt}", content=content))
    prepared_error = info.value
    assert prepared_error.report.header_row == 4
    got = {(e.row, e.column) for e in prepared_error.errors}
    assert got == {(4, "办理时限"), (5, "来源")}, got

    from metrics.store import upload as U

    res = U.check_upload(store, t, f"titled.{fmt}", content, replace=False)
    assert res.header_row == 4
    assert "表头在第 4 行" in U.header_row_text(res)


def test_error_report_reason_column_wraps_and_is_wide(store):
    from metrics.exports.xlsx import REASON_COLUMN_WIDTH
    from metrics.store import upload as U

    f = next(f for f in B.duplicate_files() if f.name == "units_duplicate_code")
    long_reason = next(f for f in B.bad_files() if f.name == "units_code_length_wrong_for_level")
    for bf in (f, long_reason):
        res = U.check_upload(store, bf.table, bf.file_name, bf.content, replace=False)
        wb = openpyxl.load_workbook(io.BytesIO(
            U.error_report(res.errors, bf.content, bf.file_name, bf.table)))
        for sheet in ("错误明细", "按原因汇总"):
            ws = wb[sheet]
            header = [c.value for c in ws[1]]
            j = header.index("原因") + 1
            letter = openpyxl.utils.get_column_letter(j)
            assert ws.column_dimensions[letter].width >= REASON_COLUMN_WIDTH - 1
            cells = [ws.cell(r, j) for r in range(2, ws.max_row + 1) if ws.cell(r, j).value]
            assert cells and all(c.alignment.wrap_text for c in cells), sheet
        summary = wb["按原因汇总"]
        if bf is f:  # both rows of the duplicate counted under one reason
            assert [(c.value, n.value) for c, n in summary.iter_rows(min_row=2, max_col=2)
                    if c.value] == [("区划代码重复", 2)]


def test_table_suggestion_never_fails_on_an_unreadable_file():
    from metrics.store import upload as U

    for f in B.bad_files():
        if f.expected_row is None:
            assert U.suggest_table(f.content, f.file_name, "issues") is None, f.name
    assert U.suggest_table(B.table_csv("checkins", B.GOOD_ROWS["checkins"]), "x.csv",
                           "issues") == "checkins"
    assert U.suggest_table(B.table_csv("issues", B.GOOD_ROWS["issues"]), "x.csv",
                           "issues") is None
