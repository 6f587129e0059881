"""The tasks table (重点任务督办) beyond the one-bad-row suite of tests/bad_files.py: personal
data, upsert by task_id, Chinese aliases and what is stored."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pytest

from metrics.contract import schema as S
from metrics.settings import Settings
from metrics.store.ingest import Rejected, Source, ingest, prepare
from metrics.store.versions import Store
from tests import bad_files as B
from tests.test_validation import assert_no_pii_anywhere, assert_only_audit_grew, snapshot

T = "tasks"


@pytest.fixture
def store(tmp_path) -> Store:
    d = tmp_path / "data"
    shutil.copytree(B.baseline_dir(), d)
    return Store(d)


def ingest_bytes(store: Store, file_name: str, content: bytes, **kw) -> dict:
    return ingest(store, T, Source(file_name, content=content), user="t", settings=Settings(), **kw)


def stored(store: Store) -> pd.DataFrame:
    return pd.read_parquet(store.current_data(T)).set_index("task_id")


def test_person_columns_of_a_task_ledger_are_dropped_and_never_stored(store):
    extra = ["责任人", "联系人", "分管领导", "联系电话", "负责人身份证号"]
    header = [*B.header_list(T), *extra]
    body = [[*B.row_list(T, r), B.PII_NAME, B.PII_NAME, B.PII_NAME, B.PII_PHONE, B.PII_ID]
            for r in B.GOOD_ROWS[T]]
    content = B.csv_bytes(header, body)
    prepared = prepare(store, T, Source("ledger.csv", content=content))
    assert prepared.checked.dropped_pii == extra
    line = ingest_bytes(store, "ledger.csv", content)
    assert line["warnings"] == []
    assert store.current(T)["dropped_pii"] == extra
    assert_no_pii_anywhere(store.root)


def test_person_words_drop_columns_only_in_the_task_ledger():
    tasks = S.TABLES["tasks"]
    assert S.is_pii_header("责任人", tasks) and S.is_pii_header("牵头领导", tasks)
    assert not S.is_pii_header("责任人")  # other tables: only the residents' markers
    assert not S.is_pii_header("责任单位", tasks) and not S.is_pii_header("检验标准", tasks)


def test_personal_number_in_free_text_is_masked_in_the_report_and_never_stored(store):
    rows = [*B.GOOD_ROWS[T],
            {**B.BAD_BASE[T], "title": f"整治(联系{B.PII_PHONE})", "acceptance": f"由{B.PII_ID}确认"}]
    content = B.table_csv(T, rows)
    before = snapshot(store.root)
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, "pii_text.csv", content)
    errors = info.value.errors
    assert {(e.row, e.column) for e in errors} == {(4, "任务名称"), (4, "检验标准")}
    for e in errors:
        assert B.PII_PHONE not in e.value and B.PII_ID not in e.value
        assert "个人信息" in e.reason
    assert any("139" in e.value and "*" in e.value for e in errors)  # enough to find it
    line = assert_only_audit_grew(before, snapshot(store.root), "rejected")
    assert B.PII_PHONE not in json.dumps(line, ensure_ascii=False)
    assert_no_pii_anywhere(store.root)


def test_long_numbers_that_are_not_personal_are_kept(store):
    rows = [{**B.BAD_BASE[T], "title": "投资 120000000 元的改造项目",
             "acceptance": "完成 2026 年度 3 项指标"}]
    ingest_bytes(store, "numbers.csv", B.table_csv(T, rows))
    assert stored(store).loc["RW199", "title"] == "投资 120000000 元的改造项目"


def test_tasks_upsert_by_task_id_counts_inserted_and_updated(store):
    rows = [{**B.BASELINE_ROWS[T][0], "status": "已完成", "completed_on": "2026-06-28",
             "progress": "100%"},  # RW001 now done
            B.BAD_BASE[T]]
    line = ingest_bytes(store, "update.csv", B.table_csv(T, rows))
    assert (line["inserted"], line["updated"], line["rows"]) == (1, 1, 2)
    df = stored(store)
    assert df.loc["RW001", "status"] == "已完成"
    assert df.loc["RW001", "completed_on"] == dt.date(2026, 6, 28)
    line = ingest_bytes(store, "more.csv", B.table_csv(T, B.GOOD_ROWS[T]))
    assert (line["inserted"], line["updated"], line["rows"]) == (2, 0, 4)


def test_stored_values_follow_the_contract(store):
    ingest_bytes(store, "good.csv", B.table_csv(T, B.GOOD_ROWS[T]))
    df = stored(store)
    assert list(df.reset_index().columns) == S.TABLES[T].names
    assert df.loc["RW101", "kind"] == "民生项目"  # 重点民生项目 is an alias
    assert pd.isna(df.loc["RW101", "unit_code"])  # a whole-city task
    assert df.loc["RW101", "progress"] == 1.0 and df.loc["RW101", "due_on"] == dt.date(2026, 9, 30)
    assert df.loc["RW102", "kind"] == "其他"  # empty → 其他
    assert pd.isna(df.loc["RW102", "progress"])


def test_chinese_aliases_are_accepted(store):
    header = ["督办编号", "重点任务", "任务类型", "牵头单位", "区划代码", "计划完成日期", "推进状态",
              "完成日期", "进度", "验收标准"]
    body = [["DB001", "充电桩进小区", "民生", "区发改局", B.STREET, "2026年12月31日", "推进中", "",
             "30%", "新增充电桩200个"]]
    ingest_bytes(store, "aliases.csv", B.csv_bytes(header, body))
    r = stored(store).loc["DB001"]
    assert (r["title"], r["kind"], r["owner"], r["unit_code"], r["progress"]) == (
        "充电桩进小区", "民生项目", "区发改局", B.STREET, 0.3)


def test_file_without_an_acceptance_column_publishes_with_one_warning(store):
    keep = [(c, h) for c, h in B.HEADERS[T] if c != "acceptance"]
    body = [[r.get(c, "") for c, _ in keep] for r in B.GOOD_ROWS[T]]
    line = ingest_bytes(store, "no_acceptance.csv", B.csv_bytes([h for _, h in keep], body))
    assert [(w["row"], w["column"]) for w in line["warnings"]] == [(1, "检验标准")]
    assert "检验标准" in line["warnings"][0]["reason"]
    assert stored(store)["acceptance"].isna().loc[["RW101", "RW102"]].all()


def test_lead_unit_and_owner_both_in_a_file_is_a_clear_header_error(store):
    header = [*B.header_list(T), "牵头单位"]
    body = [[*B.row_list(T, r), r["owner"]] for r in B.GOOD_ROWS[T]]
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, "two_owners.csv", B.csv_bytes(header, body))
    (e,) = info.value.errors
    assert e.row == 1 and "重复" in e.reason and "责任单位" in e.reason
